import type {Hook} from '@oclif/core/hooks'

import {UsageError} from '../errors.js'

/**
 * oclif reads `wolphin status extra` as the command "status:extra" (commands without positional
 * arguments let the next word extend the command id). When a leading part of the id is a command,
 * that command runs with the rest as its arguments, so it reports the stray argument itself, in its
 * own format (and as one JSON document under --json). Otherwise the command is unknown: a usage
 * error, exit 2, printed by the entry point.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const parts = opts.id.split(':')
  for (let n = parts.length - 1; n > 0; n--) {
    const id = parts.slice(0, n).join(':')
    if (opts.config.findCommand(id))
      return opts.config.runCommand(id, [...parts.slice(n), ...(opts.argv ?? [])])
  }
  // `wolphin --json` alone: a flag where the command should be.
  if (opts.id.startsWith('-'))
    throw new UsageError(`no command given (got ${opts.id}); run "wolphin --help" for the list of commands`)
  throw new UsageError(`unknown command "${parts.join(' ')}"; run "wolphin --help" for the list of commands`)
}

export default hook
