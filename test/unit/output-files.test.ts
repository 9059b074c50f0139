/**
 * exec --output-dir writes only what is its own: an instance folder or file that is a symlink is
 * refused (before the run by OutputFiles.check, and at open time with O_NOFOLLOW for a link made
 * in between), and what it points to is left as it was.
 */
import {execFileSync} from 'node:child_process'
import {link, mkdir, mkdtemp, readdir, readFile, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {OutputFiles} from '../../src/exec/output-files.js'
import {NotOursError} from '../../src/util/no-follow.js'

const t = {id: 'i-0123456789abcdef0', name: 'web-1', slot: 1}

describe('OutputFiles never writes through a symlink', () => {
  let dir: string
  let victim: string
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-of-'))
    victim = path.join(dir, 'victim')
    await writeFile(victim, 'keep\n')
  })

  const refusedWith = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).to.be.instanceOf(NotOursError)
    return err as NotOursError
  }

  it('a file link made after the check: the write fails naming the path, the target is untouched', async () => {
    const od = path.join(dir, 'od')
    await OutputFiles.check(od)
    await mkdir(path.join(od, 'web-1'), {recursive: true})
    await symlink(victim, path.join(od, 'web-1', 'stdout'))
    const files = new OutputFiles(od)
    const err = await refusedWith(Promise.resolve(files.write(t, 'stdout', Buffer.from('overwritten\n'))))
    expect(err.path).to.equal(path.join(od, 'web-1', 'stdout'))
    expect(await readFile(victim, 'utf8')).to.equal('keep\n')
  })

  it('a folder link made after the check: refused, nothing written where it points', async () => {
    const od = path.join(dir, 'od')
    const elsewhere = path.join(dir, 'elsewhere')
    await mkdir(od)
    await mkdir(elsewhere)
    await symlink(elsewhere, path.join(od, 'web-1'))
    const files = new OutputFiles(od)
    const err = await refusedWith(Promise.resolve(files.write(t, 'stderr', Buffer.from('x'))))
    expect(err.path).to.equal(path.join(od, 'web-1'))
    expect(await readdir(elsewhere)).to.deep.equal([])
  })

  it('check refuses a link at either level before anything runs; plain files are fine', async () => {
    const od = path.join(dir, 'od')
    await mkdir(path.join(od, 'web-2'), {recursive: true})
    await writeFile(path.join(od, 'web-2', 'stdout'), 'an earlier run\n')
    await writeFile(path.join(od, 'notes.txt'), "the user's own file\n")
    await OutputFiles.check(od)
    await symlink(victim, path.join(od, 'web-2', 'stderr'))
    expect((await refusedWith(OutputFiles.check(od))).path).to.equal(path.join(od, 'web-2', 'stderr'))
  })

  it('a hard link to another file, or a FIFO, at an output file: refused, the other file untouched, no hang', async () => {
    const od = path.join(dir, 'od')
    await mkdir(path.join(od, 'web-1'), {recursive: true})
    await link(victim, path.join(od, 'web-1', 'stdout'))
    const files = new OutputFiles(od)
    const err = await refusedWith(Promise.resolve(files.write(t, 'stdout', Buffer.from('overwritten\n'))))
    expect(err.message).to.match(/has other hard links/)
    expect(await readFile(victim, 'utf8')).to.equal('keep\n')
    const od2 = path.join(dir, 'od2')
    await mkdir(path.join(od2, 'web-1'), {recursive: true})
    execFileSync('mkfifo', [path.join(od2, 'web-1', 'stdout')])
    const fifo = await refusedWith(Promise.resolve(new OutputFiles(od2).write(t, 'stdout', Buffer.from('x'))))
    expect(fifo.message).to.match(/is not a regular file/)
  })

  it('an ordinary run still replaces what an earlier run wrote', async () => {
    const od = path.join(dir, 'od')
    await mkdir(path.join(od, 'web-1'), {recursive: true})
    await writeFile(path.join(od, 'web-1', 'stdout'), 'an earlier, longer run\n')
    const files = new OutputFiles(od)
    await files.write(t, 'stdout', Buffer.from('new\n'))
    await files.end(t)
    expect(await readFile(path.join(od, 'web-1', 'stdout'), 'utf8')).to.equal('new\n')
    expect(await readFile(path.join(od, 'web-1', 'stderr'), 'utf8')).to.equal('')
  })
})
