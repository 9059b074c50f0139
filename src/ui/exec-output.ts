/** Terminal rendering of exec/put: prefixed streaming lines, or one block per instance. */
import type {ExecEvent, ExecEventSink, OutputStream, TargetRef, TargetResult} from '../exec/types.js'

const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94, 91, 31]

export interface ExecRendererOptions {
  /** stream: lines as they arrive; group: one block per instance when it finishes; quiet: nothing. */
  mode: 'stream' | 'group' | 'quiet'
  /** Every name that may appear, to align the prefixes. */
  names?: string[]
  colour: {stdout: boolean; stderr: boolean}
  write?: Record<OutputStream, (s: string) => void>
}

const defaultWrite: Record<OutputStream, (s: string) => void> = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
}

export function colourFor(t: TargetRef, names: string[]): number {
  const i = t.slot ?? Math.max(0, names.indexOf(t.name))
  return PALETTE[i % PALETTE.length]
}

/** `name | ` padded to the widest name, coloured when asked. */
export function prefix(t: TargetRef, width: number, colour: boolean, names: string[] = []): string {
  const p = `${t.name.padEnd(width)} |`
  return colour ? `\x1b[${colourFor(t, names)}m${p}\x1b[0m ` : `${p} `
}

function outcome(r: TargetResult): string {
  const secs = `${(r.durationMs / 1000).toFixed(2)}s`
  if (r.status === 'ok') return `ok, exit 0, ${secs}`
  const what = r.exitCode !== null ? `exit ${r.exitCode}` : (r.error ?? r.signal ?? r.status)
  return `${r.status}: ${what}, ${secs}`
}

export function createExecRenderer(opts: ExecRendererOptions): ExecEventSink {
  const write = opts.write ?? defaultWrite
  let names = opts.names ?? []
  let width = Math.max(0, ...names.map((n) => n.length))
  const blocks = new Map<string, Array<[OutputStream, string]>>()
  return (e: ExecEvent) => {
    if (opts.mode === 'quiet') return
    switch (e.type) {
      case 'targets':
        names = e.targets.map((t) => t.name)
        width = Math.max(0, ...names.map((n) => n.length))
        break
      case 'line':
        if (opts.mode === 'stream')
          write[e.stream](prefix(e.target, width, opts.colour[e.stream], names) + e.line + '\n')
        else {
          const b = blocks.get(e.target.id) ?? []
          b.push([e.stream, e.line])
          blocks.set(e.target.id, b)
        }
        break
      case 'done': {
        const r = e.result
        if (opts.mode === 'group') {
          const head = `── ${e.target.name} (${outcome(r)})`
          write.stdout(
            (opts.colour.stdout ? `\x1b[${colourFor(e.target, names)}m${head}\x1b[0m` : head) + '\n',
          )
          for (const [stream, line] of blocks.get(e.target.id) ?? []) write[stream](line + '\n')
          if (r.error && r.status !== 'ok') write.stderr(`wolphin: ${r.status}: ${r.error}\n`)
          blocks.delete(e.target.id)
        } else if (r.status !== 'ok' && r.error)
          write.stderr(
            prefix(e.target, width, opts.colour.stderr, names) + `wolphin: ${r.status}: ${r.error}\n`,
          )
        break
      }
      case 'info':
        write.stderr(`wolphin: ${e.message}\n`)
        break
      case 'warn':
        write.stderr(`wolphin: warning: ${e.message}\n`)
        break
      default:
    }
  }
}
