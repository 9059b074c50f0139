/**
 * `exec --json` without holding the output in memory: each instance's output is spooled to files
 * while it runs (OutputFiles), and the one JSON document is then written from them, a piece at a
 * time with backpressure. A stream that is valid UTF-8 is carried as text (`stdout`); one that is
 * not is carried as base64 (`stdout: null`, `stdoutBase64`), so no byte is lost or altered.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'

import type {OutputFiles} from '../exec/output-files.js'
import {writeTo} from './exec-output.js'
import type {OutputStream, TargetResult} from '../exec/types.js'

type Field = {path: string; encoding: 'text' | 'base64'}

/**
 * Read size of a spooled stream. Small on purpose: each piece read, and what is made of it, is
 * garbage once written, and memory is what the streamed document must not cost (issue 14: peak
 * RSS <= 150 MB whatever the size). A multiple of 3, so base64 pieces join without padding.
 */
const PIECE = 48 * 1024

async function put(out: NodeJS.WritableStream, s: Buffer | string): Promise<void> {
  const d = writeTo(out, s)
  if (d !== true) await d
}

/** What JSON.stringify writes for each ASCII byte that it escapes (control characters, `"`, `\`). */
const ESCAPES: Array<Buffer | undefined> = Array.from({length: 128}, (_, b) => {
  if (b >= 0x20 && b !== 0x22 && b !== 0x5c) return undefined
  return Buffer.from(JSON.stringify(String.fromCharCode(b)).slice(1, -1), 'latin1')
})

/**
 * The bytes of a JSON string's contents for UTF-8 text, as JSON.stringify would write the text
 * they decode to, without decoding: only ASCII bytes are ever escaped, and no byte of a multi-byte
 * character is ASCII, so a piece may end anywhere. Valid UTF-8 has no lone surrogate, the one
 * other thing JSON.stringify escapes. The piece itself when nothing needs escaping.
 */
export function jsonStringBytes(piece: Buffer): Buffer {
  let extra = 0
  for (let i = 0; i < piece.length; i++) {
    const b = piece[i]
    if (b < 0x20 || b === 0x22 || b === 0x5c) extra += ESCAPES[b]!.length - 1
  }
  if (extra === 0) return piece
  const out = Buffer.allocUnsafe(piece.length + extra)
  let o = 0
  for (let i = 0; i < piece.length; i++) {
    const b = piece[i]
    if (b < 0x20 || b === 0x22 || b === 0x5c) {
      const e = ESCAPES[b]!
      for (let k = 0; k < e.length; k++) out[o++] = e[k]
    } else out[o++] = b
  }
  return out
}

async function streamField(out: NodeJS.WritableStream, f: Field): Promise<void> {
  await put(out, '"')
  if (f.encoding === 'text') {
    for await (const piece of createReadStream(f.path, {highWaterMark: PIECE}))
      await put(out, jsonStringBytes(piece as Buffer))
  } else {
    // Pieces are read whole (PIECE bytes, a multiple of 3) but for the last: no padding inside.
    let carry = Buffer.alloc(0)
    for await (const chunk of createReadStream(f.path, {highWaterMark: PIECE})) {
      const data = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer)
      const whole = data.length - (data.length % 3)
      await put(out, data.subarray(0, whole).toString('base64'))
      carry = Buffer.from(data.subarray(whole))
    }
    await put(out, carry.toString('base64'))
  }
  await put(out, '"')
}

/**
 * Writes `doc` (an ExecResult, possibly with an `error` member) as pretty-printed JSON, with each
 * result's stdout and stderr taken from `files`.
 */
export async function writeExecJson(
  out: NodeJS.WritableStream,
  doc: {results: TargetResult[]} & Record<string, unknown>,
  files: OutputFiles,
): Promise<void> {
  const nonce = randomBytes(12).toString('hex')
  const fields: Field[] = []
  const placeholder = (f: Field) => `@@wolphin-${nonce}-${fields.push(f) - 1}@@`
  const results = doc.results.map((r) => {
    const copy: Record<string, unknown> = {...r}
    delete copy.stdoutBase64
    delete copy.stderrBase64
    for (const stream of ['stdout', 'stderr'] as OutputStream[]) {
      const c = files.captured(r.id, stream)
      if (!c) {
        copy[stream] = r[stream] ?? ''
        continue
      }
      if (c.utf8) copy[stream] = placeholder({path: c.path, encoding: 'text'})
      else {
        copy[stream] = null
        copy[`${stream}Base64`] = placeholder({path: c.path, encoding: 'base64'})
      }
    }
    return copy
  })
  const text = JSON.stringify({...doc, results}, null, 2) + '\n'
  const re = new RegExp(`"@@wolphin-${nonce}-(\\d+)@@"`, 'g')
  let last = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    await put(out, text.slice(last, m.index))
    await streamField(out, fields[Number(m[1])])
    last = m.index + m[0].length
  }
  await put(out, text.slice(last))
}
