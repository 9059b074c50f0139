import {isReplaced} from './tags.js'

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated'

export const HEALTHY_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped']
export const TRANSITIONAL_STATES: readonly InstanceState[] = ['pending', 'stopping', 'shutting-down']

/**
 * What EC2 reports of an instance that wolphin passes on as it is: the one list `RawInstance` (the
 * port's answer), `Instance` and the `--json` shape derive from.
 */
export interface Ec2InstanceFields {
  id: string
  state: InstanceState
  publicIp: string | null
  privateIp: string | null
  publicDns: string | null
  privateDns: string | null
  imageId: string | null
  instanceType: string | null
  zone: string | null
  /** ISO-8601. */
  launchTime: string | null
}

/** Every field of Ec2InstanceFields, once: the compiler refuses a missing or an extra one. */
const EC2_FIELD_SET: Record<keyof Ec2InstanceFields, true> = {
  id: true,
  state: true,
  publicIp: true,
  privateIp: true,
  publicDns: true,
  privateDns: true,
  imageId: true,
  instanceType: true,
  zone: true,
  launchTime: true,
}

/** The names of Ec2InstanceFields, for copying them (observe.ts toInstance). */
export const EC2_INSTANCE_FIELDS = Object.keys(EC2_FIELD_SET) as ReadonlyArray<keyof Ec2InstanceFields>

/** The fields of an instance that DESIGN.md's `--json` shape and the library share. */
interface InstanceFields extends Ec2InstanceFields {
  name: string | null
  slot: number | null
  owner: string | null
  /** The lease end (wolphin:expires-at), ISO-8601. */
  expiresAt: string | null
  /** Launched from an older launch spec than the config's. */
  outdated: boolean
  market: 'spot' | 'on-demand'
}

/** One EC2 instance as wolphin sees it: the `--json` fields plus the raw tags. */
export interface Instance extends InstanceFields {
  /** Why the instance is in its state, when EC2 says (src/project/state-reason.ts). */
  stateReason?: StateReason | null
  tags: Record<string, string>
}

export interface StateReason {
  /** EC2's StateReason code, like Server.SpotInstanceTermination or Client.UserInitiatedShutdown. */
  code: string | null
  /** EC2's own words: its StateReason message, else its StateTransitionReason. */
  message: string | null
  /** In a few words: spot interruption, user shutdown, lease watchdog, ... */
  summary: string
}

export function isHealthy(i: Pick<Instance, 'state'>): boolean {
  return HEALTHY_STATES.includes(i.state)
}

/** The public JSON shape of an instance (tags omitted; they are an implementation detail). */
export interface InstanceJson extends InstanceFields {
  /** Why the instance is in its state, when EC2 says; null otherwise. */
  stateReason: StateReason | null
  /** A revert marked it (`wolphin:replaced`): it holds no slot and is about to be terminated. */
  replaced: boolean
}

export function instanceJson(i: Instance): InstanceJson {
  return {
    id: i.id,
    name: i.name,
    slot: i.slot,
    state: i.state,
    publicIp: i.publicIp,
    privateIp: i.privateIp,
    publicDns: i.publicDns,
    privateDns: i.privateDns,
    imageId: i.imageId,
    instanceType: i.instanceType,
    zone: i.zone,
    launchTime: i.launchTime,
    owner: i.owner,
    expiresAt: i.expiresAt,
    outdated: i.outdated,
    market: i.market,
    stateReason: i.stateReason ?? null,
    replaced: isReplaced(i),
  }
}
