/**
 * Tag values are anyone's who may write tags: control characters in them (ESC, BEL, CR, C1, bidi
 * overrides) must reach a terminal escaped in human output (status, ls, reap --dry-run, extend),
 * and unchanged in --json (JSON escapes them itself). Real CLI against moto.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {printable} from '../../src/ui/printable.js'
import {runCli} from '../support/cli.js'
import {seedInstance, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

const ESC_NAME = 'evil\x1b[2J\x1b]0;pwned\x07name'
const OWNER = 'me\x1b[31m@x.com\u202eoops\x9b'
// eslint-disable-next-line no-control-regex -- what must never reach the terminal raw
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/

describe('integration: control characters in tags are escaped in human output', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-esc-'))
    await writeFile(path.join(dir, 'wolphin.yaml'), 'project: esc\nregion: us-east-1\nami: ami-12c6146b\n')
    env = motoEnv(moto().endpoint)
    await seedInstance(testClient(moto().endpoint), {
      ProjectName: 'wolphin.esc',
      Name: ESC_NAME,
      OwnerEmail: OWNER,
      // No slot: the Name tag is then what status shows as the name.
      'wolphin:expires-at': '2020-01-01T00:00:00Z',
    })
  })

  const human: Array<[string, string[]]> = [
    ['status', ['status']],
    ['ls', ['ls']],
    ['reap --dry-run', ['reap', '--dry-run']],
    ['extend --dry-run', ['extend', '1h', '--dry-run']],
  ]
  for (const [name, args] of human) {
    it(`${name}: no raw control character on stdout or stderr, the escaped form is shown`, async () => {
      const r = await runCli(args, {cwd: dir, env})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout + r.stderr).not.to.match(RAW)
      const shown = r.stdout.includes(printable(ESC_NAME)) || r.stdout.includes(printable(OWNER))
      expect(shown, r.stdout).to.equal(true)
    })
  }

  it('--json keeps the values exactly (JSON escapes them)', async () => {
    const r = await runCli(['status', '--json'], {cwd: dir, env})
    expect(r.code, r.stderr).to.equal(0)
    // eslint-disable-next-line no-control-regex -- JSON escapes C0 itself
    expect(r.stdout).not.to.match(/[\x00-\x09\x0b-\x1f]/)
    const i = r.json().instances[0]
    expect(i.name).to.equal(ESC_NAME)
    expect(i.owner).to.equal(OWNER)
  })

  it('printable escapes C0, DEL, C1 and bidi controls and nothing else', () => {
    expect(printable('a\x1bb\x07c\x7f\x9bd\u202ee')).to.equal('a\\x1bb\\x07c\\x7f\\x9bd\\u{202e}e')
    expect(printable('plain ü 😀 wolphin.p.1')).to.equal('plain ü 😀 wolphin.p.1')
  })
})
