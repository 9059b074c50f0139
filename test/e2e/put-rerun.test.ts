/**
 * put and get against a real sshd: a copy killed with SIGKILL leaves its temporaries (`.NAME.wolphin-
 * XXXXXXXX` beside each file it was replacing); the re-run removes those of the files it writes and
 * nothing else, and get never copies them. Byte counts are the sum of what was copied, and `~/` in
 * a remote path is the login's home, as scp has it.
 */
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {expect} from 'chai'

import {BIN} from '../support/cli.js'
import {useFleet} from '../support/fleet.js'

const TEMP = /\.wolphin-[0-9a-f]{8}$/

/** Every file name under `root` (relative), recursively. */
async function names(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, {withFileTypes: true})) {
      const r = rel ? `${rel}/${e.name}` : e.name
      out.push(r)
      if (e.isDirectory()) await walk(path.join(dir, e.name), r)
    }
  }
  await walk(root, '')
  return out.sort()
}

describe('e2e: put and get re-runs after SIGKILL, byte counts, ~/ paths', function () {
  this.timeout(180_000)
  const fleet = useFleet({hosts: 1, project: 'rerun'})
  const home = () => fleet().lab.hosts[0].home

  /** Starts the CLI, waits until `ready()` is true (bounded), then SIGKILLs it. */
  async function killWhen(args: string[], ready: () => Promise<boolean>): Promise<void> {
    const f = fleet()
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: f.dir,
      env: {...process.env, ...f.env, NODE_NO_WARNINGS: '1'},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()))
    const t0 = Date.now()
    try {
      while (!(await ready())) {
        if (child.exitCode !== null) throw new Error(`finished before it could be killed: ${stderr}`)
        if (Date.now() - t0 > 60_000) throw new Error(`never got under way: ${stderr}`)
        await new Promise((r) => setTimeout(r, 2))
      }
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  }

  it('a put killed mid-transfer: the re-run removes its temporaries, nothing else; get never copies them', async () => {
    const f = fleet()
    const src = path.join(f.dir, 'bigtree')
    await mkdir(path.join(src, 'sub'), {recursive: true})
    await writeFile(path.join(src, 'big.bin'), randomBytes(96 * 1024 * 1024))
    await writeFile(path.join(src, 's.txt'), 'small\n')
    await writeFile(path.join(src, 'sub/t.txt'), 'tiny\n')
    let r = await f.cli('put', src, 'bt')
    expect(r.code, r.stderr).to.equal(0)
    const bt = path.join(home(), 'bt')
    // Look-alikes that are not temporaries of the files put writes: never removed.
    const keep = [
      '.other.wolphin-0123abcd',
      '.big.bin.wolphin-nothex!!',
      'big.bin.wolphin-0123abcd',
      '.big.bin.wolphin-0123abcd.x',
    ]
    for (const k of keep) await writeFile(path.join(bt, k), 'not ours\n')

    // The second put replaces every file through a temporary: kill it while they exist.
    await writeFile(path.join(src, 'big.bin'), randomBytes(96 * 1024 * 1024))
    await killWhen(['put', src, 'bt'], async () =>
      (await readdir(bt)).some((n) => /^\.big\.bin\.wolphin-[0-9a-f]{8}$/.test(n)),
    )
    const stale = (await names(bt)).filter((n) => TEMP.test(n) && !keep.includes(n))
    expect(stale, 'the killed put left temporaries (the precondition)').to.not.deep.equal([])

    r = await f.cli('put', src, 'bt')
    expect(r.code, r.stderr).to.equal(0)
    expect(await names(bt)).to.deep.equal([...keep, 'big.bin', 's.txt', 'sub', 'sub/t.txt'].sort())
    expect(await readFile(path.join(bt, 'big.bin'))).to.deep.equal(await readFile(path.join(src, 'big.bin')))

    // A temporary on the host (another run's, or a killed one's) is never fetched.
    await writeFile(path.join(bt, '.s.txt.wolphin-fc8eaf28'), 'half\n')
    const out = path.join(f.dir, 'got')
    r = await f.cli('get', 'bt', out)
    expect(r.code, r.stderr).to.equal(0)
    expect(
      (await names(path.join(out, 'wolphin.rerun.1/bt'))).filter((n) => /^\.s\.txt\.wolphin-/.test(n)),
    ).to.deep.equal([])
  })

  it('a get killed mid-transfer: the re-run removes its local temporaries', async () => {
    const f = fleet()
    await mkdir(path.join(home(), 'gt'), {recursive: true})
    await writeFile(path.join(home(), 'gt/big.bin'), randomBytes(96 * 1024 * 1024))
    await writeFile(path.join(home(), 'gt/s.txt'), 'small\n')
    const out = path.join(f.dir, 'killed-get')
    const local = path.join(out, 'wolphin.rerun.1/gt')
    await killWhen(['get', 'gt', out], async () =>
      (await readdir(local).catch(() => [] as string[])).some((n) =>
        /^\.big\.bin\.wolphin-[0-9a-f]{8}$/.test(n),
      ),
    )
    expect(
      (await names(local)).filter((n) => TEMP.test(n)),
      'the precondition',
    ).to.not.deep.equal([])
    await writeFile(path.join(local, '.other.wolphin-0123abcd'), 'not ours\n')
    const r = await f.cli('get', 'gt', out)
    expect(r.code, r.stderr).to.equal(0)
    expect(await names(local)).to.deep.equal(['.other.wolphin-0123abcd', 'big.bin', 's.txt'])
  })

  it('byte counts are the sum over files copied in parallel', async () => {
    const f = fleet()
    const src = path.join(f.dir, 'counted')
    await mkdir(src, {recursive: true})
    await writeFile(path.join(src, 'a.bin'), randomBytes(1000))
    await writeFile(path.join(src, 'b.txt'), '0123456789')
    let total = 1010
    for (let i = 0; i < 20; i++) {
      await writeFile(path.join(src, `f${i}.bin`), randomBytes(i * 997 + (i % 3) * 700_000))
      total += i * 997 + (i % 3) * 700_000
    }
    let r = await f.cli('put', src, 'counted')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.include(`copied 22 file(s), ${total} bytes to counted`)
    r = await f.cli('put', src, 'counted')
    expect(r.stdout).to.include(`copied 22 file(s), ${total} bytes to counted`)
    r = await f.cli('get', 'counted', path.join(f.dir, 'counted-back'))
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(new RegExp(`copied 22 file\\(s\\), ${total} bytes to `))
    await writeFile(path.join(home(), 'eight.txt'), '12345678')
    r = await f.cli('get', 'eight.txt', path.join(f.dir, 'eight'))
    expect(r.stdout).to.match(/copied 1 file\(s\), 8 bytes to /)
  })

  it('a remote path starting with ~/ is in the login’s home, as scp has it', async () => {
    const f = fleet()
    await writeFile(path.join(f.dir, 'tilde.txt'), 'tilde\n')
    let r = await f.cli('put', 'tilde.txt', '~/x/')
    expect(r.code, r.stderr).to.equal(0)
    expect(await readFile(path.join(home(), 'x/tilde.txt'), 'utf8')).to.equal('tilde\n')
    r = await f.cli('put', 'tilde.txt', '~/y.txt')
    expect(r.code, r.stderr).to.equal(0)
    expect(await readFile(path.join(home(), 'y.txt'), 'utf8')).to.equal('tilde\n')
    expect(await stat(path.join(home(), '~')).catch(() => null), 'a literal ~ directory').to.equal(null)
    r = await f.cli('get', '~/y.txt', path.join(f.dir, 'tilde-back'))
    expect(r.code, r.stderr).to.equal(0)
    expect(await readFile(path.join(f.dir, 'tilde-back/wolphin.rerun.1/y.txt'), 'utf8')).to.equal('tilde\n')
  })
})
