import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {
  CreateKeyPairCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

describe('integration: init, validate, config, create from an empty directory', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let env: Record<string, string>
  const live = async (project: string) =>
    (await describeAll(testClient(moto().endpoint))).filter(
      (i) => i.tags.ProjectName === `wolphin.${project}` && i.state !== 'terminated',
    )

  before(() => {
    env = motoEnv(moto().endpoint)
  })

  it('init -> validate -> create -> status -> terminate works from an empty directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onboard-'))
    const cli = (...args: string[]) => runCli(args, {cwd: dir, env})
    let r = await cli(
      'init',
      '--project',
      'onboard',
      '--ami',
      TEST_AMI,
      '--count',
      '2',
      '--region',
      'us-east-1',
    )
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/wrote wolphin\.yaml for project onboard/)
    const text = await readFile(path.join(dir, 'wolphin.yaml'), 'utf8')
    expect(text).to.match(/^# /m)
    // A short wait keeps the test fast; appended the way a user would edit the file.
    await writeFile(path.join(dir, 'wolphin.yaml'), `${text}\nwait: {interval: 0.2, timeout: 30}\n`)

    r = await cli('validate')
    expect(r.code, r.stderr + r.stdout).to.equal(0)
    expect(r.stdout).to.match(/ok +ami: ami-12c6146b exists and is available/)
    expect(r.stdout).to.match(/ok +run instances: RunInstances with DryRun=true is permitted/)
    expect(r.stdout).to.match(/no problems found/)
    // The DryRun really was a dry run.
    expect(await live('onboard')).to.deep.equal([])

    r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().launched).to.have.length(2)
    r = await cli('status', '--json')
    expect(r.json().instances.map((i: {slot: number; state: string}) => [i.slot, i.state])).to.deep.equal([
      [1, 'running'],
      [2, 'running'],
    ])
    r = await cli('terminate', '--yes', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(await live('onboard')).to.deep.equal([])
  })

  it('init refuses to overwrite an existing file without --force (exit 2), and rejects bad flags', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onboard-'))
    await writeFile(path.join(dir, 'wolphin.yaml'), 'project: mine\n')
    let r = await runCli(['init', '--project', 'other'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/wolphin\.yaml already exists; pass --force to overwrite it/)
    expect(await readFile(path.join(dir, 'wolphin.yaml'), 'utf8')).to.equal('project: mine\n')
    r = await runCli(['init', '--ami', 'not-an-ami', '--force'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--ami: "not-an-ami" is invalid: expected an AMI id/)
    r = await runCli(['init', '--count', '5-2', '--force'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--count: "5-2" is not a count/)
    r = await runCli(['init', '--project', 'other', '--force', '-c', 'ci.yaml', '--json'], {cwd: dir, env})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json()).to.include({file: path.join(dir, 'ci.yaml'), project: 'other', asked: false})
  })

  it('init asks on a terminal for what the flags leave out', async function () {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onboard-'))
    // util-linux `script` gives the CLI a pseudo-terminal; answers go in line by line.
    const answers = ['eu-west-1', 'bad-ami', TEST_AMI, '', 'perf', '1-3', 'ubuntu', ''].join('\n') + '\n'
    const {spawnSync} = await import('node:child_process')
    const which = spawnSync('sh', ['-c', 'command -v script'])
    if (which.status !== 0) {
      if (process.env.CI) throw new Error('util-linux script is required under CI')
      this.skip()
    }
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.resolve('bin/run.js'))} init --project asked`
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: dir,
      input: answers,
      env: {...process.env, ...env, NODE_NO_WARNINGS: '1'},
      timeout: 30_000,
    })
    expect(r.status, String(r.stdout)).to.equal(0)
    expect(String(r.stdout)).to.match(/AMI id \(ami-\.\.\.\)/)
    expect(String(r.stdout)).to.match(/expected an AMI id/)
    const {parseConfigText} = await import('../../src/config/load.js')
    expect(
      await parseConfigText(await readFile(path.join(dir, 'wolphin.yaml'), 'utf8'), 'w.yaml'),
    ).to.deep.equal({
      project: 'asked',
      region: 'eu-west-1',
      ami: TEST_AMI,
      instanceType: 't3.micro',
      keyName: 'perf',
      count: {min: 1, max: 3},
      user: 'ubuntu',
      lease: '8h',
    })
  })

  it('validate reports each problem on its own line and exits 2; existing resources pass', async () => {
    const client = testClient(moto().endpoint)
    await client.send(new CreateKeyPairCommand({KeyName: 'perf'}))
    const sg = (await client.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups![0].GroupId!
    const subnet = (await client.send(new DescribeSubnetsCommand({}))).Subnets![0]
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onboard-'))
    await writeFile(
      path.join(dir, 'good.yaml'),
      `project: good\nami: ${TEST_AMI}\nkeyName: perf\nsecurityGroups: [${sg}]\nsubnet: ${subnet.SubnetId}\navailabilityZone: ${subnet.AvailabilityZone}\n`,
    )
    let r = await runCli(['validate', '-c', 'good.yaml', '--json'], {cwd: dir, env})
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(
      r.json().checks.map((c: {check: string; status: string}) => `${c.check}:${c.status}`),
    ).to.deep.equal([
      'ami:ok',
      'keyPair:ok',
      'securityGroups:ok',
      'subnet:ok',
      'runInstances:ok',
      'instanceProfile:skipped',
    ])
    await writeFile(
      path.join(dir, 'bad.yaml'),
      'project: bad\nami: ami-00000000\nkeyName: nope\nsecurityGroups: [sg-0123456789abcdef0]\nsubnet: subnet-0123\niamInstanceProfile: nope\n',
    )
    r = await runCli(['validate', '-c', 'bad.yaml'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/validation found 5 problems/)
    const problems = r.stdout
      .split('\n')
      .slice(r.stdout.split('\n').findIndex((l) => /problems:$/.test(l)) + 1)
    expect(problems.filter(Boolean).map((l) => l.trim())).to.deep.equal([
      'ami ami-00000000: does not exist in us-east-1 (or is not shared with this account)',
      'key pair "nope": does not exist in us-east-1',
      'security group sg-0123456789abcdef0: does not exist in us-east-1',
      'subnet subnet-0123: does not exist in us-east-1',
      'instance profile "nope": NoSuchEntity: Instance profile nope not found',
    ])
    r = await runCli(['create', '-c', 'bad.yaml', '--dry-run', '--json'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    const body = r.json()
    expect(body.dryRun).to.equal(true)
    expect(body.plan.actions[0].kind).to.equal('launch')
    expect(body.validation.problems).to.have.length(5)
    expect(await live('bad')).to.deep.equal([])
  })

  it('config prints each field with the file, flag, env or default it came from', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onboard-'))
    await writeFile(
      path.join(dir, 'base.yaml'),
      `project: layered\nami: ${TEST_AMI}\ncount: 2\nuserData: secret-token\n`,
    )
    await writeFile(path.join(dir, 'ci.yaml'), 'count: {min: 1, max: 3}\ninstanceType: t3.small\n')
    const r = await runCli(['config', '-c', 'base.yaml', '-c', 'ci.yaml', '--project', 'flagged', '--json'], {
      cwd: dir,
      env,
    })
    expect(r.code, r.stderr).to.equal(0)
    const {config, sources} = r.json()
    expect(config).to.include({project: 'flagged', ami: TEST_AMI, instanceType: 't3.small', user: 'ec2-user'})
    expect(config.count).to.deep.equal({min: 1, max: 3})
    expect(sources).to.include({
      project: 'flag',
      ami: 'base.yaml',
      count: 'ci.yaml',
      instanceType: 'ci.yaml',
      user: 'default',
      keyName: 'unset',
      region: 'env AWS_REGION',
      userData: 'base.yaml',
    })
    expect(r.stdout).to.not.include('secret-token')
    const t = await runCli(['config', '-c', 'base.yaml', '-c', 'ci.yaml'], {cwd: dir, env})
    expect(t.code, t.stderr).to.equal(0)
    expect(t.stdout).to.match(/^instanceType +t3\.small +ci\.yaml$/m)
    expect(t.stdout).to.match(/^userData +\(12 bytes, not shown\) +base\.yaml$/m)
    expect(t.stdout).to.not.include('secret-token')
  })
})
