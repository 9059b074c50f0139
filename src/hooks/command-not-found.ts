import type {Hook} from '@oclif/core/hooks'

import {UsageError} from '../errors.js'

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

/**
 * oclif reads `wolphin status extra` as the command "status:extra" (commands without positional
 * arguments let the next word extend the command id). When a leading part of the id is a command,
 * that command runs with the rest as its arguments, so it reports the stray argument itself, in its
 * own format (and as one JSON document under --json). Otherwise the command is unknown (`wolphin
 * statu`): a usage error naming the closest command, exit 2, printed by the entry point as one line
 * (or one JSON document under --json).
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const parts = opts.id.split(':')
  for (let n = parts.length - 1; n > 0; n--) {
    const id = parts.slice(0, n).join(':')
    if (opts.config.findCommand(id))
      return opts.config.runCommand(id, [...parts.slice(n), ...(opts.argv ?? [])])
  }
  const bin = opts.config.bin
  // `wolphin --json` alone: a flag where the command should be.
  if (opts.id.startsWith('-'))
    throw new UsageError(`no command given (got ${opts.id}); \`${bin} --help\` lists the commands`)
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id.replaceAll(':', ' '))
  const id = parts.join(' ')
  const near = closest(id, ids)
  throw new UsageError(
    `unknown command "${id}"${near ? `; did you mean "${bin} ${near}"?` : ''} (\`${bin} --help\` lists the commands)`,
  )
}

export default hook
