#!/usr/bin/env node
/**
 * Bundles the CLI's entry points, dist/entry.js (what bin/run.js imports) and dist/commands/*.js
 * (what oclif loads), with what they import (oclif, the config libraries, the AWS SDK, listr2,
 * cli-table3) into ES modules that share chunks in dist/chunks/, written over tsc's output of those
 * files. Start-up was dominated by resolving, reading and compiling a few hundred module files
 * (oclif's ~100 CommonJS modules, the SDK's packages, zod's locales...); a few chunks load in a
 * fraction of that, and of the EC2 client only the commands wolphin sends are kept
 * (docs/benchmarks.md). Everything else in dist/ stays tsc's: the library (dist/index.js, which
 * imports neither entry.js nor the commands) and the types. Without this step (tsc alone) the CLI
 * still works, unbundled; oclif's development mode maps dist/commands to src/commands as before.
 *   node scripts/bundle.mjs [--analyze]    (after tsc; `npm run build` runs both)
 */
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {createRequire, isBuiltin} from 'node:module'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {build} from 'esbuild'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// Not bundled: ssh2 has native optional parts. typescript is what oclif's development mode
// require()s to read a tsconfig (never in an installed CLI): bundled, its 10 MB were parsed into
// the chunk every command loads (measured: ~20 MB of peak RSS of every command).
const EXTERNAL = ['ssh2', 'typescript']
const isExternal = (spec) => EXTERNAL.some((x) => spec === x || spec.startsWith(`${x}/`))

// `const {parse} = await import('yaml')` of a CommonJS package: Node gives named exports (it scans
// the source for them), but esbuild turns a dynamically imported CommonJS module into a chunk with a
// default export only. Each such import gets a facade module that names the package's exports, as
// Node would, read from the package itself at build time.
async function isEsm(file) {
  if (file.endsWith('.mjs')) return true
  if (file.endsWith('.cjs')) return false
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pj = await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => null)
    if (pj !== null) return JSON.parse(pj).type === 'module'
  }
  return false
}

const lazyCommonJs = {
  name: 'lazy-commonjs',
  setup(b) {
    b.onResolve({filter: /^[^./]/}, (args) => {
      if (args.kind !== 'dynamic-import' || isBuiltin(args.path)) return undefined
      // wolphin's own lazy imports only; dependencies' bundler builds (dist-es) expect esbuild's way.
      if (!args.importer.startsWith(path.join(ROOT, 'src') + path.sep)) return undefined
      if (isExternal(args.path)) return undefined
      return {path: args.path, namespace: 'lazy-commonjs', pluginData: {resolveDir: args.resolveDir}}
    })
    b.onLoad({filter: /.*/, namespace: 'lazy-commonjs'}, async (args) => {
      const {resolveDir} = args.pluginData
      const spec = JSON.stringify(args.path)
      const file = (await b.resolve(args.path, {kind: 'import-statement', resolveDir})).path
      // An ES module as esbuild resolves it: it keeps such a module's named exports itself.
      if (await isEsm(file)) return {contents: `export * from ${spec}`, resolveDir}
      const exported = createRequire(file)(file)
      const names = Object.keys(exported ?? {}).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default')
      return {
        contents: [
          `import * as m from ${spec}`,
          ...names.map((n) => `export const ${n} = m.${n}`),
          'export default m.default',
        ].join('\n'),
        resolveDir,
      }
    })
  },
}

// Node's ESM facade of node:http reads every export, and three of them (WebSocket, CloseEvent,
// MessageEvent) are getters that load undici, Node's fetch: `import('node:http')` (the SDK's HTTP
// handler does it) costs ~17 MB of RSS for a module nothing uses. require() has no facade, so each
// import of node:http becomes a module that require()s it and names its plain (value) exports.
export function httpFacade() {
  const http = createRequire(import.meta.url)('node:http')
  const names = Object.entries(Object.getOwnPropertyDescriptors(http))
    .filter(([n, d]) => 'value' in d && /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default')
    .map(([n]) => n)
  return [
    "const http = require('node:http')",
    'export default http',
    ...names.map((n) => `export const ${n} = http.${n}`),
  ].join('\n')
}
const httpWithoutUndici = {
  name: 'http-without-undici',
  setup(b) {
    b.onResolve({filter: /^(node:)?http$/}, (args) =>
      args.namespace === 'http-facade'
        ? {path: 'node:http', external: true}
        : {path: 'node:http', namespace: 'http-facade'},
    )
    b.onLoad({filter: /.*/, namespace: 'http-facade'}, () => ({contents: httpFacade(), loader: 'js'}))
  },
}

// src/aws/ec2.ts takes the EC2 client's classes with createRequire(import.meta.url)(...): unbundled,
// that skips Node's export scan of the SDK's one 2 MB CommonJS file. Bundled, an import of the
// SDK's ES build lets esbuild keep only the commands named (measured: the SDK's share of `status`
// ~40 ms less, peak RSS ~20 MB less), so the destructuring becomes that import here.
const SDK_REQUIRE = /const \{([^}]*)\} = createRequire\(import\.meta\.url\)\('([^']+)'\) as typeof \w+/
/** src/aws/ec2.ts with its createRequire() line of the SDK written as an import. */
export function sdkImport(src, file = 'src/aws/ec2.ts') {
  if (!SDK_REQUIRE.test(src))
    throw new Error(`${file}: the SDK's createRequire() line is not where bundle.mjs expects it`)
  return src.replace(SDK_REQUIRE, "import {$1} from '$2'")
}
const sdkImports = {
  name: 'sdk-imports',
  setup(b) {
    b.onLoad({filter: /[/\\]src[/\\]aws[/\\]ec2\.ts$/}, async (args) => ({
      contents: sdkImport(await readFile(args.path, 'utf8'), args.path),
      loader: 'ts',
    }))
  },
}

// An AWS client's schemas (dist-es/schemas/schemas_0.js, 1.3 MB for EC2) are top-level arrays
// whose objects use computed keys, `{[_xN]: ...}` with `const _xN = "xmlName"`; esbuild must
// assume a computed key may run code, so it keeps every schema, used or not. With the constant's
// string written in place of the computed key (the same object), the unused ones go.
export function schemaKeysInline(src) {
  const strings = new Map()
  for (const m of src.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) strings.set(m[1], m[2])
  return src.replace(/\[(_\w+)\]:/g, (k, name) => (strings.has(name) ? `${strings.get(name)}:` : k))
}
const schemaKeys = {
  name: 'schema-keys',
  setup(b) {
    b.onLoad(
      {filter: /[/\\]@aws-sdk[/\\]client-[^/\\]+[/\\]dist-es[/\\]schemas[/\\][^/\\]+\.js$/},
      async (args) => ({contents: schemaKeysInline(await readFile(args.path, 'utf8')), loader: 'js'}),
    )
  },
}

/**
 * esbuild wraps each bundled CommonJS module (and each lazily initialised ES module) in a method,
 * `"node_modules/x.js"(exports, module) { ... }`, which V8 compiles only when first called, and
 * Node's compile cache (bin/run.js) holds only what was compiled with the file: every run would
 * parse and compile oclif and the config libraries again (measured: ~20 ms of `status`, ~10 ms of
 * `--help`; ~170 ms when the SDK was bundled too). Written as a parenthesized function expression
 * instead, V8 compiles the module body with its file, so the cached code covers it, as it covers
 * each file of the unbundled packages.
 */
export function eagerModules(text) {
  const lines = text.split('\n')
  const start = /^(var \w+ = __(?:commonJS|esm)\(\{)$/
  const head = /^ {2}("[^"]+")\(([^)]*)\) \{$/
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!start.test(lines[i])) continue
    const m = head.exec(lines[i + 1])
    if (!m) continue
    let j = i + 2
    while (j + 1 < lines.length && !(lines[j] === '  }' && lines[j + 1] === '});')) j++
    if (j + 1 >= lines.length) throw new Error(`bundle: no end for module ${m[1]}`)
    lines[i + 1] = `  ${m[1]}: (function(${m[2]}) {`
    lines[j] = '  })'
    i = j
  }
  return lines.join('\n')
}

/** Bundles, rewrites and writes over tsc's output. Runs when this file is run, not imported. */
async function main() {
  const commands = (await readdir(path.join(ROOT, 'src/commands'), {recursive: true})).filter((f) =>
    f.endsWith('.ts'),
  )
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [
      {in: 'src/entry.ts', out: 'entry'},
      ...commands.map((f) => ({in: `src/commands/${f}`, out: `commands/${f.replace(/\.ts$/, '')}`})),
    ],
    outdir: 'dist',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    // The SDK's packages name their ES build in "module": it is what lets unused commands go. (The
    // other bundled packages come out the same either way.)
    mainFields: ['module', 'main'],
    chunkNames: 'chunks/[name]-[hash]',
    external: EXTERNAL,
    // Bundled CommonJS calls require() for node: built-ins; ESM output has no require of its own.
    banner: {
      js: "import {createRequire as __wolphinCreateRequire} from 'node:module';const require = __wolphinCreateRequire(import.meta.url);",
    },
    plugins: [httpWithoutUndici, lazyCommonJs, sdkImports, schemaKeys],
    metafile: true,
    write: false,
    logLevel: 'warning',
    legalComments: 'none',
  })
  await rm(path.join(ROOT, 'dist/chunks'), {recursive: true, force: true})
  for (const f of result.outputFiles) {
    // tsc's source map of a file replaced here would describe the wrong code.
    await rm(`${f.path}.map`, {force: true})
    await mkdir(path.dirname(f.path), {recursive: true})
    await writeFile(f.path, f.path.endsWith('.js') ? eagerModules(f.text) : f.contents)
  }

  if (process.argv.includes('--analyze'))
    console.log(await (await import('esbuild')).analyzeMetafile(result.metafile))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
