/**
 * The EC2 port over @aws-sdk/client-ec2: the only module that talks to EC2. Loaded lazily so that
 * `--help` and `--version` never pay for the SDK.
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance as SdkInstance,
  RebootInstancesCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  CreateTagsCommand,
} from '@aws-sdk/client-ec2'

import type {RawInstance} from '../project/observe.js'
import type {Ec2Port, LaunchRequest} from '../project/ports.js'
import type {InstanceState} from '../project/types.js'
import {Tag} from '../project/tags.js'
import {mapAwsError} from './errors.js'

/** EC2 accepts up to 1000 instance ids per call. */
export const BATCH_SIZE = 1000
export const PAGE_SIZE = 1000

export interface AwsOptions {
  region?: string
  profile?: string
  maxAttempts?: number
}

export function createEc2Client(opts: AwsOptions): EC2Client {
  return new EC2Client({
    region: opts.region,
    profile: opts.profile,
    // Adaptive retry backs off client-side when EC2 throttles; attempts are bounded.
    retryMode: 'adaptive',
    maxAttempts: opts.maxAttempts ?? 8,
  })
}

export function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

function toRaw(i: SdkInstance): RawInstance {
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
  }
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([Key, Value]) => ({Key, Value}))

export class SdkEc2Port implements Ec2Port {
  constructor(readonly client: EC2Client) {}

  async describeProject(projectTag: string): Promise<RawInstance[]> {
    const out: RawInstance[] = []
    let NextToken: string | undefined
    try {
      do {
        const r = await this.client.send(
          new DescribeInstancesCommand({
            Filters: [{Name: `tag:${Tag.Project}`, Values: [projectTag]}],
            MaxResults: PAGE_SIZE,
            NextToken,
          }),
        )
        for (const res of r.Reservations ?? []) for (const i of res.Instances ?? []) out.push(toRaw(i))
        NextToken = r.NextToken || undefined
      } while (NextToken)
    } catch (e) {
      throw mapAwsError(e, 'DescribeInstances')
    }
    return out
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
      MetadataOptions: req.imdsv2 ? {HttpTokens: 'required', HttpEndpoint: 'enabled'} : undefined,
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

  private async batched(ids: string[], action: string, send: (ids: string[]) => Promise<unknown>) {
    for (const part of chunk(ids, BATCH_SIZE)) {
      try {
        await send(part)
      } catch (e) {
        throw mapAwsError(e, action)
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
}

export function createEc2Port(opts: AwsOptions): Ec2Port {
  return new SdkEc2Port(createEc2Client(opts))
}
