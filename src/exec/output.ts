/**
 * Where a fan-out's output bytes go. The runners hand every chunk of every target's stdout and
 * stderr, unchanged, to an OutputSink; a sink that cannot take more makes the runner pause that
 * target's channel (SSH flow control then stops the remote command's writes), so memory stays
 * bounded however much a command prints and however slowly the consumer reads.
 */
import {isUtf8} from 'node:buffer'

import {type ExecEventSink, type OutputStream, refOf, type TargetRef, type TargetResult} from './types.js'

/** `true`: send the next chunk; a promise: pause this stream until it settles. */
export type Delivery = true | Promise<void>

export interface OutputSink {
  /**
   * One chunk of a target's output, as it came off the wire. A promise that rejects means the chunk
   * could not be delivered (a full disk, a closed file): the target's result then says so.
   */
  write(target: TargetRef, stream: OutputStream, chunk: Buffer): Delivery
  /**
   * The target's output is complete (`result` is its outcome): flush what is held for it. Rejects
   * when some of its output could not be delivered.
   */
  end(target: TargetRef, result: TargetResult): Promise<void>
}

/** Cap on what the in-memory capture (library use without a sink) keeps per stream. */
export const MAX_CAPTURE = 8 * 1024 * 1024
/** Longer lines reach `line` events in pieces of this size (a 100 MB line is not held whole). */
export const MAX_LINE = 1024 * 1024

/** The UTF-8 lead byte's sequence length (1 for ASCII, continuation and invalid bytes). */
function sequenceLength(b: number): number {
  if (b >= 0xf0 && b <= 0xf4) return 4
  if (b >= 0xe0) return b <= 0xef ? 3 : 1
  if (b >= 0xc2) return 2
  return 1
}

/** Tells whether a byte stream, fed in chunks cut anywhere, is valid UTF-8; linear, no decoding. */
export class Utf8Check {
  private ok = true
  private tail: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): void {
    if (!this.ok || chunk.length === 0) return
    const data = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk
    // A multi-byte character cut by the chunk boundary is checked with the next chunk.
    let cut = data.length
    for (let i = data.length - 1; i >= Math.max(0, data.length - 4); i--) {
      if ((data[i] & 0xc0) === 0x80) continue
      if (i + sequenceLength(data[i]) > data.length) cut = i
      break
    }
    this.ok = isUtf8(data.subarray(0, cut))
    this.tail = Buffer.from(data.subarray(cut))
  }

  /** Valid so far and nothing left incomplete. */
  get valid(): boolean {
    return this.ok && this.tail.length === 0
  }
}

/** The JSON form of captured bytes: text when valid UTF-8, base64 otherwise. */
export function textOrBase64(bytes: Buffer): {text: string | null; base64?: string} {
  return isUtf8(bytes) ? {text: bytes.toString('utf8')} : {text: null, base64: bytes.toString('base64')}
}

/**
 * Splits a byte stream into lines, linear in the input: a partial line is kept as the chunks it
 * came in and joined once, when its newline arrives (or when it reaches `maxLine`).
 */
export class LineSplitter {
  private held: Buffer[] = []
  private heldBytes = 0

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly maxLine = MAX_LINE,
  ) {}

  push(chunk: Buffer): void {
    let start = 0
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.emit(chunk.subarray(start, nl))
      start = nl + 1
    }
    while (start < chunk.length) {
      const piece = chunk.subarray(start, start + this.maxLine - this.heldBytes)
      this.held.push(piece)
      this.heldBytes += piece.length
      start += piece.length
      if (this.heldBytes >= this.maxLine) this.emit(Buffer.alloc(0))
    }
  }

  /** Emits a last unterminated line, if any. */
  end(): void {
    if (this.heldBytes) this.emit(Buffer.alloc(0))
  }

  private emit(rest: Buffer): void {
    if (this.held.length) {
      this.held.push(rest)
      rest = Buffer.concat(this.held, this.heldBytes + rest.length)
      this.held = []
      this.heldBytes = 0
    }
    this.onLine(rest)
  }
}

interface Captured {
  chunks: Buffer[]
  size: number
  truncated: boolean
  lines: LineSplitter
}

/**
 * The default sink when a library caller gives none: each stream kept in memory up to MAX_CAPTURE
 * bytes (for the result's stdout/stderr) and split into `line` events (text, CR LF and LF both end
 * a line). Never pauses.
 */
export class MemoryCapture implements OutputSink {
  private readonly byTarget = new Map<string, Record<OutputStream, Captured>>()

  constructor(private readonly emit: ExecEventSink) {}

  private of(t: TargetRef): Record<OutputStream, Captured> {
    let c = this.byTarget.get(t.id)
    if (!c) {
      const stream = (s: OutputStream): Captured => ({
        chunks: [],
        size: 0,
        truncated: false,
        lines: new LineSplitter((line) => {
          const n = line.length
          const text = (n && line[n - 1] === 13 ? line.subarray(0, n - 1) : line).toString('utf8')
          this.emit({type: 'line', target: refOf(t), stream: s, line: text})
        }),
      })
      c = {stdout: stream('stdout'), stderr: stream('stderr')}
      this.byTarget.set(t.id, c)
    }
    return c
  }

  write(t: TargetRef, stream: OutputStream, chunk: Buffer): Delivery {
    const c = this.of(t)[stream]
    if (c.size < MAX_CAPTURE) {
      const keep = chunk.subarray(0, MAX_CAPTURE - c.size)
      c.chunks.push(keep)
      c.size += keep.length
      if (keep.length < chunk.length) c.truncated = true
    } else if (chunk.length) c.truncated = true
    c.lines.push(chunk)
    return true
  }

  async end(t: TargetRef): Promise<void> {
    const c = this.of(t)
    c.stdout.lines.end()
    c.stderr.lines.end()
  }

  /** The result fields for what was captured of `t`. */
  take(
    t: TargetRef,
  ): Pick<TargetResult, 'stdout' | 'stderr' | 'stdoutBase64' | 'stderrBase64' | 'truncated'> {
    const c = this.of(t)
    this.byTarget.delete(t.id)
    const out = textOrBase64(Buffer.concat(c.stdout.chunks, c.stdout.size))
    const err = textOrBase64(Buffer.concat(c.stderr.chunks, c.stderr.size))
    return {
      stdout: out.text,
      stderr: err.text,
      ...(out.base64 !== undefined ? {stdoutBase64: out.base64} : {}),
      ...(err.base64 !== undefined ? {stderrBase64: err.base64} : {}),
      ...(c.stdout.truncated || c.stderr.truncated ? {truncated: true as const} : {}),
    }
  }
}

/** Both sinks get every chunk; the stream waits for the slower one. */
export function teeSinks(...sinks: OutputSink[]): OutputSink {
  if (sinks.length === 1) return sinks[0]
  return {
    write(t, stream, chunk) {
      const pending = sinks.map((s) => s.write(t, stream, chunk)).filter((d) => d !== true)
      return pending.length ? Promise.all(pending).then(() => {}) : true
    },
    async end(t, result) {
      const outcomes = await Promise.allSettled(sinks.map((s) => s.end(t, result)))
      const failed = outcomes.find((o) => o.status === 'rejected')
      if (failed) throw (failed as PromiseRejectedResult).reason
    },
  }
}
