/**
 * `status --watch`: re-observe at an interval and report each state transition. The diff is a pure
 * function; the loop takes its clock and sleep from the caller, so both are testable without EC2.
 */
import type {Selector} from '../selectors/index.js'
import {type InstanceState, TRANSITIONAL_STATES} from './types.js'
import {sleep as abortableSleep} from '../util/async.js'

/** The part of an instance a transition is about. */
export interface StateView {
  id: string
  name: string | null
  slot: number | null
  state: InstanceState
}

export interface Transition {
  id: string
  name: string | null
  slot: number | null
  /** null: the instance was not there before (it appeared). */
  from: InstanceState | null
  /** null: the instance is no longer reported (or no longer selected). */
  to: InstanceState | null
}

export interface TimedTransition extends Transition {
  /** ISO-8601 instant of the observation that saw it. */
  at: string
}

/** What changed from one observation to the next, in the order of `next` (then the vanished). */
export function diffStates(prev: readonly StateView[], next: readonly StateView[]): Transition[] {
  const before = new Map(prev.map((i) => [i.id, i]))
  const after = new Set(next.map((i) => i.id))
  const out: Transition[] = []
  for (const i of next) {
    const p = before.get(i.id)
    if (!p) out.push({id: i.id, name: i.name, slot: i.slot, from: null, to: i.state})
    else if (p.state !== i.state) out.push({id: i.id, name: i.name, slot: i.slot, from: p.state, to: i.state})
  }
  for (const p of prev)
    if (!after.has(p.id)) out.push({id: p.id, name: p.name, slot: p.slot, from: p.state, to: null})
  return out
}

/** No instance is pending, stopping or shutting down. */
export function isStable(instances: readonly Pick<StateView, 'state'>[]): boolean {
  return !instances.some((i) => TRANSITIONAL_STATES.includes(i.state))
}

export interface WatchOptions<I extends StateView = StateView> {
  /** Seconds between observations. */
  interval: number
  /** Seconds after which watching ends, stable or not; none: until stable or interrupted. */
  timeout?: number
  /** End as soon as no instance is in a transitional state. */
  untilStable?: boolean
  onTransition?: (t: TimedTransition) => void
  /** Every observation, the first included (before any transition of it is reported). */
  onObservation?: (s: {project: string; instances: I[]}) => void | Promise<void>
  /** Aborting ends the watch normally (Ctrl-C). */
  signal?: AbortSignal
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  now?: () => Date
}

export interface WatchResult<I extends StateView = StateView> {
  project: string
  instances: I[]
  transitions: TimedTransition[]
  stable: boolean
  /** The watch ended because --timeout ran out. */
  timedOut: boolean
  observations: number
}

/**
 * Observes (through `status`, so the selection applies each round), then again every `interval`
 * seconds, reporting transitions, until the signal aborts, `untilStable` is met, or `timeout`
 * seconds have passed. Bounded whenever `timeout` or `untilStable` is given.
 */
export async function watchProject<I extends StateView>(
  project: {status(selector: Selector | null): Promise<{project: string; instances: I[]}>},
  selector: Selector | null,
  opts: WatchOptions<I>,
): Promise<WatchResult<I>> {
  const now = opts.now ?? (() => new Date())
  const sleep = opts.sleep ?? abortableSleep
  const start = now().getTime()
  const deadline = opts.timeout !== undefined ? start + opts.timeout * 1000 : Infinity
  let current = await project.status(selector)
  await opts.onObservation?.(current)
  const result: WatchResult<I> = {
    project: current.project,
    instances: current.instances,
    transitions: [],
    stable: isStable(current.instances),
    timedOut: false,
    observations: 1,
  }
  for (;;) {
    if (opts.untilStable && result.stable) return result
    if (opts.signal?.aborted) return result
    const left = deadline - now().getTime()
    if (left <= 0) {
      result.timedOut = true
      return result
    }
    await sleep(Math.min(opts.interval * 1000, left), opts.signal)
    if (opts.signal?.aborted) return result
    const next = await project.status(selector)
    await opts.onObservation?.(next)
    const at = now().toISOString()
    for (const t of diffStates(current.instances, next.instances)) {
      const timed = {...t, at}
      result.transitions.push(timed)
      opts.onTransition?.(timed)
    }
    current = next
    result.instances = next.instances
    result.stable = isStable(next.instances)
    result.observations++
  }
}
