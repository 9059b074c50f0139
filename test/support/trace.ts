import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'trace-modules.mjs')

export interface Traced {
  code: number | null
  stdout: string
  stderr: string
  /** Every module URL the process resolved (file:, node: ...). */
  modules: string[]
}

/** Runs `node <args>` with the resolve-hook preload and returns the modules it loaded. */
export async function traceModules(
  args: string[],
  opts: {cwd?: string; env?: Record<string, string>} = {},
): Promise<Traced> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-trace-'))
  const file = path.join(dir, 'modules.txt')
  try {
    const r = await new Promise<Omit<Traced, 'modules'>>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', HOOK, ...args], {
        cwd: opts.cwd,
        env: {...process.env, ...opts.env, WOLPHIN_TRACE_FILE: file, NODE_NO_WARNINGS: '1'},
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('error', reject)
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({code, stdout, stderr})
      })
    })
    const text = await readFile(file, 'utf8').catch(() => '')
    return {...r, modules: text.split('\n').filter(Boolean)}
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

/** The npm package a module URL belongs to (`@scope/name` or `name`), or null. */
export function packageOf(url: string): string | null {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  return m ? m[1] : null
}

/**
 * The npm packages a traced run loaded: from node_modules paths, and from the bundled chunks of
 * dist/ (scripts/bundle.mjs), which name each module they hold in a `// node_modules/...` line
 * (esbuild's comment) or a `"node_modules/..."` key (a wrapped CommonJS module).
 */
export function packagesLoaded(modules: string[]): Set<string> {
  const out = new Set<string>()
  for (const url of modules) {
    const p = packageOf(url)
    if (p) out.add(p)
    else if (url.startsWith('file:') && url.endsWith('.js') && url.includes('/dist/')) {
      let text: string
      try {
        text = readFileSync(fileURLToPath(url), 'utf8')
      } catch {
        continue
      }
      for (const m of text.matchAll(/^(?:\/\/ |\s*")node_modules\/((?:@[^/]+\/)?[^/"]+)\//gm)) out.add(m[1])
    }
  }
  return out
}
