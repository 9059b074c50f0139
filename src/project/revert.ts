/**
 * The revert planner: replace selected instances with fresh ones from the configured spec, keeping
 * their slots and Names. Pure: (observed instances, selection, options) -> plan. No SDK, no clock.
 *
 * Every instance being replaced is first tagged `wolphin:replaced` (a `mark` action). A marked
 * instance no longer holds its slot (see slots.ts), so its replacement can appear while it
 * still runs without two live claims on one slot, and a re-run can tell, per slot, how far an
 * interrupted revert got:
 *
 * | live unmarked | live marked | marked, gone | unit       | what is left to do                  |
 * |---------------|-------------|--------------|------------|-------------------------------------|
 * | old           | -           | -            | replace    | mark, terminate/launch per strategy |
 * | replacement   | old         | any          | finish     | wait replacement, terminate old     |
 * | -             | old         | any          | relaunch   | launch replacement, terminate old   |
 * | -             | -           | old (latest) | relaunch   | launch replacement                  |
 * | replacement   | -           | old          | done       | nothing (when resuming that run)    |
 *
 * The marker's value is the id of the revert run (its start time). A re-run that finds half-done
 * slots resumes that run: it marks with the same id, and a slot whose old instance carries it is
 * one the run already finished, so it is not replaced twice. Without any half-done slot, a run is
 * a new revert.
 */
import {bySlot} from './observe.js'
import {PlanBuilder, type Plan} from './plan.js'
import {isLive, slotTable, type SlotClaims} from './slots.js'
import {isReplaced, Tag} from './tags.js'
import type {Instance} from './types.js'

export const REVERT_STRATEGIES = ['batch', 'sequential', 'rolling'] as const
export type RevertStrategy = (typeof REVERT_STRATEGIES)[number]

export interface RevertOptions {
  strategy: RevertStrategy
  /** rolling: how many slots are replaced at a time (default 1). */
  surge?: number
  /** Wait for the final states (replacements running, old ones terminated). */
  wait: boolean
  /** rolling: wait until replacements are reachable over SSH before terminating the old ones. */
  waitSsh?: boolean
  /** The `wolphin:replaced` value for a new run (its start time); a resumed run keeps its own. */
  runId?: string
}

/** What a revert still has to do for one slot. */
export interface SlotUnit {
  slot: number
  kind: 'replace' | 'finish' | 'relaunch'
  /** Live, unmarked instances to mark and terminate (replace). */
  olds: Instance[]
  /** Live instances already marked replaced, still to terminate. */
  marked: Instance[]
  /** finish: the replacement that keeps the slot. */
  replacement: Instance | null
  /** finish: further unmarked live claims on the slot (duplicates), terminated with the old ones. */
  extra: Instance[]
}

export interface SlotAnalysis {
  units: SlotUnit[]
  /** Some selected slot was left half-done by an earlier, interrupted revert. */
  resuming: boolean
  /** The id of the run being resumed (the earliest when several were interrupted). */
  resumeId: string | null
  skipped: Plan['skipped']
}

const ids = (xs: Instance[]) => xs.map((x) => x.id)
const launchedAt = (i: Instance) => i.launchTime ?? ''
/** The `wolphin:replaced` values (revert run ids) the instances carry. */
const runIds = (xs: Instance[]) => xs.flatMap((i) => (i.tags[Tag.Replaced] ? [i.tags[Tag.Replaced]] : []))

/** One selected slot as a revert reads it from slots.ts's table. */
interface SlotRead {
  slot: number
  /** Live, unmarked claims, the holder first (the one rule: earliest launched, ties by id). */
  live: Instance[]
  /** Live claims already marked replaced. */
  marked: Instance[]
  /** Gone claims a revert marked replaced. */
  gone: Instance[]
  /** The slot's last launched claim, whatever its state. */
  latest: Instance | undefined
}

function readSlot(slot: number, claims: SlotClaims<Instance> | undefined): SlotRead {
  if (!claims) return {slot, live: [], marked: [], gone: [], latest: undefined}
  return {
    slot,
    live: [...(claims.holder ? [claims.holder] : []), ...claims.duplicates],
    marked: claims.marked,
    gone: claims.gone.filter(isReplaced),
    latest: claims.all.at(-1),
  }
}

/**
 * The slots a revert of `selection` reads, in order. An instance without a slot is skipped; a gone
 * instance brings its slot in only when a revert marked it: the trace of a replacement that has
 * not been launched yet.
 */
function selectedSlots(selection: Instance[], skipped: Plan['skipped']): number[] {
  const slots = new Set<number>()
  for (const i of [...selection].sort(bySlot)) {
    if (i.slot === null) {
      if (isLive(i)) skipped.push(skip(i, 'has no slot, so its replacement could not keep its Name'))
    } else if (isLive(i) || isReplaced(i)) slots.add(i.slot)
  }
  return [...slots].sort((a, b) => a - b)
}

/** The unit of a slot an interrupted revert left half-done, with the run(s) it belongs to; null otherwise. */
function halfDone(s: SlotRead): {unit: SlotUnit; runs: string[]} | null {
  if (s.marked.length) {
    const [replacement = null, ...extra] = s.live
    const kind = replacement ? 'finish' : 'relaunch'
    return {
      unit: {slot: s.slot, kind, olds: [], marked: s.marked, replacement, extra},
      runs: runIds(s.marked),
    }
  }
  // The old one is gone and nothing was launched after it: its replacement is missing. (When
  // something was launched after it and is gone too, someone emptied the slot on purpose.)
  if (!s.live.length && s.latest && s.gone.includes(s.latest))
    return {
      unit: {slot: s.slot, kind: 'relaunch', olds: [], marked: [], replacement: null, extra: []},
      runs: runIds([s.latest]),
    }
  return null
}

/**
 * Resuming, a slot whose current holder replaced an instance the interrupted run marked is one
 * that run finished before it was interrupted.
 */
function finishedByRun(s: SlotRead, runs: Set<string>): boolean {
  const holder = s.live[0]
  return (
    !holder.outdated &&
    s.gone.some((g) => runs.has(g.tags[Tag.Replaced]) && launchedAt(g) <= launchedAt(holder))
  )
}

/** Sorts the selection's slots into units of work; see the table at the top of this file. */
export function analyseRevert(observed: Instance[], selection: Instance[]): SlotAnalysis {
  const skipped: Plan['skipped'] = []
  const selected = new Set(ids(selection))
  const slots = selectedSlots(selection, skipped)
  // Which instance claims which slot is slots.ts's to say; this only reads its table.
  const wanted = new Set(slots)
  const table = slotTable(observed.filter((i) => i.slot !== null && wanted.has(i.slot)))
  const units: SlotUnit[] = []
  /** Ids of the interrupted runs the half-done slots belong to. */
  const runs = new Set<string>()
  const fresh: SlotRead[] = []
  for (const read of slots.map((slot) => readSlot(slot, table.get(slot)))) {
    const half = halfDone(read)
    if (half) {
      units.push(half.unit)
      half.runs.forEach((r) => runs.add(r))
    } else if (read.live.some((i) => selected.has(i.id))) fresh.push(read)
  }
  // Only half-done slots are in `units` so far.
  const resuming = units.length > 0
  for (const read of fresh) {
    if (resuming && finishedByRun(read, runs)) {
      for (const i of read.live)
        if (selected.has(i.id)) skipped.push(skip(i, 'already replaced by the revert being resumed'))
    } else
      units.push({
        slot: read.slot,
        kind: 'replace',
        olds: read.live,
        marked: [],
        replacement: null,
        extra: [],
      })
  }
  units.sort((a, b) => a.slot - b.slot)
  const resumeId = [...runs].sort()[0] ?? null
  return {units, resuming, resumeId, skipped}
}

function skip(i: Instance, reason: string): Plan['skipped'][number] {
  return {id: i.id, name: i.name, state: i.state, reason}
}

/** Unit parts shared by every strategy. */
const toMark = (us: SlotUnit[]) => us.flatMap((u) => ids(u.olds))
const toTerminate = (us: SlotUnit[]) => us.flatMap((u) => [...ids(u.olds), ...ids(u.marked), ...ids(u.extra)])
const toLaunch = (us: SlotUnit[]) => us.filter((u) => u.kind !== 'finish').map((u) => u.slot)
/** Replacements that already exist and are (or are becoming) running. */
const existingReplacements = (us: SlotUnit[]) =>
  us.flatMap((u) =>
    u.replacement && (u.replacement.state === 'pending' || u.replacement.state === 'running')
      ? [u.replacement]
      : [],
  )

/** A wait's description of the instances a launch produced. */
const launched = (launch: number | null) => (launch === null ? {} : {launches: [launch]})
/** The prerequisites among `xs` that exist. */
const after = (...xs: Array<number | null>) => xs.filter((x): x is number => x !== null)

/** What every strategy writes into: the plan, the options, and the ids it terminates. */
interface StrategyPlan {
  b: PlanBuilder
  opts: RevertOptions
  /** Adds a mark of `xs` after `prev`, carrying the run's id. */
  mark(xs: string[], prev: number | null): number
  /** Every id the plan terminates, for the final wait. */
  terminated: string[]
}

/** Plans every unit's work in the strategy's order. */
type Strategy = (p: StrategyPlan, units: SlotUnit[]) => void

/** batch: mark, terminate and relaunch the whole selection at once. */
const planBatch: Strategy = ({b, opts, mark, terminated}, units) => {
  const marking = toMark(units)
  const marked = marking.length ? mark(marking, null) : null
  const gone = toTerminate(units)
  const term = gone.length ? b.add({kind: 'terminate', deps: after(marked), ids: gone}) : null
  terminated.push(...gone)
  const slots = toLaunch(units)
  const launch = slots.length
    ? b.add({kind: 'launch', deps: after(term ?? marked), ids: [], slots, minCount: slots.length})
    : null
  const waitIds = ids(existingReplacements(units).filter((i) => i.state === 'pending'))
  if (opts.wait && (launch !== null || waitIds.length))
    b.add({kind: 'wait', deps: after(launch ?? term), ids: waitIds, until: 'running', ...launched(launch)})
}

/** sequential: one slot at a time, terminating first; the next slot starts once this one runs again. */
const planSequential: Strategy = (p, units) => {
  let last: number | null = null
  units.forEach((u, n) => {
    last = sequentialSlot(p, u, last, n === units.length - 1)
  })
}

/** One slot of a sequential revert after `last`; returns the action the next slot follows. */
function sequentialSlot(p: StrategyPlan, u: SlotUnit, last: number | null, isLast: boolean) {
  const marked = u.olds.length ? p.mark(ids(u.olds), last) : null
  const gone = toTerminate([u])
  p.terminated.push(...gone)
  const term = gone.length
    ? p.b.add({kind: 'terminate', deps: after(marked ?? last), ids: gone, reason: `slot ${u.slot}`})
    : null
  // The last slot waits only when asked to.
  return sequentialRefill(p.b, u, term ?? marked ?? last, p.opts.wait || !isLast)
}

/** A sequential slot's replacement after `prev`: waited for (`waits`) when it exists, else launched. */
function sequentialRefill(b: PlanBuilder, u: SlotUnit, prev: number | null, waits: boolean) {
  if (u.kind === 'finish') {
    const pending = u.replacement?.state === 'pending' ? [u.replacement.id] : []
    return pending.length && waits
      ? b.add({kind: 'wait', deps: after(prev), ids: pending, until: 'running'})
      : prev
  }
  const launch = b.add({kind: 'launch', deps: after(prev), ids: [], slots: [u.slot], minCount: 1})
  return waits ? b.add({kind: 'wait', deps: [launch], ids: [], until: 'running', launches: [launch]}) : launch
}

/**
 * rolling: launch first and terminate the old instances only once their replacements run (and
 * answer on ssh with --wait-ssh), `surge` slots at a time, so capacity never drops.
 */
const planRolling: Strategy = (p, units) => {
  const surge = Math.max(1, p.opts.surge ?? 1)
  let last: number | null = null
  for (let g = 0; g < units.length; g += surge) last = rollingGroup(p, units.slice(g, g + surge), last)
}

/** One group of a rolling revert after `last`; returns the action the next group follows. */
function rollingGroup({b, opts, mark, terminated}: StrategyPlan, group: SlotUnit[], last: number | null) {
  const marking = toMark(group)
  const marked = marking.length ? mark(marking, last) : null
  const slots = toLaunch(group)
  const launch = slots.length
    ? b.add({kind: 'launch', deps: after(marked ?? last), ids: [], slots, minCount: slots.length})
    : null
  const existing = ids(existingReplacements(group))
  const ready =
    launch !== null || existing.length
      ? rollingReady(b, opts, launch, existing, marked ?? last)
      : (marked ?? last)
  const gone = toTerminate(group)
  terminated.push(...gone)
  if (!gone.length) return ready
  const slotsText = group.map((u) => u.slot).join(', ')
  return b.add({
    kind: 'terminate',
    deps: after(ready),
    ids: gone,
    reason: `slot${group.length > 1 ? 's' : ''} ${slotsText}`,
  })
}

/** The wait(s) after which a rolling group's old instances may go: every replacement runs (and answers on ssh). */
function rollingReady(
  b: PlanBuilder,
  opts: RevertOptions,
  launch: number | null,
  existing: string[],
  prev: number | null,
) {
  const running = b.add({
    kind: 'wait',
    deps: after(launch ?? prev),
    ids: existing,
    until: 'running',
    ...launched(launch),
  })
  if (!opts.waitSsh) return running
  return b.add({kind: 'wait', deps: after(launch, running), ids: existing, until: 'ssh', ...launched(launch)})
}

const STRATEGIES: Record<RevertStrategy, Strategy> = {
  batch: planBatch,
  sequential: planSequential,
  rolling: planRolling,
}

/**
 * revert: batch marks, terminates and relaunches the whole selection at once; sequential does one
 * slot at a time, terminating first; rolling launches first and terminates the old instance only
 * once its replacement runs (`surge` slots at a time), so capacity never drops.
 */
export function planRevert(observed: Instance[], selection: Instance[], opts: RevertOptions): Plan {
  const b = new PlanBuilder(`revert (${opts.strategy})`)
  const {units, skipped, resumeId} = analyseRevert(observed, selection)
  b.skipped.push(...skipped)
  if (!units.length) return b.build()
  // Marks carry the run's id; a resumed run keeps the one it resumes.
  const value = resumeId ?? opts.runId
  const mark = (xs: string[], prev: number | null) =>
    b.add({kind: 'mark', ids: xs, ...(value ? {value} : {}), deps: after(prev)})
  const terminated: string[] = []
  STRATEGIES[opts.strategy]({b, opts, mark, terminated}, units)
  if (opts.wait && terminated.length) {
    // Last of all, so its observation (the result's final state) sees every replacement too.
    const actions = b.build().actions
    const sinks = actions.filter((a) => !actions.some((o) => o.deps.includes(a.id))).map((a) => a.id)
    b.add({kind: 'wait', deps: sinks, ids: terminated, until: 'terminated'})
  }
  return b.build()
}
