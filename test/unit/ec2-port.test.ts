import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {useEc2ClassMock} from '../support/sdk-mock.js'

import {mapAwsError} from '../../src/aws/errors.js'
import {SdkEc2Port} from '../../src/aws/ec2.js'
import type {ResolvedConfig} from '../../src/config/schema.js'
import {AwsError, ConfigError, CredentialsError} from '../../src/errors.js'
import {Project} from '../../src/project/project.js'
import {testConfig} from '../support/fixtures.js'

const config = testConfig

function sdkInstance(id: string, state: string, tags: Record<string, string>, launchIndex = 0) {
  return {
    InstanceId: id,
    State: {Name: state as 'running'},
    AmiLaunchIndex: launchIndex,
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value})),
  }
}

const ours = (slot: number) => ({
  ProjectName: 'wolphin.p',
  Name: `wolphin.p.${slot}`,
  'wolphin:slot': String(slot),
})

function project(over: Partial<ResolvedConfig> = {}) {
  return new Project(config(over), {port: new SdkEc2Port(new EC2Client({region: 'us-east-1'}))})
}

describe('EC2 port (aws-sdk-client-mock)', () => {
  const ec2 = useEc2ClassMock()

  it('DescribeInstances: server-side tag filter, pages of 1000, all pages read', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({Reservations: [{Instances: [sdkInstance('i-1', 'running', ours(1))]}], NextToken: 't1'})
      .resolvesOnce({Reservations: [{Instances: [sdkInstance('i-2', 'running', ours(2))]}]})
    const s = await project().status()
    expect(s.instances.map((i) => i.id)).to.deep.equal(['i-1', 'i-2'])
    const calls = ec2.commandCalls(DescribeInstancesCommand)
    expect(calls).to.have.length(2)
    expect(calls[0].args[0].input).to.deep.equal({
      Filters: [{Name: 'tag:ProjectName', Values: ['wolphin.p']}],
      MaxResults: 1000,
      NextToken: undefined,
    })
    expect(calls[1].args[0].input.NextToken).to.equal('t1')
  })

  it('re-checks the exact ProjectName client-side and never acts on anything else', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            sdkInstance('i-ours', 'running', ours(1)),
            sdkInstance('i-case', 'running', {ProjectName: 'wolphin.P', Name: 'wolphin.p.2'}),
            sdkInstance('i-prefix', 'running', {ProjectName: 'wolphin.px', Name: 'wolphin.p.3'}),
            sdkInstance('i-untagged', 'running', {Name: 'wolphin.p.4'}),
          ],
        },
      ],
    })
    ec2.on(TerminateInstancesCommand).resolves({})
    const r = await project().terminate(null, {wait: false})
    expect(r.instances.map((i) => i.id)).to.deep.equal(['i-ours'])
    const calls = ec2.commandCalls(TerminateInstancesCommand)
    expect(calls).to.have.length(1)
    expect(calls[0].args[0].input.InstanceIds).to.deep.equal(['i-ours'])
  })

  it('create of one: one Describe, one RunInstances with every tag and IMDSv2, no CreateTags', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({Reservations: []})
      .resolves({
        Reservations: [{Instances: [sdkInstance('i-new', 'running', ours(1))]}],
      })
    ec2.on(RunInstancesCommand).resolves({Instances: [sdkInstance('i-new', 'pending', ours(1))]})
    const r = await project({email: 'me@x.io', tags: {team: 'perf'}, lease: 3_600_000}).create()
    expect(r.launched).to.deep.equal(['i-new'])
    const run = ec2.commandCalls(RunInstancesCommand)
    expect(run).to.have.length(1)
    const input = run[0].args[0].input
    expect(input).to.deep.include({
      ImageId: 'ami-12345678',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
    })
    // With a lease, the instance reads its own lease tag from the metadata (the watchdog).
    expect(input.MetadataOptions).to.deep.equal({
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      InstanceMetadataTags: 'enabled',
    })
    expect(input.ClientToken).to.match(/^wolphin-[0-9a-f]{48}$/)
    const tags = Object.fromEntries(input.TagSpecifications![0].Tags!.map((t) => [t.Key, t.Value]))
    expect(tags).to.include({
      ProjectName: 'wolphin.p',
      Name: 'wolphin.p.1',
      'wolphin:slot': '1',
      OwnerEmail: 'me@x.io',
      team: 'perf',
    })
    expect(tags['wolphin:spec']).to.match(/^[0-9a-f]{12}$/)
    expect(Date.parse(tags['wolphin:expires-at'])).to.be.greaterThan(Date.now())
    expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(0)
    // one observe + one waiter round (the instance is already running)
    expect(ec2.commandCalls(DescribeInstancesCommand)).to.have.length(2)
  })

  it('imdsv2: false leaves the metadata options to EC2', async () => {
    ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
    ec2.on(RunInstancesCommand).resolves({Instances: [sdkInstance('i-new', 'pending', ours(1))]})
    await project({imdsv2: false}).create({wait: false})
    expect(ec2.commandCalls(RunInstancesCommand)[0].args[0].input.MetadataOptions).to.equal(undefined)
  })

  const launchOfThree = () => {
    const slotsTags = {ProjectName: 'wolphin.p', Name: 'wolphin.p', 'wolphin:slots': '1-3'}
    ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
    ec2.on(RunInstancesCommand).resolves({
      Instances: [
        sdkInstance('i-a', 'pending', slotsTags, 0),
        sdkInstance('i-b', 'pending', slotsTags, 1),
        sdkInstance('i-c', 'pending', slotsTags, 2),
      ],
    })
    ec2.on(CreateTagsCommand).resolves({})
  }

  it('create of three: one RunInstances carrying every tag, slots from the AMI launch index, no other call', async () => {
    launchOfThree()
    const r = await project({count: {min: 3, max: 3}}).create({wait: false})
    expect(ec2.commandCalls(RunInstancesCommand)).to.have.length(1)
    const input = ec2.commandCalls(RunInstancesCommand)[0].args[0].input
    expect(input).to.deep.include({MinCount: 3, MaxCount: 3})
    const tags = Object.fromEntries(input.TagSpecifications![0].Tags!.map((t) => [t.Key, t.Value]))
    expect(tags).to.include({ProjectName: 'wolphin.p', Name: 'wolphin.p', 'wolphin:slots': '1-3'})
    expect(tags).to.not.have.property('wolphin:slot')
    expect(r.instances.map((i) => [i.id, i.slot, i.name])).to.deep.equal([
      ['i-a', 1, 'wolphin.p.1'],
      ['i-b', 2, 'wolphin.p.2'],
      ['i-c', 3, 'wolphin.p.3'],
    ])
    expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(0)
  })

  it('nameTags: per-instance also writes each Name and wolphin:slot, one CreateTags per instance', async () => {
    launchOfThree()
    await project({count: {min: 3, max: 3}, nameTags: 'per-instance'}).create({wait: false})
    expect(ec2.commandCalls(RunInstancesCommand)).to.have.length(1)
    expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(3)
    const names = ec2
      .commandCalls(CreateTagsCommand)
      .map((c) => [c.args[0].input.Resources, c.args[0].input.Tags])
    expect(names).to.deep.include([
      ['i-b'],
      [
        {Key: 'Name', Value: 'wolphin.p.2'},
        {Key: 'wolphin:slot', Value: '2'},
      ],
    ])
  })

  it('batches state changes by 1000 ids', async () => {
    const many = Array.from({length: 2500}, (_, n) => sdkInstance(`i-${n}`, 'running', ours(n + 1)))
    ec2.on(DescribeInstancesCommand).resolves({Reservations: [{Instances: many}]})
    ec2.on(StopInstancesCommand).resolves({})
    await project().stop(null, {wait: false})
    const calls = ec2.commandCalls(StopInstancesCommand)
    expect(calls.map((c) => c.args[0].input.InstanceIds!.length)).to.deep.equal([1000, 1000, 500])
  })

  it('waiters poll with one DescribeInstances per round for the whole batch', async () => {
    const running = [1, 2, 3].map((s) => sdkInstance(`i-${s}`, 'running', ours(s)))
    const stopping = [1, 2, 3].map((s) => sdkInstance(`i-${s}`, 'stopping', ours(s)))
    const stopped = [1, 2, 3].map((s) => sdkInstance(`i-${s}`, 'stopped', ours(s)))
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({Reservations: [{Instances: running}]})
      .resolvesOnce({Reservations: [{Instances: stopping}]})
      .resolvesOnce({Reservations: [{Instances: stopping}]})
      .resolves({Reservations: [{Instances: stopped}]})
    ec2.on(StopInstancesCommand).resolves({})
    const r = await project().stop(null)
    expect(r.instances.map((i) => i.state)).to.deep.equal(['stopped', 'stopped', 'stopped'])
    expect(ec2.commandCalls(StopInstancesCommand)).to.have.length(1)
    // 1 observe + 3 waiter rounds, never one call per instance
    expect(ec2.commandCalls(DescribeInstancesCommand)).to.have.length(4)
  })

  it('reboot uses RebootInstances on running instances only; start skips running', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {Instances: [sdkInstance('i-1', 'running', ours(1)), sdkInstance('i-2', 'stopped', ours(2))]},
      ],
    })
    ec2.on(RebootInstancesCommand).resolves({})
    await project().reboot(null)
    expect(ec2.commandCalls(RebootInstancesCommand)[0].args[0].input.InstanceIds).to.deep.equal(['i-1'])
    ec2.on(StartInstancesCommand).resolves({})
    await project().start(null, {wait: false})
    expect(ec2.commandCalls(StartInstancesCommand)[0].args[0].input.InstanceIds).to.deep.equal(['i-2'])
  })

  it('a dry run makes no mutating call', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({Reservations: [{Instances: [sdkInstance('i-1', 'running', ours(1))]}]})
    await project({count: {min: 3, max: 3}}).create({dryRun: true})
    await project().terminate(null, {dryRun: true})
    expect(ec2.calls().map((c) => c.args[0].constructor.name)).to.deep.equal([
      'DescribeInstancesCommand',
      'DescribeInstancesCommand',
    ])
  })

  it('waits time out with a clear error', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({Reservations: [{Instances: [sdkInstance('i-1', 'stopping', ours(1))]}]})
    const p = project({wait: {timeout: 0.05, interval: 0.01}})
    try {
      await p.stop(null)
      expect.fail('expected a timeout')
    } catch (e) {
      expect((e as Error).message).to.match(
        /timed out after 0\.05s waiting for 1 instance\(s\) to be stopped: i-1/,
      )
    }
  })

  describe('error mapping', () => {
    const table: Array<[string, string, RegExp]> = [
      ['UnauthorizedOperation', 'You are not authorized', /RunInstances: not authorised by IAM/],
      ['InstanceLimitExceeded', 'limit 20', /instance limit is reached/],
      ['InsufficientInstanceCapacity', 'no capacity', /not enough capacity/],
      [
        'InvalidAMIID.NotFound',
        "The image id '[ami-1]' does not exist",
        /the AMI does not exist in this region/,
      ],
      ['InvalidAMIID.Malformed', 'bad', /the AMI id is malformed/],
    ]
    for (const [name, message, re] of table) {
      it(`${name} becomes an AwsError with a clear message`, async () => {
        ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
        ec2.on(RunInstancesCommand).rejects(Object.assign(new Error(message), {name}))
        try {
          await project().create()
          expect.fail('expected an error')
        } catch (e) {
          expect(e).to.be.instanceOf(AwsError)
          expect((e as AwsError).awsCode).to.equal(name)
          expect((e as Error).message).to.match(re)
        }
      })
    }
    it('missing credentials and region', () => {
      expect(
        mapAwsError(
          Object.assign(new Error('Could not load credentials from any providers'), {
            name: 'CredentialsProviderError',
          }),
          'X',
        ),
      ).to.be.instanceOf(CredentialsError)
      expect(mapAwsError(new Error('Region is missing'), 'X')).to.be.instanceOf(ConfigError)
    })
  })
})
