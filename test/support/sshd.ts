/**
 * Real OpenSSH sshd test hosts on loopback: throw-away keys from ssh-keygen in a temp dir, one sshd
 * per host (127.0.0.x, unprivileged port), each with its own host key and its own SFTP start
 * directory, so several "instances" on one machine do not share files. Without sshd: fail under CI,
 * skip with a notice otherwise. Every sshd started here is stopped by `stop()`. `npm run demo`
 * (scripts/demo.ts) serves its emulated instances with these hosts too.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'

const run = promisify(execFile)
/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const CLK_TCK = 100

/**
 * The sshd to run: WOLPHIN_SSHD when set (only it: a path that does not exist means "no sshd", which
 * is how the demo's test hides the machine's), else OpenSSH's usual places.
 */
export function sshdPath(): string | null {
  const override = process.env.WOLPHIN_SSHD
  const candidates = override ? [override] : ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd']
  return candidates.find((c) => existsSync(c)) ?? null
}

export interface SshHost {
  addr: string
  port: number
  /** `addr:port`, the value of the instance's address tag. */
  tag: string
  /** The SFTP start directory: a relative `put` lands here. */
  home: string
  hostKey: string
  /** `SHA256:...` of the current host key. */
  fingerprint: string
  /** Replaces the host key and restarts the server (a rebuilt instance, or an impostor). */
  rekey(): Promise<void>
  stop(): Promise<void>
}

export interface SshLab {
  dir: string
  /** The client's private key (mode 0600). */
  key: string
  user: string
  hosts: SshHost[]
  /** known_hosts lines for every host, `[addr]:port key`. */
  knownHosts(): Promise<string>
  /**
   * CPU time (user+system, ms) of the sshd servers and their finished children (the per-connection
   * processes): the server side of a benchmark. Linux only (/proc); null elsewhere.
   */
  serverCpuMs(): Promise<number | null>
  stop(): Promise<void>
}

async function keygen(file: string, comment: string): Promise<void> {
  await rm(file, {force: true})
  await rm(`${file}.pub`, {force: true})
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file])
}

async function fingerprintOf(pub: string): Promise<string> {
  const {stdout} = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub])
  return stdout.split(/\s+/)[1]
}

/** A free port on `addr` (bind to 0, read it, release it). */
export function freePortOn(addr: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, addr, () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

async function waitForBanner(
  addr: string,
  port: number,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({host: addr, port})
      const done = (v: boolean) => {
        s.destroy()
        resolve(v)
      }
      s.once('data', (d) => done(d.toString().startsWith('SSH-')))
      s.once('error', () => done(false))
      s.setTimeout(1000, () => done(false))
    })
    if (ok) return
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`sshd on ${addr}:${port} did not start: ${log()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export interface LabOptions {
  /** Number of hosts; host i listens on 127.0.0.(i+2). */
  hosts: number
  /** One sshd per 16 addresses instead of one per host (no per-host home or rekey). */
  single?: boolean
  maxStartups?: number
}

/** Starts the test hosts. */
export async function startSshLab(opts: LabOptions): Promise<SshLab> {
  const sshd = sshdPath()
  if (!sshd) throw new Error('sshd not found (install openssh-server)')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-sshd-'))
  await chmod(dir, 0o755)
  // sshd's privilege separation directory (Debian).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd'))
    await mkdir('/run/sshd', {recursive: true, mode: 0o755})
  const key = path.join(dir, 'client_key')
  await keygen(key, 'wolphin-test-client')
  await chmod(key, 0o600)
  const authorized = path.join(dir, 'authorized_keys')
  await writeFile(authorized, await readFile(`${key}.pub`), {mode: 0o600})
  const user = os.userInfo().username
  const children = new Set<ChildProcess>()

  const spawnSshd = async (
    name: string,
    listen: Array<{addr: string; port: number}>,
    hostKey: string,
    home: string,
  ) => {
    const cfg = path.join(dir, `${name}.sshd_config`)
    await writeFile(
      cfg,
      [
        ...listen.map((l) => `ListenAddress ${l.addr}:${l.port}`),
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, `${name}.pid`)}`,
        `AuthorizedKeysFile ${authorized}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'PermitRootLogin prohibit-password',
        `MaxStartups ${opts.maxStartups ?? 200}`,
        'MaxSessions 200',
        'UseDNS no',
        'LogLevel ERROR',
        `Subsystem sftp internal-sftp -d ${home}`,
        // A clean home like a fresh instance's: the machine user's own ~/.bashrc (which bash reads
        // even for `ssh host CMD`) would otherwise run on every session and dominate server CPU.
        `SetEnv HOME=${home}`,
        '',
      ].join('\n'),
    )
    const child = spawn(sshd, ['-D', '-e', '-f', cfg], {stdio: ['ignore', 'ignore', 'pipe']})
    let log = ''
    child.stderr?.on('data', (d) => (log = (log + d).slice(-4000)))
    children.add(child)
    child.once('exit', () => children.delete(child))
    for (const l of listen) await waitForBanner(l.addr, l.port, child, () => log)
    return child
  }

  const stopChild = async (child: ChildProcess | null) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGKILL')
    // Reaped before returning: a caller that exits next would leave a zombie behind.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
  }

  const hosts: SshHost[] = []
  const addrs = Array.from({length: opts.hosts}, (_, i) => `127.0.0.${i + 2}`)
  const ports = await Promise.all(addrs.map((a) => freePortOn(a)))
  try {
    if (opts.single) {
      const hostKey = path.join(dir, 'host_key')
      await keygen(hostKey, 'wolphin-test-host')
      const home = path.join(dir, 'home')
      await mkdir(home, {recursive: true})
      // sshd listens on at most 16 sockets: one server per 16 addresses, all with the same host key.
      const servers: ChildProcess[] = []
      for (let i = 0; i < addrs.length; i += 16) {
        const listen = addrs.slice(i, i + 16).map((addr, j) => ({addr, port: ports[i + j]}))
        servers.push(await spawnSshd(`all${i / 16}`, listen, hostKey, home))
      }
      const fp = await fingerprintOf(`${hostKey}.pub`)
      addrs.forEach((addr, i) =>
        hosts.push({
          addr,
          port: ports[i],
          tag: `${addr}:${ports[i]}`,
          home,
          hostKey,
          fingerprint: fp,
          rekey: async () => {
            throw new Error('rekey needs one sshd per host')
          },
          stop: () => stopChild(servers[Math.floor(i / 16)]),
        }),
      )
    } else {
      for (const [i, addr] of addrs.entries()) {
        const name = `host${i + 1}`
        const hostKey = path.join(dir, `${name}_host_key`)
        await keygen(hostKey, `wolphin-test-${name}`)
        const home = path.join(dir, name)
        await mkdir(home, {recursive: true})
        const port = ports[i]
        let child: ChildProcess | null = await spawnSshd(name, [{addr, port}], hostKey, home)
        const host: SshHost = {
          addr,
          port,
          tag: `${addr}:${port}`,
          home,
          hostKey,
          fingerprint: await fingerprintOf(`${hostKey}.pub`),
          async rekey() {
            await stopChild(child)
            await keygen(hostKey, `wolphin-test-${name}-rekeyed`)
            host.fingerprint = await fingerprintOf(`${hostKey}.pub`)
            child = await spawnSshd(name, [{addr, port}], hostKey, home)
          },
          async stop() {
            await stopChild(child)
            child = null
          },
        }
        hosts.push(host)
      }
    }
  } catch (e) {
    // A server that did not start: stop the ones that did, leave no directory behind.
    await Promise.all([...children].map((c) => stopChild(c)))
    await rm(dir, {recursive: true, force: true})
    throw e
  }
  return {
    dir,
    key,
    user,
    hosts,
    async serverCpuMs() {
      let ticks = 0
      for (const c of children) {
        try {
          const stat = await readFile(`/proc/${c.pid}/stat`, 'utf8')
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          // utime stime cutime cstime are fields 14-17 (11-14 after the command name).
          ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
        } catch {
          return null
        }
      }
      return Math.round((ticks * 1000) / CLK_TCK)
    },
    async knownHosts() {
      const lines: string[] = []
      for (const h of hosts) {
        const pub = (await readFile(`${h.hostKey}.pub`, 'utf8')).trim().split(/\s+/)
        lines.push(`[${h.addr}]:${h.port} ${pub[0]} ${pub[1]}`)
      }
      return lines.join('\n') + '\n'
    },
    async stop() {
      await Promise.all([...children].map((c) => stopChild(c)))
      await rm(dir, {recursive: true, force: true})
    },
  }
}

/**
 * For a `describe` block: starts the lab before, stops it after; returns a getter. Skips the block
 * with a visible notice when sshd is missing, unless CI is set.
 */
export function useSshLab(opts: LabOptions): () => SshLab {
  let lab: SshLab | undefined
  before(async function () {
    if (!sshdPath()) {
      if (process.env.CI)
        throw new Error('sshd is required under CI but was not found (install openssh-server)')
      console.warn('    [notice] sshd not found: skipping exec/put e2e tests (install openssh-server)')
      this.skip()
    }
    this.timeout(60_000)
    lab = await startSshLab(opts)
  })
  after(async () => {
    await lab?.stop()
  })
  return () => lab!
}
