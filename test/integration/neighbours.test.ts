/**
 * Never touch what is not ours: moto is seeded with neighbours (another project, prefix neighbours
 * `wolphin.<p>x` and `wolphin.<p>-2`, our Name under another ProjectName, a Name-only instance, an
 * untagged one, our ProjectName in another letter case, and a neighbour whose lease has expired)
 * and every command, selection and strategy runs against the project. After each run every
 * neighbour must be exactly as it started: same state, same tags.
 */
import {execFileSync} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, seedInstance, seedNeighbours, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
import {motoEnv, ROOT, useMoto} from '../support/moto.js'
import {existsSync} from 'node:fs'

const project = 'nb'

describe('integration: neighbours are never touched', function () {
  this.timeout(300_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>
  let neighbours: Map<string, string>
  let initial: Seen[]
  const ran: string[] = []

  const snapshot = async () =>
    (await describeAll(testClient(moto().endpoint)))
      .filter((i) => neighbours.has(i.id))
      .sort((a, b) => a.id.localeCompare(b.id))

  /** Runs one command and checks every neighbour afterwards; returns the exit code. */
  const run = async (expectCodes: number[], ...args: string[]) => {
    const t0 = Date.now()
    const r = await runCli(args, {cwd: dir, env, timeoutMs: 90_000})
    ran.push(args.join(' '))
    if (process.env.WOLPHIN_TEST_TIMINGS) console.log(`      ${Date.now() - t0}ms wolphin ${args.join(' ')}`)
    expect(expectCodes, `wolphin ${args.join(' ')} exited ${r.code}: ${r.stderr}`).to.include(r.code)
    const now = await snapshot()
    expect(now, `after wolphin ${args.join(' ')}`).to.deep.equal(initial)
    return r
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-nb-'))
    env = motoEnv(moto().endpoint, {WOLPHIN_LOOPBACK_ONLY: '1'})
    const key = path.join(dir, 'id_test')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: {min: 2, max: 3}\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    // For exec/put only: ssh.address points at a tag our instances do not have, so they resolve no
    // address and dial nothing (network rule), but still observe and select like any command.
    await writeFile(
      path.join(dir, 'ssh.yaml'),
      `ssh: {address: "tag:wolphin-test-host", key: ${key}, connectTimeout: 2}\n`,
    )
    await writeFile(path.join(dir, 'not-two.mjs'), 'export default (xs) => xs.filter((i) => i.slot !== 2)\n')
    const client = testClient(moto().endpoint)
    neighbours = await seedNeighbours(client, project)
    // A neighbour of another wolphin project whose lease is long past (reap must leave it alone
    // unless it reaps, which only ever stops/terminates expired *wolphin* instances: not this one,
    // it has no lease tag).
    const noLease = await seedInstance(client, {
      ProjectName: 'wolphin.nolease',
      Name: 'wolphin.nolease.1',
      'wolphin:slot': '1',
    })
    neighbours.set(noLease, 'wolphin project without lease')
    const ids = [...neighbours.keys()]
    // A selector that tries to widen the selection to every neighbour: it may only narrow.
    await writeFile(
      path.join(dir, 'evil.mjs'),
      `const ids = ${JSON.stringify(ids)}\nexport default (xs) => [...xs, ...ids.map((id) => ({...xs[0], id, slot: 1, name: 'x'}))]\n`,
    )
    initial = await snapshot()
    expect(initial).to.have.length(neighbours.size)
  })

  it('create, status and every selection', async () => {
    await run([0], 'create', '--dry-run')
    await run([0], 'create')
    await run([0], 'status', '--json')
    await run([0], 'status', '-i', '1-3')
    await run([0], 'status', '--tag', 'Name=wolphin.nb.2')
    await run([0], 'status', '--tag', `ProjectName=wolphin.${project}x`)
    await run([0], 'status', '--selector', './evil.mjs')
    await run([0], 'status', '--outdated', '--state', 'running,stopped')
    await run([0], 'status', '--watch', '--until-stable', '--timeout', '5s', '--interval', '0.2s')
    const s = await run([0], 'status', '--json')
    expect(s.json().instances.map((i: {slot: number}) => i.slot)).to.deep.equal([1, 2, 3])
  })

  it('stop, start, reboot with each selection', async () => {
    await run([0], 'stop', '-i', '1')
    await run([0], 'start', '-i', '1')
    await run([0], 'stop', '--state', 'running')
    await run([0], 'start', '--tag', 'Name=wolphin.nb.2')
    await run([0], 'start', '--selector', './not-two.mjs')
    await run([0], 'stop', '--selector', './evil.mjs', '--dry-run')
    await run([0], 'reboot')
    await run([0], 'reboot', '--hard', '-i', '2')
    await run([0], 'stop', '--outdated', '-i', '1-3')
    await run([0], 'stop', '--no-wait', '-i', '3')
    await run([0], 'start', '-i', '3')
  })

  it('leases: extend, ls, reap', async () => {
    await run([0], 'extend', '2h')
    await run([0], 'ls')
    await run([0], 'ls', '--all', '--json')
    await run([0], 'reap')
    await run([0], 'reap', '--action', 'terminate')
  })

  it('exec and put select only our instances (no address: nothing dialled)', async () => {
    const ssh = ['-c', 'wolphin.yaml', '-c', 'ssh.yaml']
    await run([0, 1, 3], 'exec', ...ssh, '--', 'true')
    await writeFile(path.join(dir, 'payload.txt'), 'x\n')
    await run([0, 1, 3], 'put', 'payload.txt', 'payload.txt', ...ssh)
  })

  it('revert with every strategy', async function () {
    if (!existsSync(path.join(ROOT, 'dist/commands/revert.js'))) this.skip()
    await run([0], 'revert', '-i', '1', '--strategy', 'batch', '--yes')
    await run([0], 'revert', '--outdated', '--selector', './evil.mjs', '--dry-run')
    await run([0], 'revert', '-i', '2', '--strategy', 'sequential', '--yes')
    await run([0], 'revert', '-i', '3', '--strategy', 'rolling', '--yes')
  })

  it('validate, config, and terminate with each selection', async () => {
    await run([0, 1], 'validate')
    await run([0], 'config')
    await run([0], 'terminate', '--selector', './evil.mjs', '--dry-run')
    await run([0], 'terminate', '-i', '3', '--yes')
    await run([0], 'terminate', '--tag', 'Name=wolphin.nb.2', '--yes')
    await run([0], 'create', '--no-wait')
    await run([0], 'terminate', '--yes')
    const s = await run([0], 'status', '--json')
    expect(s.json().instances.filter((i: {state: string}) => i.state !== 'terminated')).to.deep.equal([])
  })

  after(() => {
    console.log(
      `    neighbours: ${neighbours?.size ?? 0} neighbours unchanged after ${ran.length} command runs`,
    )
  })
})
