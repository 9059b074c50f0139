import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {UsageError} from '../../src/errors.js'
import {instanceFolder, planGet} from '../../src/exec/get.js'
import {pickLogin} from '../../src/exec/ssh-config.js'
import {CopyError} from '../../src/exec/put.js'
import {safeName} from '../../src/exec/sftp.js'

describe('get, ssh: pure rules', () => {
  const hosts = [
    {id: 'i-1', name: 'wolphin.lt.1', slot: 1},
    {id: 'i-2', name: 'wolphin.lt.2', slot: 2},
  ]

  it('pickLogin: a slot, a Name or an id; the only one; otherwise a usage error naming the slots', () => {
    expect(pickLogin(hosts, '2').id).to.equal('i-2')
    expect(pickLogin(hosts, 'wolphin.lt.1').id).to.equal('i-1')
    expect(pickLogin(hosts, 'i-2').id).to.equal('i-2')
    expect(pickLogin([hosts[0]], undefined).id).to.equal('i-1')
    expect(() => pickLogin(hosts, undefined)).to.throw(UsageError, /2 instances are running \(slots 1, 2\)/)
    expect(() => pickLogin(hosts, '7')).to.throw(
      UsageError,
      /no running instance in slot 7 \(running: 1, 2\)/,
    )
    expect(() => pickLogin(hosts, 'wolphin.lt.9')).to.throw(
      UsageError,
      /no running instance named wolphin\.lt\.9/,
    )
    expect(() => pickLogin([], undefined)).to.throw(UsageError, /no running instance matches/)
  })

  it('instanceFolder: the Name when it is a plain file name, the id otherwise', () => {
    expect(instanceFolder('wolphin.lt.1', 'i-1')).to.equal('wolphin.lt.1')
    for (const bad of ['..', '.', 'a/b', '../x', 'a b', '', 'x\u0000y'])
      expect(instanceFolder(bad, 'i-9')).to.equal('i-9')
  })

  it('safeName: listing names that could leave the folder are refused', () => {
    for (const ok of ['a', '.hidden', 'a..b', 'ü.txt']) expect(safeName(ok), ok).to.equal(true)
    for (const bad of ['', '.', '..', 'a/b', '/etc', 'x\u0000']) expect(safeName(bad), bad).to.equal(false)
  })

  it('planGet: LOCAL that is a file, or empty arguments, are usage errors', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-unit-get-'))
    await writeFile(path.join(dir, 'f'), 'x')
    await planGet('r', 'f', dir).then(
      () => expect.fail('accepted a file as LOCAL'),
      (e: unknown) => expect(e).to.be.instanceOf(UsageError),
    )
    await planGet('', 'out', dir).then(
      () => expect.fail('accepted an empty REMOTE'),
      (e: unknown) => expect(e).to.be.instanceOf(UsageError),
    )
    expect(await planGet('results/', 'out', dir)).to.deep.equal({
      remote: 'results/',
      local: path.join(dir, 'out'),
    })
  })

  it('CopyError names the first failures, counts the rest and says what became of the copy', () => {
    const failures = Array.from({length: 7}, (_, i) => ({path: `p${i}`, error: 'No such file'}))
    const e = new CopyError(failures, 'removed the 3 path(s) this copy had created')
    expect(e.message).to.equal(
      'copy failed for 7 path(s): p0: No such file; p1: No such file; p2: No such file; p3: No such file; p4: No such file; and 2 more; removed the 3 path(s) this copy had created',
    )
    expect(e.failures).to.have.length(7)
    expect(new CopyError([], 'nothing was created', true).message).to.equal(
      'copy stopped; nothing was created',
    )
  })
})
