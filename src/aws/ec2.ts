/**
 * The EC2 port over @aws-sdk/client-ec2: the only module that talks to EC2. Loaded lazily so that
 * `--help` and `--version` never pay for the SDK.
 */
import {createRequire} from 'node:module'

import type * as Ec2Sdk from '@aws-sdk/client-ec2'
import type {
  EC2Client as Ec2ClientType,
  Image as SdkImage,
  Instance as SdkInstance,
  RunInstancesCommandInput,
} from '@aws-sdk/client-ec2'

import type {RawInstance} from '../project/observe.js'
import type {Ec2Port, FleetPort, LaunchRequest, RootDevice} from '../project/ports.js'
import type {InstanceState} from '../project/types.js'
import {PROJECT_PREFIX, Tag} from '../project/tags.js'
import {AwsError, PartialFailureError, type TargetFailure} from '../errors.js'
import {type DescribePage, parseDescribeInstances} from './describe-xml.js'
import {type AwsOptions, sdkClient} from './client.js'
import {mapAwsError} from './errors.js'
import {pool} from '../util/async.js'

// require(), not import: for a CommonJS module Node's ESM loader first scans the whole source for
// its export names, here a 2 MB bundle (measured: ~40 ms of every command that talks to EC2).
const {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
} = createRequire(import.meta.url)('@aws-sdk/client-ec2') as typeof Ec2Sdk
type EC2Client = Ec2ClientType

/** EC2 accepts up to 1000 instance ids per call. */
export const BATCH_SIZE = 1000
export const PAGE_SIZE = 1000

export type {AwsOptions}

export function createEc2Client(opts: AwsOptions): EC2Client {
  const client = sdkClient(EC2Client, 'EC2', opts)
  // wolphin configures no SDK logger, yet the SDK's logger middleware deep-copies every answer
  // through its sensitive-data filter to build a log entry nobody reads (measured: ~30 ms per 200
  // instances, the largest single cost of `status` after loading the SDK; see docs/benchmarks.md).
  client.middlewareStack.remove('loggerMiddleware')
  return client
}

export function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

/** An SDK instance as wolphin reads it (exported for the lean reader's tests). */
export function toRaw(i: SdkInstance): RawInstance {
  const tags: Record<string, string> = {}
  for (const t of i.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? ''
  return {
    id: i.InstanceId!,
    state: (i.State?.Name ?? 'pending') as InstanceState,
    tags,
    amiLaunchIndex: i.AmiLaunchIndex ?? null,
    publicIp: i.PublicIpAddress || null,
    privateIp: i.PrivateIpAddress || null,
    publicDns: i.PublicDnsName || null,
    privateDns: i.PrivateDnsName || null,
    imageId: i.ImageId ?? null,
    instanceType: i.InstanceType ?? null,
    zone: i.Placement?.AvailabilityZone ?? null,
    launchTime: i.LaunchTime ? new Date(i.LaunchTime).toISOString() : null,
    spot: i.InstanceLifecycle === 'spot',
    stateReason:
      i.StateReason?.Code || i.StateReason?.Message
        ? {code: i.StateReason.Code || null, message: i.StateReason.Message || null}
        : null,
    transitionReason: i.StateTransitionReason || null,
  }
}

/** RunInstances' MetadataOptions: IMDSv2 required, tags readable; undefined leaves EC2's defaults. */
export function metadataOptions(req: Pick<LaunchRequest, 'imdsv2' | 'metadataTags'>) {
  if (!req.imdsv2 && !req.metadataTags) return undefined
  return {
    HttpEndpoint: 'enabled' as const,
    ...(req.imdsv2 ? {HttpTokens: 'required' as const} : {}),
    ...(req.metadataTags ? {InstanceMetadataTags: 'enabled' as const} : {}),
  }
}

type LeanMiddleware = Parameters<InstanceType<typeof DescribeInstancesCommand>['middlewareStack']['add']>[0]

/** What the SDK's deserializer reads instead of an answer the lean reader has read. */
const EMPTY_ANSWER = new TextEncoder().encode(
  '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><reservationSet/></DescribeInstancesResponse>',
)

/** Opening `instanceId` elements, with or without a namespace prefix: the instances a body holds. */
const INSTANCE_ID_OPEN = /<(?:[A-Za-z_][\w.-]*:)?instanceId[\s>]/g

/** How many instances a DescribeInstances body holds, counted without reading it. */
export function instancesHeld(text: string): number {
  return text.match(INSTANCE_ID_OPEN)?.length ?? 0
}

/** A line on stderr under WOLPHIN_DEBUG; nothing otherwise. */
function debug(message: string): void {
  if (process.env.WOLPHIN_DEBUG) process.stderr.write(`wolphin debug: ${message}\n`)
}

interface LeanSink {
  page?: DescribePage
  /** The instances the answer holds, when it came over HTTP (see instancesHeld). */
  held?: number
}

/**
 * A DescribeInstances answer read by src/aws/describe-xml.ts instead of the SDK's XML reader and
 * schema deserializer (at 2000 instances ~0.5 s of parsing and garbage collection, half of
 * `status`). It sits innermost in the deserialize step, between the SDK's deserializer and the
 * HTTP handler: only a successful (2xx) answer is read here, and the SDK then deserializes an
 * empty one; error answers, and anything the lean reader does not recognise, go to the SDK as
 * they came. So does an answer that holds more instances than the lean reader found in it: a
 * layout it does not expect must never read as "fewer instances" (to `create`, zero instances
 * means launching a whole fleet). Signing, credentials, endpoint, region, retries (they wrap this
 * step) are the SDK's.
 */
function leanDescribeMiddleware(sink: LeanSink, read: (text: string) => DescribePage) {
  return (next: (args: unknown) => Promise<{response: unknown; output?: unknown}>) =>
    async (args: unknown) => {
      const out = await next(args)
      const response = out.response as {statusCode?: number; body?: unknown}
      const status = response.statusCode ?? 0
      const body = response.body as AsyncIterable<Uint8Array> | undefined
      if (status < 200 || status >= 300 || !body || typeof body[Symbol.asyncIterator] !== 'function')
        return out
      const chunks: Uint8Array[] = []
      for await (const c of body) chunks.push(c)
      const bytes = Buffer.concat(chunks)
      const text = bytes.toString('utf8')
      sink.held = instancesHeld(text)
      sink.page = undefined
      response.body = bytes
      try {
        const page = read(text)
        if (page.instances.length >= sink.held) {
          sink.page = page
          response.body = EMPTY_ANSWER
        } else
          debug(
            `lean DescribeInstances reader found ${page.instances.length} of the ${sink.held} instance(s) in an answer; the SDK's deserializer reads it instead`,
          )
      } catch (e) {
        debug(`lean DescribeInstances reader left an answer to the SDK: ${(e as Error).message}`)
      }
      return out
    }
}

/** EC2 error codes that blame some instances of a batch call rather than the call itself. */
export const PER_INSTANCE_ERRORS: ReadonlySet<string> = new Set([
  'IncorrectInstanceState',
  'IncorrectState',
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'InvalidInstanceID',
  'OperationNotPermitted',
  'UnsupportedOperation',
  'InsufficientInstanceCapacity',
])
const PER_INSTANCE_CONCURRENCY = 16

function errorCode(e: unknown): string {
  const x = e as {Code?: string; name?: string}
  return x?.Code ?? x?.name ?? 'Error'
}
function errorMessage(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]
}
function blamesInstances(e: unknown): boolean {
  return PER_INSTANCE_ERRORS.has(errorCode(e))
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({Key, Value}))

export interface PortOptions {
  /** Tries for an id EC2 does not know yet (InvalidInstanceID.NotFound right after launch). */
  consistencyAttempts: number
  /** First pause between those tries; it doubles each time. */
  consistencyDelayMs: number
  sleep: (ms: number) => Promise<void>
  /** The lean DescribeInstances reader (tests give it a faulty one to exercise the fallback). */
  readDescribe: (text: string) => DescribePage
  /** Region, profile and retries for the SSM client that resolves `resolve:ssm:` AMIs. */
  aws?: AwsOptions
}

const DEFAULT_PORT_OPTIONS: PortOptions = {
  consistencyAttempts: 5,
  consistencyDelayMs: 250,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  readDescribe: parseDescribeInstances,
}

export class SdkEc2Port implements Ec2Port, FleetPort {
  readonly options: PortOptions
  constructor(
    readonly client: EC2Client,
    options: Partial<PortOptions> = {},
  ) {
    this.options = {...DEFAULT_PORT_OPTIONS, ...options}
  }

  /** The region the client resolved (flag, config, AWS_REGION or the profile's). */
  async region(): Promise<string> {
    return this.client.config.region()
  }

  /** Every instance matching `filter`, all pages of up to 1000. */
  private async describeAll(filter: {Name: string; Values: string[]}): Promise<RawInstance[]> {
    const out: RawInstance[] = []
    let NextToken: string | undefined
    try {
      do {
        const command = new DescribeInstancesCommand({Filters: [filter], MaxResults: PAGE_SIZE, NextToken})
        const lean: LeanSink = {}
        command.middlewareStack.add(
          leanDescribeMiddleware(lean, this.options.readDescribe) as LeanMiddleware,
          {
            step: 'deserialize',
            priority: 'low',
            name: 'wolphinLeanDescribe',
          },
        )
        const r = await this.client.send(command)
        // The lean reader's page when the answer came over HTTP; the SDK's output otherwise (a
        // mocked client, or an answer the lean reader left to the SDK).
        const page = lean.page
          ? lean.page.instances
          : (r.Reservations ?? []).flatMap((res) => res.Instances ?? [])
        // Neither reader found every instance the answer holds: acting on part of the project
        // would be acting on a wrong picture of it.
        if (lean.held !== undefined && page.length < lean.held)
          throw new AwsError(
            `DescribeInstances: the answer holds ${lean.held} instance(s) and only ${page.length} could be read; nothing was done (WOLPHIN_DEBUG=1 shows more)`,
            'UNREADABLEANSWER',
            'UnreadableAnswer',
          )
        for (const i of page) out.push(toRaw(i))
        NextToken = (lean.page ? lean.page.nextToken : r.NextToken) || undefined
      } while (NextToken)
    } catch (e) {
      throw mapAwsError(e, 'DescribeInstances')
    }
    return out
  }

  describeProject(projectTag: string): Promise<RawInstance[]> {
    return this.describeAll({Name: `tag:${Tag.Project}`, Values: [projectTag]})
  }

  /**
   * Every instance of every wolphin project in the region: server-side `tag-key=ProjectName`, then
   * the `wolphin.` prefix checked here (EC2 cannot filter on a tag value prefix). All pages.
   */
  async describeAllProjects(): Promise<RawInstance[]> {
    const all = await this.describeAll({Name: 'tag-key', Values: [Tag.Project]})
    return all.filter((raw) => raw.tags[Tag.Project]?.startsWith(PROJECT_PREFIX))
  }

  async runInstances(req: LaunchRequest): Promise<RawInstance[]> {
    const input: RunInstancesCommandInput = {
      ImageId: req.ami,
      InstanceType: req.instanceType as RunInstancesCommandInput['InstanceType'],
      MinCount: req.minCount,
      MaxCount: req.maxCount,
      ClientToken: req.clientToken,
      KeyName: req.keyName,
      SecurityGroupIds: req.securityGroups.length ? req.securityGroups : undefined,
      SubnetId: req.subnet,
      Placement: req.availabilityZone ? {AvailabilityZone: req.availabilityZone} : undefined,
      UserData: req.userData !== undefined ? Buffer.from(req.userData).toString('base64') : undefined,
      IamInstanceProfile: req.iamInstanceProfile
        ? req.iamInstanceProfile.startsWith('arn:')
          ? {Arn: req.iamInstanceProfile}
          : {Name: req.iamInstanceProfile}
        : undefined,
      MetadataOptions: metadataOptions(req),
      InstanceInitiatedShutdownBehavior: req.shutdownBehavior,
      BlockDeviceMappings: req.rootVolume
        ? [
            {
              DeviceName: req.rootVolume.deviceName,
              Ebs: {
                VolumeSize: req.rootVolume.size,
                VolumeType: req.rootVolume.type as NonNullable<
                  NonNullable<RunInstancesCommandInput['BlockDeviceMappings']>[number]['Ebs']
                >['VolumeType'],
                // A root volume wolphin sized goes with its instance: nothing left behind.
                DeleteOnTermination: true,
              },
            },
          ]
        : undefined,
      InstanceMarketOptions: req.spot
        ? {
            MarketType: 'spot',
            SpotOptions: {
              SpotInstanceType: 'one-time',
              InstanceInterruptionBehavior: 'terminate',
              MaxPrice: req.spot.maxPrice,
            },
          }
        : undefined,
      // Every tag at launch: an instance is never untagged, even for a moment.
      TagSpecifications: [
        {ResourceType: 'instance', Tags: tagList(req.tags)},
        {ResourceType: 'volume', Tags: tagList({[Tag.Project]: req.tags[Tag.Project]})},
      ],
    }
    try {
      const r = await this.client.send(new RunInstancesCommand(input))
      return (r.Instances ?? []).map(toRaw)
    } catch (e) {
      throw mapAwsError(e, 'RunInstances')
    }
  }

  /**
   * One call per 1000 ids. When EC2 fails the whole call because of some of its instances
   * (IncorrectInstanceState, InvalidInstanceID.NotFound, termination protection...), every
   * instance is retried alone so the others still happen; an id EC2 does not know yet (eventual
   * consistency right after launch) is retried a few times with backoff. What still fails is
   * reported per instance in one PartialFailureError, after everything else was done.
   */
  private async batched(ids: string[], action: string, send: (ids: string[]) => Promise<unknown>) {
    const failures: TargetFailure[] = []
    for (const part of chunk(ids, BATCH_SIZE)) {
      if (part.length > 1) {
        try {
          await send(part)
          continue
        } catch (e) {
          if (!blamesInstances(e)) throw mapAwsError(e, action)
        }
      }
      await pool(part, PER_INSTANCE_CONCURRENCY, async (id) => {
        const reason = await this.single(id, action, send)
        if (reason !== null) failures.push({id, reason})
      })
    }
    if (failures.length) {
      const order = new Map(ids.map((id, n) => [id, n]))
      failures.sort((a, b) => order.get(a.id)! - order.get(b.id)!)
      throw new PartialFailureError(
        `${action} failed for ${failures.length} of ${ids.length} instance(s): ${failures.map((f) => f.id).join(', ')}`,
        failures,
      )
    }
  }

  /** One instance alone: null when done, else why it failed. Other errors fail the whole call. */
  private async single(
    id: string,
    action: string,
    send: (ids: string[]) => Promise<unknown>,
  ): Promise<string | null> {
    const {consistencyAttempts, consistencyDelayMs, sleep} = this.options
    for (let attempt = 1; ; attempt++) {
      try {
        await send([id])
        return null
      } catch (e) {
        if (!blamesInstances(e)) throw mapAwsError(e, action)
        const code = errorCode(e)
        if (code === 'InvalidInstanceID.NotFound' && attempt < consistencyAttempts) {
          await sleep(consistencyDelayMs * 2 ** (attempt - 1))
          continue
        }
        return `${code}: ${errorMessage(e)}`
      }
    }
  }

  startInstances(ids: string[]) {
    return this.batched(ids, 'StartInstances', (InstanceIds) =>
      this.client.send(new StartInstancesCommand({InstanceIds})),
    )
  }
  stopInstances(ids: string[]) {
    return this.batched(ids, 'StopInstances', (InstanceIds) =>
      this.client.send(new StopInstancesCommand({InstanceIds})),
    )
  }
  rebootInstances(ids: string[]) {
    return this.batched(ids, 'RebootInstances', (InstanceIds) =>
      this.client.send(new RebootInstancesCommand({InstanceIds})),
    )
  }
  terminateInstances(ids: string[]) {
    return this.batched(ids, 'TerminateInstances', (InstanceIds) =>
      this.client.send(new TerminateInstancesCommand({InstanceIds})),
    )
  }
  createTags(ids: string[], tags: Record<string, string>) {
    return this.batched(ids, 'CreateTags', (Resources) =>
      this.client.send(new CreateTagsCommand({Resources, Tags: tagList(tags)})),
    )
  }
  deleteTags(ids: string[], keys: string[]) {
    return this.batched(ids, 'DeleteTags', (Resources) =>
      this.client.send(new DeleteTagsCommand({Resources, Tags: keys.map((Key) => ({Key}))})),
    )
  }

  /** One SSM GetParameter: what EC2 would launch for `resolve:ssm:NAME` right now. */
  async resolveImageAlias(alias: string): Promise<string> {
    const {getParameterValue} = await import('./ssm.js')
    const aws = this.options.aws ?? {region: await this.client.config.region()}
    return getParameterValue(aws, alias.slice('resolve:ssm:'.length))
  }

  /** One DescribeImages (after resolving an alias): the root device name and its snapshot's size. */
  async rootDevice(image: string): Promise<RootDevice> {
    const id = image.startsWith('resolve:ssm:') ? await this.resolveImageAlias(image) : image
    let found: SdkImage | undefined
    try {
      found = (await this.client.send(new DescribeImagesCommand({ImageIds: [id]}))).Images?.[0]
    } catch (e) {
      throw mapAwsError(e, 'DescribeImages')
    }
    if (!found?.RootDeviceName)
      throw new AwsError(
        `DescribeImages: image ${id} was not found or names no root device; "disk" needs it`,
        'INVALIDAMIID_NOTFOUND',
        'InvalidAMIID.NotFound',
      )
    const root = found.BlockDeviceMappings?.find((m) => m.DeviceName === found.RootDeviceName)
    return {deviceName: found.RootDeviceName, snapshotSize: root?.Ebs?.VolumeSize ?? null}
  }
}

/** A port for one region's wolphin projects at once (ls, reap). */
export function createFleetPort(opts: AwsOptions): FleetPort {
  return new SdkEc2Port(createEc2Client(opts))
}

export function createEc2Port(opts: AwsOptions): Ec2Port {
  return new SdkEc2Port(createEc2Client(opts), {aws: opts})
}
