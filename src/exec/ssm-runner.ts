/** Run Command over SSM: the same contract as the SSH fan-out, for fleets with no inbound SSH. */
import type {InvocationOutput, SsmPort} from '../aws/ssm.js'
import {AwsError} from '../errors.js'
import {LineSplitter} from './lines.js'
import {pool, sleep} from '../util/async.js'
import {emptyResult, INTERRUPTED, NOT_RUN_INTERRUPTED} from './ssh-runner.js'
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

  const finish = (t: Target, r: TargetResult) => {
    r.durationMs = Date.now() - started
    results.set(t.id, r)
    if (r.status !== 'ok') failed = true
    emit({type: 'done', target: refOf(t), result: r})
  }

  const fromOutput = (t: Target, o: InvocationOutput): TargetResult => {
    const r = emptyResult(t, 'ok', null, started)
    const out = new LineSplitter((line) => emit({type: 'line', target: refOf(t), stream: 'stdout', line}))
    const err = new LineSplitter((line) => emit({type: 'line', target: refOf(t), stream: 'stderr', line}))
    out.push(o.stdout)
    out.end()
    err.push(o.stderr)
    err.end()
    r.stdout = out.text()
    r.stderr = err.text()
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
      for (const t of batch) finish(t, emptyResult(t, 'skipped', NOT_RUN_INTERRUPTED))
      return
    }
    if (opts.failFast && failed) {
      for (const t of batch)
        finish(t, emptyResult(t, 'skipped', 'not run: an earlier target failed (--fail-fast)'))
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
        for (const t of live) finish(t, emptyResult(t, 'unreachable', (e as Error).message, started))
        return
      }
      // Some instance of the batch is not managed by SSM: find which, send to the others.
      const online = await port.onlineManaged(live.map((t) => t.id)).catch(() => new Set<string>())
      for (const t of live)
        if (!online.has(t.id)) finish(t, emptyResult(t, 'unreachable', NOT_MANAGED, started))
      live = live.filter((t) => online.has(t.id))
      if (!live.length) return
      try {
        commandId = await send()
      } catch (e2) {
        const msg =
          e2 instanceof AwsError && e2.awsCode === 'InvalidInstanceId' ? NOT_MANAGED : (e2 as Error).message
        for (const t of live) finish(t, emptyResult(t, 'unreachable', msg, started))
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
      finish(t, fromOutput(t, o))
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
          finish(t, emptyResult(t, 'failed', `SSM: ${(e as Error).message}`, started))
        }
      })
    }
    if (pending.size) {
      const why = interrupted()
        ? `cancelled: ${INTERRUPTED}`
        : opts.failFast && failed && Date.now() < deadline
          ? 'cancelled: an earlier target failed (--fail-fast)'
          : `timed out after ${timeoutMs / 1000}s waiting for SSM`
      await port.cancel(commandId, [...pending.keys()], AbortSignal.timeout(5000)).catch(() => {})
      for (const t of pending.values()) finish(t, emptyResult(t, 'failed', why, started))
    }
  }

  const batches: Target[][] = []
  for (let i = 0; i < targets.length; i += SSM_BATCH) batches.push(targets.slice(i, i + SSM_BATCH))
  await pool(batches, opts.failFast ? 1 : 8, runBatch)
  return targets.map((t) => results.get(t.id)!)
}
