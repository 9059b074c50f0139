import os from 'node:os'
import path from 'node:path'

import {ConfigError, HostKeyError} from '../errors.js'
import {readRegularFile, UnreadableFileError} from '../util/read-file.js'
import type {Ec2Port} from '../project/ports.js'
import {Tag} from '../project/tags.js'
import {expandHome} from './keys.js'
import type {PinRecord} from './pin-record.js'
import {
  algorithmsFor,
  checkKnownHosts,
  fingerprint,
  type KnownHostEntry,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
} from './known-hosts.js'

/** What a host key is checked for: an instance (tofu needs its tags) or a bastion. */
export interface HostKeySubject {
  host: string
  port: number
  label: string
  /** The instance, when the subject is one: its id and (mutable) tags. */
  instance?: {id: string; tags: Record<string, string>}
}

export interface HostKeyVerifier {
  readonly policy: 'known-hosts' | 'tofu' | 'off'
  /** Resolves when the key is acceptable; rejects with a HostKeyError otherwise. */
  verify(subject: HostKeySubject, key: Buffer): Promise<void>
  /** Host key algorithms to offer, so the server presents the key type that is pinned or known. */
  algorithms(subject: HostKeySubject): string[] | undefined
}

export const defaultKnownHostsFile = () => path.join(os.homedir(), '.ssh', 'known_hosts')

const MAX_KNOWN_HOSTS_BYTES = 64 * 1024 * 1024

/** OpenSSH's known_hosts file: an unknown or different key is refused. */
export class KnownHostsVerifier implements HostKeyVerifier {
  readonly policy = 'known-hosts' as const
  private entries: Promise<KnownHostEntry[]> | null = null
  readonly file: string

  constructor(file?: string) {
    this.file = path.resolve(expandHome(file ?? defaultKnownHostsFile()))
  }

  /**
   * The file's entries; none when it does not exist. Anything else that is not a readable regular
   * file of at most 64 MiB (a FIFO, a directory, no permission) is a ConfigError: read now, before
   * any AWS call, by sshSettings.
   */
  load(): Promise<KnownHostEntry[]> {
    this.entries ??= readRegularFile(this.file, MAX_KNOWN_HOSTS_BYTES).then(
      ({data}) => parseKnownHosts(data.toString('utf8')),
      (e: unknown) => {
        if (e instanceof UnreadableFileError && e.reason === 'missing') return []
        throw new ConfigError(
          `ssh.knownHostsFile: ${this.file}: cannot read it (${e instanceof UnreadableFileError ? e.why : (e as Error).message})`,
          {field: 'ssh.knownHostsFile'},
        )
      },
    )
    return this.entries
  }

  async verify(s: HostKeySubject, key: Buffer): Promise<void> {
    const verdict = checkKnownHosts(await this.load(), s.host, s.port, key)
    const name = knownHostName(s.host, s.port)
    if (verdict === 'match') return
    if (verdict === 'revoked')
      throw new HostKeyError(`host key of ${s.label} (${name}) is marked @revoked in ${this.file}; refusing`)
    if (verdict === 'mismatch')
      throw new HostKeyError(
        `host key of ${s.label} (${name}) does not match ${this.file}: offered ${keyTypeOf(key)} ${fingerprint(key)}; refusing (possible man-in-the-middle, or the host was rebuilt: fix the known_hosts entry)`,
      )
    throw new HostKeyError(
      `host key of ${s.label} (${name}) is not in ${this.file} (offered ${keyTypeOf(key)} ${fingerprint(key)}); add it (ssh-keyscan) or use ssh.hostKeys: tofu`,
    )
  }

  algorithms(): string[] | undefined {
    return undefined
  }
}

/** The value pinned in the instance tag: `<key type> SHA256:<base64>`. */
export function pinValue(key: Buffer): string {
  return `${keyTypeOf(key)} ${fingerprint(key)}`
}

/** Whether a pin (`<type> SHA256:...`) names this key. */
function pinMatches(pin: string, key: Buffer): boolean {
  return pin.split(' ')[1] === fingerprint(key) || pin === pinValue(key)
}

export interface TofuOptions {
  /**
   * This machine's record of the pins it has seen. A key that differs from the recorded one is
   * refused even when the tag agrees with it (the tag is anyone's who may write tags).
   */
  record?: PinRecord | null
  /** Accept a key that differs from this machine's record (the instance was rebuilt on purpose). */
  acceptNewHostKey?: boolean
}

/**
 * Trust on first use: the first connection pins the key's fingerprint in the instance's
 * `wolphin:host-key` tag; every later connection, by anyone, must present the same key. Subjects that
 * are not instances (a bastion) fall back to known_hosts. With a PinRecord, each machine also keeps
 * the pins it has seen: a key that changed since this machine last connected is refused unless
 * accepted on purpose, whatever the tag now says (docs/exec.md, "Host keys").
 */
export class TofuVerifier implements HostKeyVerifier {
  readonly policy = 'tofu' as const
  constructor(
    private readonly port: () => Promise<Ec2Port>,
    private readonly fallback: HostKeyVerifier = new KnownHostsVerifier(),
    private readonly onPin: (s: HostKeySubject, value: string) => void = () => {},
    private readonly opts: TofuOptions = {},
  ) {}

  async verify(s: HostKeySubject, key: Buffer): Promise<void> {
    if (!s.instance) return this.fallback.verify(s, key)
    const offered = pinValue(key)
    const record = this.opts.record
    const seen = record ? await record.get(s.instance.id) : undefined
    if (seen && !pinMatches(seen, key) && !this.opts.acceptNewHostKey)
      throw new HostKeyError(
        `host key of ${s.label} (${knownHostName(s.host, s.port)}) changed since this machine last connected: recorded "${seen}" in ${record!.file}, offered "${offered}"; refusing (the ${Tag.HostKey} tag can be rewritten by anyone allowed to tag; if the instance was rebuilt on purpose, pass --accept-new-host-key)`,
      )
    const pinned = s.instance.tags[Tag.HostKey]
    if (pinned) {
      if (!pinMatches(pinned, key))
        throw new HostKeyError(
          `host key of ${s.label} (${knownHostName(s.host, s.port)}) changed: pinned ${JSON.stringify(pinned)} in tag ${Tag.HostKey}, offered ${JSON.stringify(offered)}; refusing (if the instance was rebuilt on purpose, delete the tag: aws ec2 delete-tags --resources ${s.instance.id} --tags Key=${Tag.HostKey})`,
        )
    } else {
      await (await this.port()).createTags([s.instance.id], {[Tag.HostKey]: offered})
      s.instance.tags[Tag.HostKey] = offered
      this.onPin(s, offered)
    }
    if (record && seen !== offered) await record.set(s.instance.id, offered)
  }

  algorithms(s: HostKeySubject): string[] | undefined {
    const pinned = s.instance?.tags[Tag.HostKey]
    return pinned ? algorithmsFor(pinned.split(' ')[0]) : undefined
  }
}

/** Accepts any key: only when `ssh.hostKeys: off` is set by name. */
export class NoVerifier implements HostKeyVerifier {
  readonly policy = 'off' as const
  async verify(): Promise<void> {}
  algorithms(): undefined {
    return undefined
  }
}
