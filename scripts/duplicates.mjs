#!/usr/bin/env node
/**
 * Finds blocks of six or more lines that stand twice in src/: the same lines, or lines of the same
 * shape with other names, strings and numbers. A rule written twice drifts apart (the slot bug was
 * one rule written four times), so `npm test` fails on any such pair not listed, with the reason it
 * stays, in scripts/duplicates-allowed.json.
 *   node scripts/duplicates.mjs [--min-lines N] [--json] [DIR...]     (default: src)
 *
 * Lines that carry no logic are passed over before comparing: blank lines, comments, import lines
 * and lone punctuation; white space is folded. A line's shape keeps keywords, operators and
 * punctuation and writes every other name as `N`, every string as `S` and every number as `0`.
 * A block counts when its shape has some substance (see MIN_SHAPE_TOKENS): six lines of `}` and
 * `break` are not a rule.
 */
import {readdir, readFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const KEYWORDS = new Set(
  (
    'async await break case catch class const continue default do else export extends false finally for ' +
    'function if in instanceof let new null of return static switch this throw true try typeof undefined ' +
    'var void while yield readonly private protected public interface type as satisfies implements'
  ).split(' '),
)
/** A block's shapes together must hold this many tokens other than punctuation. */
const MIN_SHAPE_TOKENS = 18
/** A block standing in more places than this is an idiom (a field list, a flag table), not a rule. */
const MAX_PLACES = 8

/** The line as compared, or null when it carries no logic. */
export function normalize(line, state) {
  let t = line.trim()
  if (state.inComment) {
    const end = t.indexOf('*/')
    if (end < 0) return null
    state.inComment = false
    t = t.slice(end + 2).trim()
  }
  if (t.startsWith('/*')) {
    const end = t.indexOf('*/')
    if (end < 0) {
      state.inComment = true
      return null
    }
    t = t.slice(end + 2).trim()
  }
  t = t.replace(/\s\/\/.*$/, '').trim()
  if (t === '' || t.startsWith('//')) return null
  if (/^import\b/.test(t) || /^export \{[^}]*\} from /.test(t) || /^export \* from /.test(t)) return null
  if (/^[\s{}()[\];,.]*$/.test(t)) return null
  return t.replace(/\s+/g, ' ')
}

/** Keywords and punctuation kept; names, strings and numbers generalised. */
export function shapeOf(line) {
  return line
    .replace(/`(?:\\.|[^`\\])*`|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, 'S')
    .replace(/\b\d[\d_.]*(?:e\d+)?\b/g, '0')
    .replace(/[A-Za-z_$][\w$]*/g, (w) => (KEYWORDS.has(w) || w === 'S' ? w : 'N'))
}

const substance = (shape) => shape.split(/[^A-Za-z0-9]+/).filter(Boolean).length

async function sourceFiles(dir) {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true})
  return entries
    .filter((e) => e.isFile() && /\.(ts|mts|cts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort()
}

/** Every pair of places that share a run of `minLines` or more kept lines of the same shape. */
export async function findDuplicates(dirs, {minLines = 6, root = ROOT} = {}) {
  const files = []
  for (const d of dirs) files.push(...(await sourceFiles(path.resolve(root, d))))
  /** Per file: kept lines with their number and shape. */
  const kept = []
  for (const file of files) {
    const state = {inComment: false}
    const lines = (await readFile(file, 'utf8')).split('\n')
    const rows = []
    lines.forEach((l, i) => {
      const n = normalize(l, state)
      if (n !== null) rows.push({line: i + 1, text: n, shape: shapeOf(n)})
    })
    kept.push({file: path.relative(root, file), rows})
  }
  // Windows of minLines shapes, by key; a pair is two windows with one key that do not overlap.
  const windows = new Map()
  kept.forEach((f, fi) => {
    for (let i = 0; i + minLines <= f.rows.length; i++) {
      const w = f.rows.slice(i, i + minLines)
      if (w.reduce((n, r) => n + substance(r.shape), 0) < MIN_SHAPE_TOKENS) continue
      const key = w.map((r) => r.shape).join('\n')
      const list = windows.get(key) ?? []
      list.push({fi, i})
      windows.set(key, list)
    }
  })
  /** "fileA|fileB" -> the pair's runs, grown from matching windows. */
  const pairs = new Map()
  const textOf = ({fi, i}) =>
    kept[fi].rows
      .slice(i, i + minLines)
      .map((r) => r.text)
      .join('\n')
  const groups = []
  for (const list of windows.values()) {
    if (list.length <= MAX_PLACES) groups.push(list)
    else {
      // A common shape: only the places written the same to the letter still pair.
      const byText = Map.groupBy(list, textOf)
      for (const same of byText.values()) if (same.length > 1 && same.length <= MAX_PLACES) groups.push(same)
    }
  }
  for (const list of groups) {
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) {
        const [a, b] = [list[x], list[y]]
        if (a.fi === b.fi && Math.abs(a.i - b.i) < minLines) continue
        const fa = kept[a.fi]
        const fb = kept[b.fi]
        const identical = fa.rows.slice(a.i, a.i + minLines).every((r, k) => r.text === fb.rows[b.i + k].text)
        const k = `${fa.file}|${fb.file}`
        const runs = pairs.get(k) ?? []
        const last = runs.find((r) => r.a.end === a.i + minLines - 2 && r.b.end === b.i + minLines - 2)
        if (last) {
          last.a.end++
          last.b.end++
          last.identical &&= identical
        } else
          runs.push({
            a: {fi: a.fi, start: a.i, end: a.i + minLines - 1},
            b: {fi: b.fi, start: b.i, end: b.i + minLines - 1},
            identical,
          })
        pairs.set(k, runs)
      }
  }
  const out = []
  for (const runs of pairs.values())
    for (const r of mergeOverlapping(runs)) {
      const fa = kept[r.a.fi]
      const fb = kept[r.b.fi]
      out.push({
        a: `${fa.file}:${fa.rows[r.a.start].line}-${fa.rows[r.a.end].line}`,
        b: `${fb.file}:${fb.rows[r.b.start].line}-${fb.rows[r.b.end].line}`,
        files: [fa.file, fb.file],
        lines: r.a.end - r.a.start + 1,
        identical: r.identical,
      })
    }
  return out.sort((p, q) => q.lines - p.lines || p.a.localeCompare(q.a))
}

/** Runs of one pair of files whose places overlap on both sides are one block. */
function mergeOverlapping(runs) {
  const overlaps = (x, y) => x.start <= y.end && y.start <= x.end
  const merged = []
  for (const r of [...runs].sort((p, q) => p.a.start - q.a.start)) {
    const m = merged.find((x) => overlaps(x.a, r.a) && overlaps(x.b, r.b))
    if (!m) merged.push({a: {...r.a}, b: {...r.b}, identical: r.identical})
    else {
      m.a.start = Math.min(m.a.start, r.a.start)
      m.a.end = Math.max(m.a.end, r.a.end)
      m.b.start = Math.min(m.b.start, r.b.start)
      m.b.end = Math.max(m.b.end, r.b.end)
      m.identical &&= r.identical
    }
  }
  return merged
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--min-lines')
  const minLines = at >= 0 ? Number(args.splice(at, 2)[1]) : 6
  const json = args.includes('--json')
  const dirs = args.filter((a) => !a.startsWith('--'))
  const found = await findDuplicates(dirs.length ? dirs : ['src'], {minLines})
  if (json) console.log(JSON.stringify(found, null, 2))
  else {
    for (const d of found)
      console.log(`${d.a} ~ ${d.b} (${d.lines} lines${d.identical ? '' : ', same shape'})`)
    console.log(found.length ? `${found.length} repeated block(s)` : 'no repeated blocks')
  }
}
