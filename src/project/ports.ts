import type {AwsTimeouts} from '../config/schema.js'
import type {RawInstance} from './observe.js'

/** What a launch asks EC2 for; every tag goes into TagSpecifications. */
export interface LaunchRequest {
  ami: string
  instanceType: string
  minCount: number
  maxCount: number
  tags: Record<string, string>
  clientToken: string
  keyName?: string
  securityGroups: string[]
  subnet?: string
  availabilityZone?: string
  userData?: string
  iamInstanceProfile?: string
  imdsv2: boolean
  /** Tags readable from the instance metadata (the lease watchdog reads its lease there). */
  metadataTags?: boolean
  /** InstanceInitiatedShutdownBehavior; unset is EC2's default (stop). */
  shutdownBehavior?: 'terminate'
  /** The root volume: the AMI's root device with a size (GiB) and/or EBS type. */
  rootVolume?: {deviceName: string; size?: number; type?: string}
  spot?: {maxPrice?: string}
}

/** An image's root device as DescribeImages reports it. */
export interface RootDevice {
  deviceName: string
  /** Size of the root snapshot in GiB: a root volume cannot be smaller. */
  snapshotSize: number | null
}

/**
 * The small port over EC2 the core works through. `src/aws` implements it with the SDK; unit
 * tests implement it in memory.
 */
export interface Ec2Port {
  /** Every instance whose ProjectName tag equals `projectTag` (server-side filter, all pages). */
  describeProject(projectTag: string): Promise<RawInstance[]>
  runInstances(req: LaunchRequest): Promise<RawInstance[]>
  startInstances(ids: string[]): Promise<void>
  stopInstances(ids: string[]): Promise<void>
  rebootInstances(ids: string[]): Promise<void>
  terminateInstances(ids: string[]): Promise<void>
  createTags(ids: string[], tags: Record<string, string>): Promise<void>
  /** The region the port talks to, when it knows (reported by `status`). */
  region?(): Promise<string>
  /**
   * The AMI id that `resolve:ssm:NAME` names now (SSM GetParameter). Optional: a port without it
   * gives up drift by image for such AMIs.
   */
  resolveImageAlias?(alias: string): Promise<string>
  /** The root device of an image (DescribeImages; an alias is resolved first). Needed for `disk`. */
  rootDevice?(image: string): Promise<RootDevice>
}

/** What `ls` and `reap` need: every wolphin project of one region at once. */
export interface FleetPort {
  /** Every instance whose ProjectName tag starts with `wolphin.` (all pages). */
  describeAllProjects(): Promise<RawInstance[]>
  stopInstances(ids: string[]): Promise<void>
  terminateInstances(ids: string[]): Promise<void>
}

/** How every AWS client of a project connects: region, profile, retries and time limits. */
export interface AwsOptions {
  region?: string
  profile?: string
  maxAttempts?: number
  /** In seconds; DEFAULTS.timeouts where absent. */
  timeouts?: AwsTimeouts
  /** Static keys (a legacy config's); the SDK's credential chain when absent. */
  credentials?: {accessKeyId: string; secretAccessKey: string}
}
