/**
 * Lease arithmetic: pure functions over the `wolphin:expires-at` tag. No SDK, no clock (callers
 * pass `now`), no I/O.
 */
import {formatDuration} from '../config/duration.js'
import {UsageError} from '../errors.js'
import {Tag} from './tags.js'
import {HEALTHY_STATES, type Instance, type InstanceState} from './types.js'

/** The lease end in epoch milliseconds, or null when there is none or it is unreadable. */
export function parseExpiry(expiresAt: string | null | undefined): number | null {
  if (!expiresAt) return null
  // Only full ISO-8601 instants count: a tag someone typed by hand as "tomorrow" is not a lease.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(expiresAt)) return null
  const t = Date.parse(expiresAt)
  return Number.isNaN(t) ? null : t
}

export interface LeaseState {
  /** Milliseconds left (negative once expired); null without a readable lease. */
  remainingMs: number | null
  expired: boolean
}

export function leaseState(expiresAt: string | null | undefined, now: number, graceMs = 0): LeaseState {
  const t = parseExpiry(expiresAt)
  if (t === null) return {remainingMs: null, expired: false}
  return {remainingMs: t - now, expired: t + graceMs <= now}
}

/** For tables: `-`, `2h10m`, `expired 5m ago`, or `invalid` for an unreadable tag. */
export function leaseText(expiresAt: string | null | undefined, now: number): string {
  if (!expiresAt) return '-'
  const {remainingMs, expired} = leaseState(expiresAt, now)
  if (remainingMs === null) return 'invalid'
  return expired ? `EXPIRED ${formatDuration(-remainingMs)} ago` : formatDuration(remainingMs)
}

const live = (state: InstanceState) => HEALTHY_STATES.includes(state)

/** Live instances (pending..stopped) whose lease (plus grace) has passed. */
export function expiredInstances<T extends {state: InstanceState; tags: Record<string, string>}>(
  instances: T[],
  now: number,
  graceMs = 0,
): T[] {
  return instances.filter((i) => live(i.state) && leaseState(i.tags[Tag.ExpiresAt], now, graceMs).expired)
}

/** The warning every command gives when the project has expired instances, or null. */
export function expiredWarning(
  project: string,
  instances: Array<{id: string; state: InstanceState; tags: Record<string, string>}>,
  now: number,
): string | null {
  const expired = expiredInstances(instances, now)
  if (!expired.length) return null
  const oldest = Math.min(...expired.map((i) => parseExpiry(i.tags[Tag.ExpiresAt])!))
  const ids = expired.map((i) => i.id)
  const shown = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ')
  return (
    `${expired.length} instance(s) of project ${project} passed their lease ` +
    `(${formatDuration(now - oldest)} ago): ${shown}; ` +
    `run "wolphin extend DURATION" to keep them, or "wolphin terminate"`
  )
}

/** What `extend` asks for: more time on each instance's lease, or one absolute end for all. */
export type ExtendRequest = {by: number} | {until: number}

export interface ExtendTarget {
  id: string
  name: string | null
  from: string | null
  to: string
}

export interface ExtendSkip {
  id: string
  name: string | null
  state: string
  reason: string
}

export interface ExtendPlan {
  targets: ExtendTarget[]
  /** One CreateTags per distinct new value: ids that get the same `wolphin:expires-at`. */
  groups: Array<{expiresAt: string; ids: string[]}>
  skipped: ExtendSkip[]
}

/** Checks a request before any AWS call: a duration above maxLease can never fit. */
export function checkExtendRequest(req: ExtendRequest, opts: {now: number; maxLease?: number}): void {
  const length = 'by' in req ? req.by : req.until - opts.now
  if ('until' in req && req.until <= opts.now)
    throw new UsageError(
      `--until ${new Date(req.until).toISOString()} is in the past; expected a future instant`,
    )
  if ('by' in req && req.by <= 0) throw new UsageError('expected a positive duration like 30m, 8h or 3d')
  if (opts.maxLease !== undefined && length > opts.maxLease)
    throw new UsageError(
      `a lease of ${formatDuration(length)} exceeds maxLease (${formatDuration(opts.maxLease)}) from now; ` +
        `expected at most ${new Date(opts.now + opts.maxLease).toISOString()}`,
    )
}

/**
 * extend: each live instance of the selection gets a new lease end. `by` adds to the current end,
 * or to now when there is none or it has passed; `until` sets one end for all. No lease may end
 * further than `maxLease` from now: a request that would is refused whole (UsageError, exit 2).
 */
export function planExtend(
  selection: Instance[],
  req: ExtendRequest,
  opts: {now: number; maxLease?: number},
): ExtendPlan {
  checkExtendRequest(req, opts)
  const targets: ExtendTarget[] = []
  const skipped: ExtendSkip[] = []
  for (const i of selection) {
    if (!live(i.state)) {
      skipped.push({id: i.id, name: i.name, state: i.state, reason: `${i.state}: no lease to extend`})
      continue
    }
    const current = parseExpiry(i.expiresAt)
    const to = 'until' in req ? req.until : Math.max(current ?? opts.now, opts.now) + req.by
    targets.push({id: i.id, name: i.name, from: i.expiresAt, to: new Date(to).toISOString()})
  }
  if (opts.maxLease !== undefined) {
    const limit = opts.now + opts.maxLease
    const over = targets.filter((t) => Date.parse(t.to) > limit)
    if (over.length)
      throw new UsageError(
        `extending would end the lease of ${over.map((t) => t.id).join(', ')} at ${over[0].to}, more than maxLease ` +
          `(${formatDuration(opts.maxLease)}) from now; expected at most ${new Date(limit).toISOString()} ` +
          `(use a shorter duration or --until)`,
      )
  }
  const byValue = new Map<string, string[]>()
  for (const t of targets) byValue.set(t.to, [...(byValue.get(t.to) ?? []), t.id])
  const groups = [...byValue.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([expiresAt, ids]) => ({expiresAt, ids}))
  return {targets, groups, skipped}
}

/** Parses `--until`: an ISO-8601 instant with a zone (Z or ±hh:mm). */
export function parseUntil(text: string): number {
  const t = parseExpiry(text.trim())
  if (t === null)
    throw new UsageError(`--until "${text}" is not an ISO-8601 instant; expected like 2026-05-01T18:00:00Z`)
  return t
}
