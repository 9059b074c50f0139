/**
 * What happens when the reader of stdout goes away (`wolphin status --json | head`): by default the
 * process exits 0 at once (entry.ts). A command with work in flight on instances (exec) sets a
 * handler instead, so the remote commands are stopped before it exits.
 */
export const stdoutClosed: {handler: (() => void) | null} = {handler: null}
