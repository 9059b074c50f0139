/**
 * The --json contract: every command's real output, from the built CLI against moto, validates
 * against its committed schema in schemas/ and carries schemaVersion; the committed schemas are
 * what scripts/schemas.mjs generates from src/json.ts.
 */
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli, runProcess} from '../support/cli.js'
import {TEST_AMI} from '../support/ec2.js'
import {motoEnv, ROOT, useMoto} from '../support/moto.js'
import {expectMatchesSchema, schemaFor} from '../support/schemas.js'

describe('integration: every --json document matches its schema', function () {
  this.timeout(240_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>
  const project = 'jsonschema'

  /** Runs `args` with --json, checks the exit code, validates against `schema`, returns the document. */
  const doc = async (schema: string, args: string[], code = 0) => {
    const r = await runCli([...args, '--json'], {cwd: dir, env})
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(code)
    const j = r.json<Record<string, unknown>>()
    expect(j.schemaVersion, args.join(' ')).to.equal(1)
    expect(Object.keys(j)[0], 'schemaVersion comes first').to.equal('schemaVersion')
    expectMatchesSchema(schema, j, `${args.join(' ')} --json`)
    return j
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-json-'))
    env = motoEnv(moto().endpoint)
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: 3\nlease: 2h\nwait: {interval: 0.2, timeout: 30}\n`,
    )
  })
  after(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('config, validate, init', async () => {
    await doc('config', ['config'])
    await doc('validate', ['validate'])
    const initDir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-json-init-'))
    const r = await runCli(
      ['init', '--project', 'fresh', '--ami', TEST_AMI, '--region', 'us-east-1', '--yes', '--json'],
      {cwd: initDir, env},
    )
    expect(r.code, r.stderr).to.equal(0)
    expectMatchesSchema('init', r.json(), 'init --json')
    await rm(initDir, {recursive: true, force: true})
  })

  it('create (dry run and real), status with the region, status --watch', async () => {
    const dry = await doc('operation', ['create', '--dry-run'])
    expect(dry).to.have.property('validation')
    const created = await doc('operation', ['create'])
    expect(created.launched).to.have.length(3)
    const status = await doc('status', ['status'])
    expect(status.region).to.equal('us-east-1')
    expect((status.instances as unknown[]).length).to.equal(3)
    // The schema is strict: a missing key, a retyped one or an unknown one fails it.
    const noRegion = {...status}
    delete noRegion.region
    expect(schemaFor('status')(noRegion)).to.equal(false)
    const instances = status.instances as Array<Record<string, unknown>>
    expect(schemaFor('status')({...status, instances: [{...instances[0], slot: '1'}]})).to.equal(false)
    expect(schemaFor('status')({...status, instances: [{...instances[0], extra: 1}]})).to.equal(false)
    await doc('watch', ['status', '--watch', '--until-stable', '--interval', '0.2', '--timeout', '20s'])
  })

  it('stop, start, reboot, extend, revert', async () => {
    await doc('operation', ['stop', '-i', '1'])
    await doc('operation', ['start', '-i', '1'])
    await doc('operation', ['reboot', '-i', '2'])
    await doc('extend', ['extend', '-i', '1', '1h'])
    await doc('operation', ['revert', '-i', '3', '--strategy', 'batch'])
  })

  it('ls and reap --dry-run', async () => {
    const ls = await doc('ls', ['ls', '--region', 'us-east-1'])
    expect((ls.projects as Array<{project: string}>).map((p) => p.project)).to.include(project)
    await doc('reap', ['reap', '--region', 'us-east-1', '--dry-run'])
  })

  it('errors: usage, bad config, unknown command, refused shrink', async () => {
    const refused = await doc('error', ['terminate'], 2)
    expect(refused.error).to.include({code: 'USAGE', exitCode: 2})
    await writeFile(path.join(dir, 'bad.yaml'), 'project: [x\n')
    expect((await doc('error', ['status', '-c', 'bad.yaml'], 2)).error).to.include({code: 'CONFIG_INVALID'})
    expect((await doc('error', ['statu'], 2)).error).to.include({code: 'USAGE'})
    await writeFile(path.join(dir, 'one.yaml'), 'count: 1\n')
    await doc('error', ['create', '-c', 'wolphin.yaml', '-c', 'one.yaml'], 2)
  })

  it('ssh-config (hostKeys off: nothing is dialled)', async () => {
    await writeFile(path.join(dir, 'keys-off.yaml'), 'ssh: {hostKeys: "off"}\n')
    const known = path.join(dir, 'known_hosts')
    const r = await doc('ssh-config', [
      'ssh-config',
      '-c',
      'wolphin.yaml',
      '-c',
      'keys-off.yaml',
      '--known-hosts',
      known,
    ])
    expect((r.hosts as unknown[]).length).to.equal(3)
    expect(schemaFor('ssh-config')({...r, hosts: 'x'})).to.equal(false)
  })

  it('terminate --yes', async () => {
    const t = await doc('operation', ['terminate', '--yes'])
    expect((t.instances as Array<{state: string}>).every((i) => i.state === 'terminated')).to.equal(true)
  })

  it('the committed schemas are what scripts/schemas.mjs generates from src/json.ts', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'wolphin-schemas-'))
    const r = await runProcess(process.execPath, [path.join(ROOT, 'scripts/schemas.mjs'), out], {
      cwd: ROOT,
      timeoutMs: 120_000,
    })
    expect(r.code, r.stderr).to.equal(0)
    const files = (await readdir(out)).sort()
    expect(files).to.deep.equal((await readdir(path.join(ROOT, 'schemas'))).sort())
    for (const f of files)
      expect(
        await readFile(path.join(out, f), 'utf8'),
        `schemas/${f} is stale: run npm run schemas`,
      ).to.equal(await readFile(path.join(ROOT, 'schemas', f), 'utf8'))
    await rm(out, {recursive: true, force: true})
  })
})
