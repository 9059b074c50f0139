import {expect} from 'chai'

import {PartialFailureError, UsageError} from '../../src/errors.js'
import {listProjects, reap, summarizeProjects} from '../../src/project/fleet.js'
import type {RawInstance} from '../../src/project/observe.js'
import type {FleetPort} from '../../src/project/ports.js'
import {planReap, projectOf} from '../../src/project/reap.js'
import type {InstanceState} from '../../src/project/types.js'

const T0 = Date.parse('2026-05-01T12:00:00.000Z')
const iso = (ms: number) => new Date(ms).toISOString()
const PAST = iso(T0 - 60_000)
const FUTURE = iso(T0 + 3_600_000)

function raw(
  id: string,
  state: InstanceState,
  tags: Record<string, string>,
  extra: Partial<RawInstance> = {},
): RawInstance {
  return {
    id,
    state,
    tags,
    amiLaunchIndex: 0,
    publicIp: null,
    privateIp: null,
    publicDns: null,
    privateDns: null,
    imageId: 'ami-1',
    instanceType: 't3.micro',
    zone: null,
    launchTime: '2026-05-01T10:00:00.000Z',
    spot: false,
    ...extra,
  }
}
const w = (project: string, slot: number, expiresAt?: string, owner = 'o@x') => ({
  ProjectName: `wolphin.${project}`,
  Name: `wolphin.${project}.${slot}`,
  OwnerEmail: owner,
  ...(expiresAt ? {'wolphin:expires-at': expiresAt} : {}),
})

describe('unit: planReap', () => {
  const fleet = [
    raw('i-a1', 'running', w('a', 1, PAST)),
    raw('i-a2', 'stopped', w('a', 2, PAST)),
    raw('i-a3', 'pending', w('a', 3, PAST)),
    raw('i-a4', 'terminated', w('a', 4, PAST)),
    raw('i-a5', 'shutting-down', w('a', 5, PAST)),
    raw('i-b1', 'running', w('b', 1, FUTURE)),
    raw('i-c1', 'running', w('c', 1)), // no lease: never touched
    raw('i-d1', 'running', w('d', 1, 'next week')), // unreadable lease: reported, left alone
    raw('i-x1', 'running', {ProjectName: 'other.a', 'wolphin:expires-at': PAST}), // not wolphin's
    raw('i-x2', 'running', {ProjectName: 'wolphin.', 'wolphin:expires-at': PAST}), // empty project
    raw('i-x3', 'running', {Name: 'wolphin.a.9', 'wolphin:expires-at': PAST}), // no ProjectName
  ]

  it('terminate: every live expired instance of wolphin projects, per project', () => {
    const plans = planReap('r1', fleet, {action: 'terminate', graceMs: 0, now: T0})
    expect(
      plans.map((p) => [p.project, p.owner, p.targets.map((t) => t.id), p.skipped.map((s) => s.id)]),
    ).to.deep.equal([
      ['a', 'o@x', ['i-a1', 'i-a2', 'i-a3'], []],
      ['d', 'o@x', [], ['i-d1']],
    ])
    expect(plans[0].region).to.equal('r1')
    expect(plans[1].skipped[0].reason).to.match(/unreadable wolphin:expires-at "next week"/)
  })

  it('stop: running ones; pending is left for the next run, stopped is already done', () => {
    const plans = planReap('r1', fleet, {action: 'stop', graceMs: 0, now: T0})
    const a = plans.find((p) => p.project === 'a')!
    expect(a.targets.map((t) => t.id)).to.deep.equal(['i-a1'])
    expect(a.skipped.map((s) => [s.id, s.reason])).to.deep.equal([
      ['i-a3', 'still pending; the next run stops it'],
    ])
  })

  it('stop: a spot instance cannot be stopped, so it is reported, not stopped; terminate takes it', () => {
    const spot = [raw('i-s1', 'running', w('s', 1, PAST), {spot: true})]
    const stop = planReap('r1', spot, {action: 'stop', graceMs: 0, now: T0})
    expect(stop.map((p) => [p.targets.length, p.skipped.map((x) => x.reason)])).to.deep.equal([
      [0, ['a one-time spot instance cannot be stopped; reap with --action terminate']],
    ])
    const term = planReap('r1', spot, {action: 'terminate', graceMs: 0, now: T0})
    expect(term[0].targets.map((t) => t.id)).to.deep.equal(['i-s1'])
  })

  it('grace: a lease that ended less than grace ago is left alone', () => {
    expect(
      planReap('r1', fleet, {action: 'terminate', graceMs: 120_000, now: T0}).map((p) => p.project),
    ).to.deep.equal(['d'])
  })

  it('idempotent: after the action, the same fleet plans nothing', () => {
    const after = fleet.map((r) =>
      ['i-a1', 'i-a2', 'i-a3'].includes(r.id) ? {...r, state: 'terminated' as const} : r,
    )
    expect(
      planReap('r1', after, {action: 'terminate', graceMs: 0, now: T0}).flatMap((p) => p.targets),
    ).to.deep.equal([])
  })

  it('names targets by slot, also when a launch shared one Name tag', () => {
    const shared = {
      ProjectName: 'wolphin.s',
      Name: 'wolphin.s',
      'wolphin:slots': '1-2',
      'wolphin:expires-at': PAST,
    }
    const plans = planReap(
      'r1',
      [raw('i-s2', 'running', shared, {amiLaunchIndex: 1}), raw('i-s1', 'running', shared)],
      {
        action: 'terminate',
        graceMs: 0,
        now: T0,
      },
    )
    expect(plans.flatMap((p) => p.targets.map((t) => [t.id, t.name]))).to.deep.equal([
      ['i-s1', 'wolphin.s.1'],
      ['i-s2', 'wolphin.s.2'],
    ])
  })

  it('projectOf reads the wolphin prefix only', () => {
    expect(projectOf({tags: {ProjectName: 'wolphin.x'}})).to.equal('x')
    expect(projectOf({tags: {ProjectName: 'wolphin.'}})).to.equal(null)
    expect(projectOf({tags: {ProjectName: 'Wolphin.x'}})).to.equal(null)
    expect(projectOf({tags: {}})).to.equal(null)
  })
})

describe('unit: summarizeProjects (ls)', () => {
  it('counts by state, types, markets, oldest launch and nearest expiry of live instances', () => {
    const s = summarizeProjects(
      'r1',
      [
        raw('i-1', 'running', w('a', 1, FUTURE), {launchTime: '2026-05-01T09:00:00.000Z'}),
        raw('i-2', 'stopped', w('a', 2, PAST), {instanceType: 'c5.large', spot: true}),
        raw('i-3', 'terminated', w('a', 3, iso(T0 - 9e6)), {launchTime: '2026-04-01T00:00:00.000Z'}),
        raw('i-4', 'terminated', w('gone', 1, PAST)),
        raw('i-5', 'running', {ProjectName: 'nope'}),
      ],
      {now: T0},
    )
    expect(s).to.deep.equal([
      {
        region: 'r1',
        project: 'a',
        owner: 'o@x',
        instances: 3,
        states: {running: 1, stopped: 1, terminated: 1},
        instanceTypes: ['c5.large', 't3.micro'],
        markets: {'on-demand': 1, spot: 1},
        oldestLaunch: '2026-05-01T09:00:00.000Z',
        nearestExpiry: PAST,
        expired: 1,
      },
    ])
  })

  it('--all keeps projects with nothing live', () => {
    const s = summarizeProjects('r1', [raw('i-4', 'terminated', w('gone', 1))], {now: T0, all: true})
    expect(s.map((p) => [p.project, p.states, p.nearestExpiry])).to.deep.equal([
      ['gone', {terminated: 1}, null],
    ])
  })
})

/** A region in memory that records the calls it gets. */
class FakeRegion implements FleetPort {
  calls: string[] = []
  constructor(
    public instances: RawInstance[],
    private readonly fail: {describe?: Error; terminate?: Error} = {},
  ) {}
  async describeAllProjects() {
    this.calls.push('describe')
    if (this.fail.describe) throw this.fail.describe
    return this.instances.map((i) => ({...i}))
  }
  async stopInstances(ids: string[]) {
    this.calls.push(`stop ${ids.join(',')}`)
    for (const i of this.instances) if (ids.includes(i.id)) i.state = 'stopped'
  }
  async terminateInstances(ids: string[]) {
    this.calls.push(`terminate ${ids.join(',')}`)
    if (this.fail.terminate) throw this.fail.terminate
    for (const i of this.instances) if (ids.includes(i.id)) i.state = 'terminated'
  }
}

describe('unit: reap and ls across regions', () => {
  const regions = () => ({
    'us-east-1': new FakeRegion([
      raw('i-a1', 'running', w('a', 1, PAST)),
      raw('i-b1', 'running', w('b', 1, PAST)),
      raw('i-c1', 'running', w('c', 1, FUTURE)),
    ]),
    'eu-west-1': new FakeRegion([raw('i-e1', 'stopped', w('e', 1, PAST)), raw('i-n1', 'running', {})]),
  })

  it('one describe and one terminate call per region, whatever the number of projects', async () => {
    const r = regions()
    const result = await reap({
      regions: ['us-east-1', 'eu-west-1'],
      portFor: (x) => r[x as keyof typeof r],
      action: 'terminate',
      graceMs: 0,
      now: () => T0,
    })
    expect(r['us-east-1'].calls).to.deep.equal(['describe', 'terminate i-a1,i-b1'])
    expect(r['eu-west-1'].calls).to.deep.equal(['describe', 'terminate i-e1'])
    expect(result.projects.map((p) => [p.region, p.project, p.done, p.targets.length])).to.deep.equal([
      ['us-east-1', 'a', true, 1],
      ['us-east-1', 'b', true, 1],
      ['eu-west-1', 'e', true, 1],
    ])
    // A second run changes nothing and asks nothing but the describes.
    const again = await reap({
      regions: ['us-east-1', 'eu-west-1'],
      portFor: (x) => r[x as keyof typeof r],
      action: 'terminate',
      graceMs: 0,
      now: () => T0,
    })
    expect(again.projects).to.deep.equal([])
    expect(r['us-east-1'].calls.slice(2)).to.deep.equal(['describe'])
  })

  it('--dry-run plans and calls nothing but describe', async () => {
    const r = regions()
    const result = await reap({
      regions: ['us-east-1', 'eu-west-1'],
      portFor: (x) => r[x as keyof typeof r],
      action: 'stop',
      graceMs: 0,
      dryRun: true,
      now: () => T0,
    })
    expect(result.projects.map((p) => [p.project, p.done])).to.deep.equal([
      ['a', false],
      ['b', false],
    ])
    expect([...r['us-east-1'].calls, ...r['eu-west-1'].calls]).to.deep.equal(['describe', 'describe'])
  })

  it('a failing region is reported (exit 3) with what was done elsewhere', async () => {
    const r = regions()
    r['eu-west-1'] = new FakeRegion([], {describe: new Error('endpoint down')})
    let err: unknown
    await reap({
      regions: ['us-east-1', 'eu-west-1'],
      portFor: (x) => r[x as keyof typeof r],
      action: 'terminate',
      graceMs: 0,
      now: () => T0,
    }).catch((e) => (err = e))
    expect(err).to.be.instanceOf(PartialFailureError)
    const pf = err as PartialFailureError
    expect(pf.exitCode).to.equal(3)
    expect(pf.failures.map((f) => f.id)).to.deep.equal(['eu-west-1'])
    expect(
      (pf.result as {projects: Array<{project: string; done: boolean}>}).projects.map((p) => [
        p.project,
        p.done,
      ]),
    ).to.deep.equal([
      ['a', true],
      ['b', true],
    ])
  })

  it('every region failing is a plain failure', async () => {
    let err: unknown
    await listProjects({
      regions: ['us-east-1'],
      portFor: () => new FakeRegion([], {describe: new Error('no creds')}),
    }).catch((e) => (err = e))
    expect((err as Error).message).to.equal('no creds')
  })

  it('regions are queried in parallel', async () => {
    let inFlight = 0
    let peak = 0
    const slow: FleetPort = {
      async describeAllProjects() {
        inFlight++
        peak = Math.max(peak, inFlight)
        await new Promise((res) => setTimeout(res, 30))
        inFlight--
        return []
      },
      async stopInstances() {},
      async terminateInstances() {},
    }
    await listProjects({regions: ['us-east-1', 'eu-west-1', 'ap-south-1'], portFor: () => slow})
    expect(peak).to.equal(3)
  })

  it('bad or missing regions are usage errors before any call', async () => {
    let made = 0
    const portFor = () => (made++, new FakeRegion([]))
    for (const regionsList of [[], ['Mars']]) {
      let err: unknown
      await listProjects({regions: regionsList, portFor}).catch((e) => (err = e))
      expect(err).to.be.instanceOf(UsageError)
    }
    expect(made).to.equal(0)
  })
})
