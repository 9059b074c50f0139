/**
 * Timing helpers for the benchmark harness: runs a command as a child process (never blocking the
 * event loop, so an in-process proxy keeps answering), with wall time from the parent's clock and
 * peak RSS from GNU time (`/usr/bin/time -f %M`, the child's VmHWM) when it is installed.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

export const GNU_TIME = '/usr/bin/time'
export const hasGnuTime = () => existsSync(GNU_TIME)

export interface RunOutcome {
  wallMs: number
  /** Peak resident set size in MB, when GNU time is available. */
  rssMb: number | null
  code: number | null
  stdout: string
  /** Bytes the child wrote to stdout (a pipe this process reads), kept or not. */
  stdoutBytes: number
  stderr: string
}

export async function timedRun(
  cmd: string,
  args: string[],
  opts: {env: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; keepStdout?: boolean},
): Promise<RunOutcome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bench-time-'))
  const timeFile = path.join(dir, 'time')
  const useTime = hasGnuTime()
  const [bin, argv] = useTime ? [GNU_TIME, ['-f', '%M', '-o', timeFile, cmd, ...args]] : [cmd, args]
  try {
    return await new Promise<RunOutcome>((resolve, reject) => {
      const t0 = performance.now()
      const child = spawn(bin, argv, {cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe']})
      const out: Buffer[] = []
      let stdoutBytes = 0
      let stderr = ''
      child.stdout.on('data', (d: Buffer) => {
        stdoutBytes += d.length
        if (opts.keepStdout !== false) out.push(d)
      })
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)))
      const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000)
      child.on('error', reject)
      child.on('close', async (code) => {
        const wallMs = performance.now() - t0
        clearTimeout(killer)
        let rssMb: number | null = null
        if (useTime) {
          const kb = Number((await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n').pop())
          if (Number.isFinite(kb) && kb > 0) rssMb = kb / 1024
        }
        resolve({wallMs, rssMb, code, stdout: Buffer.concat(out).toString('utf8'), stdoutBytes, stderr})
      })
    })
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

export interface Stats {
  runs: number
  median: number
  min: number
  max: number
  samples: number[]
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b)
  const mid = s.length >> 1
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
  return {runs: s.length, median, min: s[0], max: s[s.length - 1], samples}
}
