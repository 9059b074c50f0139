import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {expect} from 'chai'

import {ROOT} from '../support/moto.js'
import {packagesLoaded, traceModules} from '../support/trace.js'

const BIN = path.join(ROOT, 'bin/run.js')
const packages = packagesLoaded
const heavy = (pkgs: Set<string>, prefixes: string[]) =>
  [...pkgs].filter((p) => prefixes.some((x) => p === x || p.startsWith(`${x}/`)))

describe('module loading: what the entry points pull in', function () {
  this.timeout(60_000)

  it('the tracer sees a lazily imported SDK (positive control)', async () => {
    const url = pathToFileURL(path.join(ROOT, 'dist/aws/ec2.js')).href
    const r = await traceModules(['--input-type=module', '-e', `await import(${JSON.stringify(url)})`])
    expect(r.code, r.stderr).to.equal(0)
    expect(heavy(packages(r.modules), ['@aws-sdk'])).to.include('@aws-sdk/client-ec2')
  })

  it('the tracer sees oclif and zod in a bundled command (positive control)', async () => {
    const url = pathToFileURL(path.join(ROOT, 'dist/commands/status.js')).href
    const r = await traceModules(['--input-type=module', '-e', `await import(${JSON.stringify(url)})`])
    expect(r.code, r.stderr).to.equal(0)
    expect([...packages(r.modules)]).to.include.members(['@oclif/core', 'zod'])
  })

  for (const flag of ['--version', '--help']) {
    it(`wolphin ${flag} loads no @aws-sdk module`, async () => {
      const r = await traceModules([BIN, flag])
      expect(r.code, r.stderr).to.equal(0)
      const pkgs = packages(r.modules)
      // --help is oclif's (the tracer sees it, bundled or not); --version may be answered before
      // oclif loads.
      if (flag === '--help') expect([...pkgs]).to.include('@oclif/core')
      expect(heavy(pkgs, ['@aws-sdk', '@smithy', 'listr2', 'cli-table3', 'ssh2'])).to.deep.equal([])
      if (flag === '--version') expect(r.stdout).to.match(/^wolphin\/\d+\.\d+\.\d+ /)
      else expect(r.stdout).to.match(/USAGE/)
    })
  }

  it('import of the library entry point loads no oclif, listr2, cli-table3 or @aws-sdk', async () => {
    const url = pathToFileURL(path.join(ROOT, 'dist/index.js')).href
    const r = await traceModules([
      '--input-type=module',
      '-e',
      `const w = await import(${JSON.stringify(url)}); if (typeof w.Project !== 'function' || typeof w.loadConfig !== 'function') process.exit(9)`,
    ])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.modules.some((m) => m.endsWith('/dist/index.js'))).to.equal(true)
    expect(
      heavy(packages(r.modules), ['@oclif', 'oclif', 'listr2', 'cli-table3', '@aws-sdk', '@smithy', 'ssh2']),
    ).to.deep.equal([])
  })
})
