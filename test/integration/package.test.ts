/**
 * The published package, as a user gets it: `npm pack`, install the tarball into an empty
 * directory, then drive create/status/terminate against moto through the installed `wolphin`
 * binary and through `import('wolphin')`. Slow (about 40-50 s, nearly all of it npm unpacking the
 * AWS SDK from the npm cache); the dependencies' install scripts (ssh2's optional native crypto)
 * are skipped to keep it so.
 */
import {copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runProcess} from '../support/cli.js'
import {describeAll, seedNeighbours, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, ROOT, useMoto} from '../support/moto.js'

/** The installed bin's `#!/usr/bin/env node` must find the node running the tests. */
const run = (
  cmd: string,
  args: string[],
  opts: {cwd: string; env?: Record<string, string>; timeoutMs?: number},
) =>
  runProcess(cmd, args, {
    ...opts,
    env: {...opts.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`},
  })

describe('integration: the packed package installs into an empty directory and works', function () {
  this.timeout(180_000)
  const moto = useMoto()
  let work: string
  let app: string
  let env: Record<string, string>

  before(async function () {
    this.timeout(150_000)
    work = await mkdtemp(path.join(os.tmpdir(), 'wolphin-pack-'))
    app = path.join(work, 'app')
    await mkdir(app)
    env = motoEnv(moto().endpoint)
    const npmRun = (args: string[], cwd: string) => run('npm', args, {cwd, timeoutMs: 140_000})
    const packed = await npmRun(['pack', '--silent', '--pack-destination', work], ROOT)
    expect(packed.code, packed.stderr).to.equal(0)
    const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'))
    expect(tgz, 'npm pack produced no tarball').to.be.a('string')
    // An empty project: no lockfile, nothing installed; dependencies come from the npm cache.
    await writeFile(
      path.join(app, 'package.json'),
      JSON.stringify({name: 'app', private: true, type: 'module'}),
    )
    const installed = await npmRun(
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--prefer-offline',
        '--ignore-scripts',
        '--loglevel=error',
        path.join(work, tgz!),
      ],
      app,
    )
    expect(installed.code, installed.stderr).to.equal(0)
    await writeFile(
      path.join(app, 'wolphin.yaml'),
      `project: packed\nemail: ci@example.com\nami: ${TEST_AMI}\ncount: 2\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    await seedNeighbours(testClient(moto().endpoint), 'packed')
  })

  after(async () => {
    if (work) await rm(work, {recursive: true, force: true})
  })

  const live = async () =>
    (await describeAll(testClient(moto().endpoint))).filter(
      (i) => i.tags.ProjectName === 'wolphin.packed' && i.state !== 'terminated',
    )

  it('ships bin, dist, the manifest, the schemas, README and LICENSE: no sources, tests or dev dependencies', async () => {
    const pkgDir = path.join(app, 'node_modules/wolphin')
    expect((await readdir(pkgDir)).sort()).to.deep.equal([
      'LICENSE',
      'README.md',
      'bin',
      'dist',
      'oclif.manifest.json',
      'package.json',
      'schemas',
    ])
    expect(await readFile(path.join(pkgDir, 'LICENSE'), 'utf8')).to.match(/^MIT License\n/)
    expect((await readdir(path.join(pkgDir, 'schemas'))).sort()).to.deep.equal(
      (await readdir(path.join(ROOT, 'schemas'))).sort(),
    )
    const pj = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8'))
    expect(pj).to.include.keys('repository', 'homepage', 'bugs')
    expect(pj.license).to.equal('MIT')
    // Type packages are for building wolphin, not for running it.
    expect(Object.keys(pj.dependencies).filter((d: string) => d.startsWith('@types/'))).to.deep.equal([])
    for (const dev of [
      'mocha',
      'typescript',
      'oclif',
      'tsx',
      '@types/ssh2',
      'ajv',
      'ts-json-schema-generator',
    ])
      expect(await readdir(path.join(app, 'node_modules')), dev).to.not.include(dev)
    expect(await readdir(path.join(app, 'node_modules/@types')).catch(() => [])).to.not.include('ssh2')
    // No declaration reachable from the package's types names ssh2 (its types are not installed
    // for users): followed from dist/index.d.ts through relative imports.
    const dist = path.join(pkgDir, 'dist')
    const naming: string[] = []
    const seen = new Set<string>()
    const queue = ['index.d.ts']
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      if (seen.has(f)) continue
      seen.add(f)
      const text = await readFile(path.join(dist, f), 'utf8')
      if (/from 'ssh2'|import\('ssh2'\)/.test(text)) naming.push(f)
      for (const m of text.matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)\.js'/g))
        queue.push(path.join(path.dirname(f), `${m[1]}.d.ts`))
    }
    expect(seen.size).to.be.greaterThan(20)
    expect(naming).to.deep.equal([])
  })

  it('the installed `wolphin` binary drives create, status and terminate', async () => {
    const bin = path.join(app, 'node_modules/.bin/wolphin')
    let r = await run(bin, ['--version'], {cwd: app, env})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^wolphin\/0\.\d+\.\d+ /)
    r = await run(bin, ['create', '--json'], {cwd: app, env})
    expect(r.code, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout).launched).to.have.length(2)
    r = await run(bin, ['status', '--json'], {cwd: app, env})
    expect(r.code, r.stderr).to.equal(0)
    const s = JSON.parse(r.stdout)
    expect(s.project).to.equal('packed')
    expect(s.instances.map((i: {name: string; state: string}) => [i.name, i.state])).to.deep.equal([
      ['wolphin.packed.1', 'running'],
      ['wolphin.packed.2', 'running'],
    ])
    r = await run(bin, ['terminate', '--yes', '--json'], {cwd: app, env})
    expect(r.code, r.stderr).to.equal(0)
    expect(await live()).to.deep.equal([])
  })

  it("`import('wolphin')` drives the same cycle from code, with events and typed errors", async () => {
    await writeFile(
      path.join(app, 'lib.mjs'),
      `import {Project, loadConfig, ConfigError, AllOfSelector, SlotSelector, StateSelector} from 'wolphin'
const events = []
const project = await Project.fromConfig({onEvent: (e) => events.push(e.type)})
const created = await project.create()
const status = await project.status()
const one = await project.stop(new AllOfSelector([new SlotSelector([2]), new StateSelector(['running'])]))
const terminated = await project.terminate(null)
let error = null
try { await loadConfig({inline: {project: 'bad.name'}}) } catch (e) { error = {isConfigError: e instanceof ConfigError, code: e.code, exitCode: e.exitCode} }
const {sources} = await loadConfig()
console.log(JSON.stringify({created: created.launched.length, status, stopped: one.instances.map((i) => [i.slot, i.state]), terminated: terminated.instances.filter((i) => created.launched.includes(i.id)).map((i) => i.state), events: [...new Set(events)], error, sources: sources.ami}))
`,
    )
    const r = await run(process.execPath, ['lib.mjs'], {cwd: app, env})
    expect(r.code, r.stderr).to.equal(0)
    const out = JSON.parse(r.stdout)
    expect(out.created).to.equal(2)
    // The binary's test left its terminated instances behind; EC2 still reports them.
    expect(
      out.status.instances
        .filter((i: {state: string}) => i.state !== 'terminated')
        .map((i: {slot: number; state: string}) => [i.slot, i.state]),
    ).to.deep.equal([
      [1, 'running'],
      [2, 'running'],
    ])
    expect(out.stopped).to.deep.equal([[2, 'stopped']])
    expect(out.terminated).to.deep.equal(['terminated', 'terminated'])
    expect(out.events).to.include.members(['observed', 'plan'])
    expect(out.error).to.deep.equal({isConfigError: true, code: 'CONFIG_INVALID', exitCode: 2})
    expect(out.sources).to.equal('wolphin.yaml')
    expect(await live()).to.deep.equal([])
  })

  it('the type declarations resolve through package.json exports; the example selectors type-check', async () => {
    await writeFile(
      path.join(app, 'check.ts'),
      `import {Project, type StatusResult, type ValidationResult, ExitCode} from 'wolphin'
const p: Promise<Project> = Project.fromConfig({cwd: '.'})
const s: StatusResult | null = null
const v: ValidationResult | null = null
const code: number = ExitCode.Usage
// @ts-expect-error: status() takes a Selector or null, not a number
void p.then((x) => x.status(42))
export {s, v, code}
`,
    )
    // The example selectors type-check against the installed package too (one tsc run for all).
    await copyFile(path.join(ROOT, 'examples/selectors/odd-slots.ts'), path.join(app, 'odd-slots.ts'))
    await copyFile(path.join(ROOT, 'examples/selectors/odd-slots.js'), path.join(app, 'odd-slots.js'))
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc')
    const r = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--typeRoots',
        path.join(ROOT, 'node_modules/@types'),
        '--types',
        'node',
        '--allowJs',
        '--checkJs',
        'check.ts',
        'odd-slots.ts',
        'odd-slots.js',
      ],
      {cwd: app},
    )
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    // And without --skipLibCheck: the published declarations compile with only what installs
    // (no @types/ssh2), the --json document types included.
    await writeFile(
      path.join(app, 'strict.ts'),
      `import {type StatusDocument, type RunningHost, SCHEMA_VERSION} from 'wolphin'
const d: StatusDocument | null = null
const v: 1 = SCHEMA_VERSION
export const end = (h: RunningHost) => h.connect().then((c) => c.end())
export {d, v}
`,
    )
    const strict = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        // Node's own types, as any TypeScript project on Node has them; nothing of ssh2's.
        '--typeRoots',
        path.join(ROOT, 'node_modules/@types'),
        '--types',
        'node',
        'strict.ts',
      ],
      {cwd: app},
    )
    expect(strict.code, strict.stdout + strict.stderr).to.equal(0)
  })
})
