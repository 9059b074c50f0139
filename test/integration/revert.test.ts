import {spawn} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {BIN, runCli} from '../support/cli.js'
import {describeAll, seedNeighbours, type Seen, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

interface StatusInstance {
  id: string
  name: string
  slot: number
  state: string
  imageId: string
  outdated: boolean
  replaced: boolean
}

const AMIS = ['ami-12c6146b', 'ami-03cf127a', 'ami-1812c061'] as const
const LIVE = ['pending', 'running', 'stopping', 'stopped']

describe('integration: revert, drift and status --watch against moto', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>
  let neighbours: Map<string, string>
  let neighboursBefore: Seen[]
  const project = 'rv'

  const cli = (...args: string[]) => runCli(args, {cwd: dir, env})
  const writeConfig = (ami: string) =>
    writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${ami}\ncount: 4\nwait: {interval: 0.2, timeout: 30}\n`,
    )
  const status = async (...args: string[]): Promise<StatusInstance[]> => {
    const r = await cli('status', '--json', ...args)
    expect(r.code, r.stderr).to.equal(0)
    return r.json<{instances: StatusInstance[]}>().instances
  }
  const live = (xs: StatusInstance[]) => xs.filter((i) => LIVE.includes(i.state))
  /** Everything moto holds, ours and the neighbours', tags included. */
  const world = () => describeAll(testClient(moto().endpoint))
  const ours = async () => (await world()).filter((i) => i.tags.ProjectName === `wolphin.${project}`)

  /** Every slot 1..4 held by exactly one live instance, none of them marked replaced. */
  const expectFilledOnce = (xs: StatusInstance[]) => {
    const l = live(xs)
    expect(
      l.map((i) => i.slot),
      JSON.stringify(l),
    ).to.deep.equal([1, 2, 3, 4])
    expect(l.map((i) => i.name)).to.deep.equal([1, 2, 3, 4].map((s) => `wolphin.${project}.${s}`))
    expect(l.filter((i) => i.replaced)).to.deep.equal([])
  }

  /**
   * Runs the CLI while polling moto: the fewest running project instances seen at any point.
   * The poll is bounded by the child's life (and the child by runCli's own timeout).
   */
  const runWatchingCapacity = async (...args: string[]) => {
    let done = false
    let min = Infinity
    let polls = 0
    const poller = (async () => {
      while (!done) {
        const running = (await ours()).filter((i) => i.state === 'running').length
        min = Math.min(min, running)
        polls++
        await new Promise((r) => setTimeout(r, 40))
      }
    })()
    const r = await cli(...args)
    done = true
    await poller
    return {r, min, polls}
  }

  /** Starts a CLI run in the background; `until` polls a condition on its output (bounded). */
  const startCli = (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: {...process.env, ...env, NODE_NO_WARNINGS: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve(code)
      }),
    )
    const until = async (cond: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end && child.exitCode === null;)
        if (cond()) return true
        else await new Promise((r) => setTimeout(r, 50))
      return cond()
    }
    return {child, exited, until, stdout: () => out, stderr: () => err}
  }

  /** Starts a CLI run and SIGKILLs it as soon as a stderr line matches `when`. */
  const runAndKill = (args: string[], when: RegExp, signal: NodeJS.Signals = 'SIGKILL') =>
    new Promise<{killed: boolean; stderr: string; code: number | null}>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: dir,
        env: {...process.env, ...env, NODE_NO_WARNINGS: '1', CI: '1'},
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      let killed = false
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.stderr.on('data', (d) => {
        stderr += d
        if (!killed && when.test(stderr)) {
          killed = child.kill(signal)
        }
      })
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({killed, stderr, code})
      })
    })

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-revert-'))
    env = motoEnv(moto().endpoint)
    await writeConfig(AMIS[0])
    const client = testClient(moto().endpoint)
    neighbours = await seedNeighbours(client, project)
    neighboursBefore = (await describeAll(client)).filter((i) => neighbours.has(i.id))
    const r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expectFilledOnce(await status())
  })

  it('dry runs of revert (every strategy) and of the other mutating commands change nothing', async () => {
    const before = await world()
    // Read-only by definition, so they run side by side.
    const [texts, j, others] = await Promise.all([
      Promise.all(
        ['batch', 'sequential', 'rolling'].map((strategy) =>
          cli('revert', '-i', '1,2', '--strategy', strategy, '--dry-run'),
        ),
      ),
      cli('revert', '--strategy', 'rolling', '--surge', '2', '--dry-run', '--json'),
      Promise.all(
        [['create'], ['stop'], ['reboot', '--hard'], ['terminate'], ['start', '-i', '1']].map((args) =>
          cli(...args, '--dry-run', '--json'),
        ),
      ),
    ])
    for (const r of texts) {
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/^ {2}0 \[\] mark i-\w+ \(wolphin\.rv\.1\)/m)
      expect(r.stdout).to.match(/\(dry run: nothing changed\)/)
    }
    expect(j.code, j.stderr).to.equal(0)
    const plan = j.json().plan.actions as Array<{
      id: number
      deps: number[]
      kind: string
      description: string
    }>
    expect(plan.map((a) => a.kind)).to.deep.equal([
      ...['mark', 'launch', 'wait', 'terminate'],
      ...['mark', 'launch', 'wait', 'terminate'],
      'wait',
    ])
    expect(plan[1]).to.include({description: '1 [0] launch 2 instances into slots 1, 2'})
    for (const r of others) {
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json().dryRun).to.equal(true)
    }
    expect(await world()).to.deep.equal(before)
  })

  for (const strategy of ['batch', 'sequential', 'rolling'] as const) {
    it(`revert -i 1,2 --strategy ${strategy}: slots 1,2 on new ids, same Names, old terminated, 3,4 untouched`, async () => {
      const before = live(await status())
      const {r, min, polls} = await runWatchingCapacity(
        'revert',
        '-i',
        '1,2',
        '--strategy',
        strategy,
        '--json',
      )
      expect(r.code, r.stderr).to.equal(0)
      const after = await status()
      expectFilledOnce(after)
      const now = live(after)
      for (const s of [1, 2]) {
        const old = before.find((i) => i.slot === s)!
        const neu = now.find((i) => i.slot === s)!
        expect(neu.id).to.not.equal(old.id)
        expect(neu.name).to.equal(old.name)
        expect(after.find((i) => i.id === old.id)).to.include({state: 'terminated', replaced: true})
      }
      for (const s of [3, 4])
        expect(now.find((i) => i.slot === s)).to.deep.equal(before.find((i) => i.slot === s))
      expect(r.json().launched).to.have.length(2)
      expect(polls).to.be.greaterThan(0)
      // Rolling never drops below the capacity it started with.
      if (strategy === 'rolling') expect(min).to.equal(4)
    })
  }

  it('changing ami makes every instance outdated; revert --outdated --strategy rolling brings them back', async () => {
    await writeConfig(AMIS[1])
    const s = live(await status())
    expect(s.map((i) => i.outdated)).to.deep.equal([true, true, true, true])
    expect(live(await status('--outdated')).map((i) => i.slot)).to.deep.equal([1, 2, 3, 4])
    const table = await cli('status')
    expect(table.stdout.match(/outdated/g)?.length).to.be.greaterThanOrEqual(4)
    const {r, min} = await runWatchingCapacity(
      'revert',
      '--outdated',
      '--strategy',
      'rolling',
      '--yes',
      '--json',
    )
    expect(r.code, r.stderr).to.equal(0)
    const after = await status()
    expectFilledOnce(after)
    expect(live(after).map((i) => [i.outdated, i.imageId])).to.deep.equal(Array(4).fill([false, AMIS[1]]))
    expect(min).to.equal(4)
    // A second run has nothing left to do.
    const again = await cli('revert', '--outdated', '--strategy', 'rolling', '--yes', '--json')
    expect(again.code, again.stderr).to.equal(0)
    expect(again.json().plan.actions).to.deep.equal([])
  })

  it('a rolling upgrade killed mid-way is completed by running the same command again', async () => {
    await writeConfig(AMIS[2])
    const args = ['revert', '--outdated', '--strategy', 'rolling', '--yes']
    // Killed right after the first replacement is launched: its old instance still runs, marked.
    const k = await runAndKill(args, /launched \d+ instances?: i-/)
    expect(k.killed, k.stderr).to.equal(true)
    const mid = await status()
    const midLive = live(mid)
    expect(
      midLive.filter((i) => i.replaced).length + midLive.filter((i) => i.outdated).length,
    ).to.be.greaterThan(0)
    expect(midLive.filter((i) => !i.replaced && !i.outdated).length, JSON.stringify(midLive)).to.be.lessThan(
      4,
    )
    const r = await cli(...args, '--json')
    expect(r.code, r.stderr).to.equal(0)
    const after = await status()
    expectFilledOnce(after)
    expect(live(after).every((i) => !i.outdated && i.imageId === AMIS[2])).to.equal(true)
  })

  it('a sequential revert -i 1-4 killed after its first terminate converges with every slot filled once', async () => {
    const before = live(await status())
    const args = ['revert', '-i', '1-4', '--strategy', 'sequential']
    const k = await runAndKill(args, /done: terminate/)
    expect(k.killed, k.stderr).to.equal(true)
    const mid = live(await status())
    // Not finished: some slot still has its original instance or no live instance at all.
    const untouched = mid.filter((i) => before.some((b) => b.id === i.id))
    expect(untouched.length > 0 || mid.length < 4, JSON.stringify(mid)).to.equal(true)
    const r = await cli(...args, '--json')
    expect(r.code, r.stderr).to.equal(0)
    const after = await status()
    expectFilledOnce(after)
    // Every original instance is gone.
    expect(live(after).filter((i) => before.some((b) => b.id === i.id))).to.deep.equal([])
  })

  it('a batch revert stopped by Ctrl-C after its mark exits 130; the same command completes it', async () => {
    const before = live(await status())
    const args = ['revert', '-i', '2,3', '--strategy', 'batch']
    const k = await runAndKill(args, /done: mark/, 'SIGINT')
    expect(k.killed, k.stderr).to.equal(true)
    expect(k.code, k.stderr).to.equal(130)
    // What was and was not done is reported (which actions depends on when the signal landed).
    expect(k.stderr).to.match(/not done: /)
    const r = await cli(...args, '--json')
    expect(r.code, r.stderr).to.equal(0)
    const after = await status()
    expectFilledOnce(after)
    const now = live(after)
    for (const s of [2, 3])
      expect(now.find((i) => i.slot === s)!.id).to.not.equal(before.find((i) => i.slot === s)!.id)
    for (const s of [1, 4])
      expect(now.find((i) => i.slot === s)).to.deep.equal(before.find((i) => i.slot === s))
  })

  it('status --watch prints each transition as it happens; Ctrl-C ends it; --timeout bounds it', async () => {
    const target = live(await status()).find((i) => i.slot === 3)!
    const line = new RegExp(
      `^\\d\\d:\\d\\d:\\d\\d wolphin\\.rv\\.3 ${target.id} running -> (stopping|stopped)$`,
      'm',
    )
    const watch = startCli(['status', '--watch', '--interval', '0.2', '--timeout', '60'])
    // Once the watch has printed its first table, stop slot 3 behind its back.
    expect(await watch.until(() => /^name\s+/m.test(watch.stdout()), 30_000), watch.stderr()).to.equal(true)
    const stop = await cli('stop', '-i', '3', '--json')
    expect(stop.code, stop.stderr).to.equal(0)
    expect(await watch.until(() => line.test(watch.stdout()), 30_000), watch.stdout()).to.equal(true)
    watch.child.kill('SIGINT')
    expect(await watch.exited, watch.stderr()).to.equal(0)
    // Without changes, --timeout ends the watch.
    const t0 = Date.now()
    const quiet = await cli('status', '--watch', '--interval', '0.2', '--timeout', '1', '--json')
    expect(quiet.code, quiet.stderr).to.equal(0)
    expect(quiet.json()).to.include({timedOut: true})
    expect(Date.now() - t0).to.be.lessThan(30_000)
    const u = await cli(
      'status',
      '--watch',
      '--until-stable',
      '--interval',
      '0.2',
      '--timeout',
      '10',
      '--json',
    )
    expect(u.code, u.stderr).to.equal(0)
    expect(u.json()).to.include({stable: true, timedOut: false})
    const s = await cli('start', '-i', '3', '--json')
    expect(s.code, s.stderr).to.equal(0)
  })

  it('bad flags are usage errors before any AWS call', async () => {
    let r = await cli('revert', '-i', '1', '--strategy', 'batch', '--surge', '2')
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--surge applies to --strategy rolling only/)
    r = await cli('revert', '-i', '1', '--strategy', 'sideways')
    expect(r.code).to.equal(2)
    r = await cli('revert', '--strategy', 'rolling')
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--yes/)
    r = await cli('status', '--watch', '--interval', 'soon')
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--interval: "soon" is not a duration/)
  })

  it('left every neighbour exactly as it was', async () => {
    const now = (await world()).filter((i) => neighbours.has(i.id))
    expect(now).to.deep.equal(neighboursBefore)
  })
})
