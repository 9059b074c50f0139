/**
 * `npm run demo` end to end, as a new user runs it (bash scripts/demo.sh): with the machine's sshd
 * (the load-test loop on the demo fleet: put, exec, get, total), without it (WOLPHIN_SSHD pointing
 * nowhere: one line says what was skipped, the rest runs), and interrupted by SIGINT. Every run
 * must leave no sshd and no moto behind.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {type CliResult, runProcess} from '../support/cli.js'
import {motoServerPath, ROOT} from '../support/moto.js'
import {sshdPath} from '../support/sshd.js'

const DEMO = path.join(ROOT, 'scripts/demo.sh')
const NAMES = ['wolphin.demo.1', 'wolphin.demo.2', 'wolphin.demo.3']

function skipUnless(ctx: Mocha.Context, ok: boolean, what: string): void {
  if (ok) return
  if (process.env.CI) throw new Error(`${what} is required under CI but was not found`)
  console.warn(`    [notice] ${what} not found: skipping`)
  ctx.skip()
}

/** The throw-away sshd directory and moto's port, as the demo printed them. */
function serversOf(stdout: string): {labDir: string | null; motoPort: number} {
  const port = /moto \(local EC2 emulator\) on 127\.0\.0\.1:(\d+)/.exec(stdout)
  expect(port, stdout).to.not.equal(null)
  return {labDir: /key: (\/\S+)\/client_key/.exec(stdout)?.[1] ?? null, motoPort: Number(port![1])}
}

/** Processes whose command line mentions `text` (the sshd servers name their config file in it). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = []
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmd.includes(text)) found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`)
  }
  return found
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({host: '127.0.0.1', port})
    s.once('connect', () => (s.destroy(), resolve(true)))
    s.once('error', () => resolve(false))
  })
}

/** Nothing the demo started is left: no sshd of its lab, no lab directory, no moto. */
async function expectNothingLeft(stdout: string): Promise<void> {
  const {labDir, motoPort} = serversOf(stdout)
  if (labDir) {
    expect(await processesMentioning(labDir), 'sshd left running').to.deep.equal([])
    expect(existsSync(labDir), `${labDir} left behind`).to.equal(false)
  }
  expect(await accepts(motoPort), 'moto left running').to.equal(false)
}

const demo = (env: Record<string, string>): Promise<CliResult> =>
  runProcess('bash', [DEMO], {env, timeoutMs: 170_000})

/** `Name | text` lines, by instance. */
const linesOf = (out: string, name: string) => out.split('\n').filter((l) => l.startsWith(`${name} | `))

/**
 * The README's demo excerpt (between <!-- demo-output --> markers), each line as it would appear
 * in a run: timings, byte counts, instance ids and temp paths vary; the rest must be printed word
 * for word.
 */
async function readmeExcerpt(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8')
  const m = /<!-- demo-output -->\n```console\n([\s\S]*?)```\n<!-- demo-output-stop -->/.exec(readme)
  expect(m, 'README.md has no demo excerpt').to.not.equal(null)
  return m![1].split('\n').filter((l) => l.trim() && l.trim() !== '...' && !l.startsWith('$ npm run demo'))
}
const normalise = (line: string) =>
  line
    .replace(/\d+ ms\b/g, 'N ms')
    .replace(/\d+ bytes\b/g, 'N bytes')
    .replace(/\d+\.\d s\b/g, 'N s')
    .replace(/\/\S*\/results\//g, '/.../results/')
    .replace(/\d\d:\d\d:\d\d/g, 'HH:MM:SS')
    .replace(/i-[0-9a-f]{17}/g, 'i-ID')

describe('e2e: npm run demo', function () {
  this.timeout(180_000)
  const dirs: string[] = []
  /** A directory for the demo to work in (WOLPHIN_DEMO_DIR keeps it, for the checks). */
  const demoDir = async () => {
    dirs.push(await mkdtemp(path.join(os.tmpdir(), 'wolphin-demo-test-')))
    return dirs.at(-1)!
  }
  after(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('with sshd: creates, puts, execs, gets every result, totals them, terminates; the README excerpt is real', async function () {
    skipUnless(this, Boolean(motoServerPath()), 'moto_server')
    skipUnless(this, Boolean(sshdPath()), 'sshd (openssh-server)')
    const dir = await demoDir()
    const t0 = Date.now()
    const r = await demo({WOLPHIN_DEMO_DIR: dir})
    const elapsed = Date.now() - t0
    expect(r.code, r.stdout + r.stderr).to.equal(0)

    // Each instance ran the load test and its result came back to results/<instance name>/.
    expect((await readdir(path.join(dir, 'results'))).sort()).to.deep.equal(NAMES)
    let requests = 0
    for (const name of NAMES) {
      const out = await readFile(path.join(dir, 'results', name, 'loadtest.out'), 'utf8')
      expect(out).to.match(/^requests=200 ok=200 errors=0 ms=\d+\n$/)
      requests += Number(/requests=(\d+)/.exec(out)![1])
      expect(linesOf(r.stdout, name)).to.include(
        `${name} | done: 200/200 ok in ${/ms=(\d+)/.exec(out)![1]} ms`,
      )
    }
    expect(r.stdout).to.match(
      new RegExp(
        `^total from results/\\*/loadtest\\.out: ${requests} requests on 3 instances, ${requests} ok, 0 errors, slowest instance \\d+\\.\\d s$`,
        'm',
      ),
    )
    // put, exec and get each end with their summary; the fleet is terminated at the end.
    expect(r.stderr.match(/^3 ok, 0 failed, 0 unreachable$/gm)).to.have.length(3)
    expect(r.stdout).to.match(/^ {2}wolphin\.demo\.3 +i-[0-9a-f]+ +terminated( \(user shutdown\))?$/m)
    await expectNothingLeft(r.stdout)

    const seen = new Set(`${r.stdout}\n${r.stderr}`.split('\n').map(normalise))
    for (const line of await readmeExcerpt())
      expect(seen.has(normalise(line)), `README demo line not in the demo's output: ${line}`).to.equal(true)
    // Once set up (deps, moto, build cached), the whole demo stays under a minute.
    expect(elapsed).to.be.below(60_000)
  })

  it('without sshd: one line says what was skipped and how to get it, the rest runs', async function () {
    skipUnless(this, Boolean(motoServerPath()), 'moto_server')
    const dir = await demoDir()
    const r = await demo({WOLPHIN_DEMO_DIR: dir, WOLPHIN_SSHD: path.join(dir, 'no-sshd-here')})
    expect(r.code, r.stdout + r.stderr).to.equal(0)
    const skipped = r.stdout.split('\n').filter((l) => /skipped/.test(l) && /sshd/.test(l))
    expect(skipped).to.have.length(1)
    expect(skipped[0]).to.match(/put\/exec\/get/)
    expect(skipped[0]).to.match(/openssh-server/)
    expect(existsSync(path.join(dir, 'results'))).to.equal(false)
    expect(r.stdout).to.not.match(/\$ wolphin (put|exec|get)\b/)
    for (const step of ['create', 'stop -i 2', 'start', 'terminate --yes'])
      expect(r.stdout).to.include(`$ wolphin ${step}\n`)
    expect(r.stdout).to.match(/^ {2}wolphin\.demo\.3 +i-[0-9a-f]+ +terminated( \(user shutdown\))?$/m)
    await expectNothingLeft(r.stdout)
  })

  it('a WOLPHIN_DEMO_DIR with files in it: one line, exit 2, nothing started or removed', async () => {
    const dir = await demoDir()
    await writeFile(path.join(dir, 'mine.txt'), "not the demo's")
    const r = await demo({WOLPHIN_DEMO_DIR: dir})
    expect(r.code, r.stdout + r.stderr).to.equal(2)
    expect(r.stderr.trim().split('\n')).to.deep.equal([
      `demo: WOLPHIN_DEMO_DIR=${dir} is not empty; name a new or empty directory`,
    ])
    expect(r.stdout).to.not.match(/moto/)
    expect(await readdir(dir)).to.deep.equal(['mine.txt'])
  })

  it('a reader that goes away (npm run demo | head): the demo stops everything it started', async function () {
    skipUnless(this, Boolean(motoServerPath()), 'moto_server')
    skipUnless(this, Boolean(sshdPath()), 'sshd (openssh-server)')
    // The reader quits after the line naming the sshd lab's key; the demo's next write fails.
    const reader = 'while IFS= read -r l; do echo "$l"; case $l in *client_key*) exit 0 ;; esac; done'
    const r = await runProcess(
      'bash',
      ['-c', `bash '${DEMO}' | { ${reader}; }; ` + 'echo "demo exit ${PIPESTATUS[0]}" >&2'],
      {
        timeoutMs: 170_000,
      },
    )
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.match(/^demo exit 141$/m)
    expect(serversOf(r.stdout).labDir).to.not.equal(null)
    await expectNothingLeft(r.stdout)
  })

  it('SIGINT during the load test: the demo stops the sshd servers and moto itself, exits 130', async function () {
    skipUnless(this, Boolean(motoServerPath()), 'moto_server')
    skipUnless(this, Boolean(sshdPath()), 'sshd (openssh-server)')
    // The signal goes to the demo process alone (demo.sh execs it), not to its servers as a
    // terminal's Ctrl-C would: they stop only if the demo stops them.
    const child = spawn('bash', [DEMO], {
      cwd: ROOT,
      env: {...process.env, NODE_NO_WARNINGS: '1'},
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const hard = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 150_000)
    child.stdout.on('data', (d) => {
      stdout += d
      if (/\| 100\/200 requests sent/.test(stdout) && !child.killed) child.kill('SIGINT')
    })
    child.stderr.on('data', (d) => (stderr += d))
    const code = await new Promise((resolve) => child.once('close', (c, s) => resolve(c ?? s)))
    clearTimeout(hard)
    expect(stdout).to.match(/\| 100\/200 requests sent/)
    expect(code, stdout + stderr).to.equal(130)
    expect(stderr).to.match(/demo: SIGINT: stopping the emulator and the local sshd servers/)
    await expectNothingLeft(stdout)
  })
})
