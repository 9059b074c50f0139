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
import {describeAttempt, launchAttempts, nextAttempt} from './launch-order.js'
import {type Action, describeAction, type Plan} from './plan.js'
import {launchSettings} from './launch-settings.js'
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

export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const sleep = interruptible(ctx.sleep ?? defaultSleep, ctx.signal)
  const now = ctx.now ?? (() => new Date())
  const produced = new Map<number, string[]>()
  const done = new Map<number, Promise<void>>()
  /** Action id -> what it did, for the report of an interrupted run. */
  const finished = new Map<number, string>()
  const result: ApplyResult = {
    launched: [],
    launchedRaw: [],
    lastObservation: null,
    observedAfterLaunches: false,
    failures: [],
  }
  const launches = plan.actions.filter((a) => a.kind === 'launch').length
  let launchesReturned = 0
  let lastObservationAt = -Infinity
  const byId = new Map(plan.actions.map((a) => [a.id, a]))
  /** Instances an action failed for: later actions (waits) leave them out. */
  const failedIds = new Set<string>()

  // A batch that failed for some of its instances was done for the others: note them, go on.
  const perInstance = async (a: Action, call: Promise<void>): Promise<void> => {
    try {
      await call
    } catch (e) {
      if (!(e instanceof PartialFailureError)) throw e
      for (const f of e.failures) failedIds.add(f.id)
      result.failures.push(...e.failures)
      ctx.onEvent({
        type: 'warn',
        code: EventCode.ActionPartial,
        data: {ids: e.failures.map((f) => f.id)},
        message: `${a.kind}: ${e.message}`,
      })
    }
  }

  const run = async (a: Action): Promise<void> => {
    await Promise.all(a.deps.map((d) => done.get(d)!))
    if (ctx.signal?.aborted) throw new InterruptedError('interrupted')
    const message = describeAction(a)
    // What the interruption report says it did: no plan notation outside a dry run.
    const plain = describeAction(a, new Map(), {notation: false})
    ctx.onEvent({type: 'action:start', action: a, message})
    let waitedIds: string[] | undefined
    try {
      switch (a.kind) {
        case 'launch': {
          const raws = await launch(a, ctx, now())
          launchesReturned++
          const ids = raws.map((r) => r.id)
          result.launchedRaw.push(...raws)
          produced.set(a.id, ids)
          result.launched.push(...ids)
          finished.set(a.id, `${plain}: launched ${ids.join(', ') || 'nothing'}`)
          ctx.onEvent({type: 'action:done', action: a, message: `${a.id} launched ${ids.join(', ')}`, ids})
          return
        }
        case 'start':
          await perInstance(a, ctx.port.startInstances(a.ids))
          break
        case 'stop':
          await perInstance(a, ctx.port.stopInstances(a.ids))
          break
        case 'reboot':
          await perInstance(a, ctx.port.rebootInstances(a.ids))
          break
        case 'terminate':
          await perInstance(a, ctx.port.terminateInstances(a.ids))
          break
        case 'mark':
          // The revert's marker: from here on the instance holds no slot (see resolveSlotClaims).
          await ctx.port.createTags(a.ids, {[Tag.Replaced]: a.value ?? now().toISOString()})
          break
        case 'wait': {
          if (a.until === 'ssh') {
            const sshIds = [
              ...a.ids,
              ...a.deps.flatMap((d) => (byId.get(d)?.kind === 'launch' ? (produced.get(d) ?? []) : [])),
            ].filter((id) => !failedIds.has(id))
            if (!ctx.waitSsh) throw new WolphinError('waiting for ssh is not available here')
            await ctx.waitSsh(sshIds)
            break
          }
          const ids = [
            ...a.ids,
            ...a.deps.flatMap((d) => (byId.get(d)?.kind === 'launch' ? (produced.get(d) ?? []) : [])),
          ].filter((id) => !failedIds.has(id))
          const afterLaunches = launchesReturned === launches
          const waited = await waitFor(ids, a, ctx, sleep)
          waitedIds = ids
          // Waits can run side by side (create: launched ones for running, extra ones for
          // terminated): the result shows the newest observation, whichever wait ends last.
          if (waited.at >= lastObservationAt) {
            result.lastObservation = waited.seen
            result.observedAfterLaunches = afterLaunches
            lastObservationAt = waited.at
          }
          for (const f of waited.lost) failedIds.add(f.id)
          result.failures.push(...waited.lost)
          break
        }
      }
      finished.set(a.id, plain)
      ctx.onEvent({type: 'action:done', action: a, message, ...(waitedIds ? {ids: waitedIds} : {})})
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
      {done: did, notDone, launched: result.launched},
    )
  }
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined
  if (failed) {
    if (failed.reason instanceof WolphinError && result.launched.length)
      failed.reason.launched = [...new Set([...(failed.reason.launched ?? []), ...result.launched])]
    throw failed.reason
  }
  return result
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

async function launch(a: Action, ctx: ApplyContext, now: Date): Promise<RawInstance[]> {
  const c = ctx.config
  const settings = launchSettings(c)
  const root = await rootVolume(ctx)
  let slots = a.slots ?? []
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
  for (let round = 0; slots.length > 0 && round < (a.slots ?? []).length + attempts.length; round++) {
    const attempt = attempts[at]
    const part = slotsThatFit(slots)
    const minCount = followUp ? part.length : Math.min(part.length, Math.max(1, wantMin - out.length))
    const tags = launchTags(c, ctx.spec, part, now)
    let raws: RawInstance[]
    try {
      const request: Omit<LaunchRequest, 'clientToken'> = {
        ami: c.ami!,
        instanceType: c.instanceType,
        minCount,
        maxCount: part.length,
        tags,
        keyName: c.keyName,
        securityGroups: c.securityGroups,
        subnet: attempt.subnet,
        availabilityZone: attempt.availabilityZone,
        userData: settings.userData,
        iamInstanceProfile: c.iamInstanceProfile,
        imdsv2: c.imdsv2,
        metadataTags: settings.metadataTags,
        // EC2 cannot stop a one-time spot instance: a leased one that powers off is terminated.
        shutdownBehavior:
          attempt.market === 'spot' && c.lease !== undefined ? 'terminate' : settings.shutdownBehavior,
        rootVolume: root,
        spot: attempt.market === 'spot' ? {maxPrice: c.maxPrice} : undefined,
      }
      raws = await ctx.port.runInstances({...request, clientToken: launchToken(request, ctx.observed, now)})
    } catch (e) {
      const next = nextAttempt(attempts, at, e instanceof AwsError ? e.awsCode : (e as Error).name)
      if (next !== null) {
        ctx.onEvent({
          type: 'warn',
          code: EventCode.LaunchRetry,
          message: `${describeAttempt(attempt)}: ${(e as AwsError).awsCode ?? (e as Error).name}; trying ${describeAttempt(attempts[next])} for ${slots.length} slot(s)`,
        })
        at = next
        // A new zone or market has capacity of its own: greedy again from what count.min needs.
        followUp = false
        continue
      }
      // Below count.min is a failure (what launched is tagged; the next create converges).
      if (out.length < wantMin) throw e
      ctx.onEvent({
        type: 'warn',
        code: EventCode.LaunchShort,
        message: `launched ${out.length} of ${(a.slots ?? []).length}, count.min is met; the rest failed: ${(e as Error).message}`,
      })
      break
    }
    if (raws.length === 0) break
    // Each instance's slot: the only one of a one-instance launch, else wolphin:slots indexed by
    // its AMI launch index.
    const launched = raws.flatMap((r) => {
      const slot = part.length > 1 ? resolveSlot({...r, tags: {...r.tags, ...tags}}, c.project) : part[0]
      return slot === null ? [] : [{id: r.id, slot}]
    })
    // Identity (slots included) came with the launch. `nameTags: per-instance` also writes each
    // instance's own Name: one CreateTags per instance, the only per-instance calls wolphin makes.
    if (part.length > 1 && c.nameTags === 'per-instance') {
      await pool(launched, NAME_POOL, async ({id, slot}) => {
        try {
          await retryThrottled(
            () =>
              ctx.port.createTags([id], {
                [Tag.Name]: instanceName(c.project, slot),
                [Tag.Slot]: String(slot),
              }),
            (ms) => (ctx.sleep ?? defaultSleep)(ms),
          )
        } catch (e) {
          // Identity (ProjectName, wolphin:slots) came with the launch; a missing Name is cosmetic
          // and the next create writes it.
          ctx.onEvent({
            type: 'warn',
            code: EventCode.NameFailed,
            data: {id},
            message: `could not name ${id}: ${(e as Error).message}`,
          })
        }
      })
    }
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
