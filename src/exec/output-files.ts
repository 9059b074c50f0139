/**
 * Each target's stdout and stderr to its own files, DIR/<instance name>/stdout and .../stderr, byte
 * for byte and with backpressure: `exec --output-dir`, and the spool behind `exec --json` (so a
 * JSON document of any size is written without holding the output in memory).
 */
import {createWriteStream, type WriteStream} from 'node:fs'
import {mkdir, readdir} from 'node:fs/promises'
import path from 'node:path'

import {openNoFollow, ownDirectory, refuseSymlink} from '../util/no-follow.js'
import {type Delivery, type OutputSink, Utf8Check} from './output.js'
import type {OutputStream, TargetRef} from './types.js'

const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

interface OpenFile {
  path: string
  stream: WriteStream | null
  bytes: number
  utf8: Utf8Check
  error: Error | null
  /** Resolved when the file is closed (its error, if any, recorded). */
  closed: Promise<void> | null
  opening: Promise<WriteStream> | null
}

export interface CapturedFile {
  path: string
  bytes: number
  /** Whether the bytes are valid UTF-8 (then they can be carried as JSON text). */
  utf8: boolean
}

export class OutputFiles implements OutputSink {
  private readonly files = new Map<string, Record<OutputStream, OpenFile>>()
  private readonly dirs = new Map<string, string>()
  private readonly used = new Set<string>()

  constructor(readonly dir: string) {}

  /**
   * The directory of a target: its Name when that is a plain file name used by no other target,
   * its instance id otherwise (a Name tag is anyone's text: never a path).
   */
  dirOf(t: TargetRef): string {
    let d = this.dirs.get(t.id)
    if (d === undefined) {
      d = PLAIN_NAME.test(t.name) && !this.used.has(t.name) ? t.name : t.id
      this.used.add(d)
      this.dirs.set(t.id, d)
    }
    return path.join(this.dir, d)
  }

  private of(t: TargetRef): Record<OutputStream, OpenFile> {
    let f = this.files.get(t.id)
    if (!f) {
      const dir = this.dirOf(t)
      const file = (s: OutputStream): OpenFile => ({
        path: path.join(dir, s),
        stream: null,
        bytes: 0,
        utf8: new Utf8Check(),
        error: null,
        closed: null,
        opening: null,
      })
      f = {stdout: file('stdout'), stderr: file('stderr')}
      this.files.set(t.id, f)
    }
    return f
  }

  private open(f: OpenFile): Promise<WriteStream> {
    f.opening ??= this.create(f)
    return f.opening
  }

  private async create(f: OpenFile): Promise<WriteStream> {
    // DIR is the user's (made if missing); the instance folder and its files are never followed
    // through a symlink (src/util/no-follow.ts).
    await mkdir(this.dir, {recursive: true})
    await ownDirectory(path.dirname(f.path))
    // Truncated: a re-run replaces what an earlier run wrote.
    const stream = createWriteStream('', {fd: await openNoFollow(f.path)})
    f.stream = stream
    f.closed = new Promise((resolve) => {
      stream.once('close', resolve)
      stream.on('error', (e) => {
        f.error ??= e
        resolve()
      })
    })
    return stream
  }

  write(t: TargetRef, stream: OutputStream, chunk: Buffer): Delivery {
    const f = this.of(t)[stream]
    if (f.error) return Promise.reject(f.error)
    f.bytes += chunk.length
    f.utf8.push(chunk)
    if (f.stream) return this.put(f, f.stream, chunk)
    return this.open(f).then((s) => {
      const d = this.put(f, s, chunk)
      return d === true ? undefined : d
    })
  }

  private put(f: OpenFile, s: WriteStream, chunk: Buffer): Delivery {
    if (s.write(chunk)) return true
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        s.off('drain', done)
        s.off('close', done)
        if (f.error) reject(f.error)
        else resolve()
      }
      s.on('drain', done)
      s.on('close', done)
    })
  }

  /** Closes the target's files (creating empty ones for streams that printed nothing). */
  async end(t: TargetRef): Promise<void> {
    const f = this.of(t)
    for (const file of [f.stdout, f.stderr]) {
      try {
        const s = await this.open(file)
        s.end()
        await file.closed
      } catch (e) {
        file.error ??= e as Error
      }
    }
    const failed = f.stdout.error ?? f.stderr.error
    if (failed) throw new Error(`writing ${this.dirOf(t)}: ${failed.message}`)
  }

  /**
   * Refuses DIR before anything runs when an entry in it (a would-be instance folder), or a stdout
   * or stderr file in one, is a symlink: not ours to write through. Any entry counts, since which
   * instances are selected is not known yet; other files of the user's there are left alone.
   */
  static async check(dir: string): Promise<void> {
    const entries = await readdir(dir).catch(() => [])
    for (const name of entries.sort()) {
      const folder = path.join(dir, name)
      if (!(await refuseSymlink(folder))?.isDirectory()) continue
      for (const s of ['stdout', 'stderr']) await refuseSymlink(path.join(folder, s))
    }
  }

  /** What was written for the target's stream, if the target produced any file. */
  captured(id: string, stream: OutputStream): CapturedFile | null {
    const f = this.files.get(id)?.[stream]
    if (!f) return null
    return {path: f.path, bytes: f.bytes, utf8: f.utf8.valid}
  }
}
