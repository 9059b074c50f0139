import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readFile, readdir, stat, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {CreateTagsCommand, TerminateInstancesCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {SdkEc2Port} from '../../src/aws/ec2.js'
import {loadConfig} from '../../src/config/load.js'
import {runningInstances} from '../../src/exec/run.js'
import type {ExecResult} from '../../src/exec/types.js'
import {Project} from '../../src/project/project.js'
import {SlotSelector} from '../../src/selectors/index.js'
import {runAndSignal, runCli} from '../support/cli.js'
import {describeAll, seedInstance, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'
import {expectMatchesSchema} from '../support/schemas.js'
import {freePortOn, useSshLab} from '../support/sshd.js'

const ADDR_TAG = 'wolphin.test.addr'

/** `exec --json` / `put --json`: the result, plus `error` on a non-zero exit. */
type Json = ExecResult & {error?: {exitCode: number}}

describe('e2e: exec and put against real sshd on loopback', function () {
  this.timeout(120_000)
  const moto = useMoto()
  const lab = useSshLab({hosts: 3})
  const project = 'fleet'
  let dir: string
  let env: Record<string, string>
  const ids: string[] = []

  const cli = (...args: string[]) => runCli(args, {cwd: dir, env})
  const tagsOf = async () =>
    new Map((await describeAll(testClient(moto().endpoint))).map((i) => [i.id, i.tags] as const))

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-e2e-exec-'))
    // WOLPHIN_LOOPBACK_ONLY: the runner refuses to dial anything outside 127.0.0.0/8.
    env = motoEnv(moto().endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: ''})
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      [
        `project: ${project}`,
        `user: ${lab().user}`,
        'ssh:',
        `  key: ${lab().key}`,
        `  address: tag:${ADDR_TAG}`,
        '  hostKeys: tofu',
        `  knownHostsFile: ${path.join(dir, 'known_hosts')}`,
        '  connectTimeout: 3',
        'wait: {interval: 0.2, timeout: 10}',
        '',
      ].join('\n'),
    )
    const client = testClient(moto().endpoint)
    for (const [i, h] of lab().hosts.entries()) {
      const slot = i + 1
      ids.push(
        await seedInstance(client, {
          ProjectName: `wolphin.${project}`,
          Name: `wolphin.${project}.${slot}`,
          'wolphin:slot': String(slot),
          [ADDR_TAG]: h.tag,
        }),
      )
    }
    // A neighbour of another project on the same host must never be touched.
    await seedInstance(client, {
      ProjectName: 'wolphin.other',
      Name: 'wolphin.other.1',
      [ADDR_TAG]: lab().hosts[0].tag,
    })
  })

  it('exec on all: each line prefixed with its Name, each instance reached at its own host, tofu pins keys', async () => {
    const r = await cli(
      'exec',
      '--',
      'echo',
      'hello from $(echo $SSH_CONNECTION | cut -d" " -f3); echo oops >&2',
    )
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.trim().split('\n').sort()
    expect(lines).to.deep.equal(
      lab().hosts.map((h, i) => `wolphin.${project}.${i + 1} | hello from ${h.addr}`),
    )
    expect(r.stderr).to.include(`wolphin.${project}.2 | oops`)
    expect(r.stderr).to.match(/3 ok, 0 failed, 0 unreachable/)
    const tags = await tagsOf()
    lab().hosts.forEach((h, i) =>
      expect(tags.get(ids[i])!['wolphin:host-key']).to.equal(`ssh-ed25519 ${h.fingerprint}`),
    )
  })

  it('exec --json returns one result per instance in slot order', async () => {
    const r = await cli('exec', '--json', '--', 'echo $SSH_CONNECTION | cut -d" " -f3')
    expect(r.code, r.stderr).to.equal(0)
    const j = r.json<Json>()
    expect(j.results.map((x) => [x.id, x.name, x.slot, x.exitCode, x.stdout, x.error])).to.deep.equal(
      lab().hosts.map((h, i) => [ids[i], `wolphin.${project}.${i + 1}`, i + 1, 0, `${h.addr}\n`, null]),
    )
    for (const x of j.results) expect(x).to.include.keys('signal', 'stderr', 'durationMs')
    expect(j.summary).to.include({ok: 3, failed: 0, unreachable: 0})
    expectMatchesSchema('exec', j, 'exec --json')
  })

  it('exec on a selection touches only the selected instances', async () => {
    const r = await cli('exec', '-i', '2', '--json', '--', 'echo $SSH_CONNECTION | cut -d" " -f3')
    expect(r.code, r.stderr).to.equal(0)
    const j = r.json<Json>()
    expect(j.results.map((x) => [x.slot, x.stdout])).to.deep.equal([[2, `${lab().hosts[1].addr}\n`]])
  })

  it('a command failing on one host: exit 3, the others ok', async () => {
    const bad = lab().hosts[2].addr
    const cmd = `test "$(echo $SSH_CONNECTION | cut -d' ' -f3)" != ${bad}`
    let r = await cli('exec', '--', cmd)
    expect(r.code, r.stderr).to.equal(3)
    expect(r.stderr).to.match(/2 ok, 1 failed, 0 unreachable/)
    r = await cli('exec', '--json', '--', cmd)
    expect(r.code).to.equal(3)
    const j = r.json<Json>()
    // A partial failure: the error document, with the exec document beside the error.
    expectMatchesSchema('error', j, 'exec --json (exit 3)')
    const execDoc: Record<string, unknown> = {...j}
    delete execDoc.error
    expectMatchesSchema('exec', execDoc, 'exec --json (exit 3) without error')
    expect(j.results.map((x) => [x.slot, x.status, x.exitCode])).to.deep.equal([
      [1, 'ok', 0],
      [2, 'ok', 0],
      [3, 'failed', 1],
    ])
  })

  it('everything after the first "--" reaches the remote side word for word', async () => {
    // Words equal to wolphin flags given before "--", and a second "--", stay where they are.
    let r = await cli('exec', '-i', '1', '--env', 'A=1', '--', 'echo', '-i', '--', '--env', 'B=2', '-i', '$A')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal(`wolphin.${project}.1 | -i -- --env B=2 -i 1\n`)
    r = await cli('exec', '-i', '1', '--no-prefix', '--', 'grep', '-i', 'ERROR', '/etc/hostname', '--', '-i')
    expect(r.stderr).to.not.match(/invalid option|command not found/)
    r = await cli('exec', '-i', '1', '--no-prefix', '--', 'echo', 'a', '--', 'b')
    expect([r.code, r.stdout]).to.deep.equal([0, 'a -- b\n'])
    // --json after "--" is the remote command's word, not wolphin's flag.
    r = await cli('exec', '-i', '1', '--no-prefix', '--', 'echo', '--json', '-q')
    expect([r.code, r.stdout]).to.deep.equal([0, '--json -q\n'])
  })

  it('stdout on /dev/full: one line, exit 1, no stack trace', async () => {
    for (const json of [[], ['--json']]) {
      const r = await runCli(['exec', '-i', '1', ...json, '--', 'echo hi'], {
        cwd: dir,
        env,
        stdoutTo: '/dev/full',
      })
      expect(r.stderr, r.stderr).to.not.match(/^\s+at /m)
      expect(r.stderr.split('\n').filter((l) => l.startsWith('wolphin: error:'))).to.deep.equal([
        'wolphin: error: cannot write to stdout: no space left on device (ENOSPC)',
      ])
      expect(r.code, r.stderr).to.equal(1)
    }
  })

  it('--output-dir never writes through a symlink in an instance folder or file', async () => {
    const victim = path.join(dir, 'victim')
    const victimDir = path.join(dir, 'victim-dir')
    await mkdir(victimDir)
    await writeFile(victim, 'keep\n')
    // A link as an instance's stdout file, and a link as an instance's folder: each refused.
    const od1 = path.join(dir, 'od-link-file')
    await mkdir(path.join(od1, `wolphin.${project}.1`), {recursive: true})
    await symlink(victim, path.join(od1, `wolphin.${project}.1`, 'stdout'))
    const od2 = path.join(dir, 'od-link-dir')
    await mkdir(od2)
    await symlink(victimDir, path.join(od2, `wolphin.${project}.2`))
    for (const [slot, od, link] of [
      ['1', od1, path.join(od1, `wolphin.${project}.1`, 'stdout')],
      ['2', od2, path.join(od2, `wolphin.${project}.2`)],
    ]) {
      const r = await cli('exec', '-i', slot, '--output-dir', od, '-q', '--', 'echo overwritten')
      expect(r.stderr, r.stderr).to.equal(
        `wolphin: error: --output-dir: ${link} is a symlink; wolphin does not write through one (remove it or choose another directory)\n`,
      )
      expect(r.code).to.equal(2)
    }
    expect(await readFile(victim, 'utf8')).to.equal('keep\n')
    expect(await readdir(victimDir)).to.deep.equal([])
  })

  it('one target: its exit code is passed through', async () => {
    const r = await cli('exec', '-i', '1', '--', 'exit 7')
    expect(r.code, r.stderr).to.equal(7)
    expect(r.stderr).to.match(/0 ok, 1 failed, 0 unreachable/)
  })

  it('an empty selection does nothing and says so', async () => {
    const r = await cli('exec', '-i', '9', '--', 'true')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.match(/no running instance .* matches the selection/)
  })

  it('--timeout stops a command that runs too long', async () => {
    const t0 = Date.now()
    const marker = `${lab().hosts[0].home}/timeout-survived`
    const r = await cli('exec', '-i', '1', '--timeout', '1', '--json', '--', `sleep 4; touch ${marker}`)
    expect(Date.now() - t0).to.be.below(15_000)
    expect(r.code).to.equal(3)
    expect(r.json<Json>().results[0].error).to.match(/timed out after 1s/)
    // The remote command was killed, not left running behind the closed connection.
    await new Promise((res) => setTimeout(res, Math.max(0, 7000 - (Date.now() - t0))))
    await stat(marker).then(
      () => expect.fail('the timed-out command kept running'),
      () => {},
    )
  })

  it('Ctrl-C stops the commands on every instance, reports each one, and exits 130', async () => {
    const t0 = Date.now()
    const markers = lab().hosts.map((h) => `${h.home}/interrupt-survived`)
    // Each host's command prints, then would touch its marker 4 s later unless it is killed.
    const r = await runAndSignal(['exec', '--', 'echo started; sleep 4; touch ~/interrupt-survived'], {
      cwd: dir,
      env,
      signal: 'SIGINT',
      delayMs: 200,
      afterStdout: /(started[\s\S]*){3}/,
    })
    expect(r.code, r.stderr).to.equal(130)
    expect(r.stdout.match(/started/g)).to.have.length(3)
    expect(r.stderr).to.match(/interrupted: finishing the calls in flight/)
    expect(r.stderr).to.match(/0 ok, 3 failed, 0 unreachable/)
    expect(r.stderr).to.match(/wolphin: error: interrupted: the command was stopped where it was running/)
    expect(r.stderr.match(/not done: wolphin\.fleet\.\d: interrupted \(Ctrl-C\)/g)).to.have.length(3)
    expect(Date.now() - t0).to.be.below(15_000)
    // The remote commands were killed, not left running behind the closed connections.
    await new Promise((res) => setTimeout(res, Math.max(0, 7000 - (Date.now() - t0))))
    for (const m of markers)
      await stat(m).then(
        () => expect.fail(`${m}: the interrupted command kept running`),
        () => {},
      )
  })

  it('an unreachable host is reported as such, the rest still run (exit 3)', async () => {
    const client = testClient(moto().endpoint)
    const deadPort = await freePortOn('127.0.0.9')
    const id = await seedInstance(client, {
      ProjectName: `wolphin.${project}`,
      Name: `wolphin.${project}.4`,
      'wolphin:slot': '4',
      [ADDR_TAG]: `127.0.0.9:${deadPort}`,
    })
    try {
      const r = await cli('exec', '--json', '--', 'true')
      expect(r.code, r.stderr).to.equal(3)
      const j = r.json<Json>()
      expect(j.results.map((x) => [x.slot, x.status])).to.deep.equal([
        [1, 'ok'],
        [2, 'ok'],
        [3, 'ok'],
        [4, 'unreachable'],
      ])
      expect(j.results[3].error).to.match(/connection refused/)
      expect(j.summary).to.include({ok: 3, failed: 0, unreachable: 1})
    } finally {
      await client.send(new TerminateInstancesCommand({InstanceIds: [id]}))
    }
  })

  it('a changed host key is refused under tofu, and nothing runs there', async () => {
    const h = lab().hosts[1]
    const pinned = (await tagsOf()).get(ids[1])!['wolphin:host-key']
    await h.rekey()
    const r = await cli('exec', '-i', '2', '--', `touch ${h.home}/ran-after-rekey`)
    expect(r.code).to.equal(3)
    expect(r.stderr).to.match(/host key of wolphin\.fleet\.2 .* changed/)
    expect(r.stderr).to.match(/0 ok, 0 failed, 1 unreachable/)
    await stat(path.join(h.home, 'ran-after-rekey')).then(
      () => expect.fail('the command ran on a host with a changed key'),
      () => {},
    )
    // The pin is not overwritten by the impostor.
    expect((await tagsOf()).get(ids[1])!['wolphin:host-key']).to.equal(pinned)
    // Deleting the tag is not enough: this machine recorded the old key and refuses the new one.
    const client = testClient(moto().endpoint)
    await client.send(
      new CreateTagsCommand({Resources: [ids[1]], Tags: [{Key: 'wolphin:host-key', Value: ''}]}),
    )
    const refused = await cli('exec', '-i', '2', '--', `touch ${h.home}/ran-after-rekey`)
    expect(refused.code).to.equal(3)
    expect(refused.stderr).to.match(
      /changed since this machine last connected: recorded .* --accept-new-host-key/,
    )
    await stat(path.join(h.home, 'ran-after-rekey')).then(
      () => expect.fail('the command ran on a host whose key changed since this machine saw it'),
      () => {},
    )
    // Accepting the new key on purpose: the run pins the tag again and updates the record.
    const again = await cli('exec', '-i', '2', '--accept-new-host-key', '--', 'true')
    expect(again.code, again.stderr).to.equal(0)
    expect((await tagsOf()).get(ids[1])!['wolphin:host-key']).to.equal(`ssh-ed25519 ${h.fingerprint}`)
    const next = await cli('exec', '-i', '2', '--', 'true')
    expect(next.code, next.stderr).to.equal(0)
  })

  it('CreateTags alone cannot redirect exec: a rewritten address and pin is refused by the local record', async () => {
    // This machine has connected to slot 1 before (earlier tests) and recorded its key.
    const first = await cli('exec', '-i', '1', '--', 'true')
    expect(first.code, first.stderr).to.equal(0)
    // Someone allowed to write tags points slot 1 at another sshd and rewrites the pin to its key.
    const other = lab().hosts[2]
    const client = testClient(moto().endpoint)
    const saved = (await tagsOf()).get(ids[0])!
    await client.send(
      new CreateTagsCommand({
        Resources: [ids[0]],
        Tags: [
          {Key: ADDR_TAG, Value: other.tag},
          {Key: 'wolphin:host-key', Value: `ssh-ed25519 ${other.fingerprint}`},
        ],
      }),
    )
    try {
      const marker = `redirected-${Date.now()}`
      const r = await cli('exec', '-i', '1', '--', `touch ${other.home}/${marker}`)
      expect(r.code, r.stderr).to.equal(3)
      expect(r.stderr).to.match(/host key of wolphin\.fleet\.1 .* changed since this machine last connected/)
      await stat(path.join(other.home, marker)).then(
        () => expect.fail('exec ran on the host the tags redirected it to'),
        () => {},
      )
      const j = (await cli('exec', '-i', '1', '--json', '--', 'true')).json<Json>()
      expect(j.summary).to.include({ok: 0, unreachable: 1})
    } finally {
      await client.send(
        new CreateTagsCommand({
          Resources: [ids[0]],
          Tags: [
            {Key: ADDR_TAG, Value: saved[ADDR_TAG]},
            {Key: 'wolphin:host-key', Value: saved['wolphin:host-key']},
          ],
        }),
      )
    }
  })

  it('put copies a directory tree byte for byte with modes to every instance', async () => {
    const src = path.join(dir, 'tree')
    const files: Record<string, {data: Buffer; mode: number}> = {
      'run.sh': {data: Buffer.from('#!/bin/sh\necho load\n'), mode: 0o755},
      'conf/app.json': {data: Buffer.from('{"rate": 500}\n'), mode: 0o644},
      'conf/secret.key': {data: randomBytes(3000), mode: 0o600},
      'data/deep/blob.bin': {data: randomBytes(300_000), mode: 0o640},
      'empty.txt': {data: Buffer.alloc(0), mode: 0o444},
    }
    for (const [rel, f] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(src, rel)), {recursive: true})
      await writeFile(path.join(src, rel), f.data)
      await chmod(path.join(src, rel), f.mode)
    }
    await mkdir(path.join(src, 'emptydir'))
    const r = await cli('put', src, 'deploy/app', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json<Json>().summary).to.include({ok: 3, failed: 0, unreachable: 0})
    expectMatchesSchema('exec', r.json(), 'put --json')
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
    for (const h of lab().hosts) {
      const root = path.join(h.home, 'deploy/app')
      for (const [rel, f] of Object.entries(files)) {
        const p = path.join(root, rel)
        expect(sha(await readFile(p)), `${h.tag} ${rel}`).to.equal(sha(f.data))
        expect((await stat(p)).mode & 0o7777, `${h.tag} ${rel} mode`).to.equal(f.mode)
      }
      expect((await stat(path.join(root, 'emptydir'))).isDirectory()).to.equal(true)
      expect((await readdir(root)).sort()).to.deep.equal(['conf', 'data', 'empty.txt', 'emptydir', 'run.sh'])
    }
    // A single file into a directory (trailing slash), then run it: deploy-and-run.
    const one = await cli('put', '-i', '1', path.join(src, 'run.sh'), 'bin/')
    expect(one.code, one.stderr).to.equal(0)
    expect((await stat(path.join(lab().hosts[0].home, 'bin/run.sh'))).mode & 0o777).to.equal(0o755)
    const ran = await cli('exec', '-i', '1', '--', `${lab().hosts[0].home}/bin/run.sh`)
    expect(ran.stdout).to.equal(`wolphin.${project}.1 | load\n`)
  })

  it('refuses a private key readable by others before any AWS call (exit 2)', async () => {
    const loose = path.join(dir, 'loose_key')
    await writeFile(loose, await readFile(lab().key))
    await chmod(loose, 0o644)
    const cfg = path.join(dir, 'loose.yaml')
    await writeFile(cfg, (await readFile(path.join(dir, 'wolphin.yaml'), 'utf8')).replace(lab().key, loose))
    const r2 = await runCli(['exec', '-c', cfg, '--', 'true'], {
      cwd: dir,
      env: {...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9'},
    })
    expect(r2.code).to.equal(2)
    expect(r2.stderr).to.match(/loose_key has permissions 0644.*chmod 600/)
  })

  it('exec --via ssm goes through the SSM endpoint with the same JSON contract (moto runs nothing)', async () => {
    const r = await cli('exec', '--via', 'ssm', '--timeout', '20', '--json', '--', 'true')
    expect(r.code, r.stderr).to.equal(0)
    const j = r.json<Json>()
    expect(j.results.map((x) => [x.id, x.slot, x.status, x.exitCode])).to.deep.equal(
      ids.map((id, i) => [id, i + 1, 'ok', 0]),
    )
  })

  it('reaches instances through ssh.bastion (forwardOut); a dead bastion makes them unreachable', async () => {
    const [bastion] = lab().hosts
    await writeFile(path.join(dir, 'known_hosts'), await lab().knownHosts())
    const base = await readFile(path.join(dir, 'wolphin.yaml'), 'utf8')
    const withBastion = (port: number) =>
      base.replace('ssh:\n', `ssh:\n  bastion: {host: ${bastion.addr}, port: ${port}}\n`)
    await writeFile(path.join(dir, 'bastion.yaml'), withBastion(bastion.port))
    const r = await cli(
      'exec',
      '-c',
      'bastion.yaml',
      '-i',
      '2,3',
      '--json',
      '--',
      'echo $SSH_CONNECTION | cut -d" " -f3',
    )
    expect(r.code, r.stderr).to.equal(0)
    expect(r.json<Json>().results.map((x) => [x.slot, x.stdout])).to.deep.equal([
      [2, `${lab().hosts[1].addr}\n`],
      [3, `${lab().hosts[2].addr}\n`],
    ])
    await writeFile(path.join(dir, 'dead-bastion.yaml'), withBastion(await freePortOn(bastion.addr)))
    const dead = await cli('exec', '-c', 'dead-bastion.yaml', '-i', '2,3', '--json', '--', 'true')
    expect(dead.code).to.equal(3)
    const j = dead.json<Json>()
    expect(j.results.map((x) => x.status)).to.deep.equal(['unreachable', 'unreachable'])
    expect(j.results[0].error).to.match(
      new RegExp(`^bastion ${bastion.addr.replace(/\./g, '\\.')}:\\d+: connection refused`),
    )
  })

  it('put again replaces what an earlier put left, read-only files included', async () => {
    const src = path.join(dir, 'ro')
    await mkdir(src, {recursive: true})
    await writeFile(path.join(src, 'a.txt'), 'one\n')
    await chmod(path.join(src, 'a.txt'), 0o444)
    expect((await cli('put', '-i', '1', src, 'ro')).code).to.equal(0)
    await chmod(path.join(src, 'a.txt'), 0o644)
    await writeFile(path.join(src, 'a.txt'), 'two\n')
    await chmod(path.join(src, 'a.txt'), 0o444)
    const r = await cli('put', '-i', '1', src, 'ro')
    expect(r.code, r.stderr).to.equal(0)
    expect(await readFile(path.join(lab().hosts[0].home, 'ro/a.txt'), 'utf8')).to.equal('two\n')
  })

  it('library: runningInstances yields hosts with run(); Project#exec returns the --json shape', async () => {
    const saved = process.env.WOLPHIN_LOOPBACK_ONLY
    process.env.WOLPHIN_LOOPBACK_ONLY = '1'
    try {
      const {config} = await loadConfig({files: [path.join(dir, 'wolphin.yaml')], cwd: dir})
      const project = new Project(config, {port: new SdkEc2Port(testClient(moto().endpoint))})
      const seen: Array<[string, string, number, string, string]> = []
      for await (const host of runningInstances(project, new SlotSelector([1, 3]), {cwd: dir})) {
        const r = await host.run('echo $SSH_CONNECTION | cut -d" " -f3')
        seen.push([host.name, host.connection.host, host.connection.port, r.stdout!.trim(), r.status])
      }
      const [h1, , h3] = lab().hosts
      expect(seen).to.deep.equal([
        [`wolphin.${project.name}.1`, h1.addr, h1.port, h1.addr, 'ok'],
        [`wolphin.${project.name}.3`, h3.addr, h3.port, h3.addr, 'ok'],
      ])
      const res = await project.exec(new SlotSelector([2]), 'exit 4', {cwd: dir})
      expect(res).to.include({
        project: 'fleet',
        via: 'ssh',
        operation: 'exec',
        exitCode: 4,
        emptySelection: false,
      })
      expect(res.results.map((x) => [x.slot, x.status, x.exitCode])).to.deep.equal([[2, 'failed', 4]])
    } finally {
      if (saved === undefined) delete process.env.WOLPHIN_LOOPBACK_ONLY
      else process.env.WOLPHIN_LOOPBACK_ONLY = saved
    }
  })

  it('create waits for SSH by default when ssh is configured (and pins keys); times out on a dead address', async () => {
    const h = lab().hosts[0]
    const cfg = (name: string, addr: string) =>
      [
        `project: ${name}`,
        `ami: ${TEST_AMI}`,
        'count: 2',
        `user: ${lab().user}`,
        `tags: {${ADDR_TAG}: "${addr}"}`,
        'ssh:',
        `  key: ${lab().key}`,
        `  address: tag:${ADDR_TAG}`,
        '  connectTimeout: 2',
        'wait: {interval: 0.2, timeout: 4}',
        '',
      ].join('\n')
    await writeFile(path.join(dir, 'fresh.yaml'), cfg('fresh', h.tag))
    const r = await cli('create', '-c', 'fresh.yaml', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const fresh = [...(await tagsOf()).values()].filter((t) => t.ProjectName === 'wolphin.fresh')
    expect(fresh).to.have.length(2)
    // Waiting meant a full SSH session, host key pinned (tofu is the default).
    for (const t of fresh) expect(t['wolphin:host-key']).to.equal(`ssh-ed25519 ${h.fingerprint}`)

    const dead = `127.0.0.9:${await freePortOn('127.0.0.9')}`
    await writeFile(path.join(dir, 'dead.yaml'), cfg('dead', dead))
    const t0 = Date.now()
    const bad = await cli('create', '-c', 'dead.yaml', '--json')
    expect(bad.code).to.equal(1)
    expect(bad.json().error.message).to.match(
      /timed out after 4s waiting for SSH on wolphin\.dead\.1 .*connection refused/,
    )
    expect(Date.now() - t0).to.be.below(30_000)
    const skip = await cli('start', '-c', 'dead.yaml', '--no-wait-ssh', '--json')
    expect(skip.code, skip.stderr).to.equal(0)
  })
})
