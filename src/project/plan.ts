/**
 * Pure planners: (observed instances, desired spec, selection) -> a plan, a small graph of actions
 * with prerequisites. No SDK, no clock, no I/O: planners are tested as tables.
 */
import {bySlot} from './observe.js'
import {resolveSlotClaims} from './slots.js'
import {isRebooting} from './tags.js'
import {type Instance, isHealthy} from './types.js'

/** Slot claims live in slots.ts; re-exported for the callers that imported them from here. */
export {resolveSlotClaims} from './slots.js'

export type ActionKind = 'launch' | 'start' | 'stop' | 'reboot' | 'terminate' | 'wait' | 'mark' | 'unmark'
/** What a mark (or unmark) says of an instance: replaced by a revert, or in a hard reboot. */
export type MarkKind = 'replaced' | 'rebooting'
/** `ssh`: reachable over SSH (revert --wait-ssh); the others are EC2 states. */
export type WaitTarget = 'running' | 'stopped' | 'terminated' | 'ssh'

export interface Action {
  id: number
  deps: number[]
  kind: ActionKind
  /** Existing instances the action works on (for `wait`: besides those launched by its deps). */
  ids: string[]
  /** Slots a launch fills, lowest first. */
  slots?: number[]
  /** For a launch: the fewest instances that make it a success. */
  minCount?: number
  /** For a wait: the state to wait for. */
  until?: WaitTarget
  /** Why, in words: "above count.max", "duplicate of slot 2". */
  reason?: string
  /** For a wait: the launch actions whose new instances it also waits for (for descriptions). */
  launches?: number[]
  /** For a mark or unmark: which mark (default `replaced`). */
  mark?: MarkKind
  /** For a mark: the `wolphin:replaced` value, the id of the revert run (see revert.ts). */
  value?: string
  /**
   * For a terminate: it converges rather than chooses (duplicate slot claims left by a race
   * between two runs, or instances a revert the user already ran marked as replaced), so front
   * ends do not ask before it.
   */
  converges?: boolean
}

export interface Skipped {
  id: string
  name: string | null
  state: string
  reason: string
}

export interface Plan {
  operation: string
  actions: Action[]
  skipped: Skipped[]
}

export class PlanBuilder {
  private readonly actions: Action[] = []
  constructor(private readonly operation: string) {}
  readonly skipped: Skipped[] = []
  add(a: Omit<Action, 'id' | 'deps'> & {deps?: number[]}): number {
    const id = this.actions.length
    this.actions.push({deps: [], ...a, id})
    return id
  }
  skip(i: Instance, reason: string) {
    this.skipped.push({id: i.id, name: i.name, state: i.state, reason})
  }
  build(): Plan {
    return {operation: this.operation, actions: this.actions, skipped: this.skipped}
  }
}

const ids = (xs: Instance[]) => xs.map((x) => x.id)

/** The lowest `n` slot numbers (from 1) not in `taken`. */
export function lowestFreeSlots(taken: Iterable<number>, n: number): number[] {
  const used = new Set(taken)
  const out: number[] = []
  for (let s = 1; out.length < n; s++) if (!used.has(s)) out.push(s)
  return out
}

export interface CreateOptions {
  count: {min: number; max: number}
  wait: boolean
}

/**
 * create: converge to count.min..count.max healthy members. Waits out stopping, starts stopped
 * members, launches what is missing into the lowest free slots (greedy towards max, succeeding
 * from min), terminates duplicates and the highest slots above max. What an interrupted revert
 * left running marked `wolphin:replaced` holds no slot (slots.ts): it is terminated once the
 * slot's holder runs, so create finishes the revert instead of undoing it.
 */
export function planCreate(observed: Instance[], opts: CreateOptions): Plan {
  const b = new PlanBuilder('create')
  const {keep, duplicates, markedHeld, markedUnheld} = resolveSlotClaims(observed)
  const marked = [...markedHeld, ...markedUnheld].sort(bySlot)
  // Above max: unslotted members go first, then the highest slots.
  const ordered = [...keep].sort((a, c) => (c.slot ?? Infinity) - (a.slot ?? Infinity))
  const excess = ordered.slice(0, Math.max(0, keep.length - opts.count.max))
  const members = keep.filter((i) => !excess.includes(i))
  const waitAfter: number[] = []
  const waitIds: string[] = []
  const terminations: number[] = []
  if (duplicates.length)
    terminations.push(
      b.add({
        kind: 'terminate',
        ids: ids(duplicates),
        reason: `${duplicates.length} duplicate slot claim(s)`,
        converges: true,
      }),
    )
  if (excess.length)
    terminations.push(
      b.add({
        kind: 'terminate',
        ids: ids(excess.sort(bySlot)),
        reason: `above count.max (${opts.count.max})`,
      }),
    )
  // Waiting for them too makes the result show their real final state, as `terminate` does.
  if (opts.wait && terminations.length)
    b.add({
      kind: 'wait',
      deps: terminations,
      ids: [...ids(duplicates), ...ids(excess)],
      until: 'terminated',
    })
  const stopping = members.filter((i) => i.state === 'stopping')
  const stopped = members.filter((i) => i.state === 'stopped')
  if (stopping.length) {
    const w = b.add({kind: 'wait', ids: ids(stopping), until: 'stopped', reason: 'still stopping'})
    waitAfter.push(b.add({kind: 'start', deps: [w], ids: ids(stopping)}))
    waitIds.push(...ids(stopping))
  }
  if (stopped.length) {
    waitAfter.push(b.add({kind: 'start', ids: ids(stopped)}))
    waitIds.push(...ids(stopped))
  }
  waitIds.push(...ids(members.filter((i) => i.state === 'pending')))
  let launchId = -1
  const missing = opts.count.max - members.length
  if (missing > 0) {
    const slots = lowestFreeSlots(
      members.flatMap((i) => (i.slot === null ? [] : [i.slot])),
      missing,
    )
    const minCount = Math.max(1, opts.count.min - members.length)
    launchId = b.add({kind: 'launch', ids: [], slots, minCount})
    waitAfter.push(launchId)
  }
  let running = -1
  if (opts.wait && (waitAfter.length || waitIds.length)) {
    running = b.add({
      kind: 'wait',
      deps: waitAfter,
      ids: waitIds,
      until: 'running',
      ...(launchId >= 0 ? {launches: [launchId]} : {}),
    })
  }
  if (marked.length) {
    // Only once every slot's holder runs (or, without waiting, once it is launched or started):
    // capacity never drops below what the interrupted revert left.
    const term = b.add({
      kind: 'terminate',
      deps: running >= 0 ? [running] : waitAfter,
      ids: ids(marked),
      reason: 'replaced by a revert',
      converges: true,
    })
    if (opts.wait) b.add({kind: 'wait', deps: [term], ids: ids(marked), until: 'terminated'})
  }
  return b.build()
}

export interface SelectionOptions {
  wait: boolean
}

/** start: stopped (and stopping, once stopped) instances of the selection. */
export function planStart(selection: Instance[], opts: SelectionOptions): Plan {
  const b = new PlanBuilder('start')
  const stopping = selection.filter((i) => i.state === 'stopping')
  const stopped = selection.filter((i) => i.state === 'stopped')
  const pending = selection.filter((i) => i.state === 'pending')
  for (const i of selection) {
    if (i.state === 'running') b.skip(i, 'already running')
    else if (i.state === 'shutting-down' || i.state === 'terminated')
      b.skip(i, `cannot start a ${i.state} instance`)
  }
  const deps: number[] = []
  if (stopping.length) {
    const w = b.add({kind: 'wait', ids: ids(stopping), until: 'stopped', reason: 'still stopping'})
    deps.push(b.add({kind: 'start', deps: [w], ids: ids(stopping)}))
  }
  if (stopped.length) deps.push(b.add({kind: 'start', ids: ids(stopped)}))
  const waitIds = [...ids(stopping), ...ids(stopped), ...ids(pending)]
  if (opts.wait && waitIds.length) b.add({kind: 'wait', deps, ids: waitIds, until: 'running'})
  return b.build()
}

/** stop: pending and running instances of the selection. */
export function planStop(selection: Instance[], opts: SelectionOptions): Plan {
  const b = new PlanBuilder('stop')
  const targets = selection.filter((i) => i.state === 'running' || i.state === 'pending')
  const stopping = selection.filter((i) => i.state === 'stopping')
  for (const i of selection) {
    if (i.state === 'stopped') b.skip(i, 'already stopped')
    else if (i.state === 'shutting-down' || i.state === 'terminated')
      b.skip(i, `cannot stop a ${i.state} instance`)
  }
  // A stop the user asks for outranks a hard reboot cut off before its start: its mark goes first,
  // so that a later `reboot --hard` does not start what the user meant to keep stopped.
  const marked = selection.filter((i) => isRebooting(i) && isHealthy(i))
  if (marked.length) b.add({kind: 'unmark', mark: 'rebooting', ids: ids(marked)})
  const deps = targets.length ? [b.add({kind: 'stop', ids: ids(targets)})] : []
  const waitIds = [...ids(targets), ...ids(stopping)]
  if (opts.wait && waitIds.length) b.add({kind: 'wait', deps, ids: waitIds, until: 'stopped'})
  return b.build()
}

/** reboot: running instances; `hard` stops and starts them instead. */
export function planReboot(selection: Instance[], opts: SelectionOptions & {hard: boolean}): Plan {
  const b = new PlanBuilder('reboot')
  // A running instance is rebooted even when marked: a run cut off between its mark and its stop
  // never rebooted it (one cut off after its start reboots it once more).
  const running = selection.filter((i) => i.state === 'running')
  // What a hard reboot cut off between its stop and its start left (marked `wolphin:rebooting`):
  // a hard reboot finishes it; a soft one cannot reboot a stopped instance and says how to start it.
  const resumed = opts.hard
    ? selection.filter((i) => isRebooting(i) && i.state !== 'running' && isHealthy(i))
    : []
  const acted = new Set([...running, ...resumed])
  for (const i of selection)
    if (!acted.has(i))
      b.skip(
        i,
        i.state === 'stopped' || i.state === 'stopping'
          ? `not running (${i.state}); \`wolphin start\` starts it`
          : `not running (${i.state})`,
      )
  if (!opts.hard) {
    if (running.length) b.add({kind: 'reboot', ids: ids(running)})
    return b.build()
  }
  const toStart = [...running, ...resumed.filter((i) => i.state === 'stopped' || i.state === 'stopping')]
  const stopped: number[] = []
  if (running.length) {
    const mark = b.add({kind: 'mark', mark: 'rebooting', ids: ids(running)})
    stopped.push(b.add({kind: 'stop', deps: [mark], ids: ids(running)}))
  }
  // Starting needs stopped instances, so a hard reboot always waits in between.
  const waitStopped = toStart.length
    ? [b.add({kind: 'wait', deps: stopped, ids: ids(toStart), until: 'stopped'})]
    : []
  const started = toStart.length ? [b.add({kind: 'start', deps: waitStopped, ids: ids(toStart)})] : []
  // A resumed `pending` one was started by the run that was cut off: only its mark is left to clear.
  const all = [...running, ...resumed]
  if (!all.length) return b.build()
  const up = opts.wait ? [b.add({kind: 'wait', deps: started, ids: ids(all), until: 'running'})] : started
  b.add({kind: 'unmark', mark: 'rebooting', deps: up, ids: ids(all)})
  return b.build()
}

/** terminate: every instance of the selection not already gone. */
export function planTerminate(selection: Instance[], opts: SelectionOptions): Plan {
  const b = new PlanBuilder('terminate')
  const targets = selection.filter((i) => isHealthy(i))
  const going = selection.filter((i) => i.state === 'shutting-down')
  for (const i of selection) if (i.state === 'terminated') b.skip(i, 'already terminated')
  const deps = targets.length ? [b.add({kind: 'terminate', ids: ids(targets)})] : []
  const waitIds = [...ids(targets), ...ids(going)]
  if (opts.wait && waitIds.length) b.add({kind: 'wait', deps, ids: waitIds, until: 'terminated'})
  return b.build()
}

/** True when the plan changes something (waits alone change nothing). */
export function isMutating(plan: Plan): boolean {
  return plan.actions.some((a) => a.kind !== 'wait')
}

/**
 * One line per action: `1 [0] start i-abc, i-def`; with `notation: false` (reports outside a dry
 * run) without the action's number and prerequisites: `start i-abc, i-def`.
 */
export function describeAction(
  a: Action,
  names: Map<string, string | null> = new Map(),
  opts: {notation?: boolean} = {},
): string {
  const notation = opts.notation ?? true
  const who = (xs: string[]) => xs.map((id) => (names.get(id) ? `${id} (${names.get(id)})` : id)).join(', ')
  const deps = `[${a.deps.join(',')}]`
  let what: string
  switch (a.kind) {
    case 'launch': {
      const s = a.slots ?? []
      what = `launch ${s.length} instance${s.length === 1 ? '' : 's'} into slot${s.length === 1 ? '' : 's'} ${s.join(', ')}`
      if (a.minCount !== undefined && a.minCount < s.length) what += ` (at least ${a.minCount})`
      break
    }
    case 'mark':
      what = `mark ${who(a.ids)} as ${a.mark ?? 'replaced'}`
      break
    case 'unmark':
      what = `clear the ${a.mark ?? 'replaced'} mark of ${who(a.ids)}`
      break
    case 'wait':
      what = `wait until ${a.until === 'ssh' ? 'reachable over ssh' : a.until}: ${[a.ids.length ? who(a.ids) : '', a.launches?.length ? (notation ? `instances launched by [${a.launches.join(',')}]` : 'the instances it launches') : ''].filter(Boolean).join(' and ')}`
      break
    default:
      what = `${a.kind} ${who(a.ids)}`
  }
  if (a.reason) what += ` (${a.reason})`
  return notation ? `${a.id} ${deps} ${what}` : what
}
