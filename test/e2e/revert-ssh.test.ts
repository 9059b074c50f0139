import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {TEST_AMI} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'
import {freePortOn, useSshLab} from '../support/sshd.js'

const ADDR_TAG = 'wolphin.test.addr'

interface Inst {
  id: string
  slot: number
  state: string
  replaced: boolean
}

describe('e2e: revert --strategy rolling --wait-ssh against real sshd on loopback', function () {
  this.timeout(120_000)
  const moto = useMoto()
  const lab = useSshLab({hosts: 1})
  let dir: string
  let env: Record<string, string>
  const cli = (...args: string[]) => runCli(args, {cwd: dir, env})
  const live = async () => {
    const r = await cli('status', '--json')
    expect(r.code, r.stderr).to.equal(0)
    return r
      .json<{instances: Inst[]}>()
      .instances.filter((i) => !['terminated', 'shutting-down'].includes(i.state))
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-e2e-revert-'))
    env = motoEnv(moto().endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: ''})
    // Every instance, replacements included, carries the loopback address of the test host.
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      [
        'project: rs',
        `ami: ${TEST_AMI}`,
        'count: 2',
        `user: ${lab().user}`,
        'ssh:',
        `  key: ${lab().key}`,
        `  address: tag:${ADDR_TAG}`,
        '  hostKeys: off',
        '  connectTimeout: 2',
        'wait: {interval: 0.2, timeout: 6}',
        `tags: {${ADDR_TAG}: "${lab().hosts[0].tag}"}`,
        '',
      ].join('\n'),
    )
    // A layered override whose address nobody listens on.
    const closed = await freePortOn('127.0.0.1')
    await writeFile(path.join(dir, 'dead.yaml'), `tags: {${ADDR_TAG}: "127.0.0.1:${closed}"}\n`)
    const r = await cli('create', '--json')
    expect(r.code, r.stderr).to.equal(0)
  })

  it('waits until each replacement accepts SSH, then terminates the old one', async () => {
    const before = await live()
    const r = await cli('revert', '--strategy', 'rolling', '--wait-ssh', '--yes', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const kinds = r.json().plan.actions.map((a: {description: string}) => a.description)
    expect(kinds.filter((d: string) => / wait until reachable over ssh: /.test(d))).to.have.length(2)
    const after = await live()
    expect(after.map((i) => i.slot)).to.deep.equal([1, 2])
    expect(after.map((i) => i.id)).to.not.include.members(before.map((i) => i.id))
  })

  it('a replacement that never answers leaves the old instance running (marked), exit 1', async () => {
    const before = await live()
    const r = await cli(
      'revert',
      '-c',
      'wolphin.yaml',
      '-c',
      'dead.yaml',
      '-i',
      '1',
      '--strategy',
      'rolling',
      '--wait-ssh',
    )
    expect(r.code, r.stdout + r.stderr).to.equal(1)
    expect(r.stderr).to.match(/waiting for SSH/)
    const after = await live()
    const old = after.find((i) => i.id === before[0].id)
    expect(old).to.include({state: 'running', replaced: true})
    // Slot 1: the old one (marked) and its unreachable replacement; slot 2 untouched.
    expect(after.map((i) => [i.slot, i.replaced])).to.deep.equal([
      [1, true],
      [1, false],
      [2, false],
    ])
  })
})
