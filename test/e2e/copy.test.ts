import {spawn} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmod, lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {expect} from 'chai'

import type {ExecResult} from '../../src/exec/types.js'
import {SdkEc2Port} from '../../src/aws/ec2.js'
import {loadConfig} from '../../src/config/load.js'
import {runningInstances} from '../../src/exec/run.js'
import {Project} from '../../src/project/project.js'
import {SlotSelector} from '../../src/selectors/index.js'
import {BIN, runCli, runProcess} from '../support/cli.js'
import {testClient} from '../support/ec2.js'
import {useFleet} from '../support/fleet.js'

/** `put --json` / `get --json`: the result, plus `error` on a non-zero exit. */
type Json = ExecResult & {error?: {exitCode: number; message: string}}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Every path under `root` with its type, mode and content hash: a snapshot to compare. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (dir: string, rel: string) => {
    for (const n of (await readdir(dir)).sort()) {
      const p = path.join(dir, n)
      const r = rel ? `${rel}/${n}` : n
      const st = await lstat(p)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isSymbolicLink()) out[r] = `link ${await readlink(p)}`
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`
        await walk(p, r)
      } else out[r] = `file ${mode} ${sha(await readFile(p))}`
    }
  }
  await walk(root, '')
  return out
}

/** Writes files (and their modes) under `root`. */
async function makeTree(root: string, files: Record<string, {data: Buffer | string; mode?: number}>) {
  for (const [rel, f] of Object.entries(files)) {
    const p = path.join(root, rel)
    await mkdir(path.dirname(p), {recursive: true})
    await writeFile(p, f.data)
    if (f.mode !== undefined) await chmod(p, f.mode)
  }
}

describe('e2e: put, get, ssh and ssh-config against real sshd on loopback', function () {
  this.timeout(120_000)
  const fleet = useFleet({hosts: 2})
  const home = (i: number) => fleet().lab.hosts[i].home

  describe('put', () => {
    it('put FILE EXISTING_DIR puts the file inside the directory and leaves its mode alone', async () => {
      const f = fleet()
      await makeTree(f.dir, {'report.sh': {data: '#!/bin/sh\necho report\n', mode: 0o750}})
      const inbox = path.join(home(0), 'inbox')
      await mkdir(inbox)
      await chmod(inbox, 0o751)
      const r = await f.cli('put', '-i', '1', path.join(f.dir, 'report.sh'), 'inbox')
      expect(r.code, r.stderr).to.equal(0)
      expect((await stat(inbox)).mode & 0o7777, 'the directory mode').to.equal(0o751)
      expect((await stat(inbox)).isDirectory()).to.equal(true)
      expect(await readFile(path.join(inbox, 'report.sh'), 'utf8')).to.equal('#!/bin/sh\necho report\n')
      expect((await stat(path.join(inbox, 'report.sh'))).mode & 0o7777).to.equal(0o750)
      expect(r.stdout).to.include(`copied 1 file(s), 22 bytes to inbox/report.sh`)
      // Again: the copy inside is replaced, the directory still untouched.
      const again = await f.cli('put', '-i', '1', path.join(f.dir, 'report.sh'), 'inbox')
      expect(again.code, again.stderr).to.equal(0)
      expect((await stat(inbox)).mode & 0o7777).to.equal(0o751)
    })

    it('a tree into an existing directory keeps the modes of the directories that were there', async () => {
      const f = fleet()
      const src = path.join(f.dir, 'site-src')
      await makeTree(src, {'index.html': {data: '<h1>hi</h1>\n'}, 'css/a.css': {data: 'a{}\n'}})
      await chmod(src, 0o755)
      await chmod(path.join(src, 'css'), 0o700)
      const site = path.join(home(0), 'site')
      await mkdir(path.join(site, 'css'), {recursive: true})
      await chmod(site, 0o711)
      await chmod(path.join(site, 'css'), 0o751)
      const r = await f.cli('put', '-i', '1', src, 'site')
      expect(r.code, r.stderr).to.equal(0)
      expect(await snapshot(site)).to.deep.equal({
        css: 'dir 751',
        'css/a.css': `file 644 ${sha(Buffer.from('a{}\n'))}`,
        'index.html': `file 644 ${sha(Buffer.from('<h1>hi</h1>\n'))}`,
      })
      expect((await stat(site)).mode & 0o7777).to.equal(0o711)
    })

    it('a tree copy that fails partway names every failure, removes what it created and replaces nothing', async () => {
      const f = fleet()
      const src = path.join(f.dir, 'app-src')
      await makeTree(src, {
        'a.txt': {data: 'new a\n'},
        'conf/app.json': {data: '{"rate": 500}\n'},
        'conf/other.json': {data: '{}\n'},
        'data/deep/blob.bin': {data: randomBytes(100_000)},
        'new/x.txt': {data: 'x\n'},
        'z.txt': {data: 'z\n'},
      })
      // On the instance: app.json is a directory and data a file, where the tree has the opposite.
      const dst = path.join(home(0), 'app')
      await makeTree(dst, {
        'a.txt': {data: 'old a\n'},
        data: {data: 'a file\n'},
        'keep.txt': {data: 'keep\n'},
      })
      await mkdir(path.join(dst, 'conf/app.json'), {recursive: true})
      const before = await snapshot(dst)
      const r = await f.cli('put', '-i', '1', src, 'app', '--json')
      expect(r.code, r.stderr).to.equal(3)
      const res = r.json<Json>().results[0]
      expect(res.status).to.equal('failed')
      expect(res.error).to.match(/copy failed for 2 path\(s\)/)
      expect(res.error).to.include('app/conf/app.json: exists and is a directory')
      expect(res.error).to.include('app/data: exists and is not a directory (1 file(s) beneath not copied)')
      expect(res.stderr!.split('\n').filter(Boolean).sort()).to.deep.equal([
        'app/conf/app.json: exists and is a directory',
        'app/data: exists and is not a directory (1 file(s) beneath not copied)',
      ])
      // Nothing created is left behind (no 0-byte files, no new directory), nothing was replaced.
      expect(await snapshot(dst)).to.deep.equal(before)
      // The human form names every failure as well.
      const human = await f.cli('put', '-i', '1', src, 'app')
      expect(human.code).to.equal(3)
      expect(human.stderr).to.include('wolphin.fleet.1 | app/conf/app.json: exists and is a directory')
      expect(human.stderr).to.include('wolphin.fleet.1 | app/data: exists and is not a directory')
      expect(await snapshot(dst)).to.deep.equal(before)
    })

    it('replaces a symlink at the destination rather than writing through it', async () => {
      const f = fleet()
      const victim = path.join(f.dir, 'victim.txt')
      await writeFile(victim, 'do not touch\n')
      const dst = path.join(home(0), 'linked')
      await mkdir(dst, {recursive: true})
      await symlink(victim, path.join(dst, 'conf.txt'))
      await writeFile(path.join(f.dir, 'conf.txt'), 'config\n')
      const r = await f.cli('put', '-i', '1', path.join(f.dir, 'conf.txt'), 'linked/')
      expect(r.code, r.stderr).to.equal(0)
      expect(await readFile(victim, 'utf8')).to.equal('do not touch\n')
      expect((await lstat(path.join(dst, 'conf.txt'))).isFile()).to.equal(true)
      expect(await readFile(path.join(dst, 'conf.txt'), 'utf8')).to.equal('config\n')
    })

    it('copies a large file and special modes byte for byte to every instance', async () => {
      const f = fleet()
      const src = path.join(f.dir, 'big-src')
      const big = randomBytes(9 * 1024 * 1024 + 7)
      await makeTree(src, {'big.bin': {data: big, mode: 0o640}, 'run.sh': {data: 'x', mode: 0o4755}})
      const r = await f.cli('put', src, 'big', '--json')
      expect(r.code, r.stderr).to.equal(0)
      for (const i of [0, 1]) {
        const got = await snapshot(path.join(home(i), 'big'))
        expect(got).to.deep.equal({
          'big.bin': `file 640 ${sha(big)}`,
          'run.sh': `file 4755 ${sha(Buffer.from('x'))}`,
        })
      }
    })

    it('Ctrl-C during a tree copy removes what the copy created and exits 130', async () => {
      const f = fleet()
      const src = path.join(f.dir, 'many')
      const files: Record<string, {data: string}> = {}
      for (let i = 0; i < 3000; i++) files[`d${i % 30}/f${i}.txt`] = {data: `file ${i}\n`.repeat(50)}
      await makeTree(src, files)
      const dst = path.join(home(0), 'interrupted')
      const child = spawn(process.execPath, [BIN, 'put', '-i', '1', src, 'interrupted'], {
        cwd: f.dir,
        env: {...process.env, ...f.env, NODE_NO_WARNINGS: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      // Signal once the copy is under way: the first file has arrived.
      const t0 = Date.now()
      for (;;) {
        const some = await readdir(path.join(dst, 'd0')).catch(() => [])
        if (some.length) break
        if (Date.now() - t0 > 30_000) throw new Error(`the copy never started: ${stderr}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      child.kill('SIGINT')
      const code = await exited
      expect(code, stderr).to.equal(130)
      expect(stderr).to.match(
        /wolphin\.fleet\.1 \| copy stopped; removed the \d+ path\(s\) this copy had created/,
      )
      const left = await snapshot(dst).catch(() => null)
      expect(left, 'what the interrupted copy left').to.equal(null)
    })
  })

  describe('get', () => {
    it('copies a tree from every instance into LOCAL/<Name>/, bytes, modes and symlinks kept', async () => {
      const f = fleet()
      for (const i of [0, 1]) {
        const root = path.join(home(i), 'results')
        await makeTree(root, {
          'summary.txt': {data: `host ${i + 1}\r\nline two\r\n`, mode: 0o644},
          'raw/samples.bin': {data: randomBytes(700_000), mode: 0o600},
          'raw/invalid-utf8.txt': {
            data: Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x0a]),
            mode: 0o640,
          },
          'bin/run.sh': {data: '#!/bin/sh\n', mode: 0o755},
          'empty.log': {data: '', mode: 0o444},
        })
        await mkdir(path.join(root, 'private'), {mode: 0o700})
        await chmod(path.join(root, 'private'), 0o700)
        await symlink('summary.txt', path.join(root, 'latest'))
      }
      const out = path.join(f.dir, 'collected')
      const r = await f.cli('get', 'results', out, '--json')
      expect(r.code, r.stderr).to.equal(0)
      const j = r.json<Json>()
      expect(j.operation).to.equal('get')
      expect(j.summary).to.include({ok: 2, failed: 0, unreachable: 0})
      for (const i of [0, 1]) {
        const name = `wolphin.${f.project}.${i + 1}`
        expect(await snapshot(path.join(out, name, 'results')), name).to.deep.equal(
          await snapshot(path.join(home(i), 'results')),
        )
        expect(j.results[i].stdout).to.match(
          new RegExp(`^copied 6 file\\(s\\), \\d+ bytes to .*${name}/results\\n$`),
        )
      }
      expect((await readdir(out)).sort()).to.deep.equal(['wolphin.fleet.1', 'wolphin.fleet.2'])
      // Again, after the remote changed: the local copy converges to it.
      await writeFile(path.join(home(0), 'results/summary.txt'), 'changed\n')
      const again = await f.cli('get', '-i', '1', 'results', out)
      expect(again.code, again.stderr).to.equal(0)
      expect(again.stderr).to.match(/1 ok, 0 failed, 0 unreachable/)
      expect(await readFile(path.join(out, 'wolphin.fleet.1/results/summary.txt'), 'utf8')).to.equal(
        'changed\n',
      )
      expect(await snapshot(path.join(out, 'wolphin.fleet.1/results'))).to.deep.equal(
        await snapshot(path.join(home(0), 'results')),
      )
    })

    it('a single file; a path missing on one instance fails there (exit 3) and the rest still arrive', async () => {
      const f = fleet()
      await writeFile(path.join(home(0), 'app.log'), 'one\n')
      const out = path.join(f.dir, 'logs')
      const r = await f.cli('get', 'app.log', out)
      expect(r.code).to.equal(3)
      expect(await readFile(path.join(out, 'wolphin.fleet.1/app.log'), 'utf8')).to.equal('one\n')
      expect(r.stderr).to.match(/1 ok, 1 failed, 0 unreachable/)
      expect(r.stderr).to.match(
        /wolphin\.fleet\.2\)?: failed: copy failed for 1 path\(s\): app\.log: No such file/,
      )
    })

    it('never writes through a symlink as an instance folder of LOCAL', async () => {
      const f = fleet()
      await writeFile(path.join(home(0), 'linked.log'), 'one\n')
      const out = path.join(f.dir, 'linked')
      const elsewhere = path.join(f.dir, 'elsewhere')
      await mkdir(out)
      await mkdir(elsewhere)
      await symlink(elsewhere, path.join(out, 'wolphin.fleet.1'))
      const r = await f.cli('get', '-i', '1', 'linked.log', out)
      expect(r.stderr).to.include(
        `${path.join(out, 'wolphin.fleet.1')} is a symlink; wolphin does not write through one (remove it or choose another directory)`,
      )
      expect(r.code).to.not.equal(0)
      expect(await readdir(elsewhere)).to.deep.equal([])
    })

    it('get with stdout on /dev/full: one line, exit 1, no stack trace', async () => {
      const f = fleet()
      await writeFile(path.join(home(0), 'full.log'), 'one\n')
      for (const json of [[], ['--json']]) {
        const r = await f.cliTo('/dev/full', 'get', '-i', '1', ...json, 'full.log', path.join(f.dir, 'full'))
        expect(r.stderr).to.not.match(/^\s+at /m)
        expect(r.stderr.split('\n').filter((l) => l.startsWith('wolphin: error:'))).to.deep.equal([
          'wolphin: error: cannot write to stdout: no space left on device (ENOSPC)',
        ])
        expect(r.code, r.stderr).to.equal(1)
      }
    })

    it('library: project.get and runningInstances host.get/put return the --json shape', async () => {
      const f = fleet()
      const saved = process.env.WOLPHIN_LOOPBACK_ONLY
      process.env.WOLPHIN_LOOPBACK_ONLY = '1'
      try {
        const {config} = await loadConfig({files: [path.join(f.dir, 'wolphin.yaml')], cwd: f.dir})
        const project = new Project(config, {port: new SdkEc2Port(testClient(f.moto.endpoint))})
        await writeFile(path.join(home(1), 'lib.txt'), 'from the library\n')
        const res = await project.get(new SlotSelector([2]), 'lib.txt', path.join(f.dir, 'lib-out'), {
          cwd: f.dir,
        })
        expect(res).to.include({operation: 'get', exitCode: 0, emptySelection: false})
        expect(await readFile(path.join(f.dir, 'lib-out/wolphin.fleet.2/lib.txt'), 'utf8')).to.equal(
          'from the library\n',
        )
        for await (const host of runningInstances(project, new SlotSelector([1]), {cwd: f.dir})) {
          const got = await host.get(path.join(home(1), 'lib.txt'), path.join(f.dir, 'host-out'))
          expect(got.status, got.error ?? '').to.equal('ok')
          const put = await host.put(path.join(f.dir, 'host-out/lib.txt'), 'lib-copy.txt')
          expect(put.status, put.error ?? '').to.equal('ok')
        }
        expect(await readFile(path.join(home(0), 'lib-copy.txt'), 'utf8')).to.equal('from the library\n')
      } finally {
        if (saved === undefined) delete process.env.WOLPHIN_LOOPBACK_ONLY
        else process.env.WOLPHIN_LOOPBACK_ONLY = saved
      }
    })

    it('bad input is refused before any AWS call (exit 2)', async () => {
      const f = fleet()
      await writeFile(path.join(f.dir, 'a-file'), 'x')
      const dead = {...f.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9'}
      const r = await runCli(['get', 'results', 'a-file'], {cwd: f.dir, env: dead})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/get: a-file exists and is not a directory/)
      const r2 = await runCli(['get', 'results'], {cwd: f.dir, env: dead})
      expect(r2.code).to.equal(2)
    })
  })

  describe('ssh-config and ssh', () => {
    const sshEnv = () => ({...fleet().env, TMPDIR: path.join(fleet().dir, 'tmp')})
    before(async () => mkdir(path.join(fleet().dir, 'tmp'), {recursive: true}))

    it('ssh-config: Host entries and a known_hosts from the pins that the real ssh and scp use', async () => {
      const f = fleet()
      const kh = path.join(f.dir, 'fleet.known_hosts')
      const r = await f.cli('ssh-config', '--known-hosts', kh)
      expect(r.code, r.stderr).to.equal(0)
      const cfg = path.join(f.dir, 'fleet.ssh_config')
      await writeFile(cfg, r.stdout)
      const [h1, h2] = f.lab.hosts
      expect(r.stdout).to.include(
        [
          'Host wolphin.fleet.1',
          `  HostName ${h1.addr}`,
          `  Port ${h1.port}`,
          `  User ${f.lab.user}`,
          `  IdentityFile ${f.lab.key}`,
          '  IdentitiesOnly yes',
          '  HostKeyAlias wolphin.fleet.1',
          `  UserKnownHostsFile ${kh}`,
          '  StrictHostKeyChecking yes',
        ].join('\n'),
      )
      expect(r.stdout).to.not.include('wolphin.other')
      // The known_hosts holds the very keys the hosts have (the pins' fingerprints, full keys).
      const pub = async (h: typeof h1) =>
        (await readFile(`${h.hostKey}.pub`, 'utf8')).split(' ').slice(0, 2).join(' ')
      expect(await readFile(kh, 'utf8')).to.equal(
        `wolphin.fleet.1 ${await pub(h1)}\nwolphin.fleet.2 ${await pub(h2)}\n`,
      )
      // The real ssh, in batch mode (it would fail rather than ask about an unknown key).
      for (const [i, h] of [h1, h2].entries()) {
        const s = await runProcess(
          'ssh',
          [
            '-F',
            cfg,
            '-o',
            'BatchMode=yes',
            `wolphin.fleet.${i + 1}`,
            'echo $SSH_CONNECTION | cut -d" " -f3',
          ],
          {env: f.env},
        )
        expect(s.code, s.stderr).to.equal(0)
        expect(s.stdout).to.equal(`${h.addr}\n`)
      }
      // scp reuses it too.
      await writeFile(path.join(home(1), 'scp-me.txt'), 'via scp\n')
      const scp = await runProcess(
        'scp',
        ['-F', cfg, '-o', 'BatchMode=yes', 'wolphin.fleet.2:scp-me.txt', path.join(f.dir, 'scp-got.txt')],
        {env: f.env},
      )
      expect(scp.code, scp.stderr).to.equal(0)
      expect(await readFile(path.join(f.dir, 'scp-got.txt'), 'utf8')).to.equal('via scp\n')
      // --json: the same facts as a document, nothing else on stdout.
      const j = (await f.cli('ssh-config', '--known-hosts', kh, '-i', '2', '--json')).json<{
        hosts: Array<{alias: string; port: number; hostKey: string}>
        config: string
      }>()
      expect(j.hosts.map((h) => [h.alias, h.port, h.hostKey])).to.deep.equal([
        ['wolphin.fleet.2', h2.port, await pub(h2)],
      ])
      expect(j.config).to.include('Host wolphin.fleet.2')
    })

    it('ssh-config with ssh.bastion: a ProxyJump entry that the real ssh follows', async () => {
      const f = fleet()
      const [bastion, h2] = f.lab.hosts
      await writeFile(path.join(f.dir, 'known_hosts'), await f.lab.knownHosts())
      await writeFile(
        path.join(f.dir, 'bastion.yaml'),
        f.configLines
          .join('\n')
          .replace('ssh:\n', `ssh:\n  bastion: {host: ${bastion.addr}, port: ${bastion.port}}\n`),
      )
      const kh = path.join(f.dir, 'bastion.known_hosts')
      const r = await f.cli('ssh-config', '-c', 'bastion.yaml', '-i', '2', '--known-hosts', kh)
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.include(
        ['Host wolphin.fleet.bastion', `  HostName ${bastion.addr}`, `  Port ${bastion.port}`].join('\n'),
      )
      expect(r.stdout).to.include(`  UserKnownHostsFile ${path.join(f.dir, 'known_hosts')}`)
      expect(r.stdout).to.include('  ProxyJump wolphin.fleet.bastion')
      const cfg = path.join(f.dir, 'bastion.ssh_config')
      await writeFile(cfg, r.stdout)
      const s = await runProcess(
        'ssh',
        ['-F', cfg, '-o', 'BatchMode=yes', '-v', 'wolphin.fleet.2', 'echo $SSH_CONNECTION | cut -d" " -f3'],
        {env: f.env},
      )
      expect(s.code, s.stderr).to.equal(0)
      expect(s.stdout).to.equal(`${h2.addr}\n`)
      expect(s.stderr).to.match(/Setting implicit ProxyCommand from ProxyJump/)
    })

    it('ssh SLOT -- COMMAND runs there with the pinned key and passes the exit code', async () => {
      const f = fleet()
      const env = sshEnv()
      const cli = (...args: string[]) => runCli(args, {cwd: f.dir, env})
      let r = await cli('ssh', '2', '--', 'echo $SSH_CONNECTION | cut -d" " -f3')
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.equal(`${f.lab.hosts[1].addr}\n`)
      r = await cli('ssh', 'wolphin.fleet.1', '--', 'echo', 'one', ';', 'exit 7')
      expect(r.code, r.stderr).to.equal(7)
      expect(r.stdout).to.equal('one\n')
      // The only instance of the selection.
      r = await cli('ssh', '-i', '1', '--', 'echo $SSH_CONNECTION | cut -d" " -f3')
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.equal(`${f.lab.hosts[0].addr}\n`)
      // Standard input reaches the remote command (binary, as ssh passes it).
      const input = 'a\u0000b\r\nc'
      r = await runCli(['ssh', '1', '--', 'od -An -c'], {cwd: f.dir, env, input})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout.replace(/\s+/g, ' ').trim()).to.equal('a \\0 b \\r \\n c')
      // Nothing generated is left behind.
      expect(
        (await readdir(path.join(f.dir, 'tmp'))).filter((n) => n.startsWith('wolphin-ssh-')),
      ).to.deep.equal([])
    })

    it('ssh: several running and none named, or an unknown slot: exit 2', async () => {
      const f = fleet()
      let r = await runCli(['ssh', '--', 'true'], {cwd: f.dir, env: sshEnv()})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/ssh: 2 instances are running \(slots 1, 2\); name one, e.g. wolphin ssh 1/)
      r = await runCli(['ssh', '9', '--', 'true'], {cwd: f.dir, env: sshEnv()})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/ssh: no running instance in slot 9 \(running: 1, 2\)/)
      r = await runCli(['ssh', '1', 'uptime'], {cwd: f.dir, env: sshEnv()})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/put the command after "--"/)
    })

    it('ssh: an interactive login gets a terminal', async () => {
      const f = fleet()
      // script(1) gives wolphin a terminal; the login shell reports its own.
      const r = await runProcess('script', ['-qec', `${process.execPath} ${BIN} ssh 1`, '/dev/null'], {
        cwd: f.dir,
        env: {...sshEnv(), TERM: 'dumb'},
        input: 'tty; exit 5\n',
        timeoutMs: 30_000,
      })
      expect(r.stdout, r.stderr).to.match(/\/dev\/pts\/\d+/)
      expect(r.code).to.equal(5)
    })

    it('a changed host key: ssh-config gives that instance no entry (exit 3) and ssh refuses to log in', async () => {
      const f = fleet()
      const h2 = f.lab.hosts[1]
      await h2.rekey()
      const kh = path.join(f.dir, 'after-rekey.known_hosts')
      const r = await f.cli('ssh-config', '--known-hosts', kh)
      expect(r.code).to.equal(3)
      expect(r.stdout).to.include('Host wolphin.fleet.1')
      expect(r.stdout).to.not.include('Host wolphin.fleet.2')
      expect(r.stderr).to.match(/wolphin\.fleet\.2.*host key of wolphin\.fleet\.2 .* changed/)
      expect(await readFile(kh, 'utf8')).to.not.include('wolphin.fleet.2')
      const s = await runCli(['ssh', '2', '--', 'touch ran-after-rekey'], {cwd: f.dir, env: sshEnv()})
      expect(s.code).to.equal(1)
      expect(s.stderr).to.match(/ssh: wolphin\.fleet\.2: host key of wolphin\.fleet\.2 .* changed/)
      await stat(path.join(h2.home, 'ran-after-rekey')).then(
        () => expect.fail('ssh logged in to a host whose key changed'),
        () => {},
      )
    })
  })
})
