import {createHash} from 'node:crypto'

import type {ResolvedConfig} from '../config/schema.js'
import {
  AwsError,
  ConfigError,
  InterruptedError,
  PartialFailureError,
  type TargetFailure,
  WaitTimeoutError,
  WolphinError,
} from '../errors.js'
import {type EmitSink, EventCode} from './events.js'
import {isMember, type RawInstance, resolveSlot} from './observe.js'
import {losesSlot} from './slots.js'
import {describeAttempt, type LaunchAttempt, launchAttempts, nextAttempt} from './launch-order.js'
import {type Action, describeAction, type MarkKind, type Plan} from './plan.js'
import {attemptRequest, launchSettings} from './launch-settings.js'
import type {Ec2Port, LaunchRequest} from './ports.js'
import {encodeSlots, instanceName, projectTagValue, slotsThatFit, Tag} from './tags.js'
import {pool} from '../util/async.js'

export interface ApplyContext {
  port: Ec2Port
  config: ResolvedConfig
  spec: string
  onEvent: EmitSink
  /** The ids and states the plan was made from (part of the launch's idempotency token). */
  observed: RawInstance[]
  sleep?: (ms: number) => Promise<void>
  now?: () => Date
  /** Aborting stops waiting and starts nothing new; applyPlan then throws an InterruptedError. */
  signal?: AbortSignal
  /** For `wait` until `ssh` (revert --wait-ssh): resolves once every id answers over SSH. */
  waitSsh?: (ids: string[]) => Promise<void>
}

export interface ApplyResult {
  launched: string[]
  /** What RunInstances answered, with the launch tags. */
  launchedRaw: RawInstance[]
  /** The newest observation of the project, when a wait made one. */
  lastObservation: RawInstance[] | null
  /** lastObservation was made after every launch of the plan had returned. */
  observedAfterLaunches: boolean
  /** Instances an action failed for while it was done for the others (the command exits 3). */
  failures: TargetFailure[]
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** A sleep that ends early, with an InterruptedError, when the signal aborts. */
function interruptible(sleep: (ms: number) => Promise<void>, signal?: AbortSignal) {
  if (!signal) return sleep
  return (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new InterruptedError('interrupted'))
      const onAbort = () => reject(new InterruptedError('interrupted'))
      signal.addEventListener('abort', onAbort, {once: true})
      sleep(ms).then(
        () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort)
          reject(e as Error)
        },
      )
    })
}

/** What an interrupted plan did and did not do, one entry per action, in plan order. */
export function interruptionReport(
  plan: Plan,
  finished: Map<number, string>,
): {done: string[]; notDone: string[]} {
  const done: string[] = []
  const notDone: string[] = []
  for (const a of plan.actions) {
    const f = finished.get(a.id)
    if (f !== undefined) done.push(f)
    else notDone.push(describeAction(a, new Map(), {notation: false}))
  }
  return {done, notDone}
}

/** Tags a launch carries in TagSpecifications: identity, owner, spec, lease, user tags, slot(s). */
export function launchTags(
  config: ResolvedConfig,
  spec: string,
  slots: number[],
  now: Date,
): Record<string, string> {
  const tags: Record<string, string> = {...config.tags}
  tags[Tag.Project] = projectTagValue(config.project)
  if (config.email) tags[Tag.Owner] = config.email
  tags[Tag.Spec] = spec
  if (config.lease !== undefined) tags[Tag.ExpiresAt] = new Date(now.getTime() + config.lease).toISOString()
  if (slots.length === 1) {
    tags[Tag.Name] = instanceName(config.project, slots[0])
    tags[Tag.Slot] = String(slots[0])
  } else {
    // One RunInstances call tags every instance alike; the AMI launch index picks each one's slot.
    tags[Tag.Slots] = encodeSlots(slots)
    // With `nameTags: launch` they share a Name that says whose they are; per-instance Names
    // follow the launch in CreateTags calls (a shared one would be overwritten at once).
    if (config.nameTags === 'launch') tags[Tag.Name] = projectTagValue(config.project)
  }
  return tags
}

/**
 * Two runs that plan the same launch within this window of each other send one ClientToken, so
 * EC2 starts it once. Short, because EC2 keeps a token for at least a day after the instances it
 * launched are gone: a later run from the same (by then empty) observation must not be answered
 * with that old reservation.
 */
export const LAUNCH_TOKEN_WINDOW_MS = 60_000

/**
 * The ClientToken of a launch: a function of the whole request (so a token never comes back with
 * other parameters, which EC2 refuses with IdempotentParameterMismatch), the observed state the
 * plan was made from and the time window. A request the SDK retries, or the same plan made by a
 * concurrent run, cannot launch twice.
 */
export function launchToken(
  request: Omit<LaunchRequest, 'clientToken'>,
  observed: RawInstance[],
  now: Date,
): string {
  const state = observed
    .map((i) => `${i.id}:${i.state}`)
    .sort()
    .join(',')
  const window = Math.floor(now.getTime() / LAUNCH_TOKEN_WINDOW_MS)
  const h = createHash('sha256')
    .update(canonicalJson([request, state, window]))
    .digest('hex')
  return `wolphin-${h.slice(0, 48)}`
}

/** JSON with object keys sorted at every level: equal values give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

/** What an action's handler reports, where it differs from the plain description. */
interface Outcome {
  /** The interruption report's line for the action (default: its plain description). */
  finished?: string
  /** The action:done message (default: its description). */
  message?: string
  /** The instances it produced or waited for. */
  ids?: string[]
}

/** One action kind's work. */
type Handler = (a: Action, run: PlanRun) => Promise<Outcome | void>

/** The state of one applyPlan call that its handlers share. */
class PlanRun {
  readonly sleep: (ms: number) => Promise<void>
  readonly now: () => Date
  /** Launch action id -> the ids it launched. */
  readonly produced = new Map<number, string[]>()
  readonly result: ApplyResult = {
    launched: [],
    launchedRaw: [],
    lastObservation: null,
    observedAfterLaunches: false,
    failures: [],
  }
  /** Instances an action failed for: later actions (waits) leave them out. */
  readonly failedIds = new Set<string>()
  private readonly launches: number
  private launchesReturned = 0
  private lastObservationAt = -Infinity
  private readonly byId: Map<number, Action>

  constructor(
    plan: Plan,
    readonly ctx: ApplyContext,
  ) {
    this.sleep = interruptible(ctx.sleep ?? defaultSleep, ctx.signal)
    this.now = ctx.now ?? (() => new Date())
    this.launches = plan.actions.filter((a) => a.kind === 'launch').length
    this.byId = new Map(plan.actions.map((a) => [a.id, a]))
  }

  /** A batch that failed for some of its instances was done for the others: note them, go on. */
  async perInstance(a: Action, call: Promise<void>): Promise<void> {
    try {
      await call
    } catch (e) {
      if (!(e instanceof PartialFailureError)) throw e
      this.fail(e.failures)
      this.ctx.onEvent({
        type: 'warn',
        code: EventCode.ActionPartial,
        data: {ids: e.failures.map((f) => f.id)},
        message: `${a.kind}: ${e.message}`,
      })
    }
  }

  fail(failures: TargetFailure[]) {
    for (const f of failures) this.failedIds.add(f.id)
    this.result.failures.push(...failures)
  }

  launched(a: Action, raws: RawInstance[]): string[] {
    this.launchesReturned++
    const ids = raws.map((r) => r.id)
    this.result.launchedRaw.push(...raws)
    this.produced.set(a.id, ids)
    this.result.launched.push(...ids)
    return ids
  }

  /** A wait's instances: its own and those its launch prerequisites produced, less the failed ones. */
  waitIds(a: Action): string[] {
    return [
      ...a.ids,
      ...a.deps.flatMap((d) => (this.byId.get(d)?.kind === 'launch' ? (this.produced.get(d) ?? []) : [])),
    ].filter((id) => !this.failedIds.has(id))
  }

  /** Whether every launch of the plan has returned (before a wait starts observing). */
  launchesDone(): boolean {
    return this.launchesReturned === this.launches
  }

  /**
   * Waits can run side by side (create: launched ones for running, extra ones for terminated):
   * the result shows the newest observation, whichever wait ends last.
   */
  observed(seen: RawInstance[], at: number, afterLaunches: boolean) {
    if (at < this.lastObservationAt) return
    this.result.lastObservation = seen
    this.result.observedAfterLaunches = afterLaunches
    this.lastObservationAt = at
  }
}

/** An EC2 call on a batch of instances that may fail for some of them. */
const batchCall =
  (method: 'startInstances' | 'stopInstances' | 'rebootInstances' | 'terminateInstances'): Handler =>
  (a, run) =>
    run.perInstance(a, run.ctx.port[method](a.ids))

const MARK_TAG: Record<MarkKind, string> = {replaced: Tag.Replaced, rebooting: Tag.Rebooting}

const HANDLERS: Record<Action['kind'], Handler> = {
  launch: async (a, run) => {
    const ids = run.launched(a, await launch(a, run.ctx, run.now()))
    const plain = describeAction(a, new Map(), {notation: false})
    return {
      finished: `${plain}: launched ${ids.join(', ') || 'nothing'}`,
      message: `${a.id} launched ${ids.join(', ')}`,
      ids,
    }
  },
  start: batchCall('startInstances'),
  stop: batchCall('stopInstances'),
  reboot: batchCall('rebootInstances'),
  terminate: batchCall('terminateInstances'),
  // The revert's marker: from here on the instance holds no slot (see resolveSlotClaims); a hard
  // reboot's: a re-run starts what it stopped (planReboot).
  mark: (a, run) =>
    run.ctx.port.createTags(a.ids, {[MARK_TAG[a.mark ?? 'replaced']]: a.value ?? run.now().toISOString()}),
  unmark: (a, run) => run.ctx.port.deleteTags(a.ids, [MARK_TAG[a.mark ?? 'replaced']]),
  wait: async (a, run) => {
    const ids = run.waitIds(a)
    if (a.until === 'ssh') {
      if (!run.ctx.waitSsh) throw new WolphinError('waiting for ssh is not available here')
      await run.ctx.waitSsh(ids)
      return
    }
    const afterLaunches = run.launchesDone()
    const waited = await waitFor(ids, a, run.ctx, run.sleep)
    run.observed(waited.seen, waited.at, afterLaunches)
    run.fail(waited.lost)
    return {ids}
  },
}

export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const state = new PlanRun(plan, ctx)
  const done = new Map<number, Promise<void>>()
  /** Action id -> what it did, for the report of an interrupted run. */
  const finished = new Map<number, string>()
  const run = async (a: Action): Promise<void> => {
    await Promise.all(a.deps.map((d) => done.get(d)!))
    if (ctx.signal?.aborted) throw new InterruptedError('interrupted')
    const message = describeAction(a)
    ctx.onEvent({type: 'action:start', action: a, message})
    try {
      const out = (await HANDLERS[a.kind](a, state)) ?? {}
      // What the interruption report says it did: no plan notation outside a dry run.
      finished.set(a.id, out.finished ?? describeAction(a, new Map(), {notation: false}))
      ctx.onEvent({
        type: 'action:done',
        action: a,
        message: out.message ?? message,
        ...(out.ids ? {ids: out.ids} : {}),
      })
    } catch (e) {
      ctx.onEvent({type: 'action:failed', action: a, message: (e as Error).message})
      throw e
    }
  }
  // Actions start as soon as their prerequisites are done; independent ones run in parallel.
  for (const a of plan.actions) done.set(a.id, run(a))
  const settled = await Promise.allSettled(done.values())
  if (ctx.signal?.aborted) {
    const {done: did, notDone} = interruptionReport(plan, finished)
    throw new InterruptedError(
      `interrupted: ${did.length} of ${plan.actions.length} action(s) done, ${notDone.length} not done`,
      {done: did, notDone, launched: state.result.launched},
    )
  }
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined
  if (failed) {
    const launched = state.result.launched
    if (failed.reason instanceof WolphinError && launched.length)
      failed.reason.launched = [...new Set([...(failed.reason.launched ?? []), ...launched])]
    throw failed.reason
  }
  return state.result
}

/**
 * The root volume of `disk`: the AMI's root device (one DescribeImages), checked against its
 * snapshot (EC2 refuses a root volume smaller than the snapshot).
 */
async function rootVolume(ctx: ApplyContext): Promise<LaunchRequest['rootVolume']> {
  const {disk, ami} = ctx.config
  if (!disk) return undefined
  if (!ctx.port.rootDevice) throw new WolphinError('"disk" needs an EC2 port that can describe images')
  const root = await ctx.port.rootDevice(ami!)
  if (disk.size !== undefined && root.snapshotSize !== null && disk.size < root.snapshotSize)
    throw new ConfigError(
      `field "disk.size": ${disk.size} GiB is smaller than the image's root snapshot (${root.snapshotSize} GiB on ` +
        `${root.deviceName}); expected at least ${root.snapshotSize}`,
    )
  return {deviceName: root.deviceName, size: disk.size, type: disk.type}
}

/**
 * After a RunInstances call failed: the next attempt to make (announced), or null when the launch
 * ends with what it has because count.min is met. Below count.min the error is thrown (what
 * launched is tagged; the next create converges).
 */
function afterLaunchFailure(
  e: unknown,
  ctx: ApplyContext,
  attempts: LaunchAttempt[],
  at: number,
  progress: {missing: number; launched: number; wantMin: number; asked: number},
): number | null {
  const code = e instanceof AwsError ? e.awsCode : (e as Error).name
  const next = nextAttempt(attempts, at, code)
  if (next !== null) {
    ctx.onEvent({
      type: 'warn',
      code: EventCode.LaunchRetry,
      message: `${describeAttempt(attempts[at])}: ${(e as AwsError).awsCode ?? (e as Error).name}; trying ${describeAttempt(attempts[next])} for ${progress.missing} slot(s)`,
    })
    return next
  }
  if (progress.launched < progress.wantMin) throw e
  ctx.onEvent({
    type: 'warn',
    code: EventCode.LaunchShort,
    message: `launched ${progress.launched} of ${progress.asked}, count.min is met; the rest failed: ${(e as Error).message}`,
  })
  return null
}

/**
 * Each instance's slot: the only one of a one-instance launch, else wolphin:slots indexed by its
 * AMI launch index.
 */
function launchedSlots(raws: RawInstance[], part: number[], tags: Record<string, string>, project: string) {
  return raws.flatMap((r) => {
    const slot = part.length > 1 ? resolveSlot({...r, tags: {...r.tags, ...tags}}, project) : part[0]
    return slot === null ? [] : [{id: r.id, slot}]
  })
}

/**
 * `nameTags: per-instance` writes each instance's own Name: one CreateTags per instance, the only
 * per-instance calls wolphin makes. Identity (ProjectName, wolphin:slots) came with the launch; a
 * missing Name is cosmetic and the next create writes it.
 */
async function nameEach(launched: Array<{id: string; slot: number}>, ctx: ApplyContext) {
  const project = ctx.config.project
  await pool(launched, NAME_POOL, async ({id, slot}) => {
    try {
      await retryThrottled(
        () => ctx.port.createTags([id], {[Tag.Name]: instanceName(project, slot), [Tag.Slot]: String(slot)}),
        (ms) => (ctx.sleep ?? defaultSleep)(ms),
      )
    } catch (e) {
      ctx.onEvent({
        type: 'warn',
        code: EventCode.NameFailed,
        data: {id},
        message: `could not name ${id}: ${(e as Error).message}`,
      })
    }
  })
}

async function launch(a: Action, ctx: ApplyContext, now: Date): Promise<RawInstance[]> {
  const c = ctx.config
  const settings = launchSettings(c)
  const root = await rootVolume(ctx)
  const asked = a.slots ?? []
  let slots = asked
  const wantMin = a.minCount ?? slots.length
  let followUp = false
  const out: RawInstance[] = []
  // Greedy towards max: EC2 may start fewer than MaxCount (capacity; moto always starts MinCount),
  // so what is still missing is asked for once more, all of it at once (one more call, never one
  // per instance). A capacity error moves the missing slots on to the next zone/subnet or market
  // (launch-order.ts). A slot list too long for one tag value is launched in parts.
  // Bounded by slots + attempts.
  const attempts = launchAttempts(c)
  let at = 0
  for (let round = 0; slots.length > 0 && round < asked.length + attempts.length; round++) {
    const part = slotsThatFit(slots)
    const tags = launchTags(c, ctx.spec, part, now)
    let raws: RawInstance[]
    try {
      const request: Omit<LaunchRequest, 'clientToken'> = {
        ...attemptRequest(c, attempts[at], settings),
        rootVolume: root,
        minCount: followUp ? part.length : Math.min(part.length, Math.max(1, wantMin - out.length)),
        maxCount: part.length,
        tags,
      }
      raws = await ctx.port.runInstances({...request, clientToken: launchToken(request, ctx.observed, now)})
    } catch (e) {
      const progress = {missing: slots.length, launched: out.length, wantMin, asked: asked.length}
      const next = afterLaunchFailure(e, ctx, attempts, at, progress)
      if (next === null) break
      at = next
      // A new zone or market has capacity of its own: greedy again from what count.min needs.
      followUp = false
      continue
    }
    if (raws.length === 0) break
    const launched = launchedSlots(raws, part, tags, c.project)
    if (part.length > 1 && c.nameTags === 'per-instance') await nameEach(launched, ctx)
    const filled = new Set(launched.map((l) => l.slot))
    out.push(...raws.map((r) => ({...r, tags: {...tags, ...r.tags}})))
    slots = slots.filter((s) => !filled.has(s))
    followUp = raws.length < part.length
  }
  return out
}

/** CreateTags calls of per-instance Names in flight at once. */
export const NAME_POOL = 16
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
])

/**
 * Runs `call` again, after a growing pause, while EC2 answers it with a throttling error that the
 * SDK's own retries did not outlast (a burst of per-instance CreateTags is what EC2 throttles).
 */
export async function retryThrottled<T>(
  call: () => Promise<T>,
  sleep: (ms: number) => Promise<void> = defaultSleep,
  tries = 4,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await call()
    } catch (e) {
      if (n >= tries || !(e instanceof AwsError && THROTTLING.has(e.awsCode))) throw e
      await sleep(500 * 2 ** (n - 1))
    }
  }
}

function reached(state: string | undefined, until: Action['until']): boolean {
  if (until === 'terminated') return state === undefined || state === 'terminated'
  return state === until
}

/**
 * A lost instance whose slot another live member wins by the one rule (slots.ts): another run
 * settled a duplicate; not a failure.
 */
function lostToDuplicate(id: string, seen: RawInstance[], project: string): boolean {
  return losesSlot(
    id,
    seen.map((r) => ({...r, slot: resolveSlot(r, project)})),
  )
}

/**
 * Polls with one DescribeInstances per round for the whole batch, until every id is there.
 * Instances that went away (terminated while waiting for running or stopped) are returned as
 * `lost` and no longer waited for.
 */
async function waitFor(
  ids: string[],
  a: Action,
  ctx: ApplyContext,
  sleep: (ms: number) => Promise<void>,
): Promise<{seen: RawInstance[]; lost: TargetFailure[]; at: number}> {
  const deadline = Date.now() + ctx.config.wait.timeout * 1000
  const tag = projectTagValue(ctx.config.project)
  const lost: TargetFailure[] = []
  let waiting = ids
  for (let round = 0; ; round++) {
    const at = performance.now()
    const seen = (await ctx.port.describeProject(tag)).filter((r) => isMember(r, ctx.config.project))
    const states = new Map(seen.map((r) => [r.id, r.state]))
    // Eventual consistency: a just-launched instance may be missing from the first answers, so a
    // missing id is waited for; one that is there and terminated is lost.
    const gone =
      a.until === 'terminated'
        ? []
        : waiting.filter((id) => ['terminated', 'shutting-down'].includes(states.get(id) ?? ''))
    for (const id of gone) {
      if (lostToDuplicate(id, seen, ctx.config.project)) {
        ctx.onEvent({
          type: 'info',
          code: EventCode.LostToDuplicate,
          data: {id},
          message: `${id} was terminated as a duplicate slot claim by another run`,
        })
      } else {
        lost.push({id, reason: `became ${states.get(id)} while waiting for ${a.until}`})
      }
    }
    if (gone.length) waiting = waiting.filter((id) => !gone.includes(id))
    const pending = waiting.filter((id) => !reached(states.get(id), a.until))
    if (pending.length === 0) return {seen, lost, at}
    ctx.onEvent({
      type: 'action:progress',
      action: a,
      message: `${ids.length - pending.length}/${ids.length} ${a.until}`,
      counts: {reached: ids.length - pending.length, total: ids.length},
    })
    if (Date.now() + ctx.config.wait.interval * 1000 > deadline) {
      throw new WaitTimeoutError(
        `timed out after ${ctx.config.wait.timeout}s waiting for ${pending.length} instance(s) to be ${a.until}: ${pending.join(', ')} (raise wait.timeout, or use --no-wait)`,
      )
    }
    await sleep(
      round === 0 ? Math.min(1000, ctx.config.wait.interval * 1000) : ctx.config.wait.interval * 1000,
    )
  }
}

export function isWolphinError(e: unknown): e is WolphinError {
  return e instanceof WolphinError
}
