import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, hasProjectName, seedNeighbours, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

describe('integration: lifecycle against moto', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>
  let neighbours: Map<string, string>
  let before0: Seen[]
  const project = 'life'

  const cli = (...args: string[]) => runCli(args, {cwd: dir, env})
  const status = async () => {
    const r = await cli('status', '--json')
    expect(r.code, r.stderr).to.equal(0)
    return r.json<{
      project: string
      instances: Array<{id: string; name: string; slot: number; state: string}>
    }>()
  }
  const live = (s: Awaited<ReturnType<typeof status>>) => s.instances.filter((i) => i.state !== 'terminated')

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-life-'))
    env = motoEnv(moto().endpoint)
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: {min: 2, max: 3}\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    const client = testClient(moto().endpoint)
    neighbours = await seedNeighbours(client, project)
    before0 = (await describeAll(client)).filter((i) => neighbours.has(i.id))
  })

  it('create converges to count.max with Names 1..3 and all tags', async () => {
    const r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const s = await status()
    expect(live(s).map((i) => [i.slot, i.name, i.state])).to.deep.equal([
      [1, 'wolphin.life.1', 'running'],
      [2, 'wolphin.life.2', 'running'],
      [3, 'wolphin.life.3', 'running'],
    ])
    const raw = (await describeAll(testClient(moto().endpoint))).filter(
      (i) => i.tags.ProjectName === 'wolphin.life',
    )
    expect(raw).to.have.length(3)
    expect(raw.map((i) => i.slot).sort()).to.deep.equal([1, 2, 3])
    for (const i of raw) {
      expect(i.tags.OwnerEmail).to.equal('ops@example.com')
      // Each one's slot is in its launch tags; the instances of one launch share `Name=wolphin.life`.
      expect(hasProjectName(i, project), `Name ${i.tags.Name}`).to.equal(true)
      expect(i.tags['wolphin:spec']).to.match(/^[0-9a-f]{12}$/)
    }
  })

  it('running create again changes nothing', async () => {
    const before1 = await status()
    const r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().plan.actions.filter((a: {kind: string}) => a.kind !== 'wait')).to.deep.equal([])
    expect(await status()).to.deep.equal(before1)
  })

  it('stop -i 2 stops only slot 2, and create starts it again without launching', async () => {
    let r = await cli('stop', '-i', '2', '--json')
    expect(r.code, r.stderr).to.equal(0)
    let s = await status()
    expect(live(s).map((i) => i.state)).to.deep.equal(['running', 'stopped', 'running'])
    const ids = live(s).map((i) => i.id)
    r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().launched).to.deep.equal([])
    s = await status()
    expect(live(s).map((i) => i.id)).to.deep.equal(ids)
    expect(live(s).map((i) => i.state)).to.deep.equal(['running', 'running', 'running'])
  })

  it('reboot and reboot --hard keep the instances running', async () => {
    let r = await cli('reboot', '-i', '1', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().plan.actions[0].kind).to.equal('reboot')
    r = await cli('reboot', '--hard', '-i', '1')
    expect(r.code, r.stderr).to.equal(0)
    expect(live(await status()).map((i) => i.state)).to.deep.equal(['running', 'running', 'running'])
  })

  it('selectors: --state and --tag narrow; an empty selection does nothing and says so', async () => {
    let r = await cli('status', '--state', 'stopped', '--json')
    expect(r.json().instances).to.deep.equal([])
    r = await cli('stop', '--tag', 'Name=wolphin.life.9')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/no instance .* matches the selection; nothing done/)
    expect(live(await status()).map((i) => i.state)).to.deep.equal(['running', 'running', 'running'])
    r = await cli('status', '--tag', 'Name=wolphin.life.2', '--json')
    expect(r.json().instances.map((i: {slot: number}) => i.slot)).to.deep.equal([2])
  })

  it('a dry run prints the plan and changes nothing', async () => {
    const r = await cli('stop', '--dry-run')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/0 \[\] stop i-/)
    expect(r.stdout).to.match(/1 \[0\] wait until stopped/)
    expect(live(await status()).map((i) => i.state)).to.deep.equal(['running', 'running', 'running'])
  })

  it('terminate of the whole project needs --yes without a terminal', async () => {
    const r = await cli('terminate')
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--yes/)
    expect(live(await status())).to.have.length(3)
  })

  it('terminate -i 3 --yes terminates only slot 3; status still reports it', async () => {
    const r = await cli('terminate', '-i', '3', '--yes', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const s = await status()
    expect(s.instances.map((i) => [i.slot, i.state])).to.deep.equal([
      [1, 'running'],
      [2, 'running'],
      [3, 'terminated'],
    ])
  })

  it('create refills the lowest free slot; terminate --yes ends the project', async () => {
    let r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().launched).to.have.length(1)
    expect(live(await status()).map((i) => i.slot)).to.deep.equal([1, 2, 3])
    r = await cli('terminate', '--yes', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(live(await status())).to.deep.equal([])
  })

  it('nameTags: per-instance: count {min: 2, max: 3} leaves 3 instances tagged Name=wolphin.<p>.1..3', async () => {
    const named = path.join(dir, 'named')
    await mkdir(named)
    await writeFile(
      path.join(named, 'wolphin.yaml'),
      `project: named\nami: ${TEST_AMI}\ncount: {min: 2, max: 3}\nnameTags: per-instance\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    const run = (...args: string[]) => runCli(args, {cwd: named, env})
    const tags = async () =>
      (await describeAll(testClient(moto().endpoint)))
        .filter((i) => i.tags.ProjectName === 'wolphin.named' && i.state === 'running')
        .map((i) => [i.tags.Name, i.tags['wolphin:slot']])
        .sort()
    let r = await run('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const once = await tags()
    expect(once).to.deep.equal([
      ['wolphin.named.1', '1'],
      ['wolphin.named.2', '2'],
      ['wolphin.named.3', '3'],
    ])
    r = await run('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().plan.actions.filter((a: {kind: string}) => a.kind !== 'wait')).to.deep.equal([])
    expect(await tags()).to.deep.equal(once)
    r = await run('terminate', '--yes')
    expect(r.code, r.stderr).to.equal(0)
  })

  it('left every neighbour exactly as it was', async () => {
    const now = (await describeAll(testClient(moto().endpoint))).filter((i) => neighbours.has(i.id))
    expect(now).to.have.length(neighbours.size)
    expect(now).to.deep.equal(before0)
  })
})
