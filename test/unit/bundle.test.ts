/**
 * scripts/bundle.mjs rewrites what it bundles; each rewrite matches a pattern in a file it does not
 * own (our ec2.ts, the SDK's schema files, esbuild's output). When a pattern stops matching, the
 * bundle still builds and works, only larger and slower: these tests make that a failure.
 */
import {readdir, readFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'

import {expect} from 'chai'

import {ROOT} from '../support/moto.js'

interface BundleScript {
  sdkImport(src: string, file?: string): string
  schemaKeysInline(src: string): string
  eagerModules(text: string): string
  httpFacade(): string
}
const bundle = (): Promise<BundleScript> => import(path.join(ROOT, 'scripts/bundle.mjs'))

/** The built CLI's JavaScript: the entry, the commands and their shared chunks. */
async function builtBundle(): Promise<string[]> {
  const dirs = ['dist/chunks', 'dist/commands']
  const files = (
    await Promise.all(
      dirs.map(async (d) =>
        (await readdir(path.join(ROOT, d), {recursive: true}))
          .filter((f) => f.endsWith('.js'))
          .map((f) => path.join(ROOT, d, f)),
      ),
    )
  ).flat()
  return Promise.all([path.join(ROOT, 'dist/entry.js'), ...files].map((f) => readFile(f, 'utf8')))
}

describe('the bundle: every rewrite of scripts/bundle.mjs still applies', function () {
  this.timeout(30_000)

  it("src/aws/ec2.ts's createRequire() of the SDK becomes an import of the same names", async () => {
    const {sdkImport} = await bundle()
    const src = await readFile(path.join(ROOT, 'src/aws/ec2.ts'), 'utf8')
    const out = sdkImport(src)
    expect(out).to.not.match(/createRequire\(import\.meta\.url\)\('@aws-sdk\/client-ec2'\)/)
    const imported = /import \{([^}]*)\} from '@aws-sdk\/client-ec2'/.exec(out)
    expect(imported, 'an import of @aws-sdk/client-ec2').to.not.equal(null)
    expect(imported![1]).to.include('DescribeInstancesCommand').and.include('RunInstancesCommand')
    expect(() => sdkImport(src.replace('createRequire(import.meta.url)', 'require'))).to.throw(
      /not where bundle\.mjs expects it/,
    )
  })

  it("the EC2 client's schema file: computed keys become the strings they name", async () => {
    const {schemaKeysInline} = await bundle()
    const require = createRequire(path.join(ROOT, 'package.json'))
    const pkg = path.dirname(require.resolve('@aws-sdk/client-ec2/package.json'))
    const dir = path.join(pkg, 'dist-es/schemas')
    for (const f of (await readdir(dir)).filter((x) => x.endsWith('.js'))) {
      const src = await readFile(path.join(dir, f), 'utf8')
      const computed = (s: string) => (s.match(/\[_\w+\]:/g) ?? []).length
      expect(computed(src), `${f}: computed keys to rewrite`).to.be.greaterThan(100)
      expect(computed(schemaKeysInline(src)), `${f}: computed keys left`).to.equal(0)
    }
  })

  it('esbuild module wrappers become parenthesised functions (compiled with their file)', async () => {
    const {eagerModules} = await bundle()
    const sample = [
      'var require_x = __commonJS({',
      '  "node_modules/x/index.js"(exports, module) {',
      '    module.exports = 1;',
      '  }',
      '});',
    ].join('\n')
    expect(eagerModules(sample)).to.equal(
      [
        'var require_x = __commonJS({',
        '  "node_modules/x/index.js": (function(exports, module) {',
        '    module.exports = 1;',
        '  })',
        '});',
      ].join('\n'),
    )
  })

  it('the built bundle shows all three: no lazy module wrapper left, only the EC2 schemas used', async () => {
    const texts = await builtBundle()
    const all = texts.join('\n')
    // eagerModules: esbuild's method form is gone, the function form is there.
    expect(all.match(/^ {2}"[^"]+"\([^)]*\) \{$/gm) ?? []).to.deep.equal([])
    expect((all.match(/^ {2}"[^"]+": \(function\(/gm) ?? []).length).to.be.greaterThan(50)
    // sdkImport + schemaKeysInline: the commands wolphin sends are kept, one it never sends is not.
    expect(all).to.not.include("createRequire(import.meta.url)('@aws-sdk/client-ec2')")
    expect(all).to.include('DescribeInstances')
    expect(all).to.not.include('AcceptAddressTransfer')
  })

  it("node:http is required, not imported: its ESM facade's getters would load undici (~17 MB)", async () => {
    const {httpFacade} = await bundle()
    const facade = httpFacade()
    expect(facade).to.include("require('node:http')")
    expect(facade).to.match(/^export const Agent = http\.Agent$/m)
    expect(facade).to.match(/^export const request = http\.request$/m)
    // The getters that load undici are not read.
    expect(facade).to.not.match(/WebSocket|CloseEvent|MessageEvent/)
    const all = (await builtBundle()).join('\n')
    expect(all).to.not.match(/from "(node:)?http"|import\("(node:)?http"\)/)
    expect(all).to.match(/__require\("node:http"\)/)
  })

  it('typescript (oclif development mode only) is left out of the bundle', async () => {
    const all = (await builtBundle()).join('\n')
    expect(all).to.not.include('// node_modules/typescript/lib/typescript.js')
  })
})
