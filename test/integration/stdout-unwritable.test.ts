/**
 * A full or closed stdout is one clear line on stderr and exit 1, for every command, never a stack
 * trace: the built CLI with its stdout on /dev/full (every write fails with ENOSPC).
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {TEST_AMI} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

export const STDOUT_FULL = 'wolphin: error: cannot write to stdout: no space left on device (ENOSPC)\n'

describe('integration: a full stdout', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-full-'))
    env = motoEnv(moto().endpoint)
    await writeFile(path.join(dir, 'wolphin.yaml'), `project: full-out\nami: ${TEST_AMI}\n`)
  })

  const CASES = [
    ['status', '--json'],
    ['status'],
    ['config', '--json'],
    ['config'],
    ['ls', '--json'],
    ['--help'],
  ]
  for (const args of CASES)
    it(`wolphin ${args.join(' ')} >/dev/full: one line, exit 1`, async () => {
      const r = await runCli(args, {cwd: dir, env, stdoutTo: '/dev/full'})
      expect(r.stderr).to.equal(STDOUT_FULL)
      expect(r.code).to.equal(1)
    })
})
