/**
 * Reading (and writing) a file the user named (a key, a known_hosts file, the pin record, a config,
 * an AWS config file, `ssh-config --known-hosts`). Only a regular file is read, and at most `maxBytes` of it. The file is opened with
 * O_NONBLOCK and checked on the open handle (no window between a check and the open): opening a
 * FIFO without it blocks a libuv worker thread until a writer comes, and such a thread blocks even
 * process.exit (libuv joins its threads on the way out), so a Ctrl-C or SIGTERM summary would be
 * printed and the process would never end. One rule, one place.
 */
import {constants} from 'node:fs'
import {open} from 'node:fs/promises'

/** Why a file could not be read: callers decide what each means (an error, or "no file"). */
export type UnreadableReason = 'missing' | 'directory' | 'not-a-file' | 'too-large' | 'denied' | 'error'

export class UnreadableFileError extends Error {
  constructor(
    readonly reason: UnreadableReason,
    /** One line, without the path: "not a regular file", "no such file", "2000000 bytes", ... */
    readonly why: string,
  ) {
    super(why)
  }
}

const WHY: Record<Exclude<UnreadableReason, 'too-large' | 'error'>, string> = {
  missing: 'no such file',
  directory: 'is a directory',
  'not-a-file': 'not a regular file',
  denied: 'permission denied',
}

/**
 * The bytes of `file`, a regular file of at most `maxBytes`, and its permission bits; an
 * UnreadableFileError otherwise.
 */
export async function readRegularFile(file: string, maxBytes: number): Promise<{data: Buffer; mode: number}> {
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UnreadableFileError('missing', WHY.missing)
    if (code === 'EACCES' || code === 'EPERM') throw new UnreadableFileError('denied', WHY.denied)
    if (code === 'EISDIR') throw new UnreadableFileError('directory', WHY.directory)
    // A socket (/dev/stdin of a process whose stdin is one) cannot be opened at all.
    if (code === 'ENXIO') throw new UnreadableFileError('not-a-file', WHY['not-a-file'])
    throw new UnreadableFileError('error', String((e as Error).message).split('\n')[0])
  }
  try {
    const st = await handle.stat()
    if (st.isDirectory()) throw new UnreadableFileError('directory', WHY.directory)
    if (!st.isFile()) throw new UnreadableFileError('not-a-file', WHY['not-a-file'])
    const tooLarge = (size: string) => new UnreadableFileError('too-large', `${size} bytes`)
    if (st.size > maxBytes) throw tooLarge(String(st.size))
    // Read until the end, not st.size: a file that grows meanwhile is still bounded.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(st.size + 1, 64 * 1024)))
    let length = 0
    for (;;) {
      if (length === buf.length) {
        if (length > maxBytes) break
        buf = Buffer.concat([buf, Buffer.allocUnsafe(Math.min(maxBytes + 1, length * 2) - length)])
      }
      const {bytesRead} = await handle.read(buf, length, buf.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > maxBytes) throw tooLarge(`more than ${maxBytes}`)
    return {data: buf.subarray(0, length), mode: st.mode & 0o7777}
  } finally {
    await handle.close()
  }
}

/**
 * Writes `data` to `file` the user named (created with `mode` when missing, else truncated), the
 * same way: opened O_NONBLOCK and checked on the handle, so a FIFO (opening one to write blocks
 * until a reader comes) or a device is refused, never written to; an UnreadableFileError then.
 */
export async function writeRegularFile(file: string, data: string | Buffer, mode: number): Promise<void> {
  let handle
  try {
    handle = await open(
      file,
      constants.O_WRONLY | constants.O_CREAT | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0),
      mode,
    )
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EISDIR') throw new UnreadableFileError('directory', WHY.directory)
    if (code === 'ENXIO') throw new UnreadableFileError('not-a-file', WHY['not-a-file'])
    if (code === 'EACCES' || code === 'EPERM') throw new UnreadableFileError('denied', WHY.denied)
    if (code === 'ENOENT') throw new UnreadableFileError('missing', 'no such directory')
    throw new UnreadableFileError('error', String((e as Error).message).split('\n')[0])
  }
  try {
    const st = await handle.stat()
    if (!st.isFile()) throw new UnreadableFileError('not-a-file', WHY['not-a-file'])
    // Truncated only now that it is known to be a regular file.
    await handle.truncate(0)
    await handle.writeFile(data)
  } finally {
    await handle.close()
  }
}
