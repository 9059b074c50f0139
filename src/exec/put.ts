import {readdir, stat} from 'node:fs/promises'
import path from 'node:path'

import type {SFTPWrapper} from 'ssh2'

import {UsageError} from '../errors.js'
import {pool} from '../util/async.js'

export interface LocalEntry {
  /** Path relative to the copied root ('' for a single file). */
  rel: string
  abs: string
  dir: boolean
  mode: number
  size: number
}

export interface PutPlan {
  kind: 'file' | 'dir'
  local: string
  /** The remote file (kind file) or directory (kind dir). */
  remote: string
  entries: LocalEntry[]
  files: number
  bytes: number
}

const MAX_DEPTH = 64

/**
 * What `put LOCAL REMOTE` copies. A file goes to REMOTE, or into REMOTE when it ends with "/"; a
 * directory's contents go into REMOTE, which is created (like `rsync -r LOCAL/ REMOTE`).
 */
export async function planPut(local: string, remote: string, cwd = process.cwd()): Promise<PutPlan> {
  if (!remote) throw new UsageError('put: REMOTE is empty; expected a remote path like app/ or /opt/app')
  const abs = path.resolve(cwd, local)
  let st
  try {
    st = await stat(abs)
  } catch {
    throw new UsageError(`put: ${local}: no such file or directory`)
  }
  if (st.isFile()) {
    const dest = remote.endsWith('/') ? path.posix.join(remote, path.basename(abs)) : remote
    return {
      kind: 'file',
      local: abs,
      remote: dest,
      entries: [{rel: '', abs, dir: false, mode: st.mode & 0o7777, size: st.size}],
      files: 1,
      bytes: st.size,
    }
  }
  if (!st.isDirectory()) throw new UsageError(`put: ${local}: not a regular file or directory`)
  const entries: LocalEntry[] = []
  const walk = async (dir: string, rel: string, depth: number) => {
    if (depth > MAX_DEPTH)
      throw new UsageError(`put: ${local}: deeper than ${MAX_DEPTH} levels (a symlink loop?)`)
    const names = (await readdir(dir)).sort()
    for (const n of names) {
      const a = path.join(dir, n)
      const r = rel ? `${rel}/${n}` : n
      const s = await stat(a).catch(() => null)
      if (!s) continue // dangling symlink
      if (s.isDirectory()) {
        entries.push({rel: r, abs: a, dir: true, mode: s.mode & 0o7777, size: 0})
        await walk(a, r, depth + 1)
      } else if (s.isFile()) entries.push({rel: r, abs: a, dir: false, mode: s.mode & 0o7777, size: s.size})
    }
  }
  await walk(abs, '', 0)
  const files = entries.filter((e) => !e.dir)
  return {
    kind: 'dir',
    local: abs,
    remote: remote.replace(/(.)\/+$/, '$1'),
    entries: [{rel: '', abs, dir: true, mode: st.mode & 0o7777, size: 0}, ...entries],
    files: files.length,
    bytes: files.reduce((n, e) => n + e.size, 0),
  }
}

const call = <T>(f: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))))

async function isDir(sftp: SFTPWrapper, p: string): Promise<boolean> {
  try {
    const st = await call<{isDirectory(): boolean}>((cb) => sftp.stat(p, cb))
    return st.isDirectory()
  } catch {
    return false
  }
}

/** `mkdir -p` over SFTP. */
/** @internal Takes ssh2's SFTPWrapper: kept out of the published types. */
export async function mkdirp(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (dir === '' || dir === '.' || dir === '/') return
  if (await isDir(sftp, dir)) return
  await mkdirp(sftp, path.posix.dirname(dir))
  try {
    await call<void>((cb) => sftp.mkdir(dir, cb))
  } catch (e) {
    if (!(await isDir(sftp, dir)))
      throw new Error(`cannot create remote directory ${dir}: ${(e as Error).message}`)
  }
}

/** Copies the plan over one SFTP session; returns what was copied. */
/** @internal Takes ssh2's SFTPWrapper: kept out of the published types. */
export async function putOverSftp(sftp: SFTPWrapper, plan: PutPlan): Promise<{files: number; bytes: number}> {
  const dest = (e: LocalEntry) =>
    plan.kind === 'file' ? plan.remote : e.rel ? `${plan.remote}/${e.rel}` : plan.remote
  if (plan.kind === 'file') await mkdirp(sftp, path.posix.dirname(plan.remote))
  const dirs = plan.entries.filter((e) => e.dir)
  // Parents first; while copying every directory stays writable, its mode is set at the end.
  for (const d of dirs) await mkdirp(sftp, dest(d))
  const files = plan.entries.filter((e) => !e.dir)
  await pool(files, 8, async (f) => {
    const to = dest(f)
    const upload = () => call<void>((cb) => sftp.fastPut(f.abs, to, {mode: f.mode}, (err) => cb(err)))
    try {
      try {
        await upload()
      } catch (e) {
        // A read-only file from an earlier put (0444, 0555): make it writable for us, then retry.
        await call<void>((cb) => sftp.chmod(to, f.mode | 0o200, cb)).catch(() => {
          throw e
        })
        await upload()
      }
      await call<void>((cb) => sftp.chmod(to, f.mode, cb))
    } catch (e) {
      throw new Error(`${to}: ${(e as Error).message}`)
    }
  })
  for (const d of [...dirs].reverse()) await call<void>((cb) => sftp.chmod(dest(d), d.mode, cb))
  return {files: files.length, bytes: files.reduce((n, e) => n + e.size, 0)}
}
