/**
 * What is sent to the remote shell besides the user's command: the `--env` prefix, and the script
 * that stops a command on a timeout or an interrupt.
 */
import {UsageError} from '../errors.js'

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Parses `--env KEY=VALUE` flags; a bad one is a usage error. */
export function parseEnv(pairs: string[] = []): Record<string, string> {
  const env: Record<string, string> = {}
  for (const p of pairs) {
    const eq = p.indexOf('=')
    const key = eq > 0 ? p.slice(0, eq) : ''
    if (!ENV_NAME.test(key))
      throw new UsageError(
        `--env: "${p}" is not KEY=VALUE with a shell variable name (letters, digits, _; not starting with a digit)`,
      )
    env[key] = p.slice(eq + 1)
  }
  return env
}

/** A POSIX-shell single-quoted word. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * The command with the variables exported first. sshd passes the protocol's env requests only for
 * names in its AcceptEnv (LANG, LC_* by default), so they are set by the remote shell instead.
 */
export function withEnv(command: string, env: Record<string, string> = {}): string {
  const keys = Object.keys(env)
  if (!keys.length) return command
  return `export ${keys.map((k) => `${k}=${shellQuote(env[k])}`).join(' ')}; ${command}`
}

/** The last line of STOP_SCRIPT's output starts with this. */
export const STOP_MARK = 'wolphin-stop:'

/**
 * Stops the commands of this connection's other sessions. It runs as one more session of the same
 * connection: its parent is the connection's sshd process, whose other children are the sessions'
 * commands (sshd ignores the protocol's "signal" request for sessions without a terminal).
 *
 * Every descendant is collected first (a `sudo` leaves the tree when killed), then sent SIGTERM one
 * by one from this separate process group: `sudo` relays a SIGTERM from outside its command's
 * group to the command it runs as root, which this user could not signal. Whatever is left after
 * 3 s gets SIGKILL, as this user and then, where passwordless sudo allows, as root. The last line
 * says what is still running, so the report is the truth.
 */
export const STOP_SCRIPT = [
  'me=$$; all=""',
  'walk() { for c in $(pgrep -P "$1" 2>/dev/null); do [ "$c" = "$me" ] || { all="$all $c"; walk "$c"; }; done; }',
  'walk "$PPID"',
  `[ -n "$all" ] || { echo "${STOP_MARK} none"; exit 0; }`,
  // A zombie has ended; only live processes count.
  'alive() { left=""; for p in $all; do case "$(sed -n "s/^State:[[:space:]]*//p" /proc/$p/status 2>/dev/null)" in ""|Z*) ;; *) left="$left $p";; esac; done; [ -n "$left" ]; }',
  'kill -TERM $all 2>/dev/null',
  'i=0; while alive && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done',
  'if alive; then kill -KILL $left 2>/dev/null; sleep 0.2; fi',
  'if alive && sudo -n true 2>/dev/null; then sudo -n kill -TERM $left 2>/dev/null; sleep 1; alive && sudo -n kill -KILL $left 2>/dev/null; sleep 0.2; fi',
  `if alive; then echo "${STOP_MARK} running $(ps -o pid=,user=,args= -p "$(echo $left | tr " " ,)" 2>/dev/null | awk '{$1=$1; print}' | tr "\\n" ";")"; else echo "${STOP_MARK} stopped"; fi`,
].join('\n')

/** What stopping found: the command had ended, was stopped, or is still running (with ps lines). */
export type StopOutcome =
  {kind: 'none'} | {kind: 'stopped'} | {kind: 'running'; detail: string} | {kind: 'unknown'; detail: string}

export function parseStopReport(output: string): StopOutcome {
  const line = output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(STOP_MARK))
  if (!line) return {kind: 'unknown', detail: output.trim().split('\n').pop() || 'no answer'}
  const rest = line.slice(STOP_MARK.length).trim()
  if (rest === 'none') return {kind: 'none'}
  if (rest === 'stopped') return {kind: 'stopped'}
  return {
    kind: 'running',
    detail: rest.replace(/^running\s*/, '').replace(/;\s*$/, '') || 'unknown processes',
  }
}

/** How a stop reads in a target's result. */
export function describeStop(s: StopOutcome): string {
  switch (s.kind) {
    case 'none':
      return 'the command had already ended'
    case 'stopped':
      return 'the command was stopped'
    case 'running':
      return `could NOT stop the command, still running: ${s.detail}`
    default:
      return `could not confirm the command stopped (${s.detail})`
  }
}
