import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {
  checkAnswer,
  parseCount,
  projectFromDir,
  starterConfig,
  writeStarterConfig,
} from '../../src/config/init.js'
import {loadConfig, parseConfigText} from '../../src/config/load.js'
import {UsageError} from '../../src/errors.js'

describe('init: the starter config', () => {
  it('with every answer, parses back to exactly those fields', async () => {
    const text = starterConfig({
      project: 'loadgen',
      region: 'eu-west-1',
      ami: 'ami-0123456789abcdef0',
      instanceType: 'c5.large',
      keyName: 'perf',
      count: {min: 2, max: 4},
      user: 'ubuntu',
      sshKey: '~/.ssh/perf.pem',
      email: 'ops@example.com',
    })
    expect(text).to.match(/^# /)
    expect(await parseConfigText(text, 'x.yaml')).to.deep.equal({
      project: 'loadgen',
      email: 'ops@example.com',
      region: 'eu-west-1',
      ami: 'ami-0123456789abcdef0',
      instanceType: 'c5.large',
      keyName: 'perf',
      count: {min: 2, max: 4},
      user: 'ubuntu',
      ssh: {key: '~/.ssh/perf.pem'},
      lease: '8h',
    })
  })

  it('with only a project, the rest stays in as comments', async () => {
    const text = starterConfig({project: 'p'})
    // A new project has a lease by default: forgotten fleets stop themselves.
    expect(await parseConfigText(text, 'x.yaml')).to.deep.equal({project: 'p', lease: '8h'})
    for (const field of ['ami', 'region', 'keyName', 'count', 'securityGroups', 'subnet', 'ssh'])
      expect(text).to.match(new RegExp(`^# ${field}:`, 'm'))
  })

  it('quotes values YAML would otherwise read as something else', async () => {
    const text = starterConfig({project: 'p', keyName: 'a b', user: 'null'})
    expect(await parseConfigText(text, 'x.yaml')).to.include({keyName: 'a b', user: 'null'})
  })

  it('parses counts and rejects bad ones', () => {
    expect(parseCount('3')).to.equal(3)
    expect(parseCount('2-4')).to.deep.equal({min: 2, max: 4})
    expect(parseCount('2..4')).to.deep.equal({min: 2, max: 4})
    for (const bad of ['0', '4-2', 'x', '-1', ''])
      expect(() => parseCount(bad), bad).to.throw(
        UsageError,
        /expected a whole number like 3 or a range like 2-4/,
      )
  })

  it('checks answers against the config schema', () => {
    expect(checkAnswer('ami', 'ami-0123')).to.equal(null)
    expect(checkAnswer('ami', 'abc')).to.match(/expected an AMI id/)
    expect(checkAnswer('region', 'mars')).to.match(/expected a region like eu-west-1/)
    expect(checkAnswer('project', 'a.b')).to.match(/no dots/)
    expect(checkAnswer('count', '0')).to.match(/expected a whole number/)
  })

  it('derives a project name from the directory', () => {
    expect(projectFromDir('/tmp/My Load.Test')).to.equal('My-Load-Test')
    expect(projectFromDir('/')).to.equal('my-project')
  })

  it('writes a file that loadConfig discovers, and never overwrites without force', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-init-'))
    const file = path.join(dir, 'wolphin.yaml')
    await writeStarterConfig(file, {project: 'first', ami: 'ami-12c6146b'})
    const {config} = await loadConfig({cwd: dir})
    expect(config).to.include({project: 'first', ami: 'ami-12c6146b'})
    await writeFile(file, 'project: mine\n')
    let err: unknown
    try {
      await writeStarterConfig(file, {project: 'second'})
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(UsageError)
    expect((err as UsageError).exitCode).to.equal(2)
    expect(await readFile(file, 'utf8')).to.equal('project: mine\n')
    await writeStarterConfig(file, {project: 'second'}, {force: true})
    expect((await loadConfig({cwd: dir})).config.project).to.equal('second')
  })
})
