import {CreateTagsCommand, DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {expect} from 'chai'

import {SdkEc2Port} from '../../src/aws/ec2.js'
import type {ResolvedConfig} from '../../src/config/schema.js'
import {UsageError} from '../../src/errors.js'
import {Project} from '../../src/project/project.js'
import {testConfig} from '../support/fixtures.js'

const config = testConfig

function sdkInstance(id: string, state: string, tags: Record<string, string>) {
  return {
    InstanceId: id,
    State: {Name: state as 'running'},
    AmiLaunchIndex: 0,
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value})),
  }
}
const ours = (slot: number, expiresAt?: string) => ({
  ProjectName: 'wolphin.p',
  Name: `wolphin.p.${slot}`,
  'wolphin:slot': String(slot),
  ...(expiresAt ? {'wolphin:expires-at': expiresAt} : {}),
})

/**
 * A client whose `send` is its own property, so that mocking this instance works whether or not
 * another test file has mocked the EC2Client class (sinon refuses to wrap a wrapped method).
 */
function isolatedClient(): EC2Client {
  const client = new EC2Client({region: 'us-east-1', credentials: {accessKeyId: 'x', secretAccessKey: 'x'}})
  client.send = (async () => {
    throw new Error('unmocked EC2 call')
  }) as unknown as EC2Client['send']
  return client
}

const H = 3_600_000
const inHours = (h: number) => new Date(Date.now() + h * H).toISOString()

describe('unit: extend through the SDK port (aws-sdk-client-mock)', () => {
  // A mock on this client instance only: other test files mock the class.
  const client = isolatedClient()
  const ec2 = mockClient(client)
  beforeEach(() => ec2.reset())
  after(() => ec2.restore())

  const project = (over: Partial<ResolvedConfig> = {}) =>
    new Project(config(over), {port: new SdkEc2Port(client)})

  it('one CreateTags for every instance when the new lease end is the same', async () => {
    const same = inHours(1)
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            sdkInstance('i-1', 'running', ours(1, same)),
            sdkInstance('i-2', 'stopped', ours(2, same)),
          ],
        },
        {
          Instances: [
            sdkInstance('i-3', 'running', ours(3, same)),
            sdkInstance('i-4', 'terminated', ours(4, same)),
          ],
        },
      ],
    })
    ec2.on(CreateTagsCommand).resolves({})
    const r = await project().extend(null, {by: 2 * H})
    const calls = ec2.commandCalls(CreateTagsCommand)
    expect(calls).to.have.length(1)
    const input = calls[0].args[0].input
    expect(input.Resources).to.deep.equal(['i-1', 'i-2', 'i-3'])
    expect(input.Tags).to.deep.equal([{Key: 'wolphin:expires-at', Value: r.extended[0].to}])
    expect(Date.parse(r.extended[0].to) - Date.parse(same)).to.equal(2 * H)
    expect(r.skipped.map((s) => s.id)).to.deep.equal(['i-4'])
  })

  it('one CreateTags per distinct new value; --until makes it one', async () => {
    // One timestamp for the two that share an end: two calls to inHours() can differ by a millisecond.
    const one = inHours(1)
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            sdkInstance('i-1', 'running', ours(1, one)),
            sdkInstance('i-2', 'running', ours(2, inHours(3))),
            sdkInstance('i-3', 'running', ours(3, one)),
          ],
        },
      ],
    })
    ec2.on(CreateTagsCommand).resolves({})
    await project().extend(null, {by: H})
    const calls = ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input.Resources)
    expect(calls).to.deep.equal([['i-1', 'i-3'], ['i-2']])
    ec2.resetHistory()
    await project().extend(null, {until: Date.now() + 10 * H})
    expect(ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input.Resources)).to.deep.equal([
      ['i-1', 'i-2', 'i-3'],
    ])
  })

  it('beyond maxLease: exit-2 error and no CreateTags; a too-long DURATION makes no call at all', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{Instances: [sdkInstance('i-1', 'running', ours(1, inHours(7)))]}],
    })
    let err: unknown
    await project({maxLease: 8 * H})
      .extend(null, {by: 2 * H})
      .catch((e) => (err = e))
    expect(err).to.be.instanceOf(UsageError)
    expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(0)
    ec2.resetHistory()
    err = undefined
    await project({maxLease: 8 * H})
      .extend(null, {by: 9 * H})
      .catch((e) => (err = e))
    expect(err).to.be.instanceOf(UsageError)
    expect(ec2.calls()).to.have.length(0)
  })

  it('--dry-run changes nothing', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{Instances: [sdkInstance('i-1', 'running', ours(1, inHours(1)))]}],
    })
    const r = await project().extend(null, {by: H}, {dryRun: true})
    expect(r.extended).to.have.length(1)
    expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(0)
  })

  it('observing a project with expired instances emits one warning', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            sdkInstance('i-1', 'running', ours(1, inHours(-1))),
            sdkInstance('i-2', 'terminated', ours(2, inHours(-1))),
            sdkInstance('i-3', 'running', ours(3, inHours(1))),
          ],
        },
      ],
    })
    const warnings: string[] = []
    const p = new Project(config(), {
      port: new SdkEc2Port(client),
      onEvent: (e) => void (e.type === 'warn' && warnings.push(e.message)),
    })
    await p.status()
    await p.status()
    expect(warnings).to.have.length(1)
    expect(warnings[0]).to.match(/1 instance\(s\) of project p passed their lease .*: i-1;/)
  })
})

describe('unit: describeAllProjects (aws-sdk-client-mock)', () => {
  const client = isolatedClient()
  const ec2 = mockClient(client)
  after(() => ec2.restore())

  it('filters on tag-key server side, the wolphin. prefix client side, and follows every page', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              sdkInstance('i-1', 'running', {ProjectName: 'wolphin.a'}),
              sdkInstance('i-2', 'running', {ProjectName: 'someone-else'}),
            ],
          },
        ],
        NextToken: 'page2',
      })
      .resolvesOnce({
        Reservations: [{Instances: [sdkInstance('i-3', 'stopped', {ProjectName: 'wolphin.b'})]}],
      })
    const got = await new SdkEc2Port(client).describeAllProjects()
    expect(got.map((r) => r.id)).to.deep.equal(['i-1', 'i-3'])
    const calls = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input)
    expect(calls).to.have.length(2)
    expect(calls[0].Filters).to.deep.equal([{Name: 'tag-key', Values: ['ProjectName']}])
    expect(calls[0].MaxResults).to.equal(1000)
    expect(calls[1].NextToken).to.equal('page2')
  })
})
