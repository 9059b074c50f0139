/**
 * Files wolphin reads because the user named them (ssh.key, ssh.knownHostsFile, the pin record)
 * are read only when they are regular files: a FIFO there used to block a libuv worker thread in
 * open(), and such a thread blocks even process.exit, so `exec` hung, and a SIGTERM printed its
 * summary and the process still never ended.
 */
import {execFileSync} from 'node:child_process'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {useFleet} from '../support/fleet.js'

describe('e2e: a FIFO where wolphin reads a file never hangs it', function () {
  this.timeout(120_000)
  const fleet = useFleet({hosts: 1, project: 'fifo'})

  const variant = async (name: string, replace: (text: string) => string) => {
    const f = fleet()
    await writeFile(path.join(f.dir, name), replace(f.configLines.join('\n')))
    return name
  }

  it('ssh.knownHostsFile is a FIFO (hostKeys: known-hosts): exit 2, one line, at once', async () => {
    const f = fleet()
    const fifo = path.join(f.dir, 'kh.fifo')
    execFileSync('mkfifo', [fifo])
    const cfg = await variant('fifo-kh.yaml', (t) =>
      t
        .replace('hostKeys: tofu', 'hostKeys: known-hosts')
        .replace(/knownHostsFile: .*/, `knownHostsFile: ${fifo}`),
    )
    for (const args of [
      ['exec', '-c', cfg, 'true'],
      ['ssh-config', '-c', cfg],
    ]) {
      const t0 = Date.now()
      const r = await runCli(args, {cwd: f.dir, env: f.env, timeoutMs: 30_000})
      expect(Date.now() - t0, 'seconds to exit').to.be.below(20_000)
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1)
      expect(r.stderr).to.match(/ssh\.knownHostsFile: .*kh\.fifo: cannot read it \(not a regular file\)/)
    }
  })

  it('ssh-config --known-hosts FIFO: refused at once, never written to', async () => {
    const f = fleet()
    const fifo = path.join(f.dir, 'out.fifo')
    execFileSync('mkfifo', [fifo])
    const r = await runCli(['ssh-config', '--known-hosts', fifo], {cwd: f.dir, env: f.env, timeoutMs: 30_000})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/known_hosts file .*out\.fifo: cannot write it \(not a regular file\)/)
  })

  it('ssh.key is a FIFO: exit 2, one line, at once', async () => {
    const f = fleet()
    const fifo = path.join(f.dir, 'key.fifo')
    execFileSync('mkfifo', [fifo])
    const cfg = await variant('fifo-key.yaml', (t) => t.replace(/ key: .*/, ` key: ${fifo}`))
    const r = await runCli(['exec', '-c', cfg, 'true'], {cwd: f.dir, env: f.env, timeoutMs: 30_000})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/ssh\.key: .*key\.fifo: not a file/)
  })

  it('the pin record is a FIFO: it counts as empty and exec runs (tofu)', async () => {
    const f = fleet()
    const state = path.join(f.dir, 'state')
    await mkdir(state, {recursive: true})
    execFileSync('mkfifo', [path.join(state, 'host-keys.json')])
    const r = await runCli(['exec', 'echo', 'hi'], {
      cwd: f.dir,
      env: {...f.env, WOLPHIN_STATE_DIR: state},
      timeoutMs: 30_000,
    })
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/hi/)
  })
})
