import {open, readdir, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import type {SFTPWrapper} from 'ssh2'

import {UsageError} from '../errors.js'
import {pool} from '../util/async.js'
import {
  call,
  filesInFlight,
  homeRelative,
  lstatOrNull,
  maxChunk,
  pipelined,
  readdir as readRemoteDir,
  sftpMessage,
  statOrNull,
} from './sftp.js'
import {tempNameFor, tempOf} from './temp-name.js'

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
  /**
   * REMOTE as given. A file goes to REMOTE, or inside it when REMOTE ends with "/" or is an existing
   * directory on the instance (as scp does); a tree's contents go into REMOTE.
   */
  remote: string
  entries: LocalEntry[]
  files: number
  bytes: number
}

/** One path that could not be copied, and why. */
export interface CopyFailure {
  path: string
  error: string
}

/** A copy that failed: every failure, and whether what the copy had created was removed again. */
export class CopyError extends Error {
  constructor(
    readonly failures: CopyFailure[],
    /** What became of the rest: "removed the 3 path(s) this copy had created", ... */
    readonly outcome: string,
    interrupted = false,
  ) {
    const shown = failures.slice(0, 5).map((f) => `${f.path}: ${f.error}`)
    const more = failures.length > shown.length ? `; and ${failures.length - shown.length} more` : ''
    super(
      `${interrupted ? 'copy stopped' : `copy failed for ${failures.length} path(s)`}${shown.length ? `: ${shown.join('; ')}${more}` : ''}; ${outcome}`,
    )
  }
}

/** What one host received. */
export interface CopyOutcome {
  /** The remote path the file or tree landed at. */
  dest: string
  files: number
  bytes: number
}

const MAX_DEPTH = 64
/** Files at most this big are read whole and sent in one burst of writes. */
const SMALL_FILE = 512 * 1024
/** Writes outstanding per large file. */
const WRITE_WINDOW = 8
/**
 * Files copied at once over one SFTP session: many small ones (latency-bound), few large ones
 * (bandwidth-bound). Memory per host stays near 64 x 512 KB + 4 x 8 writes.
 */
const FILES_IN_FLIGHT = 64
const LARGE_FILES_IN_FLIGHT = 4

/**
 * What `put LOCAL REMOTE` copies. A file goes to REMOTE, or into REMOTE when it ends with "/" or is
 * an existing directory; a directory's contents go into REMOTE, which is created (like
 * `rsync -r LOCAL/ REMOTE`).
 */
export async function planPut(local: string, given: string, cwd = process.cwd()): Promise<PutPlan> {
  const remote = homeRelative(given)
  if (!remote) throw new UsageError('put: REMOTE is empty; expected a remote path like app/ or /opt/app')
  const abs = path.resolve(cwd, local)
  let st
  try {
    st = await stat(abs)
  } catch {
    throw new UsageError(`put: ${local}: no such file or directory`)
  }
  if (st.isFile()) {
    return {
      kind: 'file',
      local: abs,
      remote,
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

/**
 * @internal `mkdir -p` over SFTP; the directories it made are appended to `created`, parents first.
 * Internal: it takes ssh2's SFTPWrapper, which the published types do not name.
 */
export async function mkdirp(sftp: SFTPWrapper, dir: string, created: string[] = []): Promise<void> {
  if (dir === '' || dir === '.' || dir === '/') return
  const st = await statOrNull(sftp, dir)
  if (st?.isDirectory()) return
  if (st) throw new Error(`${dir}: exists and is not a directory`)
  await mkdirp(sftp, path.posix.dirname(dir), created)
  try {
    await call((cb) => sftp.mkdir(dir, cb))
    created.push(dir)
  } catch (e) {
    if (!(await statOrNull(sftp, dir))?.isDirectory())
      throw new Error(`${dir}: cannot create directory: ${sftpMessage(e)}`)
  }
}

/** Small files' contents kept for the other hosts of the same put (read once, sent N times). */
const CACHE_BYTES = 64 * 1024 * 1024
const contents = new WeakMap<PutPlan, {bytes: number; files: Map<string, Promise<Buffer>>}>()

function contentOf(plan: PutPlan, f: LocalEntry): Promise<Buffer> {
  let cache = contents.get(plan)
  if (!cache) contents.set(plan, (cache = {bytes: 0, files: new Map()}))
  const hit = cache.files.get(f.abs)
  if (hit) return hit
  const read = readFile(f.abs)
  if (cache.bytes + f.size <= CACHE_BYTES) {
    cache.bytes += f.size
    cache.files.set(f.abs, read)
    // A failed read is not remembered: the next host tries again, and says what it found.
    read.catch(() => cache.files.delete(f.abs))
  }
  return read
}

const tempName = (to: string) => path.posix.join(path.posix.dirname(to), tempNameFor(path.posix.basename(to)))

/**
 * One copy of a plan to one host. It writes new files in place (opened O_EXCL, so an existing file
 * is never followed or truncated) and replacements to a temporary name renamed over the old file
 * only once everything arrived; it changes the mode of nothing it did not create. When anything
 * fails it removes what it created, drops its temporaries and names every failure.
 */
class RemoteCopy {
  /** Directories this copy made, parents first; those in `modes` get the local mode at the end. */
  private readonly createdDirs: string[] = []
  private readonly modes = new Map<string, number>()
  private readonly createdFiles: string[] = []
  private readonly temps: Array<{tmp: string; to: string}> = []
  private readonly failures: CopyFailure[] = []
  /** Tree directories that could not be made: nothing is copied beneath them. */
  private readonly failedDirs: string[] = []
  private files = 0
  private bytes = 0

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly plan: PutPlan,
    private readonly signal?: AbortSignal,
  ) {}

  async run(): Promise<CopyOutcome> {
    const {sftp, plan} = this
    let dest: string
    try {
      dest = await this.prepareRoot()
    } catch (e) {
      this.failures.push({path: plan.remote, error: sftpMessage(e)})
      return this.undo()
    }
    const target = (e: LocalEntry) => (plan.kind === 'file' ? dest : e.rel ? `${dest}/${e.rel}` : dest)
    if (plan.kind === 'dir') {
      const dirs = plan.entries.filter((e) => e.dir && e.rel)
      // Parents before children: one level at a time, each level's mkdirs sent together.
      const depth = (e: LocalEntry) => e.rel.split('/').length
      const levels = [...new Set(dirs.map(depth))].sort((a, b) => a - b)
      for (const level of levels) {
        if (this.signal?.aborted) break
        await Promise.all(dirs.filter((d) => depth(d) === level).map((d) => this.makeDir(target(d), d)))
      }
    }
    const files = plan.entries.filter((e) => !e.dir)
    const send = async (f: LocalEntry) => {
      if (this.signal?.aborted) return
      const to = target(f)
      if (this.failedDirs.some((d) => to.startsWith(`${d}/`))) return
      try {
        // Awaited first: `this.bytes += await ...` would add to the value read before the await.
        const sent = await this.copyFile(f, to)
        this.bytes += sent
        this.files++
      } catch (e) {
        this.failures.push({path: to, error: sftpMessage(e)})
      }
    }
    const small = files.filter((f) => f.size <= SMALL_FILE)
    const large = files.filter((f) => f.size > SMALL_FILE)
    const handles = filesInFlight(sftp, FILES_IN_FLIGHT + LARGE_FILES_IN_FLIGHT)
    await Promise.all([
      pool(small, Math.max(1, handles - LARGE_FILES_IN_FLIGHT), send),
      pool(large, Math.min(LARGE_FILES_IN_FLIGHT, handles), send),
    ])
    if (this.failures.length || this.signal?.aborted) return this.undo()
    // Everything arrived: replace the old files, then give the directories made here their modes,
    // deepest first (a directory without write or search permission for us is set last).
    const renames = this.temps.map(
      ({tmp, to}) =>
        (cb: (err?: Error | null) => void) =>
          sftp.ext_openssh_rename(tmp, to, (err) => cb(err)),
    )
    try {
      await pipelined(renames)
    } catch (e) {
      this.failures.push({path: dest, error: `replacing existing files: ${sftpMessage(e)}`})
      return this.undo()
    }
    this.temps.length = 0
    await this.removeStaleTemps(files.map(target))
    const chmods = [...this.createdDirs]
      .reverse()
      .filter((d) => this.modes.has(d))
      .map((d) => (cb: (err?: Error | null) => void) => sftp.chmod(d, this.modes.get(d)!, (err) => cb(err)))
    try {
      await pipelined(chmods)
    } catch (e) {
      throw new CopyError(
        [{path: dest, error: `setting directory modes: ${sftpMessage(e)}`}],
        'the files were copied',
      )
    }
    return {dest, files: this.files, bytes: this.bytes}
  }

  /**
   * Removes what an earlier copy of these same files left when it was killed before its renames:
   * in each directory written to that this copy did not make, the `.NAME.wolphin-XXXXXXXX` of
   * every NAME written here (temp-name.ts), nothing else. One listing per such directory; best
   * effort (a temporary someone else owns stays).
   */
  private async removeStaleTemps(written: string[]): Promise<void> {
    const {sftp} = this
    const made = new Set(this.createdDirs)
    const byDir = new Map<string, Set<string>>()
    for (const to of written) {
      const dir = path.posix.dirname(to)
      if (made.has(dir)) continue
      if (!byDir.has(dir)) byDir.set(dir, new Set())
      byDir.get(dir)!.add(path.posix.basename(to))
    }
    await pool([...byDir], 16, async ([dir, bases]) => {
      const listing = await readRemoteDir(sftp, dir).catch(() => [])
      const stale = listing
        .filter((e) => (e.attrs.mode & 0o170000) === 0o100000)
        .map((e) => e.filename)
        .filter((n) => bases.has(tempOf(n) ?? ''))
      await pipelined(
        stale.map(
          (n) => (cb: (err?: Error | null) => void) => sftp.unlink(path.posix.join(dir, n), () => cb()),
        ),
      )
    })
  }

  /** Makes the parents of what is copied; returns where the file or the tree's contents go. */
  private async prepareRoot(): Promise<string> {
    const {sftp, plan} = this
    if (plan.kind === 'file') {
      const base = path.basename(plan.local)
      if (plan.remote.endsWith('/')) {
        await mkdirp(sftp, plan.remote.replace(/(.)\/+$/, '$1'), this.createdDirs)
        return path.posix.join(plan.remote, base)
      }
      // Into an existing directory, as scp does (a symlink to one counts).
      if ((await statOrNull(sftp, plan.remote))?.isDirectory()) return path.posix.join(plan.remote, base)
      await mkdirp(sftp, path.posix.dirname(plan.remote), this.createdDirs)
      return plan.remote
    }
    const before = this.createdDirs.length
    await mkdirp(sftp, plan.remote, this.createdDirs)
    // The root gets the local directory's mode only when this copy made it.
    if (this.createdDirs.length > before && this.createdDirs.at(-1) === plan.remote)
      this.modes.set(plan.remote, plan.entries[0].mode)
    return plan.remote
  }

  private async makeDir(to: string, d: LocalEntry): Promise<void> {
    if (this.failedDirs.some((f) => to.startsWith(`${f}/`))) return
    try {
      // Ours alone while we fill it; its own mode is set at the end.
      await call((cb) => this.sftp.mkdir(to, {mode: 0o700}, cb))
      this.createdDirs.push(to)
      this.modes.set(to, d.mode)
    } catch (e) {
      const st = await statOrNull(this.sftp, to)
      if (st?.isDirectory()) return // there already: used as it is, its mode untouched
      const beneath = this.plan.entries.filter((x) => !x.dir && x.rel.startsWith(`${d.rel}/`)).length
      this.failedDirs.push(to)
      this.failures.push({
        path: to,
        error: `${st ? 'exists and is not a directory' : `cannot create directory: ${sftpMessage(e)}`}${beneath ? ` (${beneath} file(s) beneath not copied)` : ''}`,
      })
    }
  }

  /** Opens `to` for a new file, or a temporary beside it when `to` exists. */
  private async openTarget(to: string, mode: number): Promise<Buffer> {
    const {sftp} = this
    try {
      const h = await call<Buffer>((cb) => sftp.open(to, 'wx', {mode}, cb))
      this.createdFiles.push(to)
      return h
    } catch (e) {
      const st = await lstatOrNull(sftp, to)
      if (!st) throw e
      if (st.isDirectory()) throw new Error('exists and is a directory')
      const tmp = tempName(to)
      const h = await call<Buffer>((cb) => sftp.open(tmp, 'wx', {mode}, cb))
      this.temps.push({tmp, to})
      return h
    }
  }

  /** Sends one file: writes, its mode and the close in one burst; returns the bytes sent. */
  private async copyFile(f: LocalEntry, to: string): Promise<number> {
    const {sftp} = this
    const mode = f.mode & 0o7777
    const chunk = maxChunk(sftp, 'write')
    if (f.size <= SMALL_FILE) {
      // Read first: a local file that cannot be read creates nothing remotely.
      const data = await contentOf(this.plan, f)
      const handle = await this.openTarget(to, mode)
      const reqs: Array<(cb: (err?: Error | null) => void) => void> = []
      for (let off = 0; off < data.length; off += chunk) {
        const len = Math.min(chunk, data.length - off)
        reqs.push((cb) => sftp.write(handle, data, off, len, off, (err) => cb(err)))
      }
      // The mode again on the handle: the server's umask applied to the one given to open.
      reqs.push((cb) => sftp.fsetstat(handle, {mode}, (err) => cb(err)))
      reqs.push((cb) => sftp.close(handle, (err) => cb(err)))
      await pipelined(reqs)
      return data.length
    }
    const local = await open(f.abs, 'r')
    try {
      const handle = await this.openTarget(to, mode)
      let sent = 0
      try {
        let pos = 0
        const inFlight = new Set<Promise<void>>()
        let failed: unknown = null
        for (;;) {
          if (this.signal?.aborted) throw new Error('interrupted')
          const buf = Buffer.allocUnsafe(chunk)
          const {bytesRead} = await local.read(buf, 0, chunk, pos)
          if (bytesRead === 0) break
          const at = pos
          pos += bytesRead
          const p = call((cb) => sftp.write(handle, buf, 0, bytesRead, at, (err) => cb(err))).then(
            () => {
              sent += bytesRead
              inFlight.delete(p)
            },
            (e: unknown) => {
              failed ??= e
              inFlight.delete(p)
            },
          )
          inFlight.add(p)
          if (failed) break
          if (inFlight.size >= WRITE_WINDOW) await Promise.race(inFlight)
        }
        await Promise.all(inFlight)
        if (failed) throw failed
        await call((cb) => sftp.fsetstat(handle, {mode}, cb))
      } finally {
        await call((cb) => sftp.close(handle, cb)).catch(() => {})
      }
      return sent
    } finally {
      await local.close()
    }
  }

  /** Removes what this copy created (temporaries, files, then directories deepest first). */
  private async undo(): Promise<never> {
    const {sftp} = this
    const settle = (f: (cb: (err?: Error | null) => void) => void, what: string) =>
      new Promise<void>((resolve) =>
        f((err) => {
          if (err) this.failures.push({path: what, error: `could not remove: ${sftpMessage(err)}`})
          resolve()
        }),
      )
    const removals = [
      ...this.temps.map(({tmp}) => settle((cb) => sftp.unlink(tmp, (err) => cb(err)), tmp)),
      ...this.createdFiles.map((p) => settle((cb) => sftp.unlink(p, (err) => cb(err)), p)),
      // Sent in order, handled in order: children go before their parents.
      ...[...this.createdDirs].reverse().map((d) => settle((cb) => sftp.rmdir(d, (err) => cb(err)), d)),
    ]
    await Promise.all(removals)
    const removed = this.createdFiles.length + this.createdDirs.length
    throw new CopyError(
      this.failures,
      removed ? `removed the ${removed} path(s) this copy had created` : 'nothing was created',
      this.signal?.aborted === true && this.failures.length === 0,
    )
  }
}

/**
 * Copies the plan over one SFTP session: several files in flight, each file's requests pipelined.
 * Resolves with what arrived; rejects with a CopyError naming every failure, after removing what
 * the copy created. Aborting `signal` starts nothing new and undoes the copy the same way.
 * @internal It takes ssh2's SFTPWrapper, which the published types do not name.
 */
export function putOverSftp(sftp: SFTPWrapper, plan: PutPlan, signal?: AbortSignal): Promise<CopyOutcome> {
  return new RemoteCopy(sftp, plan, signal).run()
}
