/**
 * The reaper's planner: from every wolphin instance of a region to what to stop or terminate,
 * per project. Pure: no SDK, no clock (`now` is passed in).
 */
import {leaseState, parseExpiry} from './lease.js'
import {logicalName, type RawInstance} from './observe.js'
import {PROJECT_PREFIX, Tag} from './tags.js'
import type {InstanceState} from './types.js'

export type ReapAction = 'stop' | 'terminate'

export interface ReapTarget {
  id: string
  name: string | null
  state: InstanceState
  expiresAt: string
}

export interface ReapSkip {
  id: string
  name: string | null
  state: InstanceState
  reason: string
}

export interface ProjectReapPlan {
  region: string
  project: string
  owner: string | null
  action: ReapAction
  targets: ReapTarget[]
  skipped: ReapSkip[]
}

/** The project an instance belongs to by its ProjectName tag, or null when it is not wolphin's. */
export function projectOf(raw: Pick<RawInstance, 'tags'>): string | null {
  const v = raw.tags[Tag.Project]
  if (!v?.startsWith(PROJECT_PREFIX) || v.length === PROJECT_PREFIX.length) return null
  return v.slice(PROJECT_PREFIX.length)
}

/** States an action still changes: stop needs a running instance; terminate takes any live one. */
const ACTIONABLE: Record<ReapAction, readonly InstanceState[]> = {
  stop: ['running'],
  terminate: ['pending', 'running', 'stopping', 'stopped'],
}

/**
 * Per project, the instances whose lease plus grace has passed and that the action still changes.
 * Instances without the wolphin ProjectName tag or without a lease are never targets; a lease tag
 * that is not an ISO-8601 instant is reported and left alone. Projects with nothing to report are
 * left out, so a second run after a successful one plans nothing.
 */
export function planReap(
  region: string,
  raws: RawInstance[],
  opts: {action: ReapAction; graceMs: number; now: number},
): ProjectReapPlan[] {
  const plans = new Map<string, ProjectReapPlan>()
  const planFor = (project: string, raw: RawInstance) => {
    let p = plans.get(project)
    if (!p) {
      p = {region, project, owner: null, action: opts.action, targets: [], skipped: []}
      plans.set(project, p)
    }
    p.owner ??= raw.tags[Tag.Owner] ?? null
    return p
  }
  const named = raws.map((raw) => {
    const project = projectOf(raw)
    return {raw, project, name: project !== null ? logicalName(raw, project) : null}
  })
  const sorted = named.sort((a, b) => (a.name ?? a.raw.id).localeCompare(b.name ?? b.raw.id))
  for (const {raw, project, name} of sorted) {
    const expiresAt = raw.tags[Tag.ExpiresAt]
    if (project === null || expiresAt === undefined) continue
    if (!['pending', 'running', 'stopping', 'stopped'].includes(raw.state)) continue
    if (parseExpiry(expiresAt) === null) {
      planFor(project, raw).skipped.push({
        id: raw.id,
        name,
        state: raw.state,
        reason: `unreadable ${Tag.ExpiresAt} "${expiresAt}" (expected an ISO-8601 instant); left alone`,
      })
      continue
    }
    if (!leaseState(expiresAt, opts.now, opts.graceMs).expired) continue
    if (opts.action === 'stop' && raw.spot && raw.state === 'running') {
      // EC2 cannot stop a one-time spot instance (wolphin's spot launches are one-time).
      planFor(project, raw).skipped.push({
        id: raw.id,
        name,
        state: raw.state,
        reason: 'a one-time spot instance cannot be stopped; reap with --action terminate',
      })
    } else if (ACTIONABLE[opts.action].includes(raw.state)) {
      planFor(project, raw).targets.push({id: raw.id, name, state: raw.state, expiresAt})
    } else if (opts.action === 'stop' && raw.state === 'pending') {
      planFor(project, raw).skipped.push({
        id: raw.id,
        name,
        state: raw.state,
        reason: 'still pending; the next run stops it',
      })
    }
  }
  return [...plans.values()].sort((a, b) => a.project.localeCompare(b.project))
}
