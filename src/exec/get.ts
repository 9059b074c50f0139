/**
 * get: a remote file or tree from one host into a local directory over SFTP, byte for byte with
 * its modes. Several files in flight, each read with pipelined requests; every file lands under a
 * temporary name and is renamed into place once complete, so a re-run converges and nothing is
 * half-written. Local paths are checked without following symlinks: nothing a host sends can make
 * get write outside its directory.
 */
import {chmod, lstat, mkdir, readdir as readLocalDir, rename, rm, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'

import type {SFTPWrapper, Stats} from 'ssh2'

import {UsageError} from '../errors.js'
import {pool} from '../util/async.js'
import {NotOursError, ownDirectory} from '../util/no-follow.js'
import {CopyError, type CopyFailure, type CopyOutcome} from './put.js'
import {
  call,
  filesInFlight,
  homeRelative,
  maxChunk,
  readdir,
  safeName,
  sftpMessage,
  statOrNull,
} from './sftp.js'
import {isTempName, tempNameFor, tempOf} from './temp-name.js'

const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000

/** Files fetched at once from one host; each keeps READS_PER_FILE reads outstanding. */
const FILES_IN_FLIGHT = 16
const READS_PER_FILE = 8
const MAX_DEPTH = 64
const KEPT = 'nothing was copied'

export interface GetPlan {
  /** The remote path as given (relative paths start in the login user's home directory). */
  remote: string
  /** The local directory that receives one subdirectory per instance. */
  local: string
}

/** Checks `get REMOTE LOCAL` before any AWS call. */
export async function planGet(given: string, local: string, cwd = process.cwd()): Promise<GetPlan> {
  const remote = homeRelative(given)
  if (!remote)
    throw new UsageError('get: REMOTE is empty; expected a remote path like results/ or /var/log/app.log')
  if (!local) throw new UsageError('get: LOCAL is empty; expected a local directory like ./results')
  const abs = path.resolve(cwd, local)
  const st = await lstat(abs).catch(() => null)
  if (st && !st.isDirectory())
    throw new UsageError(
      `get: ${local} exists and is not a directory; LOCAL is the directory that receives one folder per instance`,
    )
  return {remote, local: abs}
}

/** The folder an instance's copy goes to: its Name when that is a safe file name, else its id. */
export function instanceFolder(name: string, id: string): string {
  return /^[A-Za-z0-9._@+-]+$/.test(name) && name !== '.' && name !== '..' ? name : id
}

/** What a remote path is called locally: its last component ('' for `.`, `~` or `/`). */
function baseOf(remote: string): string {
  const b = path.posix.basename(remote.replace(/\/+$/, ''))
  return b === '.' || b === '..' || b === '~' || !safeName(b) ? '' : b
}

interface RemoteEntry {
  /** Relative to the copied root ('' for the root). */
  rel: string
  kind: 'dir' | 'file' | 'link'
  mode: number
  size: number
}

const kindOf = (mode: number): RemoteEntry['kind'] | null =>
  (mode & S_IFMT) === S_IFDIR
    ? 'dir'
    : (mode & S_IFMT) === S_IFREG
      ? 'file'
      : (mode & S_IFMT) === S_IFLNK
        ? 'link'
        : null

const tempBeside = (p: string) => path.join(path.dirname(p), tempNameFor(path.basename(p)))

/**
 * Removes what an earlier get of these same files left when it was killed before its renames: in
 * each local directory written to, the `.NAME.wolphin-XXXXXXXX` of every NAME written (temp-name.ts),
 * nothing else.
 */
async function removeStaleTemps(written: string[]): Promise<void> {
  const byDir = new Map<string, Set<string>>()
  for (const p of written) {
    const dir = path.dirname(p)
    if (!byDir.has(dir)) byDir.set(dir, new Set())
    byDir.get(dir)!.add(path.basename(p))
  }
  await pool([...byDir], 8, async ([dir, bases]) => {
    const listing = await readLocalDir(dir, {withFileTypes: true}).catch(() => [])
    for (const e of listing)
      if (!e.isDirectory() && bases.has(tempOf(e.name) ?? ''))
        await rm(path.join(dir, e.name), {force: true}).catch(() => {})
  })
}

/**
 * Copies `remote` from one host into `dest` (LOCAL/<instance>): a file to dest/<name>, a tree to
 * dest/<name>/... (the contents straight into dest for `.` or `~`). Resolves with what arrived;
 * rejects with a CopyError naming every path that did not (what did arrive is kept).
 * @internal It takes ssh2's SFTPWrapper, which the published types do not name.
 */
export async function getOverSftp(
  sftp: SFTPWrapper,
  remote: string,
  dest: string,
  signal?: AbortSignal,
): Promise<CopyOutcome> {
  const failures: CopyFailure[] = []
  const root = await statOrNull(sftp, remote)
  if (!root) {
    const why = await call<Stats>((cb) => sftp.stat(remote, cb)).then(
      () => 'vanished',
      (e: unknown) => sftpMessage(e),
    )
    throw new CopyError([{path: remote, error: why}], KEPT)
  }
  const rootKind = kindOf(root.mode)
  if (rootKind !== 'dir' && rootKind !== 'file')
    throw new CopyError([{path: remote, error: 'not a regular file or directory'}], KEPT)
  const base = baseOf(remote)
  const top = base ? path.join(dest, base) : dest
  if (rootKind === 'file' && !base) throw new CopyError([{path: remote, error: 'has no file name'}], KEPT)

  // The listing: directories in parallel, parents before children.
  const entries: RemoteEntry[] = [{rel: '', kind: rootKind, mode: root.mode & 0o7777, size: root.size}]
  if (rootKind === 'dir') {
    let level = ['']
    for (let depth = 0; level.length && !signal?.aborted; depth++) {
      if (depth > MAX_DEPTH) {
        failures.push({path: remote, error: `deeper than ${MAX_DEPTH} levels`})
        break
      }
      const next: string[] = []
      await pool(level, 16, async (rel) => {
        const where = rel ? `${remote.replace(/\/+$/, '')}/${rel}` : remote
        try {
          for (const e of (await readdir(sftp, where)).sort((a, b) => (a.filename < b.filename ? -1 : 1))) {
            // Another copy's temporaries (a put or get in progress, or killed) are not files.
            if (!safeName(e.filename) || isTempName(e.filename)) continue
            const kind = kindOf(e.attrs.mode)
            if (!kind) continue // sockets, FIFOs, devices: like rsync -a without -D
            const r = rel ? `${rel}/${e.filename}` : e.filename
            entries.push({rel: r, kind, mode: e.attrs.mode & 0o7777, size: e.attrs.size})
            if (kind === 'dir') next.push(r)
          }
        } catch (err) {
          failures.push({path: where, error: `cannot list: ${sftpMessage(err)}`})
        }
      })
      level = next
    }
  }
  const remoteOf = (e: RemoteEntry) => (e.rel ? `${remote.replace(/\/+$/, '')}/${e.rel}` : remote)
  const localOf = (e: RemoteEntry) => (e.rel ? path.join(top, ...e.rel.split('/')) : top)

  // Directories: made (or found) without following symlinks; modes set at the end on those made.
  // LOCAL/<instance> itself too (the rule of src/util/no-follow.ts, shared with exec --output-dir).
  await mkdir(path.dirname(dest), {recursive: true})
  await ownDirectory(dest).catch((e: unknown) => {
    throw e instanceof NotOursError ? new CopyError([{path: remote, error: e.message}], KEPT) : e
  })
  const made: Array<{p: string; mode: number}> = []
  const failedDirs: string[] = []
  const dirs = entries
    .filter((e) => e.kind === 'dir')
    .sort((a, b) => a.rel.split('/').length - b.rel.split('/').length)
  for (const d of dirs) {
    const p = localOf(d)
    if (failedDirs.some((f) => p.startsWith(f + path.sep))) continue
    const st = await lstat(p).catch(() => null)
    if (st?.isDirectory()) continue
    if (st) {
      failedDirs.push(p)
      failures.push({path: remoteOf(d), error: `${p} exists and is not a directory`})
      continue
    }
    try {
      await mkdir(p, {mode: 0o700})
      made.push({p, mode: d.mode})
    } catch (err) {
      failedDirs.push(p)
      failures.push({path: remoteOf(d), error: `cannot create ${p}: ${(err as Error).message}`})
    }
  }

  let files = 0
  let bytes = 0
  const written: string[] = []
  const chunk = Math.min(maxChunk(sftp, 'read'), 128 * 1024)
  const leaves = entries.filter((e) => e.kind !== 'dir')
  await pool(leaves, filesInFlight(sftp, FILES_IN_FLIGHT), async (e) => {
    if (signal?.aborted) return
    const p = localOf(e)
    if (failedDirs.some((f) => p.startsWith(f + path.sep))) return
    const existing = await lstat(p).catch(() => null)
    if (existing?.isDirectory()) {
      failures.push({path: remoteOf(e), error: `${p} exists and is a directory`})
      return
    }
    const tmp = tempBeside(p)
    try {
      if (e.kind === 'link') {
        await symlink(await call<string>((cb) => sftp.readlink(remoteOf(e), cb)), tmp)
      } else {
        await call((cb) =>
          sftp.fastGet(
            remoteOf(e),
            tmp,
            {concurrency: READS_PER_FILE, chunkSize: chunk, fileSize: e.size || undefined},
            (err) => cb(err),
          ),
        )
        // An empty source: fastGet may stop before creating the local file.
        if (!(await lstat(tmp).catch(() => null))) await writeFile(tmp, '')
        await chmod(tmp, e.mode)
        // Awaited first: `bytes += await ...` would add to the value read before the await.
        const size = (await lstat(tmp)).size
        bytes += size
      }
      await rename(tmp, p)
      written.push(p)
      files++
    } catch (err) {
      await rm(tmp, {force: true}).catch(() => {})
      failures.push({path: remoteOf(e), error: sftpMessage(err)})
    }
  })
  await removeStaleTemps(written)
  // Deepest first: a directory without write permission for us is set after its children.
  for (const d of [...made].reverse()) await chmod(d.p, d.mode).catch(() => {})
  if (failures.length || signal?.aborted)
    throw new CopyError(
      failures,
      `${files} file(s) that arrived are kept`,
      signal?.aborted === true && !failures.length,
    )
  return {dest: top, files, bytes}
}
