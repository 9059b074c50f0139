/**
 * Running wolphin in someone else's directory never runs their code. Each variant is a directory
 * laid out the way cosmiconfig (or a careless loader) would have executed something from it: a
 * meta-config in `.config/`, `package.json#cosmiconfig`, `package.yaml`, `$import`, a `.js`/`.ts`
 * wolphinrc. Every script writes a marker file when run; the real CLI runs `config` and `status`
 * in the directory and the marker must never appear. Discovery reads data files only.
 */
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.js'
import {motoEnv} from '../support/moto.js'

const MARKER = 'PWNED'

/** A script in the given module flavour that writes the marker (the sync API works in all of them). */
function evil(kind: 'esm' | 'cjs'): string {
  const body = `fs.writeFileSync(${JSON.stringify(MARKER)}, 'ran ' + __filename_hint)\n`
  return kind === 'esm'
    ? `import fs from 'node:fs'\nconst __filename_hint = import.meta.url\n${body}export default {searchPlaces: ['evil.mjs']}\n`
    : `const fs = require('node:fs')\nconst __filename_hint = __filename\n${body}module.exports = {searchPlaces: ['evil.cjs']}\n`
}

interface Variant {
  name: string
  files: Record<string, string>
}

const DATA_CONFIG = 'project: p\nregion: us-east-1\n'
const metaSearchPlaces = JSON.stringify({searchPlaces: ['evil.mjs', 'evil.cjs', 'evil.js']})
const scripts = {'evil.mjs': evil('esm'), 'evil.cjs': evil('cjs'), 'evil.js': evil('esm')}

const VARIANTS: Variant[] = [
  ...['js', 'cjs', 'mjs', 'ts'].map((ext) => ({
    name: `.config/config.${ext} (meta-config as code)`,
    files: {[`.config/config.${ext}`]: evil(ext === 'cjs' ? 'cjs' : 'esm'), ...scripts},
  })),
  {
    name: '.config/config.json adds .mjs search places',
    files: {'.config/config.json': metaSearchPlaces, ...scripts},
  },
  {
    name: '.config/config.yaml adds .mjs search places',
    files: {'.config/config.yaml': 'searchPlaces: [evil.mjs, evil.cjs, evil.js]\n', ...scripts},
  },
  {
    name: '.config/config.yml adds .mjs search places',
    files: {'.config/config.yml': 'searchPlaces: [evil.mjs, evil.cjs, evil.js]\n', ...scripts},
  },
  {
    name: 'package.json#cosmiconfig adds search places',
    files: {
      'package.json': JSON.stringify({name: 'x', cosmiconfig: {searchPlaces: ['evil.mjs']}}),
      ...scripts,
    },
  },
  {
    name: 'package.yaml#cosmiconfig adds search places',
    files: {'package.yaml': 'cosmiconfig:\n  searchPlaces: [evil.mjs]\n', ...scripts},
  },
  {
    name: 'package.json#wolphin.$import',
    files: {'package.json': JSON.stringify({wolphin: {$import: './evil.mjs', project: 'p'}}), ...scripts},
  },
  {
    name: 'package.json#wolphin.$import (a list)',
    files: {'package.json': JSON.stringify({wolphin: {$import: ['./evil.cjs'], project: 'p'}}), ...scripts},
  },
  {
    name: 'wolphin.yaml with $import',
    files: {'wolphin.yaml': '$import: ./evil.mjs\nproject: p\n', ...scripts},
  },
  {name: '.wolphinrc.json with $import', files: {'.wolphinrc.json': '{"$import": "./evil.cjs"}', ...scripts}},
  ...['js', 'cjs', 'mjs', 'ts', 'cts', 'mts'].map((ext) => ({
    name: `.wolphinrc.${ext} and wolphin.config.${ext}`,
    files: {
      [`.wolphinrc.${ext}`]: evil(ext.startsWith('c') ? 'cjs' : 'esm'),
      [`wolphin.config.${ext}`]: evil(ext.startsWith('c') ? 'cjs' : 'esm'),
    },
  })),
  {
    name: '.config/wolphinrc.mjs',
    files: {'.config/wolphinrc.mjs': evil('esm'), '.config/wolphinrc.cjs': evil('cjs')},
  },
  {
    name: 'a data config next to every code variant',
    files: {
      'wolphin.yaml': DATA_CONFIG,
      '.config/config.mjs': evil('esm'),
      '.config/config.cjs': evil('cjs'),
      '.wolphinrc.mjs': evil('esm'),
      ...scripts,
    },
  },
  {
    name: 'package.json with an install script and a wolphin key',
    files: {
      'package.json': JSON.stringify({
        wolphin: {project: 'p', region: 'us-east-1'},
        scripts: {preinstall: 'node evil.cjs', postinstall: 'node evil.cjs', prepare: 'node evil.cjs'},
      }),
      ...scripts,
    },
  },
]

describe('untrusted directory: discovery never runs code found in the working directory', function () {
  this.timeout(120_000)
  let proxy: CountingProxy
  let env: Record<string, string>

  before(async () => {
    // Nothing behind the proxy: a call would be counted and fail; none should be made by `config`.
    proxy = await startCountingProxy('http://127.0.0.1:9')
    env = motoEnv(proxy.endpoint, {WOLPHIN_STATE_DIR: os.tmpdir()})
  })
  after(() => proxy.close())

  for (const v of VARIANTS) {
    it(`${v.name}: no marker, no AWS call`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-untrusted-'))
      for (const [rel, text] of Object.entries(v.files)) {
        await mkdir(path.dirname(path.join(dir, rel)), {recursive: true})
        await writeFile(path.join(dir, rel), text)
      }
      proxy.reset()
      const results = await Promise.all([
        runCli(['config', '--json'], {cwd: dir, env, timeoutMs: 30_000}),
        runCli(['config'], {cwd: dir, env, timeoutMs: 30_000}),
      ])
      expect(existsSync(path.join(dir, MARKER)), `marker written by ${v.name}`).to.equal(false)
      for (const r of results) expect(r.code, r.stderr).to.be.oneOf([0, 2])
      expect(proxy.calls()).to.deep.equal([])
    })
  }

  it('a $import key is refused as an unknown field, not followed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-untrusted-'))
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({wolphin: {$import: './evil.mjs', project: 'p'}}),
    )
    await writeFile(path.join(dir, 'evil.mjs'), evil('esm'))
    const r = await runCli(['config'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.equal('wolphin: error: package.json: unknown field "$import"\n')
    expect(existsSync(path.join(dir, MARKER))).to.equal(false)
  })

  it('-c naming a JavaScript or TypeScript file refuses it (exit 2) and runs nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-untrusted-'))
    for (const ext of ['js', 'mjs', 'cjs', 'ts', 'mts', 'cts']) {
      await writeFile(path.join(dir, `w.${ext}`), evil(ext.startsWith('c') ? 'cjs' : 'esm'))
      const r = await runCli(['config', '-c', `w.${ext}`], {cwd: dir, env})
      expect(r.code, ext).to.equal(2)
      expect(r.stderr).to.match(
        new RegExp(
          `^wolphin: error: w\\.${ext}: is JavaScript or TypeScript; wolphin reads config as data only`,
        ),
      )
      expect(r.stderr.split('\n')).to.have.length(2)
    }
    expect(existsSync(path.join(dir, MARKER))).to.equal(false)
  })

  it('a directory with only code configs has no config: the error says so and names -c', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-untrusted-'))
    await writeFile(path.join(dir, '.wolphinrc.mjs'), evil('esm'))
    await writeFile(path.join(dir, 'wolphin.config.js'), evil('esm'))
    const r = await runCli(['config'], {cwd: dir, env})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/^wolphin: error: no config found in .*pass -c FILE/)
    expect(existsSync(path.join(dir, MARKER))).to.equal(false)
  })

  it('the data files are still discovered, in their documented order', async () => {
    const order = [
      'wolphin.yaml',
      'wolphin.yml',
      'wolphin.json',
      '.wolphinrc',
      '.wolphinrc.yaml',
      '.wolphinrc.yml',
      '.wolphinrc.json',
      'package.json',
    ]
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-untrusted-'))
    for (const [i, f] of order.entries()) {
      const text =
        f === 'package.json'
          ? JSON.stringify({wolphin: {project: `p${i}`}})
          : f.endsWith('json')
            ? JSON.stringify({project: `p${i}`})
            : `project: p${i}\n`
      await writeFile(path.join(dir, f), text)
    }
    const {rm} = await import('node:fs/promises')
    for (const [i, f] of order.entries()) {
      const r = await runCli(['config', '--json'], {cwd: dir, env})
      expect(r.code, r.stderr).to.equal(0)
      expect(r.json().config.project, f).to.equal(`p${i}`)
      await rm(path.join(dir, f))
    }
  })
})
