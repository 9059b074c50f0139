import {pool} from '../util/async.js'
import {type Delivery, MemoryCapture, type OutputSink} from './output.js'
import {describeStop, type StopOutcome, withEnv} from './remote-command.js'
import {type Connector, describeConnectError, type SshSession, UnreachableError} from './ssh.js'
import {type ExecEventSink, type OutputStream, refOf, type Target, type TargetResult} from './types.js'

export interface FanOutOptions {
  concurrency: number
  /** Per-target command timeout in milliseconds (from the start of the command). */
  timeoutMs?: number
  /** Stop starting new targets after the first one that fails or is unreachable. */
  failFast?: boolean
  onEvent?: ExecEventSink
  /**
   * Aborted (Ctrl-C, SIGTERM, SIGHUP): nothing new starts; targets in flight are stopped as on a
   * timeout. The abort reason, when it is a signal name, names the interrupt in the results.
   */
  signal?: AbortSignal
  /**
   * Where every chunk of output goes, with backpressure. Without one, output is captured in memory
   * (up to 8 MiB a stream) into the results and reported as `line` events.
   */
  output?: OutputSink
}

/** How an interrupt is named in results: Ctrl-C for SIGINT, the signal's name otherwise. */
export function interruptName(signal?: AbortSignal): string {
  const r: unknown = signal?.reason
  return typeof r === 'string' && /^SIG[A-Z]+$/.test(r) && r !== 'SIGINT' ? r : 'Ctrl-C'
}
export const interrupted = (signal?: AbortSignal) => `interrupted (${interruptName(signal)})`
export const notRunInterrupted = (signal?: AbortSignal) => `not run: ${interrupted(signal)}`

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
  work: (session: SshSession, t: Target, io: TargetIo) => Promise<WorkOutcome>,
): Promise<TargetResult[]> {
  const emit = opts.onEvent ?? (() => {})
  const capture = opts.output ? null : new MemoryCapture(emit)
  const sink: OutputSink = opts.output ?? capture!
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
        timedOut
          ? `timed out after ${opts.timeoutMs! / 1000}s`
          : opts.signal?.aborted
            ? interrupted(opts.signal)
            : null
      const ref = refOf(t)
      // The first output that could not be delivered (a full disk, a closed file), if any.
      let lost: string | null = null
      const deliver = (stream: OutputStream) => ({
        push(chunk: Buffer | string): Delivery {
          if (lost !== null) return true
          const d = sink.write(ref, stream, typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
          if (d === true) return true
          return d.catch((e: unknown) => {
            lost ??= (e as Error).message ?? String(e)
          })
        },
      })
      const io: TargetIo = {stdout: deliver('stdout'), stderr: deliver('stderr'), signal: ac.signal}
      let result: TargetResult
      let session: SshSession | null = null
      try {
        session = await connector(t, ac.signal)
        // Stopped while connecting: the command is not started at all.
        if (ac.signal.aborted) throw new Error('stopped before the command started')
        const r = await work(session, t, io)
        const {stopFound: stop, ...rest} = r
        result = {...emptyResult(t, 'ok', null, started), ...rest}
        const why = stoppedWhy()
        if (why !== null) {
          result.status = 'failed'
          result.exitCode = null
          result.error = stop ? `${why}: ${describeStop(stop)}` : why
          if (stop) result.stop = stop.kind === 'none' ? 'ended' : stop.kind
        } else if (result.error === null && (result.exitCode ?? 0) !== 0) {
          result.status = 'failed'
        } else if (result.error === null && result.signal) {
          result.status = 'failed'
          result.error = `killed by signal ${result.signal}`
        } else if (result.error !== null) result.status = 'failed'
      } catch (e) {
        const why = stoppedWhy()
        const unreachable = e instanceof UnreachableError && why === null
        result = {
          ...emptyResult(t, unreachable ? 'unreachable' : 'failed', null, started),
          error: why ?? (unreachable ? (e as Error).message : describeConnectError(e)),
        }
      } finally {
        if (timer) clearTimeout(timer)
        opts.signal?.removeEventListener('abort', interrupt)
        session?.close()
      }
      await sink.end(ref, result).catch((e: unknown) => {
        lost ??= (e as Error).message ?? String(e)
      })
      if (capture) Object.assign(result, capture.take(ref))
      else {
        result.stdout = null
        result.stderr = null
      }
      // Output that did not arrive where it was sent is a failure, whatever the command did.
      if (lost !== null) {
        result.status = 'failed'
        result.error = `${result.error ? `${result.error}; ` : ''}output lost: ${lost}`
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
          opts.signal?.aborted
            ? notRunInterrupted(opts.signal)
            : 'not run: an earlier target failed (--fail-fast)',
        )
        emit({type: 'done', target: refOf(t), result: r})
        return r
      },
    },
  )
}

/** One target's output streams (a returned promise: wait before pushing more) and its stop signal. */
export interface TargetIo {
  stdout: {push(chunk: Buffer | string): Delivery}
  stderr: {push(chunk: Buffer | string): Delivery}
  signal: AbortSignal
}

/** What a target's work returns: result fields, and what stopping it found when it was stopped. */
export type WorkOutcome = Omit<Partial<TargetResult>, 'stop'> & {stopFound?: StopOutcome}

export interface CommandOptions {
  /** Variables exported before the command runs. */
  env?: Record<string, string>
  /** Allocate a terminal (stdout and stderr then arrive merged on stdout). */
  tty?: boolean
}

/** Runs `command` on every target over SSH. */
export function runSsh(
  targets: Target[],
  command: string,
  connector: Connector,
  opts: FanOutOptions & CommandOptions,
) {
  const remote = withEnv(command, opts.env)
  return fanOut(targets, connector, opts, async (session, _t, io) => {
    const r = await session.exec(remote, {
      signal: io.signal,
      tty: opts.tty,
      onData: (stream, chunk) => io[stream].push(chunk),
    })
    if (r.exitCode === null && r.signal === null && !io.signal.aborted)
      return {error: 'the session closed without an exit status'}
    return {exitCode: r.exitCode, signal: r.signal, stopFound: r.stop}
  })
}
