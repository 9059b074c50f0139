/**
 * Promise helpers over ssh2's SFTP client, shared by put and get. Requests on one SFTP channel are
 * handled by the server in the order they are sent, so a caller may issue several (writes, then
 * fsetstat, then close) without waiting between them: one round trip for the lot.
 */
import type {FileEntry, SFTPWrapper, Stats} from 'ssh2'

/** SFTP status codes (draft-ietf-secsh-filexfer-02), as ssh2 puts them on an error's `code`. */
export const SftpStatus = {NoSuchFile: 2, PermissionDenied: 3, Failure: 4} as const

export const call = <T = void>(f: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))))

export const sftpCode = (e: unknown): number | undefined => (e as {code?: number}).code

/** The server's text for an SFTP error, on one line ("No such file", "Permission denied"). */
export const sftpMessage = (e: unknown): string => String((e as Error).message ?? e).split('\n')[0]

export function lstatOrNull(sftp: SFTPWrapper, p: string): Promise<Stats | null> {
  return call<Stats>((cb) => sftp.lstat(p, cb)).catch(() => null)
}

export function statOrNull(sftp: SFTPWrapper, p: string): Promise<Stats | null> {
  return call<Stats>((cb) => sftp.stat(p, cb)).catch(() => null)
}

export function readdir(sftp: SFTPWrapper, p: string): Promise<FileEntry[]> {
  return call<FileEntry[]>((cb) => sftp.readdir(p, cb))
}

/**
 * Sends every request `issue` makes at once and waits for all their answers; the first error
 * rejects (after the rest have answered, so no callback outlives the call).
 */
export async function pipelined(issue: Array<(cb: (err?: Error | null) => void) => void>): Promise<void> {
  let first: Error | null = null
  await Promise.all(
    issue.map(
      (f) =>
        new Promise<void>((resolve) =>
          f((err) => {
            if (err && !first) first = err
            resolve()
          }),
        ),
    ),
  )
  if (first) throw first
}

/** The most bytes one SFTP write or read request carries on this session. */
export function maxChunk(sftp: SFTPWrapper, kind: 'read' | 'write'): number {
  const s = sftp as unknown as {_maxWriteLen?: number; _maxReadLen?: number}
  const n = kind === 'write' ? s._maxWriteLen : s._maxReadLen
  return typeof n === 'number' && n > 0 ? n : 32 * 1024
}

/** How many files to keep open at once: the server's handle limit when it says, at most `want`. */
export function filesInFlight(sftp: SFTPWrapper, want: number): number {
  const max = (sftp as unknown as {maxOpenHandles?: number}).maxOpenHandles
  return Math.max(1, Math.min(want, typeof max === 'number' && max > 8 ? max - 4 : want))
}

/** A name from a remote directory listing that is safe to join to a local path. */
export function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
}

/**
 * A remote path as the user meant it: `~` and `~/...` are the login's home, as scp has them; SFTP
 * paths that do not start with "/" already start there (the session's directory), so the `~/` is
 * dropped rather than sent (the server would make a directory called "~"). `~user` is left alone.
 */
export function homeRelative(remote: string): string {
  if (remote === '~') return '.'
  if (!remote.startsWith('~/')) return remote
  const rest = remote.slice(2).replace(/^\/+/, '')
  return rest === '' ? './' : rest
}
