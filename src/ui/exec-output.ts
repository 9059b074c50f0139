/**
 * Terminal rendering of exec/put: each instance's output, byte for byte with `name | ` before each
 * line (or without it: --no-prefix), or one block per instance when it finishes (--group); and the
 * fan-out's events (failures, notices). Writes honour backpressure: while stdout is full, the
 * instances' channels are paused, so a slow reader slows the commands instead of filling memory.
 */
import {once} from 'node:events'
import {createReadStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import type {Delivery, OutputSink} from '../exec/output.js'
import {OutputFiles} from '../exec/output-files.js'
import type {ExecEvent, ExecEventSink, OutputStream, TargetRef, TargetResult} from '../exec/types.js'

const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94, 91, 31]
/**
 * A partial line is held up to this size, so lines of different instances do not mix. A longer
 * line is written as it comes, and the other instances' output on that stream waits for its end.
 */
export const HOLD_LINE = 64 * 1024
const NEWLINE = Buffer.from('\n')

export interface ExecOutputOptions {
  /** stream: lines as they arrive; group: one block per instance when it finishes; quiet: nothing. */
  mode: 'stream' | 'group' | 'quiet'
  /** `name | ` before each line (stream mode). */
  prefix?: boolean
  colour: {stdout: boolean; stderr: boolean}
  /** Every name that may appear, to align the prefixes (the `targets` event sets them too). */
  names?: string[]
  out?: Record<OutputStream, NodeJS.WritableStream>
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

const u8IndexOf = Uint8Array.prototype.indexOf
const u8Subarray = Uint8Array.prototype.subarray

/** Copies src[from, to) to dst at `at`; short runs by a loop, cheaper than a view and a native call. */
function copyInto(src: Uint8Array, dst: Uint8Array, at: number, from: number, to: number): number {
  const n = to - from
  if (n < 256) for (let i = 0; i < n; i++) dst[at + i] = src[from + i]
  else dst.set(u8Subarray.call(src, from, to), at)
  return n
}

/** `a` twice as long, its contents kept. */
function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const g = new Int32Array(a.length * 2)
  g.set(a)
  return g
}

/** Writes `buf`; a promise when the stream is full, settled on 'drain', rejected if it fails or closes. */
export function writeTo(out: NodeJS.WritableStream, buf: Buffer | string): Delivery {
  const stream = out as NodeJS.WritableStream & {destroyed?: boolean}
  if (stream.destroyed) return Promise.reject(new Error('the output stream is closed'))
  if (out.write(buf)) return true
  return new Promise<void>((resolve, reject) => {
    const done = (e?: unknown) => {
      out.removeListener('drain', done)
      out.removeListener('error', done)
      out.removeListener('close', done)
      if (e instanceof Error) reject(e)
      else if (stream.destroyed) reject(new Error('the output stream is closed'))
      else resolve()
    }
    out.on('drain', done)
    out.on('error', done)
    out.on('close', done)
  })
}

interface LineState {
  held: Buffer[]
  heldBytes: number
  /** The next byte starts a line (it gets the prefix). */
  atStart: boolean
}

/**
 * One output stream shared by every instance: whole lines, each with its instance's prefix, never
 * two instances' bytes within one line. Linear: each byte is looked at and copied once.
 */
class LineWriter {
  private owner: string | null = null
  private waiting: Array<() => void> = []
  private readonly states = new Map<string, LineState>()
  /** Line ends of the chunk being written (reused: no allocation per chunk). */
  private ends: Int32Array<ArrayBuffer> = new Int32Array(1024)

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly prefixOf: (t: TargetRef) => Buffer,
    /** One instance and no prefix: bytes pass straight through. */
    private readonly passThrough: () => boolean,
  ) {}

  private state(t: TargetRef): LineState {
    let s = this.states.get(t.id)
    if (!s) this.states.set(t.id, (s = {held: [], heldBytes: 0, atStart: true}))
    return s
  }

  write(t: TargetRef, chunk: Buffer): Delivery {
    if (this.passThrough()) return writeTo(this.out, chunk)
    if (this.owner !== null && this.owner !== t.id) return this.wait(() => this.write(t, chunk))
    const st = this.state(t)
    const p = this.prefixOf(t)
    const pieces: Buffer[] = []
    const nl = chunk.indexOf(10)
    if (nl === -1) {
      if (this.owner !== t.id && st.heldBytes + chunk.length <= HOLD_LINE) {
        st.held.push(chunk)
        st.heldBytes += chunk.length
        return true
      }
      // A long line: out as it comes; this stream is this instance's until the line ends.
      if (st.atStart && p.length) pieces.push(p)
      pieces.push(...st.held, chunk)
      st.held = []
      st.heldBytes = 0
      st.atStart = false
      this.owner = t.id
      return writeTo(this.out, Buffer.concat(pieces))
    }
    // One output buffer per chunk, sized first: no object per line (at ~6 million lines for 50 MB
    // of short lines, per-line objects cost more in garbage collection than the copying). The line
    // ends are found by the typed array's own indexOf (Buffer's checks its arguments in JavaScript
    // on every call: measured, a third of exec's CPU on 50 MB of log lines) into a reused array.
    const pl = p.length
    const n = chunk.length
    // Short lines (more than one per 32 bytes) are copied in one pass over the bytes, which beats
    // a call or two per line; found out while looking for the line ends.
    const manyLines = n >> 5
    let ends = this.ends
    let lines = 0
    let last = nl
    for (let i = nl; i !== -1 && lines <= manyLines; i = u8IndexOf.call(chunk, 10, i + 1)) {
      if (lines === ends.length) this.ends = ends = grown(ends)
      ends[lines++] = last = i
    }
    const short = lines > manyLines
    if (short)
      for (let i = last + 1; i < n; i++)
        if (chunk[i] === 10) {
          lines++
          last = i
        }
    const out = Buffer.allocUnsafe((st.atStart ? pl : 0) + st.heldBytes + last + 1 + (lines - 1) * pl)
    let o = 0
    if (st.atStart && pl) o += copyInto(p, out, o, 0, pl)
    for (const h of st.held) o += copyInto(h, out, o, 0, h.length)
    st.held = []
    st.heldBytes = 0
    o += copyInto(chunk, out, o, 0, nl + 1)
    let start = nl + 1
    if (short) {
      for (let i = start; i <= last; i++) {
        if (i === start && pl) for (let j = 0; j < pl; j++) out[o++] = p[j]
        const b = chunk[i]
        out[o++] = b
        if (b === 10) start = i + 1
      }
    } else
      for (let k = 1; k < lines; k++) {
        const e = ends[k]
        for (let j = 0; j < pl; j++) out[o++] = p[j]
        o += copyInto(chunk, out, o, start, e + 1)
        start = e + 1
      }
    st.atStart = true
    if (start < chunk.length) {
      // Copied: a small rest must not keep the whole chunk alive while it waits for its line end.
      st.held.push(Buffer.from(chunk.subarray(start)))
      st.heldBytes = chunk.length - start
    }
    const d = writeTo(this.out, out)
    if (this.owner === t.id) this.release()
    return d
  }

  /** The instance's output ended: its last line, if unterminated, is ended with a newline. */
  end(t: TargetRef): Delivery {
    const st = this.states.get(t.id)
    if (!st) return true
    this.states.delete(t.id)
    if (this.owner !== null && this.owner !== t.id)
      return this.wait(() => {
        this.states.set(t.id, st)
        return this.end(t)
      })
    let d: Delivery = true
    if (st.heldBytes || !st.atStart) {
      const p = this.prefixOf(t)
      const pieces = st.atStart && p.length ? [p, ...st.held, NEWLINE] : [...st.held, NEWLINE]
      d = writeTo(this.out, Buffer.concat(pieces))
    }
    if (this.owner === t.id) this.release()
    return d
  }

  private wait(retry: () => Delivery): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      this.waiting.push(() => {
        const d = retry()
        if (d === true) resolve()
        else d.then(resolve, reject)
      }),
    )
  }

  private release(): void {
    this.owner = null
    const w = this.waiting
    this.waiting = []
    for (const f of w) f()
  }
}

/**
 * --group: each instance's output spooled to temporary files while it runs, then written as one
 * block (header, stdout, stderr) when it finishes, one block at a time.
 */
class GroupWriter {
  private spool: Promise<OutputFiles> | null = null
  private queue: Promise<void> = Promise.resolve()
  readonly written = new Set<string>()

  constructor(
    private readonly out: Record<OutputStream, NodeJS.WritableStream>,
    private readonly header: (t: TargetRef, r: TargetResult) => string,
  ) {}

  private files(): Promise<OutputFiles> {
    this.spool ??= mkdtemp(path.join(os.tmpdir(), 'wolphin-group-')).then((d) => new OutputFiles(d))
    return this.spool
  }

  write(t: TargetRef, stream: OutputStream, chunk: Buffer): Delivery {
    return this.files().then((f) => {
      const d = f.write(t, stream, chunk)
      return d === true ? undefined : d
    })
  }

  end(t: TargetRef, r: TargetResult): Promise<void> {
    this.written.add(t.id)
    const block = async () => {
      const files = await this.files()
      await files.end(t)
      await this.put('stdout', this.header(t, r))
      for (const stream of ['stdout', 'stderr'] as const) {
        const c = files.captured(t.id, stream)
        if (!c || !c.bytes) continue
        let last = 10
        for await (const chunk of createReadStream(c.path)) {
          const b = chunk as Buffer
          if (b.length) last = b[b.length - 1]
          await this.put(stream, b)
        }
        // The block ends on a line end, whether or not the output did.
        if (last !== 10) await this.put(stream, '\n')
      }
      if (r.error && r.status !== 'ok') await this.put('stderr', `wolphin: ${r.status}: ${r.error}\n`)
      await rm(files.dirOf(t), {recursive: true, force: true})
    }
    const run = this.queue.then(block)
    this.queue = run.catch(() => {})
    return run
  }

  private async put(stream: OutputStream, data: Buffer | string): Promise<void> {
    const d = writeTo(this.out[stream], data)
    if (d !== true) await d
  }

  async close(): Promise<void> {
    if (this.spool) await rm((await this.spool).dir, {recursive: true, force: true})
  }
}

export interface ExecOutput {
  /** The fan-out's events: notices, failures, the target list (for aligned prefixes). */
  onEvent: ExecEventSink
  /** Every instance's output bytes. */
  sink: OutputSink
  /** Removes temporary files (--group). */
  close(): Promise<void>
}

export function createExecOutput(opts: ExecOutputOptions): ExecOutput {
  const out = opts.out ?? {stdout: process.stdout, stderr: process.stderr}
  let names = opts.names ?? []
  let width = Math.max(0, ...names.map((n) => n.length))
  const withPrefix = opts.prefix ?? true
  const prefixes = new Map<string, Buffer>()
  const prefixOf = (stream: OutputStream) => (t: TargetRef) => {
    if (!withPrefix) return Buffer.alloc(0)
    const key = `${stream}\0${t.id}`
    let p = prefixes.get(key)
    if (!p) prefixes.set(key, (p = Buffer.from(prefix(t, width, opts.colour[stream], names))))
    return p
  }
  const single = () => !withPrefix && names.length === 1
  const lines = {
    stdout: new LineWriter(out.stdout, prefixOf('stdout'), single),
    stderr: new LineWriter(out.stderr, prefixOf('stderr'), single),
  }
  const header = (t: TargetRef, r: TargetResult) => {
    const head = `── ${t.name} (${outcome(r)})`
    return (opts.colour.stdout ? `\x1b[${colourFor(t, names)}m${head}\x1b[0m` : head) + '\n'
  }
  const group = new GroupWriter(out, header)
  const say = (stream: OutputStream, s: string) => void out[stream].write(s)

  const sink: OutputSink =
    opts.mode === 'quiet'
      ? {write: () => true, end: async () => {}}
      : opts.mode === 'group'
        ? group
        : {
            write: (t, stream, chunk) => lines[stream].write(t, chunk),
            async end(t) {
              const a = lines.stdout.end(t)
              const b = lines.stderr.end(t)
              if (a !== true) await a
              if (b !== true) await b
            },
          }

  const onEvent: ExecEventSink = (e: ExecEvent) => {
    switch (e.type) {
      case 'targets':
        names = e.targets.map((t) => t.name)
        width = Math.max(0, ...names.map((n) => n.length))
        prefixes.clear()
        break
      case 'done': {
        const r = e.result
        if (opts.mode === 'quiet') {
          if (r.status !== 'ok' && r.error)
            say('stderr', `wolphin: ${e.target.name}: ${r.status}: ${r.error}\n`)
        } else if (opts.mode === 'group') {
          // Targets that never ran (no address, skipped) have no block yet.
          if (!group.written.has(e.target.id)) {
            say('stdout', header(e.target, r))
            if (r.error && r.status !== 'ok') say('stderr', `wolphin: ${r.status}: ${r.error}\n`)
          }
        } else if (r.status !== 'ok' && r.error)
          say(
            'stderr',
            prefix(e.target, width, opts.colour.stderr, names) + `wolphin: ${r.status}: ${r.error}\n`,
          )
        break
      }
      case 'info':
        say('stderr', `wolphin: ${e.message}\n`)
        break
      case 'warn':
        say('stderr', `wolphin: warning: ${e.message}\n`)
        break
      default:
    }
  }
  return {onEvent, sink, close: () => group.close()}
}

/** Waits until everything written to `out` has been handed to the OS. */
export async function drained(out: NodeJS.WritableStream & {writableLength?: number}): Promise<void> {
  if ((out.writableLength ?? 0) > 0) await once(out, 'drain')
}
