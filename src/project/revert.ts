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
import {isLive, slotTable} from './slots.js'
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

/** Sorts the selection's slots into units of work; see the table at the top of this file. */
export function analyseRevert(observed: Instance[], selection: Instance[]): SlotAnalysis {
  const skipped: Plan['skipped'] = []
  const selected = new Set(ids(selection))
  const slots = new Set<number>()
  for (const i of [...selection].sort(bySlot)) {
    if (i.slot === null) {
      if (isLive(i)) skipped.push(skip(i, 'has no slot, so its replacement could not keep its Name'))
      continue
    }
    // A gone instance brings its slot in only when a revert marked it: the trace of a replacement
    // that has not been launched yet.
    if (isLive(i) || isReplaced(i)) slots.add(i.slot)
  }
  // Which instance claims which slot is slots.ts's to say; this only reads its table.
  const table = slotTable(observed.filter((i) => i.slot !== null && slots.has(i.slot)))

  interface Pending {
    slot: number
    live: Instance[]
    marked: Instance[]
    gone: Instance[]
  }
  const fresh: Pending[] = []
  const units: SlotUnit[] = []
  /** Ids of the interrupted runs the half-done slots belong to. */
  const runs = new Set<string>()
  const runOf = (i: Instance | undefined) => {
    const id = i?.tags[Tag.Replaced]
    if (id) runs.add(id)
  }
  let resuming = false
  for (const slot of [...slots].sort((a, b) => a - b)) {
    const claims = table.get(slot)
    // Live, unmarked claims, the holder first (the one rule: earliest launched, ties by id).
    const live = claims ? [...(claims.holder ? [claims.holder] : []), ...claims.duplicates] : []
    const marked = claims?.marked ?? []
    const gone = (claims?.gone ?? []).filter(isReplaced)
    const latest = claims?.all.at(-1)
    if (marked.length && live.length) {
      resuming = true
      marked.forEach(runOf)
      const [replacement, ...extra] = live
      units.push({slot, kind: 'finish', olds: [], marked, replacement, extra})
    } else if (marked.length) {
      resuming = true
      marked.forEach(runOf)
      units.push({slot, kind: 'relaunch', olds: [], marked, replacement: null, extra: []})
    } else if (!live.length && gone.length && latest && gone.includes(latest)) {
      // The old one is gone and nothing was launched after it: its replacement is missing. (When
      // something was launched after it and is gone too, someone emptied the slot on purpose.)
      resuming = true
      runOf(latest)
      units.push({slot, kind: 'relaunch', olds: [], marked: [], replacement: null, extra: []})
    } else if (live.some((i) => selected.has(i.id))) {
      fresh.push({slot, live, marked, gone})
    }
  }
  for (const p of fresh) {
    const holder = p.live[0]
    // Resuming, a slot whose current holder replaced an instance the interrupted run marked is
    // one that run finished before it was interrupted.
    const done =
      resuming &&
      !holder.outdated &&
      p.gone.some((g) => runs.has(g.tags[Tag.Replaced]) && launchedAt(g) <= launchedAt(holder))
    if (done) {
      for (const i of p.live)
        if (selected.has(i.id)) skipped.push(skip(i, 'already replaced by the revert being resumed'))
      continue
    }
    units.push({slot: p.slot, kind: 'replace', olds: p.live, marked: [], replacement: null, extra: []})
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

/**
 * revert: batch marks, terminates and relaunches the whole selection at once; sequential does one
 * slot at a time, terminating first; rolling launches first and terminates the old instance only
 * once its replacement runs (`surge` slots at a time), so capacity never drops.
 */
export function planRevert(observed: Instance[], selection: Instance[], opts: RevertOptions): Plan {
  const b = new PlanBuilder(`revert (${opts.strategy})`)
  const {units, skipped, resumeId} = analyseRevert(observed, selection)
  // Marks carry the run's id; a resumed run keeps the one it resumes.
  const value = resumeId ?? opts.runId
  const markIds = (xs: string[]) => ({kind: 'mark' as const, ids: xs, ...(value ? {value} : {})})
  b.skipped.push(...skipped)
  if (!units.length) return b.build()
  const terminated: string[] = []
  let last: number | null = null
  const after = (...xs: Array<number | null>) => xs.filter((x): x is number => x !== null)

  if (opts.strategy === 'batch') {
    const mark = toMark(units).length ? b.add(markIds(toMark(units))) : null
    const term = toTerminate(units).length
      ? b.add({kind: 'terminate', deps: after(mark), ids: toTerminate(units)})
      : null
    terminated.push(...toTerminate(units))
    const slots = toLaunch(units)
    const launch = slots.length
      ? b.add({kind: 'launch', deps: after(term ?? mark), ids: [], slots, minCount: slots.length})
      : null
    const waitIds = ids(existingReplacements(units).filter((i) => i.state === 'pending'))
    if (opts.wait && (launch !== null || waitIds.length))
      b.add({kind: 'wait', deps: after(launch ?? term), ids: waitIds, until: 'running', ...launched(launch)})
  } else if (opts.strategy === 'sequential') {
    units.forEach((u, n) => {
      const isLast = n === units.length - 1
      const mark = u.olds.length ? b.add({...markIds(ids(u.olds)), deps: after(last)}) : null
      const gone = toTerminate([u])
      terminated.push(...gone)
      const term = gone.length
        ? b.add({kind: 'terminate', deps: after(mark ?? last), ids: gone, reason: `slot ${u.slot}`})
        : null
      const prev = term ?? mark ?? last
      if (u.kind === 'finish') {
        const pending = u.replacement?.state === 'pending' ? [u.replacement.id] : []
        last =
          pending.length && (opts.wait || !isLast)
            ? b.add({kind: 'wait', deps: after(prev), ids: pending, until: 'running'})
            : prev
        return
      }
      const launch = b.add({kind: 'launch', deps: after(prev), ids: [], slots: [u.slot], minCount: 1})
      // The next slot starts once this one runs again; the last waits only when asked to.
      last =
        opts.wait || !isLast
          ? b.add({kind: 'wait', deps: [launch], ids: [], until: 'running', launches: [launch]})
          : launch
    })
  } else {
    const surge = Math.max(1, opts.surge ?? 1)
    for (let g = 0; g < units.length; g += surge) {
      const group = units.slice(g, g + surge)
      const slotsText = group.map((u) => u.slot).join(', ')
      const mark: number | null = toMark(group).length
        ? b.add({...markIds(toMark(group)), deps: after(last)})
        : null
      const slots = toLaunch(group)
      const launch: number | null = slots.length
        ? b.add({kind: 'launch', deps: after(mark ?? last), ids: [], slots, minCount: slots.length})
        : null
      const existing = ids(existingReplacements(group))
      // The old instances go only once every replacement of the group runs (and answers on ssh).
      let ready: number | null = launch ?? mark ?? last
      if (launch !== null || existing.length) {
        const running = b.add({
          kind: 'wait',
          deps: after(launch ?? mark ?? last),
          ids: existing,
          until: 'running',
          ...launched(launch),
        })
        ready = running
        if (opts.waitSsh)
          ready = b.add({
            kind: 'wait',
            deps: after(launch, running),
            ids: existing,
            until: 'ssh',
            ...launched(launch),
          })
      }
      const gone = toTerminate(group)
      terminated.push(...gone)
      last = gone.length
        ? b.add({
            kind: 'terminate',
            deps: after(ready),
            ids: gone,
            reason: `slot${group.length > 1 ? 's' : ''} ${slotsText}`,
          })
        : ready
    }
  }
  if (opts.wait && terminated.length) {
    // Last of all, so its observation (the result's final state) sees every replacement too.
    const actions = b.build().actions
    const sinks = actions.filter((a) => !actions.some((o) => o.deps.includes(a.id))).map((a) => a.id)
    b.add({kind: 'wait', deps: sinks, ids: terminated, until: 'terminated'})
  }
  return b.build()
}
