/**
 * The temporary names put and get write a file under before renaming it into place:
 * `.NAME.wolphin-XXXXXXXX` beside NAME (8 hex digits). A copy killed before its rename (SIGKILL, a
 * lost machine) leaves them behind; the next copy of the same file removes them (only names of
 * exactly this form for the files it writes), and get never copies one. One rule, one place.
 */
import {randomBytes} from 'node:crypto'

const TEMP_RE = /^\.(.+)\.wolphin-[0-9a-f]{8}$/

/** A fresh temporary name for the file called `base`. */
export function tempNameFor(base: string): string {
  return `.${base}.wolphin-${randomBytes(4).toString('hex')}`
}

/** True when `name` is a temporary of some file: what get leaves out of a listing. */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name)
}

/** The file `name` is a temporary of (its base name), or null when it is not a temporary. */
export function tempOf(name: string): string | null {
  return TEMP_RE.exec(name)?.[1] ?? null
}
