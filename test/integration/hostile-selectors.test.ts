/**
 * A --selector module can only narrow: hostile selectors against moto. Each one mutates what it is
 * given, forges or repeats instances, throws, answers with something else, never answers, or exits;
 * every neighbour (a project called `victim` among them) and our own project must stay as they were,
 * and each error is exit 2 with one line.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {startCountingProxy} from '../support/counting-proxy.js'
import {describeAll, seedInstance, seedNeighbours, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

const LIVE = ['pending', 'running', 'stopping', 'stopped']

/** Hostile selector modules; VICTIM is replaced by the victim's instance id. */
const MODULES: Record<string, string> = {
  // Points its first instance at the victim and hands it back.
  'mutate-id.mjs': `export default (xs) => { xs[0].id = 'VICTIM'; return [xs[0]] }`,
  // Moves an instance into slot 42 (a revert would launch into it).
  'mutate-slot.mjs': `export default (xs) => { for (const x of xs) x.slot = 42; return xs }`,
  // Rewrites a tag in place.
  'mutate-tags.mjs': `export default (xs) => { xs[0].tags.ProjectName = 'wolphin.victim'; return xs }`,
  // Returns a new object carrying the victim's id.
  'forge.mjs': `export default (xs) => [{...xs[0], id: 'VICTIM'}]`,
  // One instance three times.
  'repeat.mjs': `export default (xs) => { const one = xs.find((x) => x.slot === 1); return [one, one, one] }`,
  // Sorting the array it was given in place is fine: it is a fresh array.
  'sort-in-place.mjs': `export default (xs) => xs.sort((a, b) => b.slot - a.slot).slice(0, 1)`,
  'throws.mjs': `export default () => { throw new Error('boom') }`,
  'not-array.mjs': `export default () => 'everything'`,
  'never.mjs': `export default () => new Promise(() => {})`,
  'exit-in-select.mjs': `export default () => process.exit(0)`,
  'exit-on-load.mjs': `process.exit(0)\nexport default (xs) => xs`,
  'hang-on-load.mjs': `await new Promise(() => {})\nexport default (xs) => xs`,
}

describe('integration: hostile --selector modules can only narrow (moto)', function () {
  this.timeout(180_000)
  const moto = useMoto()
  const project = 'hs'
  let dir: string
  let victim: string
  let worldBefore: Awaited<ReturnType<typeof describeAll>>

  const world = () => describeAll(testClient(moto().endpoint))
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, {cwd: dir, env: {...motoEnv(moto().endpoint), WOLPHIN_SELECTOR_TIMEOUT: '2', ...env}})

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-hostile-'))
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: 3\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    const client = testClient(moto().endpoint)
    await seedNeighbours(client, project)
    victim = await seedInstance(client, {
      ProjectName: 'wolphin.victim',
      Name: 'wolphin.victim.1',
      'wolphin:slot': '1',
    })
    for (const [file, text] of Object.entries(MODULES))
      await writeFile(path.join(dir, file), text.replaceAll('VICTIM', victim))
    const c = await cli(['create', '--json'])
    expect(c.code, c.stderr).to.equal(0)
    worldBefore = await world()
  })

  /** Exit 2, nothing on stdout, one line on stderr matching `message`. */
  const expectOneLine = (r: {code: number | null; stdout: string; stderr: string}, message: RegExp) => {
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stdout).to.equal('')
    expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1)
    expect(r.stderr.trimEnd()).to.match(message)
  }

  const errors: Array<[string, string[], RegExp]> = [
    [
      'mutate-id.mjs',
      ['terminate', '--yes'],
      /^wolphin: error: selector "mutate-id\.mjs" failed: .*read[- ]only.*'id'/,
    ],
    ['mutate-slot.mjs', ['revert', '--yes', '--strategy', 'batch'], /failed: .*read[- ]only.*'slot'/],
    ['mutate-tags.mjs', ['stop'], /failed: .*read[- ]only.*'ProjectName'/],
    ['throws.mjs', ['terminate', '--yes'], /^wolphin: error: selector "throws\.mjs" failed: boom$/],
    [
      'not-array.mjs',
      ['stop'],
      /^wolphin: error: selector "not-array\.mjs" did not return an array of instances$/,
    ],
    ['never.mjs', ['terminate', '--yes'], /^wolphin: error: selector "never\.mjs" did not finish within 2s$/],
    [
      'exit-in-select.mjs',
      ['terminate', '--yes'],
      /^wolphin: error: selector "exit-in-select\.mjs" failed: called process\.exit\(0\); a selector may not exit$/,
    ],
  ]
  for (const [file, args, message] of errors) {
    it(`${file} with ${args[0]}: exit 2, one line, nothing changed`, async () => {
      const t0 = Date.now()
      expectOneLine(await cli([...args, '--selector', `./${file}`]), message)
      expect(Date.now() - t0).to.be.lessThan(20_000)
      expect(await world()).to.deep.equal(worldBefore)
    })
  }

  for (const [file, message] of [
    [
      'exit-on-load.mjs',
      /^wolphin: error: --selector: \.\/exit-on-load\.mjs: exited \(code 0\) while loading: a selector module must not call process\.exit\(\) or leave a top-level await unsettled$/,
    ],
    [
      'hang-on-load.mjs',
      /^wolphin: error: --selector: \.\/hang-on-load\.mjs: (did not finish loading within 2s \(does its top-level code loop or wait\?\)|exited \(code \d+\) while loading: a selector module must not call process\.exit\(\) or leave a top-level await unsettled)$/,
    ],
  ] as const) {
    it(`${file}: exit 2, one line, before any AWS call`, async () => {
      const proxy = await startCountingProxy(moto().endpoint)
      try {
        const t0 = Date.now()
        expectOneLine(
          await cli(['terminate', '--yes', '--selector', `./${file}`], {AWS_ENDPOINT_URL: proxy.endpoint}),
          message,
        )
        expect(Date.now() - t0).to.be.lessThan(20_000)
        expect(proxy.calls()).to.deep.equal([])
      } finally {
        await proxy.close()
      }
    })
  }

  it('forge.mjs (a new object with the victim id): dropped, an empty selection, exit 0, nothing changed', async () => {
    const r = await cli(['terminate', '--yes', '--json', '--selector', './forge.mjs'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json()).to.include({emptySelection: true})
    expect(await world()).to.deep.equal(worldBefore)
  })

  it('repeat.mjs (one instance three times): acted on once', async () => {
    const r = await cli(['stop', '--json', '--dry-run', '--selector', './repeat.mjs'])
    expect(r.code, r.stderr).to.equal(0)
    const plan = r.json().plan.actions as Array<{kind: string; ids: string[]}>
    const stop = plan.find((a) => a.kind === 'stop')!
    expect(stop.ids).to.have.length(1)
    expect(r.json().instances.map((i: {slot: number}) => i.slot)).to.deep.equal([1])
  })

  it('sort-in-place.mjs (reorders its own array): narrows to slot 3, works', async () => {
    const r = await cli(['status', '--json', '--selector', './sort-in-place.mjs'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().instances.map((i: {slot: number}) => i.slot)).to.deep.equal([3])
  })

  it('the victim, every neighbour and our own project are exactly as they were', async () => {
    const now = await world()
    expect(now).to.deep.equal(worldBefore)
    expect(now.find((i) => i.id === victim)!.state).to.be.oneOf(LIVE)
  })
})
