/**
 * `wolphin ssh` and `ssh-config` write an ssh_config for the system ssh. A host (config or tag),
 * user, key path or alias holding a newline would add a line of its own to it: a `ProxyCommand`
 * that the system ssh runs locally. Each case below carries such a line that writes a marker file
 * when run; the real CLI runs `ssh 1 -- true` and `ssh-config`, and the marker must never appear.
 * Nothing is dialled but 127.0.0.0/8 (the instances' address tag names a loopback host, and under
 * `hostKeys: off` no connection is made before ssh is run).
 */
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.js'
import {seedInstance, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

const TAG = 'addr'

describe('integration: nothing in a config or a tag can add a line to the generated ssh_config', function () {
  this.timeout(60_000)
  const moto = useMoto()
  let proxy: CountingProxy
  let dir: string
  let marker: string
  let env: Record<string, string>
  const injected = () => `127.0.0.9\n  ProxyCommand sh -c 'id > ${marker}; exit 1'\n#`

  before(async () => {
    proxy = await startCountingProxy(moto().endpoint)
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-ssh-inject-'))
    marker = path.join(dir, 'PWNED')
    env = motoEnv(proxy.endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: '', HOME: dir})
    const client = testClient(moto().endpoint)
    await seedInstance(client, {
      ProjectName: 'wolphin.good',
      Name: 'wolphin.good.1',
      'wolphin:slot': '1',
      [TAG]: '127.0.0.9',
    })
    await seedInstance(client, {
      ProjectName: 'wolphin.evil',
      Name: 'wolphin.evil.1',
      'wolphin:slot': '1',
      [TAG]: injected(),
    })
    await seedInstance(client, {
      ProjectName: 'wolphin.named',
      // No slot: the Name tag is the instance's name.
      Name: "named one\n  ProxyCommand sh -c 'id > PWNED'",
      [TAG]: '127.0.0.9',
    })
  })
  after(async () => {
    await proxy?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })
  afterEach(() => expect(existsSync(marker), 'the injected ProxyCommand ran').to.equal(false))

  const config = (project: string, ssh: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    JSON.stringify({project, ...top, ssh: {hostKeys: 'off', address: `tag:${TAG}`, ...ssh}})

  const run = async (file: string, text: string, command: string, ...args: string[]) => {
    await writeFile(path.join(dir, file), text)
    proxy.reset()
    const r = await runCli([command, '-c', file, ...args], {cwd: dir, env})
    return {...r, calls: proxy.calls().length}
  }

  describe('a bad value in the config: exit 2, one line, no AWS call', () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
      [
        'bastion.host',
        {bastion: {host: 'X'}},
        {},
        /field "ssh\.bastion\.host": expected a host name or an IP address/,
      ],
      [
        'bastion.user',
        {bastion: {host: '127.0.0.9', user: "u\n  ProxyCommand sh -c 'id > PWNED'"}},
        {},
        /field "ssh\.bastion\.user"/,
      ],
      ['user', {}, {user: "u\n  ProxyCommand sh -c 'id > PWNED'"}, /field "user"/],
      ['ssh.key', {key: "k\n  ProxyCommand sh -c 'id > PWNED'"}, {}, /field "ssh\.key"/],
      [
        'bastion.key',
        {bastion: {host: '127.0.0.9', key: "k\n  ProxyCommand sh -c 'id > PWNED'"}},
        {},
        /field "ssh\.bastion\.key"/,
      ],
      [
        'knownHostsFile',
        {knownHostsFile: "k\n  ProxyCommand sh -c 'id > PWNED'"},
        {},
        /field "ssh\.knownHostsFile"/,
      ],
    ]
    for (const [what, ssh, top, message] of cases)
      it(`${what} holding a newline and a ProxyCommand`, async () => {
        const s = JSON.parse(JSON.stringify(ssh).replace('"X"', JSON.stringify(injected()))) as Record<
          string,
          unknown
        >
        for (const args of [['ssh', '1', '--', 'true'], ['ssh-config']]) {
          const r = await run('bad.json', config('good', s, top), ...(args as [string, ...string[]]))
          expect(r.code, r.stderr).to.equal(2)
          expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1)
          expect(r.stderr).to.match(message)
          expect(r.calls, 'AWS calls').to.equal(0)
        }
      })
  })

  it('ssh-config --known-hosts holding a newline: exit 2, one line, no AWS call', async () => {
    const r = await run(
      'kh.json',
      config('good', {hostKeys: 'tofu'}),
      'ssh-config',
      '--known-hosts',
      `${dir}/kh\n  ProxyCommand sh -c 'id > PWNED'`,
    )
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1)
    expect(r.stderr).to.match(/known_hosts file: .*expected a file path without control characters/)
    expect(r.calls, 'AWS calls').to.equal(0)
  })

  it('a tag holding a newline and a ProxyCommand: that instance is unreachable, nothing runs', async () => {
    let r = await run('evil.json', config('evil', {}), 'ssh', '1', '--', 'true')
    expect(r.code, r.stderr).to.equal(1)
    expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1)
    expect(r.stderr, r.stderr).to.match(
      /wolphin\.evil\.1: tag addr is "127\.0\.0\.9\\n +ProxyCommand.*", expected host or host:port/,
    )
    r = await run('evil.json', config('evil', {}), 'ssh-config')
    expect(r.code, r.stderr).to.equal(3)
    expect(r.stdout).to.not.match(/ProxyCommand/)
    expect(r.stderr).to.match(/tag addr is .*expected host or host:port/)
  })

  it('a Name holding a newline is not used as a Host alias (the id is)', async () => {
    const r = await run('named.json', config('named', {}), 'ssh-config')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.not.match(/ProxyCommand/)
    expect(r.stdout, r.stdout).to.match(/^Host i-[0-9a-f]+$/m)
  })

  it('the same config with a plain bastion host writes a HostName line that ssh reads', async () => {
    const r = await run(
      'good.json',
      config('good', {bastion: {host: 'bastion.example.internal', port: 2222}}),
      'ssh-config',
    )
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.include(
      'Host wolphin.good.bastion\n  HostName bastion.example.internal\n  Port 2222\n',
    )
    expect(r.stdout).to.include('Host wolphin.good.1\n  HostName 127.0.0.9\n')
  })
})
