/**
 * oclif flag types shared by commands (the CLI layer: the core never imports this).
 */
import * as Flags from '@oclif/core/flags'

import {
  MAX_DURATION_MS,
  MAX_DURATION_TEXT,
  MAX_TIMER_MS,
  MAX_TIMER_TEXT,
  parseDuration,
} from './config/duration.js'
import {UsageError} from './errors.js'

/**
 * A duration flag, `90`, `90s`, `10m`, `1h30m`: read by the one duration parser
 * (src/config/duration.ts), valued in seconds. More than zero unless `allowZero` (a grace period);
 * at most MAX_TIMER_TEXT, since a timer waits for it, unless `span` (a length of time compared with
 * dates, never waited for). A bad value is one line, exit 2, before any AWS call: `Parsing
 * --timeout: "soon" is not a duration; ...`.
 */
export const durationFlag = Flags.custom<number, {allowZero?: boolean; example?: string; span?: boolean}>({
  parse: async (input, _ctx, opts) => {
    const [max, maxText] = opts.span ? [MAX_DURATION_MS, MAX_DURATION_TEXT] : [MAX_TIMER_MS, MAX_TIMER_TEXT]
    const ms = parseDuration(input, max)
    if (ms === null && parseDuration(input) !== null)
      throw new UsageError(`"${input}" is longer than ${maxText}, the longest wolphin waits for`)
    if (ms === null || ms < 0 || (ms === 0 && !opts.allowZero))
      throw new UsageError(
        `"${input}" is not a duration; expected seconds or a duration like ${opts.example ?? '90s, 10m'} (${opts.allowZero ? '' : 'more than 0, '}at most ${maxText})`,
      )
    return ms / 1000
  },
})

/** A command line split at its first "--": what wolphin parses, and the remote command (null without "--"). */
export interface DashDashSplit {
  own: string[]
  command: string[] | null
}

/**
 * Splits at the FIRST "--" before oclif parses anything. oclif's parser re-sorts its leftover words
 * by where each first occurs in the whole line, so a word after "--" equal to an earlier one (`-i`,
 * `--env`, a second `--`) would move to the front: the remote command is never given to it.
 */
export function splitAtDashDash(argv: string[]): DashDashSplit {
  const dash = argv.indexOf('--')
  return dash === -1 ? {own: argv, command: null} : {own: argv.slice(0, dash), command: argv.slice(dash + 1)}
}

/**
 * The words of the remote command (exec, ssh): after "--", exactly as given; without "--", the
 * positional words in the order typed (oclif's `raw`, not its re-sorted `argv`, which would move a
 * repeated word). oclif itself refuses a word before "--" that looks like a flag wolphin lacks.
 */
export function remoteCommandWords(
  split: DashDashSplit,
  parsed: {raw: Array<{type: string; input: string}>},
): string[] {
  return split.command ?? parsed.raw.filter((r) => r.type === 'arg').map((r) => r.input)
}
