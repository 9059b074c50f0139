import type {AwsTimeouts, ResolvedConfig} from '../config/schema.js'
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
  /** Removes the tags `keys` from the instances (whatever their values). */
  deleteTags(ids: string[], keys: string[]): Promise<void>
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

/**
 * The AWS options of a project: the one place they are made from its config, with the region and
 * profile of the command line (or a library caller) over the config's. Every client of a project
 * (EC2, SSM, the DryRun, the host-key pins of an SSH wait) is built from these.
 */
export function awsOptionsOf(
  config: Pick<ResolvedConfig, 'region' | 'maxAttempts' | 'timeouts' | 'credentials'>,
  overrides: {region?: string; profile?: string} = {},
): AwsOptions {
  return {
    region: overrides.region ?? config.region,
    profile: overrides.profile,
    maxAttempts: config.maxAttempts,
    timeouts: config.timeouts,
    ...(config.credentials ? {credentials: config.credentials} : {}),
  }
}

export interface InvocationStatus {
  instanceId: string
  /** Pending | InProgress | Delayed | Success | Cancelled | TimedOut | Failed | Cancelling */
  status: string
  statusDetails: string
}

export interface InvocationOutput extends InvocationStatus {
  responseCode: number
  stdout: string
  stderr: string
}

/**
 * Run Command over SSM, for exec on instances without inbound SSH: the port src/exec's SSM runner
 * works through. `src/aws/ssm.ts` implements it with the SDK; unit tests mock the SDK below it.
 */
export interface SsmPort {
  /** AWS-RunShellScript on up to 50 instances; returns the command id. */
  sendCommand(
    ids: string[],
    command: string,
    opts: {executionTimeoutSeconds: number; maxConcurrency?: number},
  ): Promise<string>
  listInvocations(commandId: string, signal?: AbortSignal): Promise<InvocationStatus[]>
  getInvocation(commandId: string, instanceId: string, signal?: AbortSignal): Promise<InvocationOutput>
  /** The ids among `ids` that SSM manages and reports online. */
  onlineManaged(ids: string[]): Promise<Set<string>>
  cancel(commandId: string, ids: string[], signal?: AbortSignal): Promise<void>
}
