/**
 * The SDK side of `wolphin validate`: one Describe call per resource kind, and the very request
 * `create` would send, with DryRun=true.
 */
import {
  DescribeImagesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2'

import type {LaunchRequest} from '../project/ports.js'
import type {DryRunAnswer, ValidationPort} from '../project/validate.js'
import {AwsError} from '../errors.js'
import {type AwsOptions, createEc2Client, SdkEc2Port} from './ec2.js'
import {mapAwsError} from './errors.js'

const NOT_FOUND = new Set(['InvalidAMIID.NotFound', 'InvalidAMIID.Malformed', 'InvalidAMIID.Unavailable'])

function awsCode(e: unknown): string {
  const x = e as {Code?: string; name?: string; awsCode?: string}
  return x?.awsCode ?? x?.Code ?? x?.name ?? 'Error'
}

export class SdkValidationPort implements ValidationPort {
  constructor(
    readonly client: EC2Client,
    private readonly dryRunClient: EC2Client,
  ) {}

  async region(): Promise<string | null> {
    try {
      return (await this.client.config.region()) ?? null
    } catch {
      return null
    }
  }

  async findImages(ids: string[]) {
    try {
      const r = await this.client.send(new DescribeImagesCommand({ImageIds: ids}))
      return (r.Images ?? []).map((i) => ({id: i.ImageId!, state: i.State ?? 'available'}))
    } catch (e) {
      // EC2 answers a missing (or malformed) id with an error rather than an empty list.
      if (NOT_FOUND.has(awsCode(e))) return []
      throw mapAwsError(e, 'DescribeImages')
    }
  }

  /** One Describe call; an error is mapped to a domain error named after the call. */
  private async describe<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (e) {
      throw mapAwsError(e, action)
    }
  }

  // Filters, not KeyNames or ids: a missing name or id is an empty answer rather than an error.
  findKeyPairs(names: string[]) {
    return this.describe('DescribeKeyPairs', async () => {
      const r = await this.client.send(
        new DescribeKeyPairsCommand({Filters: [{Name: 'key-name', Values: names}]}),
      )
      return (r.KeyPairs ?? []).map((k) => k.KeyName!)
    })
  }

  findSecurityGroups(ids: string[]) {
    return this.describe('DescribeSecurityGroups', async () => {
      const r = await this.client.send(
        new DescribeSecurityGroupsCommand({Filters: [{Name: 'group-id', Values: ids}]}),
      )
      return (r.SecurityGroups ?? []).map((g) => g.GroupId!)
    })
  }

  findSubnets(ids: string[]) {
    return this.describe('DescribeSubnets', async () => {
      const r = await this.client.send(
        new DescribeSubnetsCommand({Filters: [{Name: 'subnet-id', Values: ids}]}),
      )
      return (r.Subnets ?? []).map((s) => ({id: s.SubnetId!, zone: s.AvailabilityZone ?? null}))
    })
  }

  /** The launch goes through the EC2 port itself, so the DryRun checks exactly what create sends. */
  async dryRunLaunch(req: LaunchRequest): Promise<DryRunAnswer> {
    try {
      await new SdkEc2Port(this.dryRunClient).runInstances(req)
    } catch (e) {
      const code = awsCode(e)
      if (code === 'DryRunOperation') return {ok: true}
      if (!(e instanceof AwsError)) throw e
      return {ok: false, code, message: e.message.replace(/^RunInstances: /, '')}
    }
    // EC2 never launches with DryRun set; an endpoint that did has ignored the flag.
    return {ok: false, code: 'DryRunIgnored', message: 'the endpoint ignored DryRun=true'}
  }
}

export function createValidationPort(opts: AwsOptions): ValidationPort {
  const dryRunClient = createEc2Client({...opts, maxAttempts: 2})
  // Every request of this client carries DryRun=true: it is used for RunInstances only.
  dryRunClient.middlewareStack.add(
    (next) => async (args) => {
      ;(args.input as {DryRun?: boolean}).DryRun = true
      return next(args)
    },
    {step: 'initialize', name: 'wolphinDryRun'},
  )
  return new SdkValidationPort(createEc2Client(opts), dryRunClient)
}
