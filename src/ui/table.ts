/**
 * Tables that fit the terminal: a command declares all its columns, a default set and the order in
 * which default columns give way when the terminal is narrow; --wide shows all, --columns picks.
 * Plain aligned text (no box drawing): it reads the same on a terminal and in a CI log, and a
 * row is one line at 80 columns. Colour only where `colour` says so (see colour.ts).
 */
import {UsageError} from '../errors.js'
import {paint, type Style} from './colour.js'
import {printable} from './printable.js'

export interface Column<R> {
  /** What --columns names it by. */
  key: string
  head: string
  get(row: R): string
  /** How the cell is coloured when colour is on. */
  style?(row: R, text: string): Style | undefined
}

export interface TableSpec<R> {
  columns: Array<Column<R>>
  /** The columns shown without --wide or --columns. */
  defaults: string[]
  /** Default columns dropped first when the table is wider than the terminal (the rest always stay). */
  dropOrder: string[]
  /** What --wide shows (default: every column). */
  wide?: string[]
}

export interface TableFlags {
  wide?: boolean
  columns?: string
}

/**
 * The keys to show, from --columns or --wide or the defaults; a bad --columns is a usage error
 * (commands call this before any AWS call).
 */
export function chooseColumns<R>(spec: TableSpec<R>, flags: TableFlags): {keys: string[]; fit: boolean} {
  const known = spec.columns.map((c) => c.key)
  if (flags.columns !== undefined) {
    if (flags.wide) throw new UsageError('give either --wide or --columns, not both')
    const keys = flags.columns
      .split(',')
      .map((k) => k.trim().toLowerCase())
      .filter(Boolean)
    const unknown = keys.filter((k) => !known.includes(k))
    if (!keys.length || unknown.length)
      throw new UsageError(
        `--columns: ${unknown.length ? `unknown column "${unknown[0]}"` : 'no column given'}; expected a comma-separated list of: ${known.join(', ')}`,
      )
    return {keys: [...new Set(keys)], fit: false}
  }
  if (flags.wide) return {keys: spec.wide ?? known, fit: false}
  return {keys: spec.defaults, fit: true}
}

/** The width to fit: the terminal's, or COLUMNS when output is not a terminal; none otherwise. */
export function terminalWidth(
  stream: {isTTY?: boolean; columns?: number} = process.stdout,
): number | undefined {
  if (stream.isTTY && stream.columns) return stream.columns
  const env = Number(process.env.COLUMNS)
  return Number.isInteger(env) && env > 0 ? env : undefined
}

const GAP = '  '

export function renderTable<R>(
  spec: TableSpec<R>,
  rows: R[],
  opts: {keys: string[]; fit: boolean; width?: number; colour: boolean; indent?: string},
): string {
  const indent = opts.indent ?? ''
  const byKey = new Map(spec.columns.map((c) => [c.key, c]))
  let cols = opts.keys.map((k) => byKey.get(k)!).filter(Boolean)
  // Cells hold tag values, anyone's who may write tags: escaped before they reach a terminal.
  const cells = new Map(cols.map((c) => [c.key, rows.map((r) => printable(c.get(r)))]))
  const widthOf = (c: Column<R>) => Math.max(c.head.length, ...cells.get(c.key)!.map((v) => v.length))
  const total = (cs: Array<Column<R>>) =>
    indent.length + cs.reduce((n, c) => n + widthOf(c), 0) + GAP.length * Math.max(0, cs.length - 1)
  if (opts.fit && opts.width !== undefined)
    for (const key of spec.dropOrder) {
      if (total(cols) <= opts.width) break
      cols = cols.filter((c) => c.key !== key)
    }
  const widths = cols.map(widthOf)
  const line = (texts: string[], styles: Array<Style | undefined>) =>
    indent +
    texts
      .map((t, i) => {
        const pad = i === texts.length - 1 ? '' : ' '.repeat(widths[i] - t.length)
        return paint(t, styles[i], opts.colour) + pad
      })
      .join(GAP)
      .trimEnd()
  const out = [
    line(
      cols.map((c) => c.head),
      cols.map(() => 'bold'),
    ),
  ]
  rows.forEach((r, n) => {
    const texts = cols.map((c) => cells.get(c.key)![n])
    out.push(
      line(
        texts,
        cols.map((c, i) => c.style?.(r, texts[i])),
      ),
    )
  })
  return out.join('\n') + '\n'
}
