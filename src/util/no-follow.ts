/**
 * The one rule for local paths wolphin writes into on its own account (exec --output-dir, get's
 * LOCAL/<instance>): a symlink there is not ours and is never followed. Directories are checked
 * with lstat; files are opened with O_NOFOLLOW, so a link made after the check is refused too.
 */
import {constants, type Stats} from 'node:fs'
import {type FileHandle, lstat, mkdir, open} from 'node:fs/promises'

import {WolphinError} from '../errors.js'

/** A path wolphin would write through is a symlink (or not the kind of thing expected). */
export class NotOursError extends WolphinError {
  readonly path: string
  constructor(p: string, why: string) {
    super(`${p} ${why}`, 'PATH_NOT_OURS')
    this.path = p
  }
}

const NOT_REGULAR = 'exists and is not a regular file'
const SYMLINK = 'is a symlink; wolphin does not write through one (remove it or choose another directory)'

/** Why wolphin does not write at `st` (null: nothing there, or a directory when `dir`, a file otherwise). */
function refusal(st: Stats | null, dir: boolean): string | null {
  if (!st) return null
  if (st.isSymbolicLink()) return SYMLINK
  if (dir && !st.isDirectory()) return 'exists and is not a directory'
  if (!dir && !st.isFile()) return NOT_REGULAR
  return null
}

/** Refuses `p` if it is a symlink (or of the wrong kind); nothing there is fine. */
export async function checkNotLink(p: string, kind: 'dir' | 'file'): Promise<void> {
  const why = refusal(await lstat(p).catch(() => null), kind === 'dir')
  if (why) throw new NotOursError(p, why)
}

/** Refuses `p` if it is a symlink; anything else (or nothing) there is fine. */
export async function refuseSymlink(p: string): Promise<Stats | null> {
  const st = await lstat(p).catch(() => null)
  if (st?.isSymbolicLink()) throw new NotOursError(p, SYMLINK)
  return st
}

/** Makes directory `p` (its parent exists) or finds it there, never through a symlink. */
export async function ownDirectory(p: string, mode = 0o777): Promise<void> {
  await checkNotLink(p, 'dir')
  await mkdir(p, {mode}).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e
    // Made by someone else between the check and mkdir: the same rule on what is there now.
    await checkNotLink(p, 'dir')
  })
}

/**
 * Opens `p` for writing, truncated, created if missing. Refused: a symlink there (O_NOFOLLOW), and
 * what the open handle shows is not a file of its own: not a regular file (a FIFO would block the
 * write and the exit; opened O_NONBLOCK, one without a reader fails at once) or a file with other
 * hard links (writing would change the file behind them). Truncated only once checked.
 */
export async function openNoFollow(p: string): Promise<FileHandle> {
  let handle: FileHandle
  try {
    handle = await open(
      p,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o666,
    )
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw new NotOursError(p, SYMLINK)
    if (code === 'ENXIO') throw new NotOursError(p, NOT_REGULAR)
    throw e
  }
  const st = await handle.stat()
  const why = !st.isFile()
    ? NOT_REGULAR
    : st.nlink > 1
      ? 'has other hard links; wolphin does not write through one (remove it or choose another directory)'
      : null
  if (why) {
    await handle.close()
    throw new NotOursError(p, why)
  }
  await handle.truncate(0)
  return handle
}
