import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {launchInZone, spotLaunch, startCapacityProxy, type CapacityProxy} from '../support/capacity-proxy.js'
import {runCli} from '../support/cli.js'
import {describeAll, seedInstance, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

const US = 'us-east-1'
const EU = 'eu-west-1'
const WAIT = 'wait: {interval: 0.2, timeout: 30}'

interface StatusJson {
  project: string
  instances: Array<{
    id: string
    slot: number
    state: string
    expiresAt: string | null
    market: string
    outdated: boolean
    zone: string
  }>
}

async function projectDir(root: string, name: string, yaml: string): Promise<string> {
  const dir = path.join(root, name)
  await mkdir(dir)
  await writeFile(path.join(dir, 'wolphin.yaml'), yaml)
  return dir
}

describe('integration: leases, reap and ls across projects and regions (moto)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let root: string
  let env: Record<string, string>
  const dirs: Record<string, string> = {}
  const seeds = new Map<string, string>()
  const cli = (cwd: string, ...args: string[]) => runCli(args, {cwd, env})
  const status = async (cwd: string): Promise<StatusJson> => {
    const r = await cli(cwd, 'status', '--json')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    return r.json<StatusJson>()
  }
  const world = async (): Promise<Seen[]> => [
    ...(await describeAll(testClient(moto().endpoint, US))),
    ...(await describeAll(testClient(moto().endpoint, EU))),
  ]
  const BOTH = ['--region', US, '--region', EU]
  let reapIds: string[] = []
  // Counts the API calls of reap, ls and extend at the endpoint (it refuses nothing here).
  let counter: CapacityProxy
  const counted = async (cwd: string, ...args: string[]) => {
    counter.calls = []
    const r = await runCli(args, {cwd, env: {...env, AWS_ENDPOINT_URL: counter.endpoint}})
    return {r, calls: [...counter.calls].sort()}
  }
  after(async () => {
    await counter?.close()
  })

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'wolphin-leases-'))
    env = motoEnv(moto().endpoint)
    counter = await startCapacityProxy(moto().endpoint)
    dirs.reapme = await projectDir(
      root,
      'reapme',
      `project: reapme\nemail: short@example.com\nregion: ${US}\nami: ${TEST_AMI}\ncount: 2\nlease: 1s\n${WAIT}\n`,
    )
    dirs.future = await projectDir(
      root,
      'future',
      `project: future\nemail: long@example.com\nregion: ${US}\nami: ${TEST_AMI}\ncount: 1\nlease: 8h\n${WAIT}\n`,
    )
    dirs.keeper = await projectDir(
      root,
      'keeper',
      `project: keeper\nemail: eu@example.com\nregion: ${EU}\nami: ${TEST_AMI}\ncount: 1\nlease: 8h\nmaxLease: 1d\n${WAIT}\n`,
    )
    dirs.empty = path.join(root, 'no-config')
    await mkdir(dirs.empty)
    const us = testClient(moto().endpoint, US)
    const eu = testClient(moto().endpoint, EU)
    const past = new Date(Date.now() - 3_600_000).toISOString()
    // Neighbours reap must never touch: no wolphin tags at all (even with an old lease tag), another
    // tool's ProjectName, a wolphin project without a lease.
    seeds.set(await seedInstance(us, {'wolphin:expires-at': past}), 'no ProjectName, old lease')
    seeds.set(
      await seedInstance(us, {ProjectName: 'other-tool.reapme', 'wolphin:expires-at': past}),
      'not wolphin',
    )
    seeds.set(await seedInstance(us, {}), 'untagged')
    seeds.set(
      await seedInstance(us, {
        ProjectName: 'wolphin.nolease',
        Name: 'wolphin.nolease.1',
        'wolphin:slot': '1',
      }),
      'no lease',
    )
    seeds.set(await seedInstance(eu, {'wolphin:expires-at': past}), 'eu: no ProjectName')
  })

  it('creates three projects in two regions, each stamped with its lease', async () => {
    for (const name of ['reapme', 'future', 'keeper']) {
      const r = await cli(dirs[name], 'create', '--json')
      expect(r.code, r.stderr + r.stdout).to.equal(0)
    }
    const s = await status(dirs.keeper)
    expect(s.instances).to.have.length(1)
    const left = Date.parse(s.instances[0].expiresAt!) - Date.now()
    expect(left).to.be.within(8 * 3_600_000 - 120_000, 8 * 3_600_000)
    reapIds = (await status(dirs.reapme)).instances.map((i) => i.id)
    expect(reapIds).to.have.length(2)
  })

  it('ls shows every wolphin project of both regions, with owner, states and lease', async () => {
    const {r, calls} = await counted(dirs.empty, 'ls', ...BOTH, '--json')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    // One DescribeInstances per region, nothing else.
    expect(calls).to.deep.equal([`${EU} DescribeInstances`, `${US} DescribeInstances`])
    const ls = r.json<{projects: Array<Record<string, unknown>>}>()
    expect(ls.projects.map((p) => [p.region, p.project, p.owner, p.states])).to.deep.equal([
      [US, 'future', 'long@example.com', {running: 1}],
      [US, 'nolease', null, {running: 1}],
      [US, 'reapme', 'short@example.com', {running: 2}],
      [EU, 'keeper', 'eu@example.com', {running: 1}],
    ])
    const reapme = ls.projects.find((p) => p.project === 'reapme')!
    expect(reapme.instanceTypes).to.deep.equal(['t3.micro'])
    expect(reapme.nearestExpiry).to.be.a('string')
    const table = await cli(dirs.empty, 'ls', ...BOTH)
    expect(table.code, table.stderr).to.equal(0)
    expect(table.stdout).to.match(/^region\s+project\s+owner/)
    expect(table.stdout).to.match(/eu-west-1\s+keeper\s+eu@example\.com\s+1\s+1 running/)
  })

  it('once the lease has passed, status flags it and every command warns', async () => {
    const s = await status(dirs.reapme)
    const end = Math.max(...s.instances.map((i) => Date.parse(i.expiresAt!)))
    // lease: 1s; bounded wait until it has certainly passed.
    await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, end - Date.now() + 100))))
    expect(Date.now()).to.be.greaterThan(end)
    const table = await cli(dirs.reapme, 'status')
    expect(table.code, table.stderr).to.equal(0)
    expect(table.stdout).to.match(/\blease\b/)
    expect(table.stdout.match(/EXPIRED \S+ ago/g)).to.have.length(2)
    expect(table.stderr).to.match(/warning: 2 instance\(s\) of project reapme passed their lease/)
    const stop = await cli(dirs.reapme, 'stop', '--dry-run')
    expect(stop.stderr).to.match(/passed their lease/)
    const other = await cli(dirs.future, 'status')
    expect(other.stderr).to.not.match(/passed their lease/)
    expect(other.stdout).to.match(/ 7h5\dm( |$)/m)
  })

  it('reap --dry-run names what it would do and changes nothing', async () => {
    const before = await world()
    const {r, calls} = await counted(
      dirs.empty,
      'reap',
      ...BOTH,
      '--action',
      'terminate',
      '--dry-run',
      '--json',
    )
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(calls).to.deep.equal([`${EU} DescribeInstances`, `${US} DescribeInstances`])
    const out = r.json<{
      dryRun: boolean
      projects: Array<{project: string; done: boolean; targets: Array<{id: string}>}>
    }>()
    expect(out.dryRun).to.equal(true)
    expect(out.projects.map((p) => [p.project, p.done, p.targets.map((t) => t.id).sort()])).to.deep.equal([
      ['reapme', false, [...reapIds].sort()],
    ])
    expect(await world()).to.deep.equal(before)
  })

  it('reap terminates the expired project only; future leases, other regions and neighbours stay', async () => {
    const before = (await world()).filter((i) => !reapIds.includes(i.id))
    const {r, calls} = await counted(dirs.empty, 'reap', ...BOTH, '--action', 'terminate', '--json')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    // Bounded: one DescribeInstances per region, one TerminateInstances for the region with work.
    expect(calls).to.deep.equal([
      `${EU} DescribeInstances`,
      `${US} DescribeInstances`,
      `${US} TerminateInstances`,
    ])
    const out = r.json<{
      projects: Array<{region: string; project: string; done: boolean; targets: unknown[]}>
    }>()
    expect(out.projects.map((p) => [p.region, p.project, p.done, p.targets.length])).to.deep.equal([
      [US, 'reapme', true, 2],
    ])
    const after = await world()
    for (const id of reapIds)
      expect(after.find((i) => i.id === id)!.state).to.be.oneOf(['shutting-down', 'terminated'])
    expect(after.filter((i) => !reapIds.includes(i.id))).to.deep.equal(before)
    for (const id of seeds.keys()) expect(after.find((i) => i.id === id)!.state).to.equal('running')
  })

  it('a second reap finds nothing to do (idempotent), in text too', async () => {
    const before = await world()
    const r = await cli(dirs.empty, 'reap', ...BOTH, '--action', 'terminate')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(r.stdout).to.match(/reap: no expired leases in us-east-1, eu-west-1/)
    expect(await world()).to.deep.equal(before)
  })

  it('ls afterwards shows the survivors and not the reaped project', async () => {
    const r = await cli(dirs.empty, 'ls', ...BOTH, '--json')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(r.json<{projects: Array<{project: string}>}>().projects.map((p) => p.project)).to.deep.equal([
      'future',
      'nolease',
      'keeper',
    ])
    const all = await cli(dirs.empty, 'ls', ...BOTH, '--all', '--json')
    const reaped = all
      .json<{projects: Array<{project: string; states: Record<string, number>}>}>()
      .projects.find((p) => p.project === 'reapme')!
    expect(Object.keys(reaped.states)).to.not.include('running')
  })

  it('extend moves the lease; status --json shows the new expiresAt', async () => {
    const before = (await status(dirs.keeper)).instances[0].expiresAt!
    const {r, calls} = await counted(dirs.keeper, 'extend', '2h', '--json')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(calls).to.deep.equal([`${EU} CreateTags`, `${EU} DescribeInstances`])
    const after = (await status(dirs.keeper)).instances[0].expiresAt!
    expect(Date.parse(after) - Date.parse(before)).to.equal(2 * 3_600_000)
    expect(r.json<{extended: Array<{to: string}>}>().extended[0].to).to.equal(after)
    const until = '2030-01-01T00:00:00.000Z'
    const refused = await cli(dirs.keeper, 'extend', '--until', until)
    expect(refused.code).to.equal(2)
    expect(refused.stderr).to.match(/exceeds maxLease \(1d\)/)
    const tooMuch = await cli(dirs.keeper, 'extend', '20h')
    expect(tooMuch.code).to.equal(2)
    expect(tooMuch.stderr).to.match(/maxLease/)
    expect((await status(dirs.keeper)).instances[0].expiresAt).to.equal(after)
    const bad = await cli(dirs.keeper, 'extend', 'soon')
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.match(/DURATION "soon": expected a duration like 30m, 8h or 3d/)
  })

  it('reap and ls need no config: the region comes from AWS_REGION', async () => {
    const r = await runCli(['ls', '--json'], {cwd: dirs.empty, env: {...env, AWS_REGION: EU}})
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(r.json<{projects: Array<{project: string}>}>().projects.map((p) => p.project)).to.deep.equal([
      'keeper',
    ])
    const none = await runCli(['reap'], {
      cwd: dirs.empty,
      env: {...env, AWS_REGION: '', AWS_DEFAULT_REGION: ''},
    })
    expect(none.code).to.equal(2)
    expect(none.stderr).to.match(/no region/)
  })
})

describe('integration: spot and capacity fallback (moto behind a capacity proxy)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let proxy: CapacityProxy
  let root: string
  let env: Record<string, string>

  before(async () => {
    proxy = await startCapacityProxy(moto().endpoint)
    root = await mkdtemp(path.join(os.tmpdir(), 'wolphin-spot-'))
    env = motoEnv(proxy.endpoint)
  })
  after(async () => {
    await proxy?.close()
  })
  beforeEach(() => {
    proxy.rule = null
    proxy.refused = []
    proxy.calls = []
  })

  const create = async (name: string, yaml: string) => {
    const dir = await projectDir(root, name, `project: ${name}\nami: ${TEST_AMI}\n${WAIT}\n${yaml}`)
    const r = await runCli(['create', '--json'], {cwd: dir, env})
    const s = await runCli(['status', '--json'], {cwd: dir, env})
    expect(s.code, s.stderr).to.equal(0)
    return {r, status: s.json<StatusJson>(), dir}
  }

  it('market: spot launches spot instances (moto reports InstanceLifecycle=spot)', async () => {
    const {r, status} = await create('spotty', 'count: 2\nmarket: spot\nmaxPrice: 0.05\n')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(status.instances.map((i) => [i.slot, i.market])).to.deep.equal([
      [1, 'spot'],
      [2, 'spot'],
    ])
  })

  it('spot-then-on-demand: a spot capacity error ends with every slot filled on demand', async () => {
    proxy.rule = spotLaunch
    const {r, status, dir} = await create('fallback', 'count: 3\nmarket: spot-then-on-demand\n')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(proxy.refused).to.have.length(1)
    // One refused spot RunInstances, one on-demand RunInstances for all three slots.
    expect(proxy.calls.filter((c) => c.endsWith(' RunInstances'))).to.have.length(2)
    expect(r.stderr).to.match(/spot: InsufficientInstanceCapacity; trying on-demand for 3 slot\(s\)/)
    expect(status.instances.map((i) => [i.slot, i.state, i.market, i.outdated])).to.deep.equal([
      [1, 'running', 'on-demand', false],
      [2, 'running', 'on-demand', false],
      [3, 'running', 'on-demand', false],
    ])
    // Converged: a second create does nothing, even with spot capacity back.
    proxy.rule = null
    const again = await runCli(['create', '--json'], {cwd: dir, env})
    expect(again.code, again.stderr).to.equal(0)
    expect(again.json<{launched: string[]}>().launched).to.deep.equal([])
  })

  it('market: spot alone fails on a capacity error, naming it', async () => {
    proxy.rule = spotLaunch
    const {r, status} = await create('spotonly', 'count: 1\nmarket: spot\n')
    expect(r.code).to.equal(1)
    const error = r.json<{error: {code: string; message: string}}>().error
    expect(error.code).to.equal('INSUFFICIENTINSTANCECAPACITY')
    expect(error.message).to.match(/not enough capacity/)
    expect(status.instances).to.deep.equal([])
  })

  it('availabilityZone list: InsufficientInstanceCapacity moves the launch to the next zone', async () => {
    proxy.rule = launchInZone('us-east-1a')
    const {r, status} = await create('zones', 'count: 2\navailabilityZone: [us-east-1a, us-east-1b]\n')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(proxy.refused).to.have.length(1)
    expect(status.instances.map((i) => i.zone)).to.deep.equal(['us-east-1b', 'us-east-1b'])
  })
})
