#!/usr/bin/env node
// Cache compiled modules between runs: start-up time is what users feel on every command.
import module from 'node:module'
module.enableCompileCache?.()

import {readFileSync} from 'node:fs'
import {arch, platform, release} from 'node:os'
import v8 from 'node:v8'

// `wolphin --version` answered without loading oclif: the same line oclif prints (its userAgent),
// unless oclif would run something around it (an init or finally hook of the CLI or of a plugin)
// or the platform needs oclif's own detection (WSL).
const readJson = (url) => {
  try {
    return JSON.parse(readFileSync(url, 'utf8'))
  } catch {
    return null
  }
}
const runsHooks = (pj) => !pj || Boolean(pj.oclif?.hooks?.init || pj.oclif?.hooks?.finally)
if (process.argv[2] === '--version') {
  const pjson = readJson(new URL('../package.json', import.meta.url))
  const plain =
    pjson &&
    !runsHooks(pjson) &&
    (pjson.oclif?.plugins ?? []).every(
      (name) => !runsHooks(readJson(new URL(`../node_modules/${name}/package.json`, import.meta.url))),
    ) &&
    !(platform() === 'linux' && /microsoft/i.test(release()))
  if (plain) {
    const cpu = arch() === 'ia32' ? 'x86' : arch()
    process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`)
    process.exit(0)
  }
}

// Keep V8's young generation at its initial size instead of letting it double as garbage comes in:
// a status over 2000 instances peaked at ~310 MB RSS with the default growth and ~190 MB without
// it, and ran no slower (docs/benchmarks.md). A GC sizing heuristic only; set before oclif loads.
v8.setFlagsFromString('--semi-space-growth-factor=1')

// The execute entry point alone, not the package index (which loads semver, the parser and every
// flag type before the command is known); commands import what they need themselves.
const {execute} = await import('@oclif/core/execute')
await execute({dir: import.meta.url})
