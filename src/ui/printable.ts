/**
 * Text from EC2 (tag values: Names, OwnerEmail, project names, leases) is anyone's who may write
 * tags: on a terminal an ESC or BEL in it would be obeyed (move the cursor, retitle the window,
 * hide lines, ring). Human output escapes every control character (C0, DEL, C1) and the bidi
 * controls that reorder what is shown, as `\xNN` / `\u{NNNN}`; --json needs no help, JSON escapes.
 */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const n = c.codePointAt(0)!
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`
  })
}

/** Lines of human output, each made printable, joined with newlines (and one at the end). */
export function printableLines(lines: string[]): string {
  return lines.map(printable).join('\n') + '\n'
}
