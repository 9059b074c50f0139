/**
 * scripts/ensure-deps.sh (sourced by `npm run demo` and `npm test`) builds only when an input of
 * the build changed: run in a copy of the repository's build inputs, with an `npm` on PATH that
 * records its calls instead of building.
 */
import {chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runProcess} from '../support/cli.js'
import {ROOT} from '../support/moto.js'

const INPUTS = [
  'src',
  'scripts/ensure-deps.sh',
  'scripts/ensure-node.sh',
  'scripts/bundle.mjs',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'oclif.manifest.json',
]

describe('build stamp: ensure-deps.sh builds only when the sources changed', function () {
  this.timeout(60_000)
  let repo: string
  let calls: string

  before(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'wolphin-stamp-'))
    for (const f of INPUTS)
      await cp(path.join(ROOT, f), path.join(repo, f), {recursive: true, preserveTimestamps: true})
    await symlink(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'))
    // `npm run --silent build` makes dist/ (like the real build's tsc) and logs; FAIL_BUILD fails it.
    await mkdir(path.join(repo, 'fake-bin'))
    calls = path.join(repo, 'npm-calls')
    await writeFile(
      path.join(repo, 'fake-bin/npm'),
      `#!/bin/sh\necho "$*" >>'${calls}'\n[ -z "$FAIL_BUILD" ] || exit 1\nmkdir -p dist\n`,
    )
    await chmod(path.join(repo, 'fake-bin/npm'), 0o755)
  })
  after(async () => {
    await rm(repo, {recursive: true, force: true})
  })

  /** Sources ensure-deps.sh as the scripts do; returns its exit code and the npm calls it made. */
  async function ensure(env: Record<string, string> = {}): Promise<{code: number | null; npm: string[]}> {
    await writeFile(calls, '')
    const r = await runProcess('bash', ['-c', 'set -euo pipefail; . scripts/ensure-deps.sh'], {
      cwd: repo,
      env: {PATH: `${path.join(repo, 'fake-bin')}:${process.env.PATH}`, ...env},
    })
    const npm = (await readFile(calls, 'utf8')).split('\n').filter(Boolean)
    return {code: r.code, npm}
  }
  const BUILD = 'run --silent build'

  it('builds once, then not again while nothing changed; WOLPHIN_SKIP_BUILD never builds', async () => {
    expect(await ensure()).to.deep.equal({code: 0, npm: [BUILD]})
    expect(await ensure()).to.deep.equal({code: 0, npm: []})
    await writeFile(path.join(repo, 'src/index.ts'), '// skipped\n', {flag: 'a'})
    expect(await ensure({WOLPHIN_SKIP_BUILD: '1'})).to.deep.equal({code: 0, npm: []})
  })

  it('rebuilds when a source is changed, added or deleted, or a tsconfig changes', async () => {
    const edits: Array<() => Promise<void>> = [
      () => writeFile(path.join(repo, 'src/index.ts'), '// changed\n', {flag: 'a'}),
      () => writeFile(path.join(repo, 'src/added.ts'), 'export const x = 1\n'),
      () => rm(path.join(repo, 'src/added.ts')),
      () => writeFile(path.join(repo, 'tsconfig.build.json'), '\n', {flag: 'a'}),
    ]
    for (const edit of edits) {
      await edit()
      expect(await ensure()).to.deep.equal({code: 0, npm: [BUILD]})
      expect(await ensure()).to.deep.equal({code: 0, npm: []})
    }
  })

  it('a failed build stops the script and leaves no stamp that would skip the next build', async () => {
    await writeFile(path.join(repo, 'src/index.ts'), '// changed again\n', {flag: 'a'})
    const failed = await ensure({FAIL_BUILD: '1'})
    expect(failed.code).to.not.equal(0)
    expect(failed.npm).to.deep.equal([BUILD])
    expect(await ensure()).to.deep.equal({code: 0, npm: [BUILD]})
  })
})
