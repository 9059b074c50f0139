import {spawnSync} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {ROOT} from '../support/moto.js'

const BIN = path.join(ROOT, 'bin/run.js')

describe('shell completion and --help', function () {
  this.timeout(60_000)

  it('`wolphin autocomplete` builds a bash completion that completes commands and flags', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'wolphin-ac-'))
    try {
      const env = {
        ...process.env,
        HOME: home,
        XDG_CACHE_HOME: path.join(home, '.cache'),
        NODE_NO_WARNINGS: '1',
      }
      const r = spawnSync(process.execPath, [BIN, 'autocomplete', 'bash'], {
        env,
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout).to.include('wolphin autocomplete script bash')
      const fn = path.join(home, '.cache/wolphin/autocomplete/functions/bash/wolphin.bash')
      expect(await readFile(fn, 'utf8')).to.match(/^validate --json/m)
      // Source the function in bash and ask it for completions as the shell would.
      const complete = (...words: string[]) => {
        const script = `source ${JSON.stringify(fn)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _wolphin_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
        const out = spawnSync('bash', ['-c', script], {encoding: 'utf8', timeout: 10_000})
        expect(out.status, out.stderr).to.equal(0)
        return out.stdout.split('\n').filter(Boolean).sort()
      }
      expect(complete('wolphin', 'va')).to.deep.equal(['validate'])
      expect(complete('wolphin', 'in')).to.deep.equal(['init'])
      expect(complete('wolphin', 'create', '--dr')).to.deep.equal(['--dry-run'])
      expect(complete('wolphin', 'init', '--fo')).to.deep.equal(['--force'])
    } finally {
      await rm(home, {recursive: true, force: true})
    }
  })

  it('every command has a summary and examples, and --help shows them the oclif way', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, {summary?: string; examples?: string[]}>
    }
    // (autocomplete and its hidden subcommands are @oclif/plugin-autocomplete's, with its texts)
    const ids = Object.keys(manifest.commands).filter((id) => !id.startsWith('autocomplete'))
    expect(ids).to.include.members(['init', 'validate', 'config', 'create', 'status', 'terminate'])
    for (const id of ids) {
      const c = manifest.commands[id]
      expect(c.summary, `${id}: summary`).to.be.a('string').and.not.equal('')
      expect((c.examples ?? []).length, `${id}: examples`).to.be.greaterThan(0)
    }
    for (const id of ['init', 'validate', 'config']) {
      const r = spawnSync(process.execPath, [BIN, id, '--help'], {encoding: 'utf8', timeout: 30_000})
      expect(r.status, r.stderr).to.equal(0)
      for (const section of [
        'USAGE',
        ...(id === 'init' ? ['FLAGS'] : []),
        'GLOBAL FLAGS',
        'DESCRIPTION',
        'EXAMPLES',
      ])
        expect(r.stdout, `${id} --help: ${section}`).to.match(new RegExp(`^${section}$`, 'm'))
      expect(r.stdout).to.include(`$ wolphin ${id}`)
    }
  })
})
