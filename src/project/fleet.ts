/**
 * Work across every wolphin project of some regions: `ls` and `reap`. One EC2 client per region,
 * regions queried in parallel, one paginated DescribeInstances per region and at most one
 * stop/terminate call per 1000 instances per region.
 */
import type {AwsTimeouts} from '../config/schema.js'
import {PartialFailureError, UsageError, WolphinError} from '../errors.js'
import {type EventSink, ignoreEvents} from './events.js'
import {parseExpiry} from './lease.js'
import type {RawInstance} from './observe.js'
import type {FleetPort} from './ports.js'
import {planReap, projectOf, type ProjectReapPlan, type ReapAction} from './reap.js'
import {Tag} from './tags.js'
import {HEALTHY_STATES} from './types.js'

export interface FleetOptions {
  regions: string[]
  profile?: string
  maxAttempts?: number
  timeouts?: AwsTimeouts
  /** A port per region instead of the SDK (tests, or a caller's own clients). */
  portFor?: (region: string) => FleetPort | Promise<FleetPort>
  onEvent?: EventSink
  now?: () => number
}

export interface RegionError {
  region: string
  code: string
  message: string
}

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d+$/

function checkRegions(regions: string[]): string[] {
  const unique = [...new Set(regions)]
  if (!unique.length)
    throw new UsageError(
      'no region: pass --region R (repeatable), set AWS_REGION, or set "region" in the config',
    )
  for (const r of unique)
    if (!REGION_RE.test(r)) throw new UsageError(`region "${r}": expected a region like eu-west-1`)
  return unique
}

async function portsFor(opts: FleetOptions, regions: string[]): Promise<Map<string, FleetPort>> {
  const make =
    opts.portFor ??
    (async (region: string) =>
      (await import('../aws/ec2.js')).createFleetPort({
        region,
        profile: opts.profile,
        maxAttempts: opts.maxAttempts,
        timeouts: opts.timeouts,
      }))
  return new Map(await Promise.all(regions.map(async (r) => [r, await make(r)] as const)))
}

function regionError(region: string, e: unknown): RegionError {
  const err = e as Error
  return {region, code: e instanceof WolphinError ? e.code : 'ERROR', message: err.message}
}

/** Observes every region at once; a region that fails is reported, the others still count. */
async function observeRegions(
  regions: string[],
  ports: Map<string, FleetPort>,
): Promise<{seen: Map<string, RawInstance[]>; errors: RegionError[]}> {
  const settled = await Promise.allSettled(regions.map((r) => ports.get(r)!.describeAllProjects()))
  const seen = new Map<string, RawInstance[]>()
  const errors: RegionError[] = []
  settled.forEach((s, n) => {
    if (s.status === 'fulfilled') seen.set(regions[n], s.value)
    else errors.push(regionError(regions[n], s.reason))
  })
  // Nothing answered: that is a plain failure (credentials, endpoint), not a partial one.
  if (errors.length === regions.length) throw settled.find((s) => s.status === 'rejected')!.reason
  return {seen, errors}
}

// ---------------------------------------------------------------------------------------------
// ls

export interface ProjectSummary {
  region: string
  project: string
  owner: string | null
  instances: number
  states: Record<string, number>
  instanceTypes: string[]
  markets: Record<string, number>
  oldestLaunch: string | null
  nearestExpiry: string | null
  expired: number
}

export interface LsResult {
  regions: string[]
  projects: ProjectSummary[]
  errors: RegionError[]
}

const isLive = (state: string) => (HEALTHY_STATES as readonly string[]).includes(state)

/**
 * One summary per project of a region. Projects with nothing live (every instance terminated or
 * shutting down, as EC2 keeps reporting them for a while) are left out unless `all`.
 */
export function summarizeProjects(
  region: string,
  raws: RawInstance[],
  opts: {now: number; all?: boolean},
): ProjectSummary[] {
  const groups = new Map<string, RawInstance[]>()
  for (const r of raws) {
    const p = projectOf(r)
    if (p !== null) groups.set(p, [...(groups.get(p) ?? []), r])
  }
  const out: ProjectSummary[] = []
  for (const [project, list] of groups) {
    const live = list.filter((r) => isLive(r.state))
    if (!live.length && !opts.all) continue
    const count = (xs: string[]) =>
      Object.fromEntries([...new Set(xs)].sort().map((k) => [k, xs.filter((x) => x === k).length] as const))
    const owners = [
      ...new Set(list.map((r) => r.tags[Tag.Owner]).filter((o): o is string => Boolean(o))),
    ].sort()
    const launches = live
      .map((r) => r.launchTime)
      .filter((t): t is string => t !== null)
      .sort()
    const expiries = live
      .map((r) => parseExpiry(r.tags[Tag.ExpiresAt]))
      .filter((t): t is number => t !== null)
      .sort((a, b) => a - b)
    out.push({
      region,
      project,
      owner: owners.length ? owners.join(', ') : null,
      instances: list.length,
      states: count(list.map((r) => r.state)),
      instanceTypes: [
        ...new Set(live.map((r) => r.instanceType).filter((t): t is string => t !== null)),
      ].sort(),
      markets: count(live.map((r) => (r.spot ? 'spot' : 'on-demand'))),
      oldestLaunch: launches[0] ?? null,
      nearestExpiry: expiries.length ? new Date(expiries[0]).toISOString() : null,
      expired: expiries.filter((t) => t <= opts.now).length,
    })
  }
  return out.sort((a, b) => a.project.localeCompare(b.project))
}

/** Every wolphin project in the regions. */
export async function listProjects(opts: FleetOptions & {all?: boolean}): Promise<LsResult> {
  const regions = checkRegions(opts.regions)
  const ports = await portsFor(opts, regions)
  const {seen, errors} = await observeRegions(regions, ports)
  const now = (opts.now ?? Date.now)()
  const projects = regions.flatMap((r) =>
    seen.has(r) ? summarizeProjects(r, seen.get(r)!, {now, all: opts.all}) : [],
  )
  const result: LsResult = {regions, projects, errors}
  if (errors.length) throw partial('ls', errors, result)
  return result
}

// ---------------------------------------------------------------------------------------------
// reap

export interface ReapOptions extends FleetOptions {
  action: ReapAction
  graceMs: number
  dryRun?: boolean
}

export interface ReapProjectResult extends ProjectReapPlan {
  /** True once the stop/terminate call for these targets succeeded (false on a dry run). */
  done: boolean
  error?: string
}

export interface ReapResult {
  regions: string[]
  action: ReapAction
  graceSeconds: number
  dryRun: boolean
  at: string
  projects: ReapProjectResult[]
  errors: RegionError[]
}

/**
 * Stops or terminates, in every region, the instances of every wolphin project whose lease plus
 * grace has passed. Idempotent: what is already stopped or gone is not asked again.
 */
export async function reap(opts: ReapOptions): Promise<ReapResult> {
  const regions = checkRegions(opts.regions)
  if (!(opts.graceMs >= 0)) throw new UsageError('--grace: expected a duration like 10m')
  const onEvent = opts.onEvent ?? ignoreEvents
  const ports = await portsFor(opts, regions)
  const {seen, errors} = await observeRegions(regions, ports)
  const now = (opts.now ?? Date.now)()
  const result: ReapResult = {
    regions,
    action: opts.action,
    graceSeconds: opts.graceMs / 1000,
    dryRun: Boolean(opts.dryRun),
    at: new Date(now).toISOString(),
    projects: [],
    errors,
  }
  const byRegion = regions.map((region) => ({
    region,
    plans: seen.has(region)
      ? planReap(region, seen.get(region)!, {action: opts.action, graceMs: opts.graceMs, now}).map(
          (p): ReapProjectResult => ({...p, done: false}),
        )
      : [],
  }))
  result.projects = byRegion.flatMap((r) => r.plans)
  if (!opts.dryRun) {
    await Promise.all(
      byRegion.map(async ({region, plans}) => {
        const ids = plans.flatMap((p) => p.targets.map((t) => t.id))
        if (!ids.length) return
        onEvent({
          type: 'info',
          message: `${region}: ${opts.action} ${ids.length} instance(s) whose lease passed`,
        })
        const port = ports.get(region)!
        try {
          // One call (per 1000 ids) for every project of the region.
          await (opts.action === 'stop' ? port.stopInstances(ids) : port.terminateInstances(ids))
          for (const p of plans) if (p.targets.length) p.done = true
        } catch (e) {
          // Per-instance failures: the rest was done; mark what failed.
          const failed = new Map(
            e instanceof PartialFailureError ? e.failures.map((f) => [f.id, f.reason] as const) : [],
          )
          for (const p of plans) {
            if (!p.targets.length) continue
            const mine = p.targets.filter((t) => failed.has(t.id))
            if (e instanceof PartialFailureError && !mine.length) p.done = true
            else
              p.error = mine.length
                ? mine.map((t) => `${t.id}: ${failed.get(t.id)}`).join('; ')
                : (e as Error).message
          }
          errors.push(regionError(region, e))
        }
      }),
    )
  }
  if (errors.length) throw partial('reap', errors, result)
  return result
}

function partial(what: string, errors: RegionError[], result: unknown): PartialFailureError {
  return new PartialFailureError(
    `${what} failed in ${errors.length} region(s): ${errors.map((e) => `${e.region}: ${e.message.split('\n')[0]}`).join('; ')}`,
    errors.map((e) => ({id: e.region, reason: e.message})),
    result,
  )
}
