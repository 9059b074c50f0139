/** Run Command over SSM: the same contract as the SSH fan-out, for fleets with no inbound SSH. */
import type {InvocationOutput, SsmPort} from '../aws/ssm.js'
import {AwsError} from '../errors.js'
import {pool, sleep} from '../util/async.js'
import {MemoryCapture, type OutputSink} from './output.js'
import {emptyResult, interrupted as interruptedBy, notRunInterrupted} from './ssh-runner.js'
import {type ExecEventSink, refOf, type Target, type TargetResult} from './types.js'

export const SSM_BATCH = 50
const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut'])
const UNDELIVERED = new Set([
  'Undeliverable',
  'DeliveryTimedOut',
  'InvalidPlatform',
  'Terminated',
  'AccessDenied',
])

export const NOT_MANAGED =
  'not managed by SSM: no SSM agent online for this instance (it needs the SSM agent running and an instance profile allowing AmazonSSMManagedInstanceCore)'

export interface SsmRunOptions {
  /** Per-instance command timeout; SSM's own executionTimeout is set to it too. */
  timeoutMs?: number
  pollIntervalMs?: number
  concurrency?: number
  failFast?: boolean
  onEvent?: ExecEventSink
  /** Aborted (Ctrl-C): no batch is sent any more, and the invocations in flight are cancelled. */
  signal?: AbortSignal
  /** Where each instance's output goes; without one it is captured into the results. */
  output?: OutputSink
}

/** SSM's default executionTimeout is one hour; without --timeout we wait that long and a bit. */
const DEFAULT_TIMEOUT_MS = 3600_000

export async function runSsm(
  targets: Target[],
  command: string,
  port: SsmPort,
  opts: SsmRunOptions = {},
): Promise<TargetResult[]> {
  const emit = opts.onEvent ?? (() => {})
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const interval = opts.pollIntervalMs ?? 1000
  const results = new Map<string, TargetResult>()
  const started = Date.now()
  let failed = false

  const capture = opts.output ? null : new MemoryCapture(emit)
  const sink: OutputSink = opts.output ?? capture!
  const finish = async (t: Target, r: TargetResult, output?: InvocationOutput) => {
    r.durationMs = Date.now() - started
    const ref = refOf(t)
    let lost: string | null = null
    const put = async (stream: 'stdout' | 'stderr', text: string) => {
      if (text) await sink.write(ref, stream, Buffer.from(text))
    }
    try {
      if (output) {
        await put('stdout', output.stdout)
        await put('stderr', output.stderr)
      }
      await sink.end(ref, r)
    } catch (e) {
      lost = (e as Error).message ?? String(e)
    }
    if (capture) Object.assign(r, capture.take(ref))
    else if (output) {
      r.stdout = null
      r.stderr = null
    }
    if (lost !== null) {
      r.status = 'failed'
      r.error = `${r.error ? `${r.error}; ` : ''}output lost: ${lost}`
    }
    results.set(t.id, r)
    if (r.status !== 'ok') failed = true
    emit({type: 'done', target: ref, result: r})
  }

  const fromOutput = (t: Target, o: InvocationOutput): TargetResult => {
    const r = emptyResult(t, 'ok', null, started)
    if (o.status === 'Success') r.exitCode = o.responseCode
    else if (o.status === 'Failed') {
      if (o.responseCode >= 0) r.exitCode = o.responseCode
      r.status = 'failed'
      if (o.responseCode < 0) r.error = `SSM: ${o.statusDetails || 'Failed'}`
    } else if (o.status === 'TimedOut' || /TimedOut/.test(o.statusDetails)) {
      r.status = UNDELIVERED.has(o.statusDetails) ? 'unreachable' : 'failed'
      r.error = `SSM: ${o.statusDetails || o.status}`
    } else {
      r.status = UNDELIVERED.has(o.statusDetails) ? 'unreachable' : 'failed'
      r.error = `SSM: ${o.statusDetails || o.status}`
    }
    return r
  }

  const interrupted = () => opts.signal?.aborted === true
  const runBatch = async (batch: Target[]) => {
    if (interrupted()) {
      for (const t of batch) await finish(t, emptyResult(t, 'skipped', notRunInterrupted(opts.signal)))
      return
    }
    if (opts.failFast && failed) {
      for (const t of batch)
        await finish(t, emptyResult(t, 'skipped', 'not run: an earlier target failed (--fail-fast)'))
      return
    }
    let live = batch
    for (const t of live) emit({type: 'start', target: refOf(t)})
    const send = () =>
      port.sendCommand(
        live.map((t) => t.id),
        command,
        {executionTimeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)), maxConcurrency: opts.concurrency},
      )
    let commandId: string
    try {
      commandId = await send()
    } catch (e) {
      if (!(e instanceof AwsError && e.awsCode === 'InvalidInstanceId')) {
        for (const t of live) await finish(t, emptyResult(t, 'unreachable', (e as Error).message, started))
        return
      }
      // Some instance of the batch is not managed by SSM: find which, send to the others.
      const online = await port.onlineManaged(live.map((t) => t.id)).catch(() => new Set<string>())
      for (const t of live)
        if (!online.has(t.id)) await finish(t, emptyResult(t, 'unreachable', NOT_MANAGED, started))
      live = live.filter((t) => online.has(t.id))
      if (!live.length) return
      try {
        commandId = await send()
      } catch (e2) {
        const msg =
          e2 instanceof AwsError && e2.awsCode === 'InvalidInstanceId' ? NOT_MANAGED : (e2 as Error).message
        for (const t of live) await finish(t, emptyResult(t, 'unreachable', msg, started))
        return
      }
    }
    const pending = new Map(live.map((t) => [t.id, t]))
    // Bounded: the local deadline covers the command timeout plus a margin for delivery, and no
    // single call (with the SDK's retries) may outlive it.
    const deadline = Date.now() + timeoutMs + Math.min(30_000, Math.max(interval * 3, timeoutMs / 10))
    const bound = () => AbortSignal.timeout(Math.max(1, deadline - Date.now()))
    const collect = async (t: Target, o: InvocationOutput) => {
      pending.delete(t.id)
      await finish(t, fromOutput(t, o), o)
    }
    // ListCommandInvocations gives every status of the batch in one call; where it is not
    // available (denied, or an endpoint without it) each pending invocation is asked for itself.
    let listWorks = true
    while (pending.size && Date.now() < deadline) {
      if ((opts.failFast && failed) || interrupted()) break
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), opts.signal)
      if (Date.now() >= deadline || interrupted()) break
      let done: Target[]
      if (listWorks) {
        try {
          const statuses = await port.listInvocations(commandId, bound())
          done = statuses
            .filter((s) => pending.has(s.instanceId) && TERMINAL.has(s.status))
            .map((s) => pending.get(s.instanceId)!)
        } catch (e) {
          if (Date.now() >= deadline) break
          listWorks = false
          emit({
            type: 'warn',
            message: `SSM ListCommandInvocations failed (${(e as Error).message.slice(0, 120)}); polling each invocation instead`,
          })
          done = [...pending.values()]
        }
      } else done = [...pending.values()]
      await pool(done, 8, async (t) => {
        try {
          const o = await port.getInvocation(commandId, t.id, bound())
          if (TERMINAL.has(o.status)) await collect(t, o)
        } catch (e) {
          // Not registered yet right after SendCommand: still pending.
          if (e instanceof AwsError && e.awsCode === 'InvocationDoesNotExist') return
          if (Date.now() >= deadline) return
          pending.delete(t.id)
          await finish(t, emptyResult(t, 'failed', `SSM: ${(e as Error).message}`, started))
        }
      })
    }
    if (pending.size) {
      const why = interrupted()
        ? `cancelled: ${interruptedBy(opts.signal)}`
        : opts.failFast && failed && Date.now() < deadline
          ? 'cancelled: an earlier target failed (--fail-fast)'
          : `timed out after ${timeoutMs / 1000}s waiting for SSM`
      await port.cancel(commandId, [...pending.keys()], AbortSignal.timeout(5000)).catch(() => {})
      for (const t of pending.values()) await finish(t, emptyResult(t, 'failed', why, started))
    }
  }

  const batches: Target[][] = []
  for (let i = 0; i < targets.length; i += SSM_BATCH) batches.push(targets.slice(i, i + SSM_BATCH))
  await pool(batches, opts.failFast ? 1 : 8, runBatch)
  return targets.map((t) => results.get(t.id)!)
}
