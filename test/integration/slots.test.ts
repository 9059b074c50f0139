/**
 * One owner for slot claims, end to end against moto: whatever interrupted or raced a launch, every
 * launching command ends with each slot held by exactly one live instance, and a second `create`
 * makes no mutating call.
 *
 * - a revert of each strategy interrupted with Ctrl-C, then `create`;
 * - `create` started while a revert of each strategy is under way;
 * - two `create --no-wait` at once;
 * - a RunInstances answer lost after moto acted on it (the SDK retries; moto ignores ClientToken),
 *   for create and for revert of each strategy.
 * Neighbours (look-alike projects, untagged instances) must stay exactly as they were.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {BIN, runCli} from '../support/cli.js'
import {startCountingProxy} from '../support/counting-proxy.js'
import {describeAll, seedNeighbours, type Seen, TEST_AMI, testClient} from '../support/ec2.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {motoEnv, useMoto} from '../support/moto.js'

const LIVE = ['pending', 'running', 'stopping', 'stopped']
const STRATEGIES = ['rolling', 'sequential', 'batch'] as const
const NEW_AMI = 'ami-03cf127a'

describe('integration: one owner for slots; duplicates always settled (moto)', function () {
  this.timeout(300_000)
  const moto = useMoto()
  /** Every project's neighbours and how they looked before the project's test touched anything. */
  const neighbourSnapshots: Array<{ids: Set<string>; before: Seen[]}> = []

  const world = () => describeAll(testClient(moto().endpoint))
  const ours = async (project: string) =>
    (await world()).filter((i) => i.tags.ProjectName === `wolphin.${project}`)
  const live = (xs: Seen[]) => xs.filter((i) => LIVE.includes(i.state))

  const setup = async (project: string, count = 3) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `wolphin-${project}-`))
    const write = (ami: string) =>
      writeFile(
        path.join(dir, 'wolphin.yaml'),
        `project: ${project}\nemail: ops@example.com\nami: ${ami}\ncount: ${count}\nwait: {interval: 0.2, timeout: 30}\n`,
      )
    await write(TEST_AMI)
    const ids = new Set((await seedNeighbours(testClient(moto().endpoint), project)).keys())
    neighbourSnapshots.push({ids, before: (await world()).filter((i) => ids.has(i.id))})
    const env = motoEnv(moto().endpoint)
    const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
      runCli(args, {cwd: dir, env: {...env, ...extraEnv}})
    return {dir, env, cli, write}
  }

  /** Each slot 1..count held by exactly one live, unmarked instance, and no marked one left live. */
  const expectHeldOnce = async (project: string, count = 3) => {
    const l = live(await ours(project))
    const holders = l.filter((i) => i.tags['wolphin:replaced'] === undefined)
    expect(
      holders.map((i) => i.slot).sort((a, b) => a! - b!),
      JSON.stringify(l),
    ).to.deep.equal(Array.from({length: count}, (_, k) => k + 1))
    expect(
      l.filter((i) => i.tags['wolphin:replaced'] !== undefined),
      'marked instances left live',
    ).to.deep.equal([])
    return holders
  }

  /** A second `create` through a counting proxy: what it asked EC2 for. */
  const secondCreateCalls = async (dir: string) => {
    const proxy = await startCountingProxy(moto().endpoint)
    try {
      const r = await runCli(['create', '--json'], {cwd: dir, env: motoEnv(proxy.endpoint)})
      expect(r.code, r.stderr).to.equal(0)
      return proxy.counts()
    } finally {
      await proxy.close()
    }
  }

  /** Starts the CLI and sends SIGINT once stderr matches `when`. */
  const interruptWhen = (dir: string, env: Record<string, string>, args: string[], when: RegExp) =>
    new Promise<{code: number | null; stderr: string; sent: boolean}>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: dir,
        env: {...process.env, ...env, NODE_NO_WARNINGS: '1', CI: '1'},
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      let sent = false
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
      child.stderr.on('data', (d) => {
        stderr += d
        if (!sent && when.test(stderr)) sent = child.kill('SIGINT')
      })
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({code, stderr, sent})
      })
    })

  /** Starts the CLI in the background; `onStderr` resolves once its stderr matches (bounded by exit). */
  const background = (dir: string, env: Record<string, string>, args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: {...process.env, ...env, NODE_NO_WARNINGS: '1', CI: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const waiters: Array<{re: RegExp; resolve: (ok: boolean) => void}> = []
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      for (const w of waiters.splice(0))
        if (w.re.test(stderr)) w.resolve(true)
        else waiters.push(w)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    const exited = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer)
        for (const w of waiters.splice(0)) w.resolve(false)
        resolve({code, stdout, stderr})
      }),
    )
    const onStderr = (re: RegExp) =>
      new Promise<boolean>((resolve) =>
        re.test(stderr)
          ? resolve(true)
          : child.exitCode !== null
            ? resolve(false)
            : waiters.push({re, resolve}),
      )
    return {exited, onStderr}
  }

  /**
   * A proxy whose DescribeInstances answers show running instances as pending while `frozen`: a
   * revert waiting for its replacement waits until the test lets it go on.
   */
  const freezingProxy = async () => {
    const state = {frozen: true}
    const proxy = await startFaultProxy({
      target: moto().endpoint,
      rate: 0,
      seed: 1,
      rewrite: (action, body) =>
        state.frozen && action === 'DescribeInstances'
          ? body.replace(
              /<code>16<\/code>(\s*)<name>running<\/name>/g,
              '<code>0</code>$1<name>pending</name>',
            )
          : body,
    })
    return {proxy, state}
  }
  /** A proxy on which every TerminateInstances fails (reset before it reaches moto), or is delayed. */
  const terminateProxy = (kind: 'resetBefore' | 'delay') =>
    startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 1,
      kinds: [kind],
      actions: ['TerminateInstances'],
      delayMs: [2500, 2501],
    })

  /** A project of 3 on TEST_AMI, created, whose config then moves on to NEW_AMI. */
  const createdProject = async (project: string) => {
    const p = await setup(project)
    const c = await p.cli(['create', '--json'])
    expect(c.code, c.stderr).to.equal(0)
    // Replacements must launch in a later second than the originals (EC2's launch times are
    // whole seconds), so the tie rule cannot hide which one is older.
    await new Promise((r) => setTimeout(r, 1100))
    await p.write(NEW_AMI)
    return p
  }

  it('a rolling revert interrupted with Ctrl-C (old marked, replacement running), then create: converged in one run, the next makes no mutating call', async () => {
    const project = 'int-rolling'
    const {dir, env, cli} = await createdProject(project)
    const {proxy} = await freezingProxy()
    try {
      const k = await interruptWhen(
        dir,
        {...env, AWS_ENDPOINT_URL: proxy.endpoint},
        ['revert', '-i', '1-3', '--strategy', 'rolling'],
        /launched \d+ instances?: i-/,
      )
      expect(k.sent, k.stderr).to.equal(true)
      expect(k.code, k.stderr).to.equal(130)
    } finally {
      await proxy.stop()
    }
    const mid = live(await ours(project))
    const marked = mid.filter((i) => i.tags['wolphin:replaced'] !== undefined)
    const replacement = mid.find(
      (i) => i.slot === marked[0]?.slot && i.tags['wolphin:replaced'] === undefined,
    )
    expect(marked, JSON.stringify(mid)).to.have.length(1)
    expect(replacement, JSON.stringify(mid)).to.not.equal(undefined)
    const c = await cli(['create', '--json'])
    expect(c.code, c.stderr).to.equal(0)
    const holders = await expectHeldOnce(project)
    // The replacement, already on the new spec, keeps the slot; the marked old one is gone.
    expect(holders.map((h) => h.id)).to.include(replacement!.id)
    expect(await secondCreateCalls(dir)).to.deep.equal({DescribeInstances: 1})
  })

  for (const strategy of ['sequential', 'batch'] as const) {
    it(`a ${strategy} revert cut off after its mark (TerminateInstances unreachable), then create: converged in one run, the next makes no mutating call`, async () => {
      const project = `int-${strategy}`
      const {dir, env, cli} = await createdProject(project)
      const proxy = await terminateProxy('resetBefore')
      try {
        const r = await runCli(['revert', '-i', '1-3', '--strategy', strategy], {
          cwd: dir,
          env: {...env, AWS_ENDPOINT_URL: proxy.endpoint},
        })
        expect(r.code, r.stderr).to.equal(1)
      } finally {
        await proxy.stop()
      }
      const mid = live(await ours(project))
      expect(
        mid.filter((i) => i.tags['wolphin:replaced'] !== undefined).length,
        JSON.stringify(mid),
      ).to.be.greaterThan(0)
      const c = await cli(['create', '--json'])
      expect(c.code, c.stderr).to.equal(0)
      const holders = await expectHeldOnce(project)
      // Every slot the revert had marked is held by a fresh launch, not by its marked old instance.
      const markedSlots = new Set(
        mid.filter((i) => i.tags['wolphin:replaced'] !== undefined).map((i) => i.slot),
      )
      for (const h of holders.filter((x) => markedSlots.has(x.slot)))
        expect(
          mid.map((i) => i.id),
          `slot ${h.slot}`,
        ).to.not.include(h.id)
      expect(await secondCreateCalls(dir)).to.deep.equal({DescribeInstances: 1})
    })
  }

  it('create while a rolling revert waits for its replacement: the replacement keeps the slot, both exit 0', async () => {
    const project = 'race-rolling'
    const {dir, env, cli} = await createdProject(project)
    const {proxy, state} = await freezingProxy()
    try {
      const revert = background(dir, {...env, AWS_ENDPOINT_URL: proxy.endpoint}, [
        'revert',
        '-i',
        '1',
        '--strategy',
        'rolling',
      ])
      expect(await revert.onStderr(/launched \d+ instances?: i-/), 'revert launched').to.equal(true)
      const c = await cli(['create', '--json'])
      state.frozen = false
      const r = await revert.exited
      expect(c.code, c.stderr).to.equal(0)
      expect(r.code, r.stderr).to.equal(0)
    } finally {
      await proxy.stop()
    }
    await expectHeldOnce(project)
    expect(await secondCreateCalls(dir)).to.deep.equal({DescribeInstances: 1})
  })

  for (const strategy of ['sequential', 'batch'] as const) {
    it(`create while a ${strategy} revert is terminating its marked instances: every slot held once, both exit 0`, async () => {
      const project = `race-${strategy}`
      const {dir, env, cli} = await createdProject(project)
      const proxy = await terminateProxy('delay')
      try {
        const revert = background(dir, {...env, AWS_ENDPOINT_URL: proxy.endpoint}, [
          'revert',
          '-i',
          '1-3',
          '--strategy',
          strategy,
        ])
        expect(await revert.onStderr(/done: mark /), 'revert marked').to.equal(true)
        const c = await cli(['create', '--json'])
        const r = await revert.exited
        expect(c.code, c.stderr).to.equal(0)
        expect(r.code, r.stderr).to.equal(0)
      } finally {
        await proxy.stop()
      }
      await expectHeldOnce(project)
      expect(await secondCreateCalls(dir)).to.deep.equal({DescribeInstances: 1})
    })
  }

  it('two create --no-wait at once: every slot held once when both have exited', async () => {
    const project = 'nowait'
    const {cli} = await setup(project)
    // RunInstances answered late: both runs observe an empty project before either launch lands.
    const proxy = await startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 1,
      kinds: ['delay'],
      actions: ['RunInstances'],
      delayMs: [1500, 1501],
    })
    try {
      const env = {AWS_ENDPOINT_URL: proxy.endpoint}
      const [a, b] = await Promise.all([
        cli(['create', '--no-wait', '--json'], env),
        cli(['create', '--no-wait', '--json'], env),
      ])
      expect(a.code, a.stderr).to.equal(0)
      expect(b.code, b.stderr).to.equal(0)
      expect(proxy.counts.calls.RunInstances).to.equal(2)
    } finally {
      await proxy.stop()
    }
    await expectHeldOnce(project)
  })

  /** A proxy that lets moto act on the first RunInstances and then drops its answer. */
  const losingFirstLaunch = () =>
    startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 1,
      kinds: ['resetAfter'],
      actions: ['RunInstances'],
      maxFaults: 1,
    })

  it('create whose RunInstances answer is lost (the SDK retries): count.max live, exit 0', async () => {
    const project = 'lost-create'
    const {cli} = await setup(project)
    const proxy = await losingFirstLaunch()
    try {
      const r = await cli(['create', '--json'], {AWS_ENDPOINT_URL: proxy.endpoint})
      expect(proxy.counts.byAction['RunInstances:resetAfter']).to.equal(1)
      expect(r.code, r.stderr).to.equal(0)
      await expectHeldOnce(project)
      const holders = live(await ours(project))
        .map((i) => i.id)
        .sort()
      expect(
        r
          .json()
          .instances.filter((i: {state: string}) => LIVE.includes(i.state))
          .map((i: {id: string}) => i.id)
          .sort(),
      ).to.deep.equal(holders)
    } finally {
      await proxy.stop()
    }
  })

  it('create whose every RunInstances answer is lost: exit 1, a reset (not a connect timeout), and every instance that appeared is listed as launched', async () => {
    const project = 'lost-all'
    const {cli} = await setup(project, 2)
    const proxy = await startFaultProxy({
      target: moto().endpoint,
      rate: 1,
      seed: 1,
      kinds: ['resetAfter'],
      actions: ['RunInstances'],
    })
    try {
      // A budget the SDK's own retries (8 attempts with back-off) end well within, even on a loaded
      // machine: the error is then the reset itself, not the budget.
      const h = await cli(['create', '--total-timeout', '60s'], {AWS_ENDPOINT_URL: proxy.endpoint})
      expect(h.code, h.stderr).to.equal(1)
      expect(h.stderr).to.match(/closed the connection before answering \(ECONNRESET/)
      expect(h.stderr).to.not.match(/connect timeout/)
      expect(h.stderr).to.match(
        /launched \d+ instance\(s\) that keep running, and billing, until terminated:/,
      )
      // Every retry went through on the emulator: each instance is named, none left unreported.
      const first = live(await ours(project)).map((i) => i.id)
      expect(first.length).to.be.greaterThan(0)
      for (const id of first) expect(h.stderr).to.include(`    ${id}\n`)
      expect((await cli(['terminate', '--yes'])).code).to.equal(0)
      const j = await cli(['create', '--json', '--total-timeout', '60s'], {AWS_ENDPOINT_URL: proxy.endpoint})
      expect(j.code, j.stderr).to.equal(1)
      const error = j.json().error
      expect(error.code).to.equal('NETWORK_ERROR')
      const running = live(await ours(project)).map((i) => i.id)
      expect(running.length).to.be.greaterThan(0)
      expect([...error.launched].sort()).to.deep.equal([...running].sort())
    } finally {
      await proxy.stop()
    }
    // The next create (the network back) converges: every slot held once.
    const c = await cli(['create', '--json'])
    expect(c.code, c.stderr).to.equal(0)
    await expectHeldOnce(project, 2)
  })

  for (const strategy of STRATEGIES) {
    for (const wait of [true, false]) {
      it(`revert --strategy ${strategy}${wait ? '' : ' --no-wait'} whose RunInstances answer is lost: one live instance per slot`, async () => {
        const project = `lost-${strategy}${wait ? '' : '-nw'}`
        const {cli} = await createdProject(project)
        const proxy = await losingFirstLaunch()
        try {
          const r = await cli(
            ['revert', '-i', '1-3', '--strategy', strategy, '--json', ...(wait ? [] : ['--no-wait'])],
            {AWS_ENDPOINT_URL: proxy.endpoint},
          )
          expect(proxy.counts.byAction['RunInstances:resetAfter']).to.equal(1)
          expect(r.code, r.stderr).to.equal(0)
          const holders = (await expectHeldOnce(project)).map((i) => i.id).sort()
          // The JSON names every instance that holds a slot now, the lost launch's included.
          const reported = r.json().instances as Array<{id: string; state: string; replaced: boolean}>
          expect(
            reported
              .filter((i) => LIVE.includes(i.state) && !i.replaced)
              .map((i) => i.id)
              .sort(),
          ).to.deep.equal(holders)
        } finally {
          await proxy.stop()
        }
      })
    }
  }

  it('left every neighbour exactly as it was', async () => {
    const now = await world()
    for (const n of neighbourSnapshots) expect(now.filter((i) => n.ids.has(i.id))).to.deep.equal(n.before)
  })
})
