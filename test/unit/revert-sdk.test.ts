import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {expect} from 'chai'

import {SdkEc2Port} from '../../src/aws/ec2.js'
import type {ResolvedConfig} from '../../src/config/schema.js'
import {Project} from '../../src/project/project.js'
import {SlotSelector} from '../../src/selectors/index.js'
import {specHash} from '../../src/project/spec.js'
import {testConfig} from '../support/fixtures.js'

function config(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return testConfig({count: {min: 3, max: 3}, ...over})
}

interface Fake {
  id: string
  state: string
  tags: Record<string, string>
  launch: Date
  index: number
}

/**
 * A tiny in-memory EC2 behind aws-sdk-client-mock: RunInstances adds instances (running at once),
 * TerminateInstances terminates, CreateTags tags, DescribeInstances reports them all.
 */
function fakeEc2(client: EC2Client, initial: Fake[]) {
  const ec2 = mockClient(client)
  const world = [...initial]
  let n = 100
  let clock = Date.parse('2026-01-02T00:00:00Z')
  const toSdk = (f: Fake) => ({
    InstanceId: f.id,
    State: {Name: f.state as 'running'},
    AmiLaunchIndex: f.index,
    LaunchTime: f.launch,
    Tags: Object.entries(f.tags).map(([Key, Value]) => ({Key, Value})),
  })
  ec2.on(DescribeInstancesCommand).callsFake(() => ({Reservations: [{Instances: world.map(toSdk)}]}))
  const failRuns = {left: 0}
  ec2.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
    if (failRuns.left > 0) {
      failRuns.left--
      throw Object.assign(new Error('We currently do not have sufficient capacity'), {
        name: 'Unsupported',
        $fault: 'client',
      })
    }
    const tags = Object.fromEntries(
      (input.TagSpecifications?.[0]?.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']),
    )
    const made: Fake[] = []
    for (let index = 0; index < input.MaxCount!; index++)
      made.push({
        id: `i-new${n++}`,
        state: 'running',
        tags: {...tags},
        launch: new Date((clock += 1000)),
        index,
      })
    world.push(...made)
    return {Instances: made.map(toSdk)}
  })
  ec2.on(TerminateInstancesCommand).callsFake((input: {InstanceIds: string[]}) => {
    for (const f of world) if (input.InstanceIds.includes(f.id)) f.state = 'terminated'
    return {}
  })
  ec2
    .on(CreateTagsCommand)
    .callsFake((input: {Resources: string[]; Tags: Array<{Key: string; Value: string}>}) => {
      for (const f of world)
        if (input.Resources.includes(f.id)) for (const t of input.Tags) f.tags[t.Key] = t.Value
      return {}
    })
  return {ec2, world, failRuns}
}

const spec = specHash(config())
const member = (id: string, slot: number, extra: Record<string, string> = {}): Fake => ({
  id,
  state: 'running',
  tags: {
    ProjectName: 'wolphin.p',
    Name: `wolphin.p.${slot}`,
    'wolphin:slot': String(slot),
    'wolphin:spec': spec,
    ...extra,
  },
  launch: new Date(`2026-01-01T00:0${slot}:00Z`),
  index: 0,
})
const three = () => [member('i-1', 1), member('i-2', 2), member('i-3', 3)]
const MUTATING = [
  'RunInstances',
  'TerminateInstances',
  'StartInstances',
  'StopInstances',
  'RebootInstances',
  'CreateTags',
]

describe('unit: revert through the SDK port (aws-sdk-client-mock)', () => {
  const client = new EC2Client({region: 'us-east-1', credentials: {accessKeyId: 'x', secretAccessKey: 'x'}})
  let fake: ReturnType<typeof fakeEc2>
  afterEach(() => fake.ec2.restore())
  const project = (over: Partial<ResolvedConfig> = {}) =>
    new Project(config(over), {port: new SdkEc2Port(client)})
  const callNames = () =>
    fake.ec2.calls().map((c) => (c.args[0] as object).constructor.name.replace(/Command$/, ''))

  it('a dry run of every mutating operation makes one DescribeInstances and no mutating call', async () => {
    const cases: Array<[string, (p: Project) => Promise<{plan: {actions: unknown[]}}>]> = [
      ['revert batch', (p) => p.revert(new SlotSelector([1, 2]), {strategy: 'batch', dryRun: true})],
      [
        'revert sequential',
        (p) => p.revert(new SlotSelector([1, 2]), {strategy: 'sequential', dryRun: true}),
      ],
      ['revert rolling', (p) => p.revert(null, {strategy: 'rolling', surge: 2, dryRun: true})],
      ['terminate', (p) => p.terminate(null, {dryRun: true})],
      ['stop', (p) => p.stop(null, {dryRun: true})],
      ['reboot --hard', (p) => p.reboot(null, {dryRun: true, hard: true})],
    ]
    for (const [name, op] of cases) {
      fake = fakeEc2(client, three())
      const r = await op(project())
      expect(r.plan.actions.length, name).to.be.greaterThan(0)
      expect(callNames(), name).to.deep.equal(['DescribeInstances'])
      fake.ec2.restore()
    }
    // create against an empty project, and start against stopped instances.
    fake = fakeEc2(client, [])
    expect((await project().create({dryRun: true})).plan.actions.length).to.be.greaterThan(0)
    expect(callNames()).to.deep.equal(['DescribeInstances'])
    fake.ec2.restore()
    fake = fakeEc2(
      client,
      three().map((f) => ({...f, state: 'stopped'})),
    )
    expect((await project().start(null, {dryRun: true})).plan.actions.length).to.be.greaterThan(0)
    expect(callNames().filter((c) => MUTATING.includes(c))).to.deep.equal([])
  })

  it('rolling: CreateTags(wolphin:replaced), then RunInstances with the same Name and slot, then TerminateInstances', async () => {
    fake = fakeEc2(client, three())
    const r = await project().revert(new SlotSelector([2]), {strategy: 'rolling'})
    const calls = callNames()
    expect(calls.filter((c) => c !== 'DescribeInstances')).to.deep.equal([
      'CreateTags',
      'RunInstances',
      'TerminateInstances',
    ])
    const [mark] = fake.ec2.commandCalls(CreateTagsCommand)
    expect(mark.args[0].input.Resources).to.deep.equal(['i-2'])
    expect(mark.args[0].input.Tags!.map((t) => t.Key)).to.deep.equal(['wolphin:replaced'])
    expect(Number.isNaN(Date.parse(mark.args[0].input.Tags![0].Value!))).to.equal(false)
    const [run] = fake.ec2.commandCalls(RunInstancesCommand)
    const tags = Object.fromEntries(
      run.args[0].input.TagSpecifications![0].Tags!.map((t) => [t.Key, t.Value]),
    )
    expect(tags).to.include({
      Name: 'wolphin.p.2',
      'wolphin:slot': '2',
      'wolphin:spec': spec,
      ProjectName: 'wolphin.p',
    })
    expect(tags).to.not.have.property('wolphin:replaced')
    expect(run.args[0].input).to.include({MinCount: 1, MaxCount: 1, ImageId: 'ami-12345678'})
    const [term] = fake.ec2.commandCalls(TerminateInstancesCommand)
    expect(term.args[0].input.InstanceIds).to.deep.equal(['i-2'])
    // The replacement was running before the old one was terminated.
    const order = calls.indexOf('TerminateInstances')
    expect(calls.slice(calls.indexOf('RunInstances'), order)).to.include('DescribeInstances')
    expect(r.launched).to.have.length(1)
    const live = fake.world.filter((f) => f.state === 'running').map((f) => [f.tags.Name, f.id])
    expect(live).to.deep.equal([
      ['wolphin.p.1', 'i-1'],
      ['wolphin.p.3', 'i-3'],
      ['wolphin.p.2', r.launched[0]],
    ])
  })

  it('batch: one CreateTags, one TerminateInstances, one RunInstances for all slots, nothing per instance', async () => {
    fake = fakeEc2(client, three())
    const r = await project().revert(null, {strategy: 'batch'})
    expect(callNames().filter((c) => c !== 'DescribeInstances')).to.deep.equal([
      'CreateTags',
      'TerminateInstances',
      'RunInstances',
    ])
    const live = fake.world.filter((f) => f.state === 'running')
    // One launch tags its instances alike: the shared Name, and the slots by AMI launch index.
    expect(live.map((f) => [f.tags.Name, f.tags['wolphin:slots']])).to.deep.equal([
      ['wolphin.p', '1-3'],
      ['wolphin.p', '1-3'],
      ['wolphin.p', '1-3'],
    ])
    expect(live.map((f) => f.id)).to.not.include.members(['i-1', 'i-2', 'i-3'])
    const after = (await project().status()).instances.filter((i) => i.state === 'running')
    expect(after.map((i) => [i.slot, i.name])).to.deep.equal([
      [1, 'wolphin.p.1'],
      [2, 'wolphin.p.2'],
      [3, 'wolphin.p.3'],
    ])
    expect(r.launched).to.have.length(3)
  })

  it('batch with nameTags: per-instance: the Names are written per slot after the launch', async () => {
    fake = fakeEc2(client, three())
    await project({nameTags: 'per-instance'}).revert(null, {strategy: 'batch'})
    expect(callNames().filter((c) => c !== 'DescribeInstances')).to.deep.equal([
      'CreateTags',
      'TerminateInstances',
      'RunInstances',
      'CreateTags',
      'CreateTags',
      'CreateTags',
    ])
    const live = fake.world.filter((f) => f.state === 'running')
    expect(live.map((f) => f.tags.Name).sort()).to.deep.equal(['wolphin.p.1', 'wolphin.p.2', 'wolphin.p.3'])
  })

  it('re-run after an interruption: the marked old instance is terminated, no second launch', async () => {
    // Slot 1 was marked and its replacement launched; the run died before terminating the old one.
    const world = three()
    world[0].tags['wolphin:replaced'] = '2026-01-01T00:10:00.000Z'
    world.push({...member('i-1new', 1), launch: new Date('2026-01-01T00:11:00Z')})
    fake = fakeEc2(client, world)
    await project().revert(new SlotSelector([1]), {strategy: 'rolling'})
    expect(callNames().filter((c) => c !== 'DescribeInstances')).to.deep.equal(['TerminateInstances'])
    expect(fake.ec2.commandCalls(TerminateInstancesCommand)[0].args[0].input.InstanceIds).to.deep.equal([
      'i-1',
    ])
  })

  it('an AWS error mid-rolling-revert keeps the old instance running (marked); the re-run completes it', async () => {
    fake = fakeEc2(client, three())
    fake.failRuns.left = 1
    let failed: unknown = null
    await project()
      .revert(new SlotSelector([1]), {strategy: 'rolling'})
      .catch((e: unknown) => (failed = e))
    expect(failed).to.be.instanceOf(Error)
    expect(callNames().filter((c) => c !== 'DescribeInstances')).to.deep.equal(['CreateTags', 'RunInstances'])
    const old = fake.world.find((f) => f.id === 'i-1')!
    expect(old.state).to.equal('running')
    expect(old.tags).to.have.property('wolphin:replaced')
    // The same command again: launch the missing replacement, then terminate the marked old one.
    fake.ec2.resetHistory()
    const r = await project().revert(new SlotSelector([1]), {strategy: 'rolling'})
    expect(callNames().filter((c) => c !== 'DescribeInstances')).to.deep.equal([
      'RunInstances',
      'TerminateInstances',
    ])
    const live = fake.world.filter((f) => f.state === 'running')
    expect(live.filter((f) => f.tags.Name === 'wolphin.p.1').map((f) => f.id)).to.deep.equal(r.launched)
    expect(old.state).to.equal('terminated')
  })
})
