/**
 * `wolphin statu`: one wolphin-style line naming the closest command (exit 2), instead of oclif's
 * "command statu not found". With --json, the same as one JSON error document on stdout.
 */
import type {Hook} from '@oclif/core/hooks'

import {ExitCode} from '../errors.js'
import {versioned} from '../json.js'

/** Edit distance (insertions, deletions, substitutions). */
export function distance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = next
    }
  }
  return row[b.length]
}

/** The closest command id, when it is close enough to be what was meant. */
export function closest(id: string, ids: string[]): string | null {
  let best: string | null = null
  let bestD = Infinity
  for (const c of ids) {
    const d = Math.min(distance(id, c), c.startsWith(id) && id.length >= 2 ? 1 : Infinity)
    if (d < bestD) [best, bestD] = [c, d]
  }
  return best !== null && bestD <= Math.max(2, Math.floor(id.length / 3)) ? best : null
}

const hook: Hook<'command_not_found'> = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  const id = opts.id.replaceAll(':', ' ')
  const near = closest(id, ids)
  const bin = opts.config.bin
  const message = `unknown command "${id}"${near ? `; did you mean "${bin} ${near}"?` : ''} (\`${bin} --help\` lists the commands)`
  if (opts.argv?.includes('--json'))
    process.stdout.write(
      JSON.stringify(versioned({error: {code: 'USAGE', message, exitCode: ExitCode.Usage}}), null, 2) + '\n',
    )
  else process.stderr.write(`wolphin: error: ${message}\n`)
  process.exitCode = ExitCode.Usage
}

export default hook
