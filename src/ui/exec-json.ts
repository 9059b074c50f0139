/**
 * `exec --json` without holding the output in memory: each instance's output is spooled to files
 * while it runs (OutputFiles), and the one JSON document is then written from them, a piece at a
 * time with backpressure. A stream that is valid UTF-8 is carried as text (`stdout`); one that is
 * not is carried as base64 (`stdout: null`, `stdoutBase64`), so no byte is lost or altered.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {StringDecoder} from 'node:string_decoder'

import type {OutputFiles} from '../exec/output-files.js'
import {writeTo} from './exec-output.js'
import type {OutputStream, TargetResult} from '../exec/types.js'

type Field = {path: string; encoding: 'text' | 'base64'}

async function put(out: NodeJS.WritableStream, s: string): Promise<void> {
  const d = writeTo(out, s)
  if (d !== true) await d
}

async function streamField(out: NodeJS.WritableStream, f: Field): Promise<void> {
  await put(out, '"')
  if (f.encoding === 'text') {
    const decoder = new StringDecoder('utf8')
    for await (const chunk of createReadStream(f.path, {highWaterMark: 256 * 1024}))
      await put(out, JSON.stringify(decoder.write(chunk as Buffer)).slice(1, -1))
    await put(out, JSON.stringify(decoder.end()).slice(1, -1))
  } else {
    let carry = Buffer.alloc(0)
    for await (const chunk of createReadStream(f.path, {highWaterMark: 3 * 85 * 1024})) {
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
