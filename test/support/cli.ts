import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import path from 'node:path'

import {ROOT} from './moto.js'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  json<T = any>(): T // eslint-disable-line @typescript-eslint/no-explicit-any -- tests index freely into CLI JSON
}

export const BIN = path.join(ROOT, 'bin/run.js')

/** A child's environment: the test's, with `extra` on top, no AWS profile, no Node warnings. */
function childEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {...process.env, ...extra, NODE_NO_WARNINGS: '1'}
  delete env.AWS_PROFILE
  return env
}

export interface CliOptions {
  cwd?: string
  env?: Record<string, string>
  timeoutMs?: number
  input?: string
  stdoutTo?: string
}

/** Runs `cmd` as a child process with `input` (default: none) on stdin; killed after `timeoutMs`. */
export function runProcess(cmd: string, args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // stdoutTo: the child's stdout is that file (/dev/full: every write fails), not a pipe.
    const out = opts.stdoutTo === undefined ? 'pipe' : openSync(opts.stdoutTo, 'w')
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? ROOT,
      env: childEnv(opts.env),
      stdio: ['pipe', out, 'pipe'],
    })
    if (typeof out === 'number') closeSync(out)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr?.on('data', (d) => (stderr += d))
    child.stdin?.end(opts.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({
        code,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
  })
}

/** Runs the built CLI as a child process, as a user would. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], opts)
}

/** Starts the CLI and sends `signal` after `delayMs`; resolves with the exit code/signal and output. */
export function runAndSignal(
  args: string[],
  opts: {
    cwd: string
    env: Record<string, string>
    delayMs: number
    signal: NodeJS.Signals
    /** Count the delay from the first stderr line matching this, not from the start. */
    after?: RegExp
    /** The same for stdout. */
    afterStdout?: RegExp
  },
): Promise<{code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    const arm = () => (timer ??= setTimeout(() => child.kill(opts.signal), opts.delayMs))
    child.stdout.on('data', (d) => {
      stdout += d
      if (opts.afterStdout?.test(stdout)) arm()
    })
    child.stderr.on('data', (d) => {
      stderr += d
      if (opts.after?.test(stderr)) arm()
    })
    if (!opts.after && !opts.afterStdout) arm()
    const hard = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(hard)
      resolve({code, signal, stdout, stderr})
    })
  })
}
