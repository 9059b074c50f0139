/**
 * moto's EC2 server for integration tests, started on 127.0.0.1 from the virtualenv that
 * scripts/ensure-moto.sh creates. Without it: fail under CI, skip with a notice otherwise.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface Moto {
  endpoint: string
  port: number
  stop(): Promise<void>
  reset(): Promise<void>
}

export function motoServerPath(): string | null {
  const candidates = [process.env.WOLPHIN_MOTO_SERVER, path.join(ROOT, '.cache/moto-venv/bin/moto_server')]
  return candidates.find((c) => c && existsSync(c)) ?? null
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

export async function startMoto(): Promise<Moto> {
  const bin = motoServerPath()
  if (!bin) throw new Error('moto_server not found: run scripts/ensure-moto.sh (npm test does)')
  const port = await freePort()
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)))
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/moto-api/data.json`)
      if (r.ok) break
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr}`)
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  return {
    endpoint,
    port,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, {method: 'POST'})
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      // Reaped before returning: a caller that exits next would leave a zombie behind.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    },
  }
}

/**
 * For a `describe` block: starts moto before, stops it after. Returns a getter. Skips the block
 * (with a notice) when moto is missing, unless CI is set.
 */
export function useMoto(): () => Moto {
  let moto: Moto | undefined
  before(async function () {
    if (!motoServerPath()) {
      if (process.env.CI) throw new Error('moto_server is required under CI but was not found')
      console.warn(
        '    [notice] moto_server not found: skipping integration tests (run scripts/ensure-moto.sh)',
      )
      this.skip()
    }
    this.timeout(60_000)
    moto = await startMoto()
  })
  after(async () => {
    await moto?.stop()
  })
  return () => moto!
}

/** Environment for a CLI run against moto: fake credentials, loopback endpoint, no real config. */
export function motoEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  }
}
