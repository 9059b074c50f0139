const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/**
 * The longest duration wolphin accepts anywhere (lease, extend, waits, timeouts): 10 years. Longer
 * is a typo (`99999999999d`, `1e99`), and the instant it would give is past what a Date can hold.
 */
export const MAX_DURATION_MS = 3650 * UNITS.d
export const MAX_DURATION_TEXT = '3650d'

/**
 * The longest duration wolphin waits for with a timer (timeouts, intervals): Node's timers hold at
 * most 2^31-1 ms (24.8 days) and fire at once past it, so `--timeout 30d` would time out at once.
 */
export const MAX_TIMER_MS = 24 * UNITS.d
export const MAX_TIMER_TEXT = '24d'

const inRange = (ms: number, max: number): number | null =>
  Number.isFinite(ms) && ms >= 0 && ms <= max ? ms : null

/**
 * Parses a duration such as `30s`, `15m`, `8h`, `3d`, `1h30m` or a bare number of seconds.
 * Returns milliseconds, or null when the text is not a duration or is longer than `max`
 * (MAX_DURATION_MS; MAX_TIMER_MS for what a timer waits for).
 */
export function parseDuration(text: string | number, max = MAX_DURATION_MS): number | null {
  if (typeof text === 'number') return Number.isFinite(text) ? inRange(text * 1000, max) : null
  const t = text.trim()
  if (/^\d+(\.\d+)?$/.test(t)) return inRange(Number(t) * 1000, max)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNITS[m[2]]
    matched = re.lastIndex
  }
  if (matched === 0 || matched !== t.length) return null
  return inRange(total, max)
}

export function formatDuration(ms: number): string {
  const neg = ms < 0
  let s = Math.floor(Math.abs(ms) / 1000)
  const d = Math.floor(s / 86400)
  s -= d * 86400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const parts = d ? [`${d}d`, `${h}h`] : h ? [`${h}h`, `${m}m`] : m ? [`${m}m`, `${s}s`] : [`${s}s`]
  return (neg ? '-' : '') + parts.filter((p, i) => i === 0 || !p.startsWith('0')).join('')
}
