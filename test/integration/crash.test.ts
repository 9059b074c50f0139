/**
 * Crash safety and concurrency against moto:
 * - two `create` runs started at the same moment end with exactly count.max instances;
 * - create (and stop, start, terminate) killed with SIGKILL at a random point, ten times in a row,
 *   each followed by a re-run: exactly count.max tagged instances, none untagged;
 * - Ctrl-C (SIGINT) while waiting: stops, says what was done and what was not, exits 130.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {TerminateInstancesCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runAndSignal, runCli} from '../support/cli.js'
import {describeAll, hasProjectName, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
import {type FaultProxy, seededRandom, startFaultProxy} from '../support/fault-proxy.js'
import {motoEnv, useMoto} from '../support/moto.js'

const COUNT = 3
const live = (xs: Seen[]) => xs.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')

describe('integration: crash safety and concurrency', function () {
  this.timeout(300_000)
  const moto = useMoto()
  let slow: FaultProxy | undefined
  after(async () => {
    await slow?.stop()
  })

  const setup = async (project: string, extra = '') => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `wolphin-${project}-`))
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: ${COUNT}\nwait: {interval: 0.2, timeout: 30}\n${extra}`,
    )
    return dir
  }
  const members = async (project: string) =>
    (await describeAll(testClient(moto().endpoint))).filter(
      (i) => i.tags.ProjectName === `wolphin.${project}`,
    )
  /** Exactly COUNT live members in slots 1..COUNT, named, and no untagged instance in moto. */
  const expectConverged = async (project: string, state = 'running') => {
    const all = await describeAll(testClient(moto().endpoint))
    expect(all.filter((i) => Object.keys(i.tags).length === 0 || !i.tags.ProjectName)).to.deep.equal([])
    const mine = live(all.filter((i) => i.tags.ProjectName === `wolphin.${project}`))
    expect(mine.map((i) => i.slot).sort()).to.deep.equal([1, 2, 3])
    for (const i of mine) {
      expect(hasProjectName(i, project), `${i.id} Name ${i.tags.Name}`).to.equal(true)
      expect(i.state).to.equal(state)
    }
    return mine
  }

  /** A proxy to moto whose DescribeInstances answers show every instance in `state` as `shown`. */
  const holdingState = ([state, code]: [string, number], [shown, shownCode]: [string, number]) =>
    startFaultProxy({
      target: moto().endpoint,
      rate: 0,
      seed: 1,
      rewrite: (action, body) =>
        action === 'DescribeInstances'
          ? body.replace(
              new RegExp(`<code>${code}</code>(\\s*)<name>${state}</name>`, 'g'),
              `<code>${shownCode}</code>$1<name>${shown}</name>`,
            )
          : body,
    })

  it('two create runs started at the same moment end with exactly count.max instances', async () => {
    for (let round = 0; round < 2; round++) {
      const project = `race${round}`
      const dir = await setup(project)
      const env = motoEnv(moto().endpoint)
      const [a, b] = await Promise.all([
        runCli(['create', '--json'], {cwd: dir, env}),
        runCli(['create', '--json'], {cwd: dir, env}),
      ])
      expect(a.code, a.stderr).to.equal(0)
      expect(b.code, b.stderr).to.equal(0)
      await expectConverged(project)
      // A third run has nothing to do.
      const c = await runCli(['create', '--json'], {cwd: dir, env})
      expect(c.json().launched).to.deep.equal([])
    }
  })

  it('SIGKILL at a random point of create, 10 times, each followed by a re-run, converges', async () => {
    const project = 'crash'
    const dir = await setup(project)
    const env = motoEnv(moto().endpoint)
    // The killed runs go through a proxy that slows every EC2 call down a little, so a kill at a
    // random delay lands inside the run (launch, naming, waiting) rather than after it.
    slow = await startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 9,
      kinds: ['delay'],
      delayMs: [80, 250],
    })
    const slowEnv = motoEnv(slow.endpoint)
    const random = seededRandom(424242)
    const client = testClient(moto().endpoint)
    const seenAtKill: number[] = []
    const killedMidway = {create: 0, other: 0}
    for (let n = 0; n < 10; n++) {
      // Start each round from an empty project so the killed create has work to do.
      const before = live(await members(project)).map((i) => i.id)
      if (before.length) await client.send(new TerminateInstancesCommand({InstanceIds: before}))
      // A random point after the plan is made: before, during or after RunInstances, the naming
      // CreateTags and the waiter's polls.
      const delayMs = Math.floor(random() * 600)
      const killed = await runAndSignal(['create'], {
        cwd: dir,
        env: slowEnv,
        delayMs,
        signal: 'SIGKILL',
        after: /^\d\d:\d\d:\d\d launch \d+ instance/m,
      })
      const atKill = live(await members(project)).length
      seenAtKill.push(atKill)
      if (killed.signal === 'SIGKILL') killedMidway.create++
      const again = await runCli(['create'], {cwd: dir, env})
      expect(again.code, `round ${n} (killed after ${delayMs}ms): ${again.stderr}`).to.equal(0)
      await expectConverged(project)
      // stop, start, terminate and revert killed at a random point converge too when re-run.
      if (n >= 4) continue
      const op = (['stop', 'start', 'terminate', 'revert'] as const)[n]
      if (op === 'start') {
        const r = await runCli(['stop'], {cwd: dir, env})
        expect(r.code, r.stderr).to.equal(0)
      }
      const args =
        op === 'terminate'
          ? ['terminate', '--yes']
          : op === 'revert'
            ? ['revert', '-i', '2', '--strategy', 'rolling', '--yes']
            : [op]
      const k = await runAndSignal(args, {
        cwd: dir,
        env: slowEnv,
        delayMs: Math.floor(random() * 300),
        signal: 'SIGKILL',
        // The first action's start line (stop, start, terminate, or the revert's mark).
        after: /^\d\d:\d\d:\d\d (stop|start|terminate|mark|launch) \d+ instance/m,
      })
      if (k.signal === 'SIGKILL') killedMidway.other++
      const r = await runCli(args, {cwd: dir, env})
      expect(r.code, `${op} re-run: ${r.stderr}`).to.equal(0)
      if (op === 'terminate') expect(live(await members(project))).to.deep.equal([])
      else await expectConverged(project, op === 'stop' ? 'stopped' : 'running')
    }
    // The kills landed at different points: before, during and after the launch.
    console.log(
      `    SIGKILL: ${killedMidway.create}/10 creates and ${killedMidway.other}/4 stop/start/terminate/revert runs killed before they ended; live instances found at each create kill: ${seenAtKill.join(',')}`,
    )
    expect(killedMidway.create).to.be.greaterThan(5)
  })

  it('Ctrl-C while waiting stops, says what was done and what was not, and exits 130', async () => {
    const project = 'sigint'
    const dir = await setup(project)
    // Freeze every instance in "pending" so the waiter can never finish.
    const proxy = await holdingState(['running', 16], ['pending', 0])
    try {
      const env = motoEnv(proxy.endpoint)
      const started = Date.now()
      // Counted from the launch line: a loaded machine may take seconds to get there.
      const r = await runAndSignal(['create'], {
        cwd: dir,
        env,
        delayMs: 1500,
        signal: 'SIGINT',
        after: /launch 3 instances/,
      })
      expect(r.code, r.stderr).to.equal(130)
      expect(Date.now() - started).to.be.lessThan(10_000)
      expect(r.stderr).to.match(/wolphin: error: interrupted: 1 of 2 action\(s\) done, 1 not done/)
      expect(r.stderr).to.match(/ {2}done: launch 3 instances into slots 1, 2, 3: launched i-/)
      expect(r.stderr).to.match(/ {2}not done: wait until running: the instances it launches\n/)
      expect(r.stderr, 'no plan notation outside --dry-run').to.not.match(/\d+ \[[\d,]*\] /)
      expect(r.stderr).to.not.match(/\n\s+at /) // no stack trace
      // What it launched is tagged and the next run converges.
      const mine = live(await members(project))
      expect(mine).to.have.length(COUNT)
      // ...and the message lists them, says they cost money, and what resumes or removes them.
      const listed =
        /launched 3 instance\(s\) that keep running, and billing, until terminated:\n((?: {4}i-\w+\n)+)/.exec(
          r.stderr,
        )
      expect(listed, r.stderr).to.not.equal(null)
      expect(listed![1].trim().split(/\s+/).sort()).to.deep.equal(mine.map((i) => i.id).sort())
      expect(r.stderr).to.include(
        "run `wolphin create` again (same flags) to finish, or `wolphin terminate` to remove the project's instances\n",
      )
      const again = await runCli(['create'], {cwd: dir, env: motoEnv(moto().endpoint)})
      expect(again.code, again.stderr).to.equal(0)
      await expectConverged(project)
    } finally {
      await proxy.stop()
    }
  })

  it('reboot --hard cut off between its stop and its start: the re-run starts what it stopped', async () => {
    const project = 'hardreboot'
    const dir = await setup(project)
    expect((await runCli(['create'], {cwd: dir, env: motoEnv(moto().endpoint)})).code).to.equal(0)
    // Hold stopped instances in "stopping" so the wait between stop and start never finishes.
    const proxy = await holdingState(['stopped', 80], ['stopping', 64])
    try {
      const r = await runAndSignal(['reboot', '--hard', '-i', '1-2'], {
        cwd: dir,
        env: motoEnv(proxy.endpoint),
        delayMs: 1000,
        signal: 'SIGINT',
        after: /waiting until stopped/,
      })
      expect(r.code, r.stderr).to.equal(130)
      expect(r.stderr).to.match(/not done: start /)
    } finally {
      await proxy.stop()
    }
    const cut = (await members(project)).filter((i) => i.slot === 1 || i.slot === 2)
    expect(cut.map((i) => [i.state, i.tags['wolphin:rebooting'] !== undefined])).to.deep.equal([
      ['stopped', true],
      ['stopped', true],
    ])
    const again = await runCli(['reboot', '--hard', '-i', '1-2', '--json'], {
      cwd: dir,
      env: motoEnv(moto().endpoint),
    })
    expect(again.code, again.stderr).to.equal(0)
    // Started again, and not stopped a second time (it was already stopped).
    expect(again.json().plan.actions.map((a: {kind: string}) => a.kind)).to.deep.equal([
      'wait',
      'start',
      'wait',
      'unmark',
    ])
    const after = await expectConverged(project)
    for (const i of after) expect(i.tags['wolphin:rebooting'], i.id).to.equal(undefined)
  })

  it('Ctrl-C while nothing is being applied (an observation) exits 130 at once', async () => {
    const dir = await setup('sigint2')
    // Every DescribeInstances answer takes 4s.
    const proxy = await startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 1,
      kinds: ['delay'],
      delayMs: [4000, 4001],
      actions: ['DescribeInstances'],
    })
    try {
      const started = Date.now()
      const r = await runAndSignal(['status'], {
        cwd: dir,
        env: motoEnv(proxy.endpoint),
        delayMs: 1500,
        signal: 'SIGINT',
      })
      expect(r.code, r.stderr).to.equal(130)
      expect(r.stderr).to.include('wolphin: interrupted')
      expect(Date.now() - started).to.be.lessThan(3900)
    } finally {
      await proxy.stop()
    }
  })

  it('Ctrl-C during status --watch ends the watch gracefully', async () => {
    const dir = await setup('sigint3')
    const started = Date.now()
    const r = await runAndSignal(['status', '--watch', '--interval', '0.3s'], {
      cwd: dir,
      env: motoEnv(moto().endpoint),
      delayMs: 2500,
      signal: 'SIGINT',
    })
    expect(Date.now() - started).to.be.lessThan(8000)
    expect(r.stderr).to.not.include('wolphin: interrupted')
    expect(r.stderr).to.not.match(/\n\s+at /)
    expect([0, 130]).to.include(r.code)
  })
})
