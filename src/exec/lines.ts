import {StringDecoder} from 'node:string_decoder'

/** Cap on what is kept per stream for --json; streaming output is never capped. */
export const MAX_CAPTURE = 8 * 1024 * 1024

/** Splits a byte stream into lines (multi-byte characters kept whole) and keeps a capped copy. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8')
  private partial = ''
  private chunks: Buffer[] = []
  private size = 0
  truncated = false

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (this.size < MAX_CAPTURE) {
      const keep = buf.subarray(0, MAX_CAPTURE - this.size)
      this.chunks.push(keep)
      this.size += keep.length
      if (keep.length < buf.length) this.truncated = true
    } else this.truncated = true
    const text = this.partial + this.decoder.write(buf)
    const parts = text.split('\n')
    this.partial = parts.pop() ?? ''
    for (const p of parts) this.onLine(p.endsWith('\r') ? p.slice(0, -1) : p)
  }

  /** Emits a last unterminated line, if any. */
  end(): void {
    const rest = this.partial + this.decoder.end()
    this.partial = ''
    if (rest !== '') this.onLine(rest)
  }

  text(): string {
    return (
      Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? '\n[wolphin: output truncated]\n' : '')
    )
  }
}
