import {mkdir, rename, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {readRegularFile} from '../util/read-file.js'

/** Far more than the pins of any fleet (~100 bytes each). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024

/**
 * Where this machine keeps the host-key pins it has seen: `$WOLPHIN_STATE_DIR/host-keys.json`, else
 * `$XDG_STATE_HOME/wolphin/host-keys.json`, else `~/.local/state/wolphin/host-keys.json`.
 */
export function defaultPinRecordFile(): string {
  const dir =
    process.env.WOLPHIN_STATE_DIR ||
    path.join(process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'wolphin')
  return path.join(dir, 'host-keys.json')
}

/**
 * The host-key pins (`<key type> SHA256:<base64>`) this machine has accepted, by instance id. The
 * `wolphin:host-key` tag can be rewritten by anyone allowed to write tags; this record cannot, so a
 * pin that changed since this machine last connected is caught even when the tag agrees with the
 * new key. A record that cannot be read counts as empty; one that cannot be written is not an
 * error (the tag check still applies).
 */
export class PinRecord {
  readonly file: string
  private pins: Promise<Record<string, string>> | null = null
  private writes: Promise<void> = Promise.resolve()

  constructor(file = defaultPinRecordFile()) {
    this.file = file
  }

  private async read(): Promise<Record<string, string>> {
    try {
      // Not a regular file (a FIFO would block): unreadable, so empty; the write replaces it.
      const data = JSON.parse(
        (await readRegularFile(this.file, MAX_RECORD_BYTES)).data.toString('utf8'),
      ) as unknown
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return {}
      return Object.fromEntries(
        Object.entries(data as Record<string, unknown>).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      )
    } catch {
      return {}
    }
  }

  async get(instanceId: string): Promise<string | undefined> {
    this.pins ??= this.read()
    return (await this.pins)[instanceId]
  }

  /** Records a pin; writes are serialised, merged with what another run wrote meanwhile, atomic. */
  set(instanceId: string, pin: string): Promise<void> {
    this.writes = this.writes.then(async () => {
      const pins = {...(await this.read()), [instanceId]: pin}
      this.pins = Promise.resolve(pins)
      try {
        await mkdir(path.dirname(this.file), {recursive: true, mode: 0o700})
        const tmp = `${this.file}.${process.pid}.tmp`
        await writeFile(tmp, JSON.stringify(pins, null, 2) + '\n', {mode: 0o600})
        await rename(tmp, this.file)
      } catch {
        // A read-only home: no record kept; the tag check still applies.
      }
    })
    return this.writes
  }
}
