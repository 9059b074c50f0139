import {stateReason} from './state-reason.js'
import {EC2_INSTANCE_FIELDS, type Ec2InstanceFields, type Instance} from './types.js'
import {slotOrder} from './slots.js'
import {instanceName, projectTagValue, slotAtLaunchIndex, Tag} from './tags.js'

/** An instance as the EC2 port reports it: SDK-free, before wolphin interprets its tags. */
export interface RawInstance extends Ec2InstanceFields {
  tags: Record<string, string>
  amiLaunchIndex: number | null
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

/** The fields EC2 reports that an Instance carries as they are. */
function ec2Fields(raw: RawInstance): Ec2InstanceFields {
  return Object.fromEntries(EC2_INSTANCE_FIELDS.map((k) => [k, raw[k]])) as unknown as Ec2InstanceFields
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
    ...ec2Fields(raw),
    name: logicalName(raw, project, slot),
    slot,
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
export const bySlot: (a: Instance, b: Instance) => number = slotOrder
