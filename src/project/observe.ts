import {stateReason} from './state-reason.js'
import {type Instance, type InstanceState} from './types.js'
import {instanceName, projectTagValue, slotAtLaunchIndex, Tag} from './tags.js'

/** An instance as the EC2 port reports it: SDK-free, before wolphin interprets its tags. */
export interface RawInstance {
  id: string
  state: InstanceState
  tags: Record<string, string>
  amiLaunchIndex: number | null
  publicIp: string | null
  privateIp: string | null
  publicDns: string | null
  privateDns: string | null
  imageId: string | null
  instanceType: string | null
  zone: string | null
  launchTime: string | null
  spot: boolean
  /** EC2's StateReason, when it gives one (why an instance stopped or went away). */
  stateReason?: {code: string | null; message: string | null} | null
  /** EC2's StateTransitionReason, like "User initiated (2026-05-01 18:00:00 GMT)". */
  transitionReason?: string | null
}

const SLOT_RE = /^[1-9]\d{0,5}$/

/**
 * The instance's slot, from the first of: the `wolphin:slot` tag; the `wolphin:slots` list of a
 * multi-instance launch indexed by the AMI launch index; the Name tag of the original library.
 */
export function resolveSlot(raw: RawInstance, project: string): number | null {
  const t = raw.tags
  if (t[Tag.Slot] !== undefined) return SLOT_RE.test(t[Tag.Slot]) ? Number(t[Tag.Slot]) : null
  if (t[Tag.Slots] !== undefined && raw.amiLaunchIndex !== null) {
    return slotAtLaunchIndex(t[Tag.Slots], raw.amiLaunchIndex)
  }
  const prefix = `${projectTagValue(project)}.`
  const name = t[Tag.Name]
  if (name?.startsWith(prefix) && SLOT_RE.test(name.slice(prefix.length)))
    return Number(name.slice(prefix.length))
  return null
}

/**
 * The instance's logical name, `wolphin.<p>.<slot>`, whatever its Name tag says: the instances of a
 * multi-instance launch share one Name tag (apply.ts launchTags). The Name tag when it has no slot.
 */
export function logicalName(
  raw: RawInstance,
  project: string,
  slot: number | null = resolveSlot(raw, project),
): string | null {
  return slot !== null ? instanceName(project, slot) : (raw.tags[Tag.Name] ?? null)
}

/** True only when the instance's ProjectName tag is exactly ours (EC2's filter is not trusted alone). */
export function isMember(raw: Pick<RawInstance, 'tags'>, project: string): boolean {
  return raw.tags[Tag.Project] === projectTagValue(project)
}

/**
 * `currentImage`: for an AMI given as `resolve:ssm:NAME`, the image the parameter names now; an
 * instance launched from another image is outdated even though its spec hash (which holds the
 * alias) matches.
 */
export function toInstance(
  raw: RawInstance,
  project: string,
  currentSpec: string | null,
  currentImage: string | null = null,
): Instance {
  const slot = resolveSlot(raw, project)
  const spec = raw.tags[Tag.Spec]
  return {
    id: raw.id,
    name: logicalName(raw, project, slot),
    slot,
    state: raw.state,
    publicIp: raw.publicIp,
    privateIp: raw.privateIp,
    publicDns: raw.publicDns,
    privateDns: raw.privateDns,
    imageId: raw.imageId,
    instanceType: raw.instanceType,
    zone: raw.zone,
    launchTime: raw.launchTime,
    owner: raw.tags[Tag.Owner] ?? null,
    expiresAt: raw.tags[Tag.ExpiresAt] ?? null,
    // An instance launched before wolphin stamped specs has no tag: it is outdated by definition.
    outdated:
      currentSpec !== null &&
      (spec !== currentSpec || (currentImage !== null && raw.imageId !== currentImage)),
    market: raw.spot ? 'spot' : 'on-demand',
    stateReason: stateReason(raw),
    tags: raw.tags,
  }
}

/** Sorts by slot (unslotted last), then launch time, then id: the order every listing uses. */
export function bySlot(a: Instance, b: Instance): number {
  const sa = a.slot ?? Number.MAX_SAFE_INTEGER
  const sb = b.slot ?? Number.MAX_SAFE_INTEGER
  if (sa !== sb) return sa - sb
  return (a.launchTime ?? '').localeCompare(b.launchTime ?? '') || a.id.localeCompare(b.id)
}
