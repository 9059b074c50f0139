/**
 * The streamed `exec --json` writes UTF-8 output as JSON string bytes without decoding it: the
 * bytes must be exactly what JSON.stringify writes for the decoded text, wherever pieces are cut.
 */
import {randomInt} from 'node:crypto'

import {expect} from 'chai'

import {jsonStringBytes} from '../../src/ui/exec-json.js'

/** Text with every ASCII character, quotes, backslashes, CR LF, and 2-, 3- and 4-byte characters. */
function sample(n: number): string {
  const alphabet = [
    ...Array.from({length: 128}, (_, i) => String.fromCharCode(i)),
    '"',
    '\\',
    '\r\n',
    'é',
    '€',
    '😀',
    '\u2028',
    '\u007f',
  ]
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)]
  return s
}

describe('exec --json: UTF-8 bytes escaped as JSON.stringify escapes their text', () => {
  it('equals JSON.stringify for every character, pieces cut anywhere (inside characters too)', () => {
    for (let round = 0; round < 50; round++) {
      const text = sample(2000)
      const bytes = Buffer.from(text, 'utf8')
      const pieces: Buffer[] = []
      for (let at = 0; at < bytes.length;) {
        const next = Math.min(bytes.length, at + 1 + randomInt(64))
        pieces.push(jsonStringBytes(bytes.subarray(at, next)))
        at = next
      }
      expect(Buffer.concat(pieces).toString('utf8')).to.equal(JSON.stringify(text).slice(1, -1))
    }
  })

  it('passes a piece that needs no escape through without a copy', () => {
    const piece = Buffer.from('plain text, é and 😀')
    expect(jsonStringBytes(piece)).to.equal(piece)
  })
})
