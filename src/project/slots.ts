/**
 * Slot claims: the one place that says which instance holds which slot. observe, every planner
 * (plan.ts, revert.ts), apply's waiter and the end-of-command settlement all ask here, so they can
 * never disagree about an instance.
 *
 * - Live states are pending, running, stopping and stopped; shutting-down and terminated hold
 *   nothing.
 * - An instance a revert marked `wolphin:replaced` holds no slot, even while it runs: its
 *   replacement (or whoever fills the slot) does.
 * - When two live, unmarked instances claim one slot, the earliest launched keeps it; equal launch
 *   times go to the lower id. Every run applies the same rule to the same tags, so two commands
 *   racing each other settle on the same survivor.
 */
import {isReplaced} from './tags.js'
import {HEALTHY_STATES, type InstanceState} from './types.js'

/** What a claim is judged on: real instances (Instance), never an output shape cast into one. */
export interface Claimant {
  id: string
  state: InstanceState
  slot: number | null
  launchTime: string | null
  tags: Record<string, string>
}

export const LIVE_STATES = HEALTHY_STATES

export function isLive(i: Pick<Claimant, 'state'>): boolean {
  return LIVE_STATES.includes(i.state)
}

/** Live, unmarked and slotted: it claims its slot. */
export function claimsSlot(i: Claimant): i is Claimant & {slot: number} {
  return i.slot !== null && isLive(i) && !isReplaced(i)
}

/** Live and marked by a revert: still running, holding nothing, to be terminated. */
export function isLiveMarked(i: Claimant): boolean {
  return isLive(i) && isReplaced(i)
}

/** The tie rule: the earliest launched first, then the lower id. */
export function launchOrder(
  a: Pick<Claimant, 'id' | 'launchTime'>,
  b: Pick<Claimant, 'id' | 'launchTime'>,
): number {
  return (a.launchTime ?? '').localeCompare(b.launchTime ?? '') || a.id.localeCompare(b.id)
}

/** By slot (unslotted last), then by the tie rule: the order every listing uses. */
export function slotOrder(
  a: Pick<Claimant, 'id' | 'launchTime' | 'slot'>,
  b: Pick<Claimant, 'id' | 'launchTime' | 'slot'>,
): number {
  const sa = a.slot ?? Number.MAX_SAFE_INTEGER
  const sb = b.slot ?? Number.MAX_SAFE_INTEGER
  return sa - sb || launchOrder(a, b)
}

/** One slot as the tags describe it; every list in launch order. */
export interface SlotClaims<T extends Claimant> {
  slot: number
  /** The live, unmarked instance that keeps the slot; null when none claims it. */
  holder: T | null
  /** Further live, unmarked claims: they lose to the holder. */
  duplicates: T[]
  /** Live instances a revert marked: they hold nothing. */
  marked: T[]
  /** Everything else ever seen in the slot (shutting-down, terminated), marked or not. */
  gone: T[]
  /** Every instance in the slot, live or not. */
  all: T[]
}

/** Every slot that any instance names, in slot order. */
export function slotTable<T extends Claimant>(instances: readonly T[]): Map<number, SlotClaims<T>> {
  const bySlot = new Map<number, T[]>()
  for (const i of instances) {
    if (i.slot === null) continue
    const list = bySlot.get(i.slot) ?? []
    list.push(i)
    bySlot.set(i.slot, list)
  }
  const out = new Map<number, SlotClaims<T>>()
  for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
    const all = bySlot.get(slot)!.sort(launchOrder)
    const claims = all.filter(claimsSlot)
    out.set(slot, {
      slot,
      holder: claims[0] ?? null,
      duplicates: claims.slice(1),
      marked: all.filter(isLiveMarked),
      gone: all.filter((i) => !isLive(i)),
      all,
    })
  }
  return out
}

export interface ClaimResolution<T extends Claimant> {
  /** Slot holders, and live unslotted members (they claim nothing, nor lose anything). */
  keep: T[]
  /** Live claims that lose to an earlier one on the same slot. */
  duplicates: T[]
  /** Live instances marked replaced whose slot has a holder: what is left of a revert. */
  markedHeld: T[]
  /** Live marked instances whose slot nobody holds yet: their replacement is still missing. */
  markedUnheld: T[]
}

/** Splits the live members by the rule above; ignores what is not live. Lists in launch order. */
export function resolveSlotClaims<T extends Claimant>(instances: readonly T[]): ClaimResolution<T> {
  const table = slotTable(instances)
  const keep: T[] = instances.filter((i) => i.slot === null && isLive(i) && !isReplaced(i))
  const duplicates: T[] = []
  const markedHeld: T[] = []
  const markedUnheld: T[] = []
  for (const s of table.values()) {
    if (s.holder) keep.push(s.holder)
    duplicates.push(...s.duplicates)
    ;(s.holder ? markedHeld : markedUnheld).push(...s.marked)
  }
  // Unslotted marked instances hold nothing either; nothing will replace them.
  markedHeld.push(...instances.filter((i) => i.slot === null && isLiveMarked(i)))
  return {keep: keep.sort(slotOrder), duplicates: duplicates.sort(slotOrder), markedHeld, markedUnheld}
}

/**
 * True when `id` is live-or-gone in a slot that another, earlier live claim holds: it lost (or
 * would lose) the slot by the rule, so its termination by another run is not a failure.
 */
export function losesSlot<T extends Claimant>(id: string, instances: readonly T[]): boolean {
  const me = instances.find((i) => i.id === id)
  if (!me || me.slot === null || isReplaced(me)) return false
  const holder = slotTable(instances).get(me.slot)?.holder
  return holder !== null && holder !== undefined && holder.id !== id && launchOrder(holder, me) < 0
}
