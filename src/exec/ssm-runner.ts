/** Run Command over SSM: the same contract as the SSH fan-out, for fleets with no inbound SSH. */
import type {InvocationOutput, SsmPort} from '../project/ports.js'
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

/** An invocation's result, from SSM's status and response code. */
function resultOf(t: Target, o: InvocationOutput, started: number): TargetResult {
  const r = emptyResult(t, 'ok', null, started)
  if (o.status === 'Success') r.exitCode = o.responseCode
  else if (o.status === 'Failed') {
    if (o.responseCode >= 0) r.exitCode = o.responseCode
    r.status = 'failed'
    if (o.responseCode < 0) r.error = `SSM: ${o.statusDetails || 'Failed'}`
  } else {
    r.status = UNDELIVERED.has(o.statusDetails) ? 'unreachable' : 'failed'
    r.error = `SSM: ${o.statusDetails || o.status}`
  }
  return r
}

/** One batch's command in flight: its id, the targets still pending and its local deadline. */
interface Invocation {
  commandId: string
  pending: Map<string, Target>
  deadline: number
}

/** One runSsm call: the results so far and the steps every batch goes through. */
class SsmRun {
  readonly results = new Map<string, TargetResult>()
  private failed = false
  private readonly started = Date.now()
  private readonly emit: ExecEventSink
  private readonly capture: MemoryCapture | null
  private readonly sink: OutputSink
  readonly timeoutMs: number
  private readonly interval: number

  constructor(
    private readonly command: string,
    private readonly port: SsmPort,
    private readonly opts: SsmRunOptions,
  ) {
    this.emit = opts.onEvent ?? (() => {})
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.interval = opts.pollIntervalMs ?? 1000
    this.capture = opts.output ? null : new MemoryCapture(this.emit)
    this.sink = opts.output ?? this.capture!
  }

  private interrupted(): boolean {
    return this.opts.signal?.aborted === true
  }

  /** --fail-fast after a failure: nothing new starts, what is pending is cancelled. */
  private failingFast(): boolean {
    return Boolean(this.opts.failFast && this.failed)
  }

  /** Writes the target's output to the sink, records its result and reports it done. */
  async finish(t: Target, r: TargetResult, output?: InvocationOutput) {
    r.durationMs = Date.now() - this.started
    const ref = refOf(t)
    let lost: string | null = null
    try {
      if (output) {
        await this.put(ref, 'stdout', output.stdout)
        await this.put(ref, 'stderr', output.stderr)
      }
      await this.sink.end(ref, r)
    } catch (e) {
      lost = (e as Error).message ?? String(e)
    }
    if (this.capture) Object.assign(r, this.capture.take(ref))
    else if (output) {
      r.stdout = null
      r.stderr = null
    }
    if (lost !== null) {
      r.status = 'failed'
      r.error = `${r.error ? `${r.error}; ` : ''}output lost: ${lost}`
    }
    this.results.set(t.id, r)
    if (r.status !== 'ok') this.failed = true
    this.emit({type: 'done', target: ref, result: r})
  }

  private async put(ref: ReturnType<typeof refOf>, stream: 'stdout' | 'stderr', text: string) {
    if (text) await this.sink.write(ref, stream, Buffer.from(text))
  }

  private async finishAll(ts: Iterable<Target>, status: TargetResult['status'], why: string) {
    for (const t of ts) await this.finish(t, emptyResult(t, status, why, this.started))
  }

  async runBatch(batch: Target[]) {
    if (this.interrupted()) return this.finishAll(batch, 'skipped', notRunInterrupted(this.opts.signal))
    if (this.failingFast())
      return this.finishAll(batch, 'skipped', 'not run: an earlier target failed (--fail-fast)')
    for (const t of batch) this.emit({type: 'start', target: refOf(t)})
    const sent = await this.deliver(batch)
    if (!sent) return
    await this.poll(sent)
    if (sent.pending.size) await this.cancelPending(sent)
  }

  private send(live: Target[]) {
    return this.port.sendCommand(
      live.map((t) => t.id),
      this.command,
      {
        executionTimeoutSeconds: Math.max(1, Math.ceil(this.timeoutMs / 1000)),
        maxConcurrency: this.opts.concurrency,
      },
    )
  }

  /**
   * Sends the command to the batch. When some instance of it is not managed by SSM, finds which,
   * reports them unreachable and sends to the others. Null when nothing was sent.
   */
  private async deliver(batch: Target[]): Promise<Invocation | null> {
    let live = batch
    let commandId: string
    try {
      commandId = await this.send(live)
    } catch (e) {
      if (!isInvalidInstanceId(e)) return this.undelivered(live, (e as Error).message)
      const online = await this.port.onlineManaged(live.map((t) => t.id)).catch(() => new Set<string>())
      await this.finishAll(
        live.filter((t) => !online.has(t.id)),
        'unreachable',
        NOT_MANAGED,
      )
      live = live.filter((t) => online.has(t.id))
      if (!live.length) return null
      try {
        commandId = await this.send(live)
      } catch (e2) {
        return this.undelivered(live, isInvalidInstanceId(e2) ? NOT_MANAGED : (e2 as Error).message)
      }
    }
    // Bounded: the local deadline covers the command timeout plus a margin for delivery, and no
    // single call (with the SDK's retries) may outlive it.
    const margin = Math.min(30_000, Math.max(this.interval * 3, this.timeoutMs / 10))
    return {
      commandId,
      pending: new Map(live.map((t) => [t.id, t])),
      deadline: Date.now() + this.timeoutMs + margin,
    }
  }

  private async undelivered(live: Target[], why: string): Promise<null> {
    await this.finishAll(live, 'unreachable', why)
    return null
  }

  /**
   * Polls until every invocation ended, the deadline passed, or the run stops. ListCommandInvocations
   * gives every status of the batch in one call; where it is not available (denied, or an endpoint
   * without it) each pending invocation is asked for itself.
   */
  private async poll(inv: Invocation) {
    const listing = {works: true}
    while (inv.pending.size && Date.now() < inv.deadline) {
      if (this.failingFast() || this.interrupted()) break
      await sleep(Math.min(this.interval, Math.max(0, inv.deadline - Date.now())), this.opts.signal)
      if (Date.now() >= inv.deadline || this.interrupted()) break
      const ended = await this.endedInvocations(inv, listing)
      if (ended === null) break
      await pool(ended, 8, (t) => this.collect(inv, t))
    }
  }

  /** A signal that ends a call at the invocation's deadline. */
  private bound(inv: Invocation) {
    return AbortSignal.timeout(Math.max(1, inv.deadline - Date.now()))
  }

  /** The pending targets whose invocation may have ended; null when the deadline passed meanwhile. */
  private async endedInvocations(inv: Invocation, listing: {works: boolean}): Promise<Target[] | null> {
    if (!listing.works) return [...inv.pending.values()]
    try {
      const statuses = await this.port.listInvocations(inv.commandId, this.bound(inv))
      return statuses
        .filter((s) => inv.pending.has(s.instanceId) && TERMINAL.has(s.status))
        .map((s) => inv.pending.get(s.instanceId)!)
    } catch (e) {
      if (Date.now() >= inv.deadline) return null
      listing.works = false
      this.emit({
        type: 'warn',
        message: `SSM ListCommandInvocations failed (${(e as Error).message.slice(0, 120)}); polling each invocation instead`,
      })
      return [...inv.pending.values()]
    }
  }

  /** Reads one invocation; an ended one is finished with its output. */
  private async collect(inv: Invocation, t: Target) {
    try {
      const o = await this.port.getInvocation(inv.commandId, t.id, this.bound(inv))
      if (!TERMINAL.has(o.status)) return
      inv.pending.delete(t.id)
      await this.finish(t, resultOf(t, o, this.started), o)
    } catch (e) {
      // Not registered yet right after SendCommand: still pending.
      if (e instanceof AwsError && e.awsCode === 'InvocationDoesNotExist') return
      if (Date.now() >= inv.deadline) return
      inv.pending.delete(t.id)
      await this.finish(t, emptyResult(t, 'failed', `SSM: ${(e as Error).message}`, this.started))
    }
  }

  /** Cancels what is still pending and says why: Ctrl-C, --fail-fast or the timeout. */
  private async cancelPending(inv: Invocation) {
    const why = this.interrupted()
      ? `cancelled: ${interruptedBy(this.opts.signal)}`
      : this.failingFast() && Date.now() < inv.deadline
        ? 'cancelled: an earlier target failed (--fail-fast)'
        : `timed out after ${this.timeoutMs / 1000}s waiting for SSM`
    await this.port.cancel(inv.commandId, [...inv.pending.keys()], AbortSignal.timeout(5000)).catch(() => {})
    await this.finishAll(inv.pending.values(), 'failed', why)
  }
}

const isInvalidInstanceId = (e: unknown) => e instanceof AwsError && e.awsCode === 'InvalidInstanceId'

export async function runSsm(
  targets: Target[],
  command: string,
  port: SsmPort,
  opts: SsmRunOptions = {},
): Promise<TargetResult[]> {
  const run = new SsmRun(command, port, opts)
  const batches: Target[][] = []
  for (let i = 0; i < targets.length; i += SSM_BATCH) batches.push(targets.slice(i, i + SSM_BATCH))
  await pool(batches, opts.failFast ? 1 : 8, (batch) => run.runBatch(batch))
  return targets.map((t) => run.results.get(t.id)!)
}
