/**
 * Runs the built CLI on a pseudo-terminal (Python's pty module: stdin, stdout and stderr are all
 * the terminal, as for a person at a shell), answers `answer` once `prompt` appears, and returns
 * everything the terminal showed. Bounded: killed after `timeoutMs`.
 */
import {spawn} from 'node:child_process'

import {BIN} from './cli.js'

const DRIVER = String.raw`
import os, pty, sys, select, time, re, signal, json
argv, prompt, answer, timeout, cols = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
import fcntl, termios, struct
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, cols, 0, 0))
out = b''
answered = False
deadline = time.time() + timeout
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if not answered and prompt and re.search(prompt.encode(), out):
        os.write(fd, answer.encode())
        answered = True
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
`

export interface PtyResult {
  code: number | null
  /** What the terminal showed (stdout and stderr together, CR LF line ends). */
  screen: string
}

export function runOnPty(
  args: string[],
  opts: {
    cwd: string
    env: Record<string, string>
    prompt?: RegExp
    answer?: string
    timeoutMs?: number
    columns?: number
  },
): Promise<PtyResult> {
  const spec = [
    [process.execPath, BIN, ...args],
    opts.prompt?.source ?? '',
    opts.answer ?? '',
    (opts.timeoutMs ?? 60_000) / 1000,
    opts.columns ?? 100,
  ]
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {...process.env, ...opts.env, NODE_NO_WARNINGS: '1'}
    delete env.AWS_PROFILE
    delete env.CI
    const child = spawn('python3', ['-c', DRIVER, JSON.stringify(spec)], {
      cwd: opts.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let screen = ''
    let err = ''
    child.stdout.on('data', (d) => (screen += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code) => {
      if (err) screen += `\n[pty driver stderr] ${err}`
      resolve({code, screen: screen.replace(/\r\n/g, '\n')})
    })
  })
}
