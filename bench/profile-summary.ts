/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per package/file, so the
 * start-up cost can be attributed before anything is optimised.
 *   npx tsx bench/profile-summary.ts PROFILE.cpuprofile [top]
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

interface Node {
  id: number
  callFrame: {url: string; functionName: string; lineNumber?: number}
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export function bucketOf(url: string): string {
  if (!url) return '(native/gc/idle)'
  if (url.startsWith('node:')) return 'node: (built-in modules)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const m = /\/(src|dist|bin)\/(.*)$/.exec(url)
  return m ? `wolphin ${m[1]}/${m[2]}` : url
}

/**
 * For a file of the CLI's bundle (scripts/bundle.mjs: dist/entry.js, dist/commands, dist/chunks),
 * the package (or wolphin source file) of each line: esbuild heads each module it bundles with a
 * `// node_modules/...` or `// src/...` comment line. Null for any other file.
 */
const bundleLines = new Map<string, Array<string | undefined> | null>()
function bundledBucket(url: string, line: number): string | null {
  if (!/\/dist\/(chunks\/|commands\/|entry\.js$)/.test(url) || !url.startsWith('file:')) return null
  let lines = bundleLines.get(url)
  if (lines === undefined) {
    lines = null
    try {
      const text = readFileSync(fileURLToPath(url), 'utf8')
      if (text.includes('\n// node_modules/') || text.includes('\n// src/')) {
        let current: string | undefined
        lines = text.split('\n').map((l) => {
          const m = /^\/\/ (node_modules\/\S+|src\/\S+)$/.exec(l)
          if (m) current = m[1].startsWith('src/') ? `wolphin ${m[1]}` : bucketOf(`/${m[1]}`)
          return current
        })
      }
    } catch {
      lines = null
    }
    bundleLines.set(url, lines)
  }
  return lines ? (lines[line] ?? null) : null
}

export function summarise(profile: Profile): {totalMs: number; buckets: Array<[string, number]>} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i])
    const b = n
      ? n.callFrame.functionName === '(garbage collector)'
        ? '(gc)'
        : (bundledBucket(n.callFrame.url, n.callFrame.lineNumber ?? -1) ?? bucketOf(n.callFrame.url))
      : '?'
    self.set(b, (self.get(b) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  const buckets = [...self.entries()].sort((a, b) => b[1] - a[1])
  return {totalMs: (profile.endTime - profile.startTime) / 1000, buckets}
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2]
  const top = Number(process.argv[3] ?? 15)
  const {totalMs, buckets} = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile)
  console.log(`profiled ${totalMs.toFixed(1)} ms`)
  for (const [b, ms] of buckets.slice(0, top)) console.log(`${ms.toFixed(1).padStart(8)} ms  ${b}`)
}
