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
  spot?: {maxPrice?: string}
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
}
