import {chmod, mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {loadConfig} from '../../src/config/load.js'
import {looksLegacy, parseLegacy} from '../../src/config/legacy.js'
import {parseDuration, formatDuration} from '../../src/config/duration.js'
import {ConfigError} from '../../src/errors.js'

async function tmp(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-cfg-'))
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), {recursive: true})
    await writeFile(path.join(dir, name), text)
  }
  return dir
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError)
    const err = e as ConfigError
    expect(err.exitCode).to.equal(2)
    expect(err.message).not.to.contain('\n')
    return err
  }
  throw new Error('expected a ConfigError')
}

describe('config', () => {
  const base = 'project: p\nami: ami-12345678\n'

  it('accepts count as a number and as {min, max}, with defaults for the rest', async () => {
    let dir = await tmp({'wolphin.yaml': base + 'count: 3\n'})
    const loaded = await loadConfig({cwd: dir})
    let config = loaded.config
    const sources = loaded.sources
    expect(config.count).to.deep.equal({min: 3, max: 3})
    expect(config.instanceType).to.equal('t3.micro')
    expect(config.imdsv2).to.equal(true)
    expect(sources.count).to.equal('wolphin.yaml')
    expect(sources.instanceType).to.equal('default')
    dir = await tmp({'wolphin.yaml': base + 'count: {min: 1, max: 3}\n'})
    ;({config} = await loadConfig({cwd: dir}))
    expect(config.count).to.deep.equal({min: 1, max: 3})
  })

  const bad: Array<[string, string, RegExp]> = [
    [
      'min > max',
      base + 'count: {min: 4, max: 2}\n',
      /wolphin\.yaml: field "count": min \(4\) is greater than max \(2\)/,
    ],
    ['min < 1', base + 'count: {min: 0, max: 2}\n', /wolphin\.yaml: field "count\.min": expected min >= 1/],
    ['count 0', base + 'count: 0\n', /wolphin\.yaml: field "count"/],
    ['unknown field', base + 'instance_typo: t3.micro\n', /wolphin\.yaml: unknown field "instance_typo"/],
    ['unknown nested field', base + 'ssh: {prot: 22}\n', /wolphin\.yaml: unknown field "prot" in "ssh"/],
    [
      'wrong type',
      base + 'count: three\n',
      /wolphin\.yaml: field "count": expected a whole number >= 1 or \{min, max\}/,
    ],
    ['wrong type for a string', base + 'email: 5\n', /wolphin\.yaml: field "email": .*expected string/i],
    ['bad AMI id', 'project: p\nami: ubuntu\n', /field "ami": expected an AMI id/],
    ['bad region', base + 'region: Frankfurt\n', /field "region": expected a region like eu-west-1/],
    [
      'reserved tag',
      base + 'tags: {Name: x}\n',
      /field "tags": ProjectName, Name, OwnerEmail and wolphin:\* tags are set by wolphin/,
    ],
    ['malformed YAML', 'project: [p\n', /wolphin\.yaml: malformed YAML/],
    ['not a mapping', '- a\n- b\n', /wolphin\.yaml: expected a mapping of fields/],
    ['missing project', 'ami: ami-12345678\n', /wolphin\.yaml: field "project" is required/],
    ['bad lease', base + 'lease: soon\n', /field "lease": expected a duration/],
    ['bad lease type', base + 'lease: [8h]\n', /field "lease": expected a duration like 8h, or \{duration/],
    [
      'bad lease action',
      base + 'lease: {duration: 8h, action: kill}\n',
      /field "lease.action": .*"stop"\|"terminate"/,
    ],
    ['lease object without duration', base + 'lease: {action: stop}\n', /field "lease.duration": /],
    [
      'huge lease grace',
      base + 'lease: {duration: 8h, grace: 1e30}\n',
      /field "lease.grace": expected a grace of at most 366d/,
    ],
    [
      'bad AMI alias',
      'project: p\nami: "resolve:ssm:/a b"\n',
      /field "ami": expected an AMI id .*or resolve:ssm:/,
    ],
    [
      'AMI alias of another service',
      'project: p\nami: "resolve:secretsmanager:x"\n',
      /field "ami": expected an AMI id/,
    ],
    ['disk without size or type', base + 'disk: {}\n', /field "disk": expected size \(GiB\) and\/or type/],
    [
      'disk of an unknown type',
      base + 'disk: {size: 50, type: ssd}\n',
      /field "disk.type": expected one of gp3, gp2/,
    ],
    [
      'disk too small for its type',
      base + 'disk: {size: 50, type: st1}\n',
      /field "disk": size out of range .*st1 125\.\.16384/,
    ],
    [
      'disk of a fractional size',
      base + 'disk: {size: 1.5}\n',
      /field "disk.size": expected a whole number of GiB/,
    ],
    ['disk too large', base + 'disk: {size: 20000}\n', /field "disk": size out of range/],
    [
      'bad ssh address',
      base + 'ssh: {address: eth0}\n',
      /field "ssh\.address": expected public-ip, private-ip, public-dns, private-dns or tag:KEY/,
    ],
  ]
  for (const [name, text, re] of bad) {
    it(`rejects ${name} with a one-line message naming file and field`, async () => {
      const dir = await tmp({'wolphin.yaml': text})
      const err = await configError(loadConfig({cwd: dir}))
      expect(err.message).to.match(re)
    })
  }

  it('reads lease as a duration or {duration, action, grace, enforce}, ami aliases and disk', async () => {
    const plain = await tmp({'wolphin.yaml': 'project: p\nlease: 8h\n'})
    const a = (await loadConfig({cwd: plain})).config
    expect(a.lease).to.equal(8 * 3_600_000)
    expect(a.leasePolicy).to.deep.equal({action: 'stop', graceMs: 0, enforce: 'watchdog'})
    const full = await tmp({
      'wolphin.yaml':
        'project: p\nami: resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id\n' +
        'lease: {duration: 2h, action: terminate, grace: 10m, enforce: reaper}\ndisk: {size: 50, type: gp3}\n',
    })
    const b = (await loadConfig({cwd: full, requireAmi: true})).config
    expect(b.lease).to.equal(2 * 3_600_000)
    expect(b.leasePolicy).to.deep.equal({action: 'terminate', graceMs: 600_000, enforce: 'reaper'})
    expect(b.ami).to.match(/^resolve:ssm:\/aws\/service\/canonical/)
    expect(b.disk).to.deep.equal({size: 50, type: 'gp3'})
    for (const ok of [
      'resolve:ssm:my-ami:3',
      'resolve:ssm:/golden/web:prod',
      'resolve:ssm:arn:aws:ssm:us-east-1:123456789012:parameter/golden/ami',
    ])
      await loadConfig({cwd: await tmp({'wolphin.yaml': `project: p\nami: "${ok}"\n`})})
  })

  it('with the lease watchdog, a tag key EC2 refuses in metadata fails to launch, naming the file and key', async () => {
    const dir = await tmp({
      'wolphin.yaml': 'project: p\nami: ami-12345678\nlease: 8h\ntags: {"team/name": x}\n',
    })
    // Nothing is launched by status: the config is fine there.
    await loadConfig({cwd: dir})
    const err = await configError(loadConfig({cwd: dir, requireAmi: true}))
    expect(err.message).to.match(
      /^wolphin\.yaml: field "tags": key "team\/name" cannot be used with the lease watchdog/,
    )
    const reaper = await tmp({
      'wolphin.yaml':
        'project: p\nami: ami-12345678\nlease: {duration: 8h, enforce: reaper}\ntags: {"team/name": x}\n',
    })
    await loadConfig({cwd: reaper, requireAmi: true})
  })

  it('requires ami only to launch', async () => {
    const dir = await tmp({'wolphin.yaml': 'project: p\n'})
    await loadConfig({cwd: dir})
    const err = await configError(loadConfig({cwd: dir, requireAmi: true}))
    expect(err.message).to.match(/field "ami" is required to launch instances/)
  })

  it('names an unreadable or missing file', async () => {
    const dir = await tmp({'sub/x.txt': ''})
    let err = await configError(loadConfig({cwd: dir, files: ['nope.yaml']}))
    expect(err.message).to.match(/nope\.yaml: cannot read config file \(no such file\)/)
    err = await configError(loadConfig({cwd: dir, files: ['sub']}))
    expect(err.message).to.match(/sub: cannot read config file \(is a directory\)/)
  })

  it('says where it looked when nothing is found', async () => {
    const dir = await tmp({})
    const err = await configError(loadConfig({cwd: dir}))
    expect(err.message).to.match(
      /no config found in .* \(looked for wolphin\.yaml, \.wolphinrc\*, package\.json#wolphin\)/,
    )
  })

  it('layers -c files, later ones overriding, and flags over files', async () => {
    const dir = await tmp({
      'a.yaml':
        base + 'count: 2\ntags: {team: a, env: dev}\nssh: {user: x}\n'.replace('ssh: {user: x}\n', ''),
      'b.yaml': 'count: {min: 1, max: 5}\ntags: {env: ci}\ninstanceType: c5.large\n',
    })
    const {config, sources} = await loadConfig({cwd: dir, files: ['a.yaml', 'b.yaml'], region: 'eu-west-1'})
    expect(config.count).to.deep.equal({min: 1, max: 5})
    expect(config.tags).to.deep.equal({team: 'a', env: 'ci'})
    expect(config.instanceType).to.equal('c5.large')
    expect(config.ami).to.equal('ami-12345678')
    expect(config.region).to.equal('eu-west-1')
    expect(sources).to.include({count: 'b.yaml', ami: 'a.yaml', region: 'flag'})
  })

  it('discovers .wolphinrc.json and package.json#wolphin', async () => {
    let dir = await tmp({'.wolphinrc.json': JSON.stringify({project: 'rc', count: 2})})
    expect((await loadConfig({cwd: dir})).config.project).to.equal('rc')
    dir = await tmp({'package.json': JSON.stringify({name: 'x', wolphin: {project: 'pkg'}})})
    expect((await loadConfig({cwd: dir})).config.project).to.equal('pkg')
  })

  it('reads the original library key = value format', async () => {
    const legacy = [
      '# the original wolphin config',
      'project = loadtest',
      'ami_id = ami-0123abcd',
      'instance_type = m5.large',
      'min_instance_count = 2',
      'max_instance_count = 4',
      'amazon_keypair_name = mykey',
      'pem_file = mykey.pem',
      'pem_path = /home/me/.ssh',
      'instance_securitygroup = sg-1',
      'instance_availabilityzone = us-east-1b',
      'user = ubuntu',
      'email = me@example.com',
      'region = us-east-1',
      'max_wait_tries = 12',
      'max_wait_duration = 5',
    ].join('\n')
    expect(looksLegacy(legacy)).to.equal(true)
    const dir = await tmp({'wolphin.conf': legacy})
    const {config} = await loadConfig({cwd: dir, files: ['wolphin.conf']})
    expect(config).to.deep.include({
      project: 'loadtest',
      ami: 'ami-0123abcd',
      instanceType: 'm5.large',
      count: {min: 2, max: 4},
      keyName: 'mykey',
      securityGroups: ['sg-1'],
      availabilityZones: ['us-east-1b'],
      user: 'ubuntu',
      email: 'me@example.com',
      region: 'us-east-1',
      wait: {interval: 5, timeout: 60},
    })
    expect(config.ssh?.key).to.equal('/home/me/.ssh/mykey.pem')
    expect(() => parseLegacy('colour = blue', 'old.conf')).to.throw(
      ConfigError,
      /old\.conf: unknown field "colour"/,
    )
    expect(() => parseLegacy('min_instance_count = two', 'old.conf')).to.throw(
      /field "min_instance_count": expected a whole number/,
    )
  })

  it('refuses a file it cannot read for permissions (when not root)', async function () {
    if (process.getuid?.() === 0) this.skip()
    const dir = await tmp({'wolphin.yaml': base})
    await chmod(path.join(dir, 'wolphin.yaml'), 0o000)
    const err = await configError(loadConfig({cwd: dir, files: ['wolphin.yaml']}))
    expect(err.message).to.match(/permission denied/)
  })
})

describe('durations', () => {
  const table: Array<[string | number, number | null]> = [
    ['30s', 30_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['3d', 259_200_000],
    ['1h30m', 5_400_000],
    ['90', 90_000],
    [5, 5000],
    ['', null],
    ['soon', null],
    ['5x', null],
    ['1h 30m', null],
    [-1, null],
  ]
  for (const [text, ms] of table)
    it(`parses ${JSON.stringify(text)} as ${ms}`, () => expect(parseDuration(text)).to.equal(ms))
  it('formats durations', () => {
    expect(formatDuration(5_400_000)).to.equal('1h30m')
    expect(formatDuration(-90_000)).to.equal('-1m30s')
  })
})
