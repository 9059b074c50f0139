import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {readRegularFile, UnreadableFileError, writeRegularFile} from '../../src/util/read-file.js'

describe('readRegularFile: what wolphin reads on the user\u2019s say-so', () => {
  let dir: string
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-read-'))))
  after(() => rm(dir, {recursive: true, force: true}))

  const reason = (p: Promise<unknown>) =>
    p.then(
      () => 'read',
      (e: unknown) => (e instanceof UnreadableFileError ? e.reason : `other: ${(e as Error).message}`),
    )

  it('reads a regular file with its mode', async () => {
    await writeFile(path.join(dir, 'f'), 'hello', {mode: 0o600})
    const r = await readRegularFile(path.join(dir, 'f'), 100)
    expect(r.data.toString()).to.equal('hello')
    expect(r.mode).to.equal(0o600)
  })

  it('refuses a FIFO at once (no writer), a directory, a device, a missing file, a large file', async () => {
    const fifo = path.join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    const t0 = Date.now()
    expect(await reason(readRegularFile(fifo, 100))).to.equal('not-a-file')
    expect(Date.now() - t0).to.be.below(2000)
    expect(await reason(readRegularFile(dir, 100))).to.equal('directory')
    expect(await reason(readRegularFile('/dev/null', 100))).to.equal('not-a-file')
    expect(await reason(readRegularFile(path.join(dir, 'none'), 100))).to.equal('missing')
    await writeFile(path.join(dir, 'big'), Buffer.alloc(101))
    expect(await reason(readRegularFile(path.join(dir, 'big'), 100))).to.equal('too-large')
  })

  it('writeRegularFile writes a regular file and refuses a FIFO or a device at once, untouched', async () => {
    const f = path.join(dir, 'w')
    await writeRegularFile(f, 'long text here', 0o600)
    await writeRegularFile(f, 'short', 0o600)
    expect(await readFile(f, 'utf8')).to.equal('short')
    const fifo = path.join(dir, 'wfifo')
    execFileSync('mkfifo', [fifo])
    expect(await reason(writeRegularFile(fifo, 'x', 0o600))).to.equal('not-a-file')
    expect(await reason(writeRegularFile('/dev/null', 'x', 0o600))).to.equal('not-a-file')
    expect(await reason(writeRegularFile(dir, 'x', 0o600))).to.equal('directory')
  })

  it('leaves no worker thread blocked: the process exits right after refusing a FIFO', () => {
    const fifo = path.join(dir, 'fifo2')
    execFileSync('mkfifo', [fifo])
    const module = path.resolve('src/util/read-file.ts')
    const script = `const {readRegularFile} = await import(${JSON.stringify(module)}); await readRegularFile(${JSON.stringify(fifo)}, 10).catch(() => {}); process.exit(7)`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 20_000,
      encoding: 'utf8',
    })
    expect(r.signal, `still running after 20 s: ${r.stderr}`).to.equal(null)
    expect(r.status, r.stderr).to.equal(7)
  })
})
