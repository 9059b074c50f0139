import {LineSplitter} from './lines.js'
import {pool} from '../util/async.js'
import {type Connector, describeConnectError, type SshSession, UnreachableError} from './ssh.js'
import {type ExecEventSink, refOf, type Target, type TargetResult} from './types.js'

export interface FanOutOptions {
  concurrency: number
  /** Per-target command timeout in milliseconds (from the start of the command). */
  timeoutMs?: number
  /** Stop starting new targets after the first one that fails or is unreachable. */
  failFast?: boolean
  onEvent?: ExecEventSink
  /** Aborted (Ctrl-C): nothing new starts; targets in flight are stopped as on a timeout. */
  signal?: AbortSignal
}

export const INTERRUPTED = 'interrupted (Ctrl-C)'
export const NOT_RUN_INTERRUPTED = 'not run: interrupted (Ctrl-C)'

export function emptyResult(
  t: Target,
  status: TargetResult['status'],
  error: string | null,
  started = Date.now(),
): TargetResult {
  return {
    id: t.id,
    name: t.name,
    slot: t.slot,
    status,
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    durationMs: Date.now() - started,
    error,
  }
}

/**
 * The SSH fan-out shared by exec and put: at most `concurrency` sessions at once, each target's
 * `work` under the timeout, results in target order.
 */
export async function fanOut(
  targets: Target[],
  connector: Connector,
  opts: FanOutOptions,
  work: (session: SshSession, t: Target, io: TargetIo) => Promise<Partial<TargetResult>>,
): Promise<TargetResult[]> {
  const emit = opts.onEvent ?? (() => {})
  let stopped = false
  return pool(
    targets,
    opts.concurrency,
    async (t) => {
      const started = Date.now()
      emit({type: 'start', target: refOf(t)})
      const ac = new AbortController()
      let timedOut = false
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true
              ac.abort()
            }, opts.timeoutMs)
          : null
      const interrupt = () => ac.abort()
      opts.signal?.addEventListener('abort', interrupt, {once: true})
      // Why the target was stopped, if it was: its result says that rather than what followed.
      const stoppedWhy = () =>
        timedOut ? `timed out after ${opts.timeoutMs! / 1000}s` : opts.signal?.aborted ? INTERRUPTED : null
      const out = new LineSplitter((line) => emit({type: 'line', target: refOf(t), stream: 'stdout', line}))
      const err = new LineSplitter((line) => emit({type: 'line', target: refOf(t), stream: 'stderr', line}))
      const io: TargetIo = {stdout: out, stderr: err, signal: ac.signal}
      let result: TargetResult
      let session: SshSession | null = null
      try {
        session = await connector(t, ac.signal)
        const r = await work(session, t, io)
        out.end()
        err.end()
        result = {...emptyResult(t, 'ok', null, started), ...r, stdout: out.text(), stderr: err.text()}
        const why = stoppedWhy()
        if (why !== null) {
          result.status = 'failed'
          result.exitCode = null
          result.error = why
        } else if (result.error === null && (result.exitCode ?? 0) !== 0) {
          result.status = 'failed'
        } else if (result.error === null && result.signal) {
          result.status = 'failed'
          result.error = `killed by signal ${result.signal}`
        } else if (result.error !== null) result.status = 'failed'
      } catch (e) {
        out.end()
        err.end()
        const why = stoppedWhy()
        const unreachable = e instanceof UnreachableError && why === null
        result = {
          ...emptyResult(t, unreachable ? 'unreachable' : 'failed', null, started),
          stdout: out.text(),
          stderr: err.text(),
          error: why ?? (unreachable ? (e as Error).message : describeConnectError(e)),
        }
      } finally {
        if (timer) clearTimeout(timer)
        opts.signal?.removeEventListener('abort', interrupt)
        session?.close()
      }
      result.durationMs = Date.now() - started
      if (result.status !== 'ok' && opts.failFast) stopped = true
      emit({type: 'done', target: refOf(t), result})
      return result
    },
    {
      stop: () => stopped || opts.signal?.aborted === true,
      skip: (t) => {
        const r = emptyResult(
          t,
          'skipped',
          opts.signal?.aborted ? NOT_RUN_INTERRUPTED : 'not run: an earlier target failed (--fail-fast)',
        )
        emit({type: 'done', target: refOf(t), result: r})
        return r
      },
    },
  )
}

export interface TargetIo {
  stdout: LineSplitter
  stderr: LineSplitter
  signal: AbortSignal
}

/** Runs `command` on every target over SSH. */
export function runSsh(targets: Target[], command: string, connector: Connector, opts: FanOutOptions) {
  return fanOut(targets, connector, opts, async (session, _t, io) => {
    const r = await session.exec(command, {
      signal: io.signal,
      onData: (stream, chunk) => io[stream].push(chunk),
    })
    if (r.exitCode === null && r.signal === null && !io.signal.aborted)
      return {error: 'the session closed without an exit status'}
    return {exitCode: r.exitCode, signal: r.signal}
  })
}
