/**
 * Every file in examples/ run against moto, with the test's overrides layered on top the way a
 * user layers a second config file: moto's AMI, short waits, and SSH to loopback sshd test hosts
 * (the instances' address tag holds a 127.0.0.x:port; nothing dials an address moto invents).
 */
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {CreateKeyPairCommand, DescribeInstanceAttributeCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'
import {parse} from 'yaml'

import {runCli, runProcess} from '../support/cli.js'
import {describeAll, hasProjectName, type Seen, TEST_AMI, testClient} from '../support/ec2.js'
import {cloudInitParts} from '../support/cloud-init.js'
import {motoEnv, ROOT, useMoto} from '../support/moto.js'
import {useSshLab} from '../support/sshd.js'

const ADDR_TAG = 'wolphin.test.addr'
const EX = path.join(ROOT, 'examples')

/** Example scripts run a whole fleet's life: a longer limit than a single command's. */
const run = (cmd: string, args: string[], opts: {cwd: string; env: Record<string, string>}) =>
  runProcess(cmd, args, {...opts, timeoutMs: 90_000})

describe('integration: examples/ against moto', function () {
  this.timeout(120_000)
  const moto = useMoto()
  const lab = useSshLab({hosts: 1})
  let dir: string
  let env: Record<string, string>
  let overlay: string
  let target: http.Server
  let targetUrl: string
  let hits = 0

  const live = async (project: string): Promise<Seen[]> =>
    (await describeAll(testClient(moto().endpoint)))
      .filter((i) => i.tags.ProjectName === `wolphin.${project}` && i.state !== 'terminated')
      .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0))

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-examples-'))
    env = motoEnv(moto().endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: ''})
    overlay = path.join(dir, 'test-overlay.yaml')
    await writeFile(
      overlay,
      [
        `ami: ${TEST_AMI}`,
        'region: us-east-1',
        'count: {min: 1, max: 2}',
        `user: ${lab().user}`,
        'ssh:',
        `  key: ${lab().key}`,
        `  address: tag:${ADDR_TAG}`,
        `  knownHostsFile: ${path.join(dir, 'known_hosts')}`,
        '  connectTimeout: 3',
        'wait: {interval: 0.2, timeout: 30}',
        // Every instance is born with its loopback address (config tags go into RunInstances), so
        // create's wait for SSH and put/exec reach the test host and nothing else.
        'tags:',
        `  ${ADDR_TAG}: "${lab().hosts[0].tag}"`,
        '',
      ].join('\n'),
    )
    // loadgen.yaml names a key pair; like a user, the account has it.
    await testClient(moto().endpoint).send(new CreateKeyPairCommand({KeyName: 'loadgen'}))
    // The system under load: a loopback HTTP server that counts requests.
    target = http.createServer((_req, res) => {
      hits++
      res.end('ok')
    })
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`
  })

  after(async () => {
    await new Promise((r) => target?.close(r))
  })

  it('minimal.yaml: validate, create, status and terminate', async () => {
    const cli = (...args: string[]) =>
      runCli([...args, '-c', path.join(EX, 'minimal.yaml'), '-c', overlay], {cwd: dir, env})
    let r = await cli('validate')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const minimal = await live('minimal')
    expect(minimal.map((i) => i.slot)).to.deep.equal([1, 2])
    for (const i of minimal) expect(hasProjectName(i, 'minimal'), `Name ${i.tags.Name}`).to.equal(true)
    r = await cli('terminate', '--yes')
    expect(r.code, r.stderr).to.equal(0)
    expect(await live('minimal')).to.deep.equal([])
  })

  it('loadgen.yaml: launches with its user data, tags, lease and instance type', async () => {
    const cli = (...args: string[]) =>
      runCli([...args, '-c', path.join(EX, 'loadgen.yaml'), '-c', overlay, '-p', 'loadgen-ex'], {
        cwd: dir,
        env,
      })
    let r = await cli('validate', '--json')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(r.json().checks.find((c: {check: string}) => c.check === 'keyPair').status).to.equal('ok')
    const started = Date.now()
    r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json().instances.map((i: {instanceType: string}) => i.instanceType)).to.deep.equal([
      'c6i.large',
      'c6i.large',
    ])
    const instances = await live('loadgen-ex')
    expect(instances).to.have.length(2)
    const {userData} = parse(await readFile(path.join(EX, 'loadgen.yaml'), 'utf8')) as {userData: string}
    const client = testClient(moto().endpoint)
    for (const i of instances) {
      expect(i.tags).to.include({team: 'perf', purpose: 'loadgen', OwnerEmail: 'perf-team@example.com'})
      const lease = Date.parse(i.tags['wolphin:expires-at']) - started
      expect(lease).to.be.within(4 * 3600_000 - 60_000, 4 * 3600_000 + 60_000)
      const attr = await client.send(
        new DescribeInstanceAttributeCommand({InstanceId: i.id, Attribute: 'userData'}),
      )
      // With its lease, the watchdog comes first; the example's own script follows byte for byte.
      const parts = cloudInitParts(Buffer.from(attr.UserData!.Value!, 'base64').toString())
      expect(parts.map((p) => p.ctype)).to.deep.equal(['text/x-shellscript', 'text/plain'])
      expect(parts[1].payload.toString()).to.equal(userData)
    }
    // The user data is a secret: `config` shows its size only.
    r = await cli('config')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^userData +\(\d+ bytes, not shown\) +.*loadgen\.yaml$/m)
    expect(r.stdout).to.not.include('sysctl')
    r = await cli('terminate', '--yes')
    expect(r.code, r.stderr).to.equal(0)
    expect(await live('loadgen-ex')).to.deep.equal([])
  })

  for (const file of ['odd-slots.js', 'odd-slots.ts']) {
    it(`selectors/${file} narrows status and stop to the odd slots`, async () => {
      const project = `odd-${file.split('.').pop()}`
      const cli = (...args: string[]) =>
        runCli([...args, '-c', path.join(EX, 'minimal.yaml'), '-c', overlay, '-p', project], {cwd: dir, env})
      await writeFile(path.join(dir, 'four.yaml'), 'count: 4\n')
      let r = await runCli(
        [
          'create',
          '-c',
          path.join(EX, 'minimal.yaml'),
          '-c',
          overlay,
          '-c',
          path.join(dir, 'four.yaml'),
          '-p',
          project,
        ],
        {cwd: dir, env},
      )
      expect(r.code, r.stderr).to.equal(0)
      const selector = path.join(EX, 'selectors', file)
      r = await cli('status', '--selector', selector, '--json')
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json().instances.map((i: {slot: number}) => i.slot)).to.deep.equal([1, 3])
      r = await cli('stop', '--selector', selector, '--json')
      expect(r.code, r.stderr).to.equal(0)
      expect((await live(project)).map((i) => [String(i.slot), i.state])).to.deep.equal([
        ['1', 'stopped'],
        ['2', 'running'],
        ['3', 'stopped'],
        ['4', 'running'],
      ])
      r = await cli('terminate', '--yes')
      expect(r.code, r.stderr).to.equal(0)
    })
  }

  it('ci/github-workflow.yml: every step is run-loadtest.sh; results are collected and the fleet terminated always', async () => {
    const wf = parse(await readFile(path.join(EX, 'ci/github-workflow.yml'), 'utf8')) as {
      jobs: {loadtest: {steps: Array<{name?: string; run?: string; if?: string}>}}
    }
    const steps = wf.jobs.loadtest.steps.filter((s) => s.run?.includes('run-loadtest.sh'))
    expect(steps.map((s) => [s.run, s.if ?? null])).to.deep.equal([
      ['examples/ci/run-loadtest.sh up', null],
      ['examples/ci/run-loadtest.sh run', null],
      ['examples/ci/run-loadtest.sh collect', 'always()'],
      ['examples/ci/run-loadtest.sh down', 'always()'],
    ])
    const names = wf.jobs.loadtest.steps.map((s) => s.name ?? s.run ?? '')
    expect(names.indexOf('Terminate the fleet')).to.equal(names.length - 1)
  })

  it('ci/run-loadtest.sh: up, run (put + exec on every instance), collect and down, as the workflow runs them', async () => {
    const results = path.join(dir, 'ci-results')
    const remote = path.join(dir, 'ci-remote')
    const stepEnv = {
      ...env,
      WOLPHIN: `${process.execPath} ${path.join(ROOT, 'bin/run.js')}`,
      WOLPHIN_CONFIG: `examples/loadgen.yaml ${overlay}`,
      WOLPHIN_PROJECT: 'ci-run',
      TARGET_URL: targetUrl,
      REQUESTS: '5',
      REMOTE_DIR: remote,
      RESULTS_DIR: results,
    }
    const step = (name: string) =>
      run('bash', [path.join(EX, 'ci/run-loadtest.sh'), name], {cwd: ROOT, env: stepEnv})
    let r = await step('up')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(r.stdout).to.match(/no problems found/)
    expect(await live('ci-run')).to.have.length(2)
    const before = hits
    r = await step('run')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    // Both instances ran the load test: 2 x 5 requests reached the target.
    expect(hits - before).to.equal(10)
    for (const n of [1, 2])
      expect(r.stdout).to.match(new RegExp(`wolphin\\.ci-run\\.${n} \\| requests=5 ok=5 failed=0`))
    r = await step('collect')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    const collected = JSON.parse(await readFile(path.join(results, 'results.json'), 'utf8')) as {
      results: Array<{name: string; exitCode: number; stdout: string}>
    }
    expect(collected.results.map((x) => [x.name, x.exitCode])).to.deep.equal([
      ['wolphin.ci-run.1', 0],
      ['wolphin.ci-run.2', 0],
    ])
    // Both instances are one test host here, so each sees both result files.
    for (const x of collected.results)
      expect(x.stdout.trim().split('\n')).to.satisfy(
        (ls: string[]) => ls.length >= 1 && ls.every((l) => /^requests=5 ok=5 failed=0 seconds=\d+$/.test(l)),
      )
    const fleet = JSON.parse(await readFile(path.join(results, 'fleet.json'), 'utf8'))
    expect(fleet.project).to.equal('ci-run')
    r = await step('down')
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(await live('ci-run')).to.deep.equal([])
  })

  it('library.mjs: the same from code, and it terminates the fleet even when a step fails', async () => {
    const libOverlay = path.join(dir, 'lib-overlay.yaml')
    await writeFile(libOverlay, 'count: 1\n')
    const results = path.join(dir, 'lib-results')
    const libEnv = {
      ...env,
      WOLPHIN_PROJECT: 'lib-run',
      TARGET_URL: targetUrl,
      REQUESTS: '3',
      REMOTE_DIR: path.join(dir, 'lib-remote'),
      RESULTS_DIR: results,
    }
    const before = hits
    let r = await run(
      process.execPath,
      [path.join(EX, 'library.mjs'), 'examples/loadgen.yaml', overlay, libOverlay],
      {
        cwd: ROOT,
        env: libEnv,
      },
    )
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    expect(hits - before).to.equal(3)
    expect(r.stdout).to.match(/^wolphin\.lib-run\.1: exit 0 requests=3 ok=3 failed=0/m)
    expect(r.stderr).to.match(/terminated 1 instance/)
    const collected = JSON.parse(await readFile(path.join(results, 'results.json'), 'utf8'))
    expect(collected.results).to.have.length(1)
    expect(collected.results[0].stdout).to.match(/requests=3 ok=3 failed=0/)
    expect(await live('lib-run')).to.deep.equal([])

    // A remote directory that cannot be created: put fails, the script fails and still terminates.
    r = await run(process.execPath, [path.join(EX, 'library.mjs'), 'examples/loadgen.yaml', overlay], {
      cwd: ROOT,
      env: {...libEnv, WOLPHIN_PROJECT: 'lib-fail', REMOTE_DIR: '/proc/wolphin-cannot-exist'},
    })
    expect(r.code).to.not.equal(0)
    expect(r.stderr).to.match(/error: /)
    expect(r.stderr).to.match(/terminated 2 instance/)
    expect(await live('lib-fail')).to.deep.equal([])
  })
})
