/**
 * What bin/run.js runs once the compile cache is on: the CLI's start-up, kept out of the bin file.
 */
import {readFileSync} from 'node:fs'
import {arch, platform, release} from 'node:os'
import v8 from 'node:v8'

import {onStdoutError} from './util/stdout-closed.js'

interface PackageJson {
  name: string
  version: string
  oclif?: {plugins?: string[]; hooks?: Record<string, unknown>}
}

const readJson = (url: URL): PackageJson | null => {
  try {
    return JSON.parse(readFileSync(url, 'utf8')) as PackageJson
  } catch {
    return null
  }
}
const runsHooks = (pj: PackageJson | null) =>
  !pj || Boolean(pj.oclif?.hooks?.init || pj.oclif?.hooks?.finally)

/**
 * `wolphin --version` answered without loading oclif: the same line oclif prints (its userAgent),
 * unless oclif would run something around it (an init or finally hook of the CLI or of a plugin) or
 * the platform needs oclif's own detection (WSL).
 */
function fastVersion(): boolean {
  if (process.argv[2] !== '--version' || process.argv.length !== 3) return false
  const pjson = readJson(new URL('../package.json', import.meta.url))
  const plain =
    pjson &&
    !runsHooks(pjson) &&
    (pjson.oclif?.plugins ?? []).every(
      (name) => !runsHooks(readJson(new URL(`../node_modules/${name}/package.json`, import.meta.url))),
    ) &&
    !(platform() === 'linux' && /microsoft/i.test(release()))
  if (!plain) return false
  const cpu = arch() === 'ia32' ? 'x86' : arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`)
  return true
}

export async function main(): Promise<void> {
  if (fastVersion()) return
  // A failed write to stdout: one place decides (a reader gone: exit 0; a full disk: one line, 1).
  process.stdout.on('error', onStdoutError)
  // Keep V8's young generation at its initial size instead of letting it double as garbage comes
  // in: a status over 2000 instances peaked at ~310 MB RSS with the default growth and ~190 MB
  // without it, and ran no slower (docs/benchmarks.md). A GC sizing heuristic only.
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  // The execute entry point alone, not the package index (which loads semver, the parser and
  // every flag type before the command is known); commands import what they need themselves.
  const [{run}, {flush}, {ExitError, handle}] = await Promise.all([
    import('@oclif/core/run'),
    import('@oclif/core/flush'),
    import('@oclif/core/errors'),
  ])
  const argv = process.argv.slice(2)
  try {
    await run(argv, new URL('../bin/run.js', import.meta.url).href)
    await flush()
  } catch (error) {
    // A command's own errors were reported by its catch (BaseCommand) and end in an ExitError.
    if (error instanceof ExitError || !(error instanceof Error)) return handle(error as Error)
    // What failed before any command ran (an unknown command, oclif's own parsing): the same one
    // line as a command's error, or one JSON document under --json, and its exit code.
    await reportOutsideCommand(error, argv)
  }
}

/** Whether --json was given as a flag (before any `--`). */
function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json')
}

async function reportOutsideCommand(
  error: Error & {exitCode?: number; code?: unknown; oclif?: {exit?: number}},
  argv: string[],
) {
  const exitCode = typeof error.exitCode === 'number' ? error.exitCode : (error.oclif?.exit ?? 1)
  const message = (error.message.split('\n').find((l) => l.trim() !== '') ?? error.message).trim()
  if (jsonRequested(argv)) {
    const code = typeof error.code === 'string' ? error.code : exitCode === 2 ? 'USAGE' : 'ERROR'
    const {versioned} = await import('./json.js')
    process.stdout.write(JSON.stringify(versioned({error: {code, message, exitCode}}), null, 2) + '\n')
  } else {
    process.stderr.write(`wolphin: error: ${message}\n`)
  }
  process.exitCode = exitCode
}
