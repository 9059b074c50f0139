import {spawnSync} from 'node:child_process'
import {copyFile, mkdtemp, readFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {ROOT} from '../support/moto.js'

const section = (text: string) => {
  const a = text.indexOf('<!-- commands -->')
  const b = text.indexOf('<!-- commandsstop -->')
  return a >= 0 && b > a ? text.slice(a, b) : null
}

describe('README: the generated command reference is current', function () {
  this.timeout(60_000)

  it('README.md equals what `npm run readme` (oclif readme) generates from the commands', async () => {
    const committed = await readFile(path.join(ROOT, 'README.md'), 'utf8')
    expect(
      section(committed),
      'README.md needs <!-- commands --> and <!-- commandsstop --> markers',
    ).to.not.equal(null)
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-readme-'))
    const copy = path.join(dir, 'README.md')
    await copyFile(path.join(ROOT, 'README.md'), copy)
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/readme.sh'), copy], {
      cwd: ROOT,
      env: {...process.env, WOLPHIN_README_NO_BUILD: '1'},
      encoding: 'utf8',
      timeout: 50_000,
    })
    expect(r.status, r.stderr).to.equal(0)
    const generated = await readFile(copy, 'utf8')
    const commands = section(generated)!
    // Every command the CLI shows is in the reference (guards against an empty generation); hidden
    // ones (autocomplete's script and create) are not, as in --help.
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, {hidden?: boolean}>
    }
    for (const [id, c] of Object.entries(manifest.commands))
      if (!c.hidden) expect(commands).to.include(`## \`wolphin ${id}`)
    expect(section(committed), 'README.md is stale: run `npm run readme` and commit README.md').to.equal(
      commands,
    )
    expect(committed).to.equal(generated)
  })
})
