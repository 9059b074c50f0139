import {getSystemErrorMessage} from 'node:util'

import {ExitCode, WolphinError} from '../errors.js'

/**
 * What happens when the reader of stdout goes away (`wolphin status --json | head`): by default the
 * process exits 0 at once (entry.ts). A command with work in flight on instances (exec) sets a
 * handler instead, so the remote commands are stopped before it exits.
 *
 * `failure` is set when stdout cannot be written at all (a full disk, /dev/full, an I/O error):
 * then the command ends with exit 1 whatever else happened, its one line already on stderr.
 */
export const stdoutClosed: {handler: (() => void) | null; failure: StdoutError | null} = {
  handler: null,
  failure: null,
}

/** stdout cannot be written: exit 1 with one line naming the system error. */
export class StdoutError extends WolphinError {
  readonly errno: string
  constructor(cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'EIO'
    const why = typeof cause.errno === 'number' ? getSystemErrorMessage(cause.errno) : code
    super(`cannot write to stdout: ${why} (${code})`, 'STDOUT_UNWRITABLE', ExitCode.Failure)
    this.errno = code
  }
}

/** Whether a write error means the reader went away (not a failure: `| head` read what it wanted). */
export const readerGone = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'EIO'

/**
 * The one handler of failed writes to stdout (entry.ts installs it). A reader that went away
 * (`wolphin status --json | head`: EPIPE; a terminal that hung up: EIO) is not an error: exit 0.
 * Anything else (a full disk, /dev/full) is one line on stderr and exit 1, never a stack trace.
 * Either way a command with work in flight on instances stops it first (its handler).
 */
export function onStdoutError(e: NodeJS.ErrnoException): void {
  if (!readerGone(e) && !stdoutClosed.failure) {
    stdoutClosed.failure = new StdoutError(e)
    try {
      process.stderr.write(`wolphin: error: ${stdoutClosed.failure.message}\n`)
    } catch {
      // nowhere to say it
    }
  }
  if (stdoutClosed.handler) return stdoutClosed.handler()
  process.exit(stdoutClosed.failure ? stdoutClosed.failure.exitCode : 0)
}

/**
 * Leaves onStdoutError the only handler: @oclif/core's Command module adds one on load that
 * rethrows every error but EPIPE, which would end the process with a stack trace.
 */
export function onlyOurStdoutErrorHandler(): void {
  for (const l of process.stdout.listeners('error'))
    if (l !== onStdoutError) process.stdout.off('error', l as (e: Error) => void)
}
