import {
  DescribeImagesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {useEc2ClassMock} from '../support/sdk-mock.js'

import {SdkValidationPort} from '../../src/aws/validate.js'
import type {LaunchRequest} from '../../src/project/ports.js'
import {
  type DryRunAnswer,
  sampleLaunchRequest,
  validateLaunch,
  type ValidationPort,
} from '../../src/project/validate.js'
import {testConfig} from '../support/fixtures.js'

const config = testConfig

/** An account in memory; counts calls per method. */
function account(
  opts: {
    images?: Array<{id: string; state: string}>
    keys?: string[]
    groups?: string[]
    subnets?: Array<{id: string; zone: string | null}>
    dryRun?: DryRunAnswer
  } = {},
) {
  const calls: Record<string, number> = {}
  const launches: LaunchRequest[] = []
  const hit = (k: string) => (calls[k] = (calls[k] ?? 0) + 1)
  const port: ValidationPort = {
    region: async () => 'eu-west-1',
    findImages: async (ids) => (hit('images'), (opts.images ?? []).filter((i) => ids.includes(i.id))),
    findKeyPairs: async (names) => (hit('keys'), (opts.keys ?? []).filter((k) => names.includes(k))),
    findSecurityGroups: async (ids) => (hit('groups'), (opts.groups ?? []).filter((g) => ids.includes(g))),
    findSubnets: async (ids) => (hit('subnets'), (opts.subnets ?? []).filter((s) => ids.includes(s.id))),
    dryRunLaunch: async (req) => (hit('dryRun'), launches.push(req), opts.dryRun ?? {ok: true}),
  }
  return {port, calls, launches}
}

const full = config({
  keyName: 'perf',
  securityGroups: ['sg-0a', 'sg-0b'],
  subnets: ['subnet-1'],
  availabilityZones: ['eu-west-1a'],
  iamInstanceProfile: 'runner',
})

describe('validate: checks against the account', () => {
  it('ami: resolve:ssm: is left to the DryRun, which gets the alias and the watchdog launch settings', async () => {
    const alias = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'
    const a = account()
    const r = await validateLaunch(
      config({
        ami: alias,
        lease: 3_600_000,
        leasePolicy: {action: 'terminate', graceMs: 0, enforce: 'watchdog'},
      }),
      a.port,
      'abc',
    )
    expect(r.checks.find((c) => c.check === 'ami')).to.include({status: 'skipped'})
    expect(a.calls.images).to.equal(undefined)
    expect(a.launches[0]).to.include({ami: alias, metadataTags: true, shutdownBehavior: 'terminate'})
    expect(a.launches[0].userData).to.match(/^Content-Type: multipart\/mixed/)
  })

  it('everything present: ok, one call per resource kind, one DryRun of the create request', async () => {
    const a = account({
      images: [{id: 'ami-12345678', state: 'available'}],
      keys: ['perf'],
      groups: ['sg-0a', 'sg-0b'],
      subnets: [{id: 'subnet-1', zone: 'eu-west-1a'}],
    })
    const r = await validateLaunch(full, a.port, 'abc')
    expect(r.ok).to.equal(true)
    expect(r.problems).to.deep.equal([])
    expect(r.region).to.equal('eu-west-1')
    expect(a.calls).to.deep.equal({images: 1, keys: 1, groups: 1, subnets: 1, dryRun: 1})
    expect(r.checks.map((c) => [c.check, c.status])).to.deep.equal([
      ['ami', 'ok'],
      ['keyPair', 'ok'],
      ['securityGroups', 'ok'],
      ['subnet', 'ok'],
      ['runInstances', 'ok'],
      ['instanceProfile', 'ok'],
    ])
    const req = a.launches[0]
    expect(req).to.include({
      ami: 'ami-12345678',
      minCount: 1,
      maxCount: 1,
      keyName: 'perf',
      subnet: 'subnet-1',
    })
    expect(req.tags).to.include({ProjectName: 'wolphin.p', Name: 'wolphin.p.1', 'wolphin:slot': '1'})
  })

  it('each missing resource is its own problem line', async () => {
    const a = account({
      images: [],
      keys: [],
      groups: ['sg-0a'],
      subnets: [{id: 'subnet-1', zone: 'eu-west-1b'}],
      dryRun: {ok: false, code: 'NoSuchEntity', message: 'Instance profile runner not found'},
    })
    const r = await validateLaunch(full, a.port, 'abc')
    expect(r.ok).to.equal(false)
    expect(r.problems).to.deep.equal([
      'ami ami-12345678: does not exist in eu-west-1 (or is not shared with this account)',
      'key pair "perf": does not exist in eu-west-1',
      'security group sg-0b: does not exist in eu-west-1',
      'subnet subnet-1: is in eu-west-1b, but availabilityZone is eu-west-1a',
      'instance profile "runner": Instance profile runner not found',
    ])
  })

  it('unset fields are skipped, not checked; a group name is flagged without a call', async () => {
    const a = account({images: [{id: 'ami-12345678', state: 'pending'}]})
    const r = await validateLaunch(config({securityGroups: ['web']}), a.port, 'abc')
    expect(a.calls).to.deep.equal({images: 1, dryRun: 1})
    expect(r.problems).to.deep.equal([
      'ami ami-12345678: is pending, expected available',
      'security group "web": not a group id; expected an id like sg-0123456789abcdef0',
    ])
    expect(r.checks.filter((c) => c.status === 'skipped').map((c) => c.check)).to.deep.equal([
      'keyPair',
      'subnet',
      'instanceProfile',
    ])
  })

  it('a DryRun that is not permitted is a problem; without an ami nothing is launched', async () => {
    let a = account({
      images: [{id: 'ami-12345678', state: 'available'}],
      dryRun: {ok: false, code: 'UnauthorizedOperation', message: 'You are not authorized'},
    })
    let r = await validateLaunch(config(), a.port, 'abc')
    expect(r.problems).to.deep.equal([
      'RunInstances: not permitted for these credentials (UnauthorizedOperation): You are not authorized',
    ])
    a = account()
    r = await validateLaunch(config({ami: undefined}), a.port, 'abc')
    expect(a.calls).to.deep.equal({})
    expect(r.problems).to.deep.equal(['ami: not set; expected an AMI id like ami-0123456789abcdef0'])
  })

  it('the sample request carries the spot market and user data like a real launch', () => {
    const req = sampleLaunchRequest(config({market: 'spot', maxPrice: '0.05', userData: '#!/bin/sh'}), 'abc')
    expect(req.spot).to.deep.equal({maxPrice: '0.05'})
    expect(req.userData).to.equal('#!/bin/sh')
    expect(req.tags['wolphin:spec']).to.equal('abc')
  })
})

describe('validate: the SDK port', () => {
  const ec2 = useEc2ClassMock()
  const port = () =>
    new SdkValidationPort(new EC2Client({region: 'eu-west-1'}), new EC2Client({region: 'eu-west-1'}))

  it('a missing AMI (EC2 answers with an error) is an empty answer', async () => {
    ec2
      .on(DescribeImagesCommand)
      .rejects(
        Object.assign(new Error("The image id '[ami-1]' does not exist"), {name: 'InvalidAMIID.NotFound'}),
      )
    expect(await port().findImages(['ami-1'])).to.deep.equal([])
    expect(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input).to.deep.equal({ImageIds: ['ami-1']})
  })

  it('key pairs, groups and subnets are looked up with filters, one call each', async () => {
    ec2.on(DescribeKeyPairsCommand).resolves({KeyPairs: [{KeyName: 'k'}]})
    ec2.on(DescribeSecurityGroupsCommand).resolves({SecurityGroups: [{GroupId: 'sg-1'}]})
    ec2
      .on(DescribeSubnetsCommand)
      .resolves({Subnets: [{SubnetId: 'subnet-1', AvailabilityZone: 'eu-west-1a'}]})
    const p = port()
    expect(await p.findKeyPairs(['k', 'x'])).to.deep.equal(['k'])
    expect(await p.findSecurityGroups(['sg-1', 'sg-2'])).to.deep.equal(['sg-1'])
    expect(await p.findSubnets(['subnet-1'])).to.deep.equal([{id: 'subnet-1', zone: 'eu-west-1a'}])
    expect(ec2.commandCalls(DescribeKeyPairsCommand)[0].args[0].input).to.deep.equal({
      Filters: [{Name: 'key-name', Values: ['k', 'x']}],
    })
    expect(ec2.commandCalls(DescribeSecurityGroupsCommand)[0].args[0].input).to.deep.equal({
      Filters: [{Name: 'group-id', Values: ['sg-1', 'sg-2']}],
    })
    expect(ec2.commandCalls(DescribeSubnetsCommand)).to.have.length(1)
  })
})
