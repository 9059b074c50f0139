/**
 * The one rule for colour: on only when the stream is a terminal, NO_COLOR is unset or empty
 * (no-color.org), TERM is not "dumb" and --no-color was not given. Tables, summaries and exec
 * prefixes all ask here.
 */
export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan' | 'magenta'

const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  magenta: [35, 39],
}

export function colourEnabled(
  stream: {isTTY?: boolean} = process.stdout,
  opts: {noColor?: boolean; env?: NodeJS.ProcessEnv} = {},
): boolean {
  const env = opts.env ?? process.env
  if (opts.noColor) return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

export function paint(text: string, style: Style | undefined, on: boolean): string {
  if (!on || !style || !text) return text
  const [open, close] = CODES[style]
  return `\x1b[${open}m${text}\x1b[${close}m`
}

/** running green, stopped yellow, transitions cyan, terminated dim. */
export function stateStyle(state: string): Style | undefined {
  switch (state) {
    case 'running':
      return 'green'
    case 'stopped':
      return 'yellow'
    case 'pending':
    case 'stopping':
      return 'cyan'
    case 'shutting-down':
      return 'magenta'
    case 'terminated':
      return 'dim'
    default:
      return undefined
  }
}
