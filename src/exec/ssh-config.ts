/**
 * OpenSSH's view of a project: `Host` entries (HostName, Port, User, IdentityFile, ProxyJump) and a
 * known_hosts file holding each instance's verified host key, so ssh, scp, rsync and ansible reach
 * the instances as wolphin does. Pins are fingerprints, and known_hosts needs the key itself: each
 * instance is connected to once and the key it presents is checked by the configured policy (the
 * pin under tofu) before it is written.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {ConfigError, ExitCode, UsageError, WolphinError} from '../errors.js'
import type {Selector} from '../selectors/index.js'
import {pool} from '../util/async.js'
import {UnreadableFileError, writeRegularFile} from '../util/read-file.js'
import {isHostAlias, isHostName, isLoginName, sshConfigArg} from '../util/ssh-words.js'
import type {HostKeySubject, HostKeyVerifier} from './host-keys.js'
import {expandHome} from './keys.js'
import {type ProjectLike, selectRunning, targetsOf} from './run.js'
import {sshConfigOf, sshSettings} from './settings.js'
import {createSshConnector, type Connector} from './ssh.js'
import {keyTypeOf} from './known-hosts.js'
import type {Instance} from '../project/types.js'
import type {ExecEventSink, Target} from './types.js'

/** One `Host` entry. */
export interface SshHostEntry {
  /** The Host name: the instance's Name (its id when the Name is not a plain word). */
  alias: string
  id: string
  slot: number | null
  hostName: string
  port: number
  user: string
  /** Absolute path of ssh.key; null when ssh-agent is used. */
  identityFile: string | null
  /** The bastion's alias, when ssh.bastion is set. */
  proxyJump: string | null
  /** The verified host key (`type base64`); null under `hostKeys: off`. */
  hostKey: string | null
}

export interface SshConfigResult {
  project: string
  hostKeys: 'tofu' | 'known-hosts' | 'off'
  /** The known_hosts file the entries name (null under `hostKeys: off`). */
  knownHostsFile: string | null
  bastion: {
    alias: string
    hostName: string
    port: number
    user: string
    identityFile: string | null
    knownHostsFile: string | null
  } | null
  hosts: SshHostEntry[]
  /** Instances whose key could not be read and checked: they have no entry. */
  unreachable: Array<{id: string; name: string; slot: number | null; error: string}>
  /** The ssh_config text. */
  config: string
  /** The known_hosts text (one `alias type key` line per host). */
  knownHosts: string
}

export interface SshConfigOptions {
  /** Where the known_hosts text will be written (the entries name it); absolute. */
  knownHostsFile: string
  cwd?: string
  onEvent?: ExecEventSink
  /** Instances checked at once (default ssh.concurrency). */
  concurrency?: number
  /** Replaces the SSH connector (tests). */
  connector?: Connector
  /** Narrows the running instances further (wolphin ssh picks one). */
  pick?: (running: Instance[]) => Instance[]
}

export const bastionAlias = (project: string) => `wolphin.${project}.bastion`

/** Builds the Host entries and the known_hosts text for the running instances of the selection. */
export async function sshConfigForProject(
  project: ProjectLike,
  selector: Selector | null,
  opts: SshConfigOptions,
): Promise<SshConfigResult> {
  const emit = opts.onEvent ?? (() => {})
  const ssh = sshConfigOf(project.config)
  const cwd = opts.cwd ?? process.cwd()
  const identityFile = ssh.key ? path.resolve(cwd, expandHome(ssh.key)) : null
  const policy = ssh.hostKeys
  const b = ssh.bastion
  const knownHostsFile = policy === 'off' ? null : opts.knownHostsFile
  const bastion = b
    ? {
        alias: bastionAlias(project.name),
        hostName: b.host,
        port: b.port ?? 22,
        user: b.user ?? project.config.user,
        identityFile: b.key ? path.resolve(cwd, expandHome(b.key)) : identityFile,
        knownHostsFile:
          policy === 'off' ? null : path.resolve(cwd, expandHome(ssh.knownHostsFile ?? '~/.ssh/known_hosts')),
      }
    : null
  // What the config holds that does not come from EC2 is checked now, before any AWS call.
  renderConfig(project.name, [], bastion, knownHostsFile)
  if (identityFile) sshConfigArg('ssh.key', identityFile, {tokens: true})
  if (knownHostsFile) sshConfigArg('known_hosts file', knownHostsFile, {tokens: true})
  // Keys verified by the policy, by instance id.
  const keys = new Map<string, Buffer>()
  let connector: (Connector & {close(): void}) | null = null
  if (policy !== 'off') {
    if (opts.connector) connector = Object.assign(opts.connector, {close() {}})
    else {
      project.port().catch(() => {})
      const settings = await sshSettings(project.config, () => project.port(), {
        cwd,
        onPin: (s, v) => emit({type: 'info', message: `${s.label}: pinned host key ${v} (tofu)`}),
      })
      settings.verifier = recording(settings.verifier, keys)
      connector = createSshConnector(settings)
    }
  }
  try {
    const selected = (await selectRunning(project, selector, emit)).running
    const running = opts.pick ? opts.pick(selected) : selected
    const {targets, unresolved} = targetsOf(running, project.config)
    const unreachable: SshConfigResult['unreachable'] = [...unresolved.values()].map((r) => ({
      id: r.id,
      name: r.name,
      slot: r.slot,
      error: r.error ?? 'no address',
    }))
    if (connector) {
      const c = connector
      await pool(targets, opts.concurrency ?? ssh.concurrency, async (t) => {
        try {
          ;(await c(t)).close()
          if (!keys.has(t.id)) throw new Error('the host key was not offered for checking')
        } catch (e) {
          unreachable.push({id: t.id, name: t.name, slot: t.slot, error: (e as Error).message})
        }
      })
    }
    const failed = new Set(unreachable.map((u) => u.id))
    const hosts: SshHostEntry[] = targets
      .filter((t) => !failed.has(t.id))
      .map((t: Target) => {
        const key = keys.get(t.id)
        return {
          alias: isHostAlias(t.name) ? t.name : t.id,
          id: t.id,
          slot: t.slot,
          hostName: t.host,
          port: t.port,
          user: project.config.user,
          identityFile,
          proxyJump: bastion?.alias ?? null,
          hostKey: key ? `${keyTypeOf(key)} ${key.toString('base64')}` : null,
        }
      })
    const order = new Map(running.map((i, n) => [i.id, n]))
    unreachable.sort((x, y) => order.get(x.id)! - order.get(y.id)!)
    return {
      project: project.name,
      hostKeys: policy,
      knownHostsFile,
      bastion,
      hosts,
      unreachable,
      config: renderConfig(project.name, hosts, bastion, knownHostsFile),
      knownHosts: renderKnownHosts(hosts),
    }
  } finally {
    connector?.close()
  }
}

/** A verifier that remembers the key of each instance it accepted. */
function recording(inner: HostKeyVerifier, keys: Map<string, Buffer>): HostKeyVerifier {
  return {
    policy: inner.policy,
    algorithms: (s) => inner.algorithms(s),
    async verify(s: HostKeySubject, key: Buffer) {
      await inner.verify(s, key)
      if (s.instance) keys.set(s.instance.id, Buffer.from(key))
    },
  }
}

/**
 * The ssh_config text. Every value is checked or quoted here, whatever its source (config, tags,
 * the working directory's path), so no value can end its line and start one of its own (a
 * `ProxyCommand` would run locally): hosts must be host names or IP addresses, users login names,
 * aliases plain words, paths are quoted (src/util/ssh-words.ts). A value that cannot be written
 * safely is an error, never written.
 */
export function renderConfig(
  project: string,
  hosts: SshHostEntry[],
  bastion: SshConfigResult['bastion'],
  knownHostsFile: string | null,
): string {
  const word = (field: string, value: string, ok: (v: string) => boolean) => {
    if (!ok(value))
      throw new ConfigError(`${field}: ${JSON.stringify(value)} cannot be written into an ssh_config`)
    return value
  }
  const port = (field: string, p: number) =>
    word(field, String(p), (v) => /^[1-9]\d{0,4}$/.test(v) && p <= 65535)
  const trust = (file: string | null) =>
    file
      ? [
          `  UserKnownHostsFile ${sshConfigArg('known_hosts file', file, {tokens: true})}`,
          '  StrictHostKeyChecking yes',
        ]
      : ['  UserKnownHostsFile /dev/null', '  StrictHostKeyChecking no']
  const identity = (field: string, file: string | null) =>
    file ? [`  IdentityFile ${sshConfigArg(field, file, {tokens: true})}`, '  IdentitiesOnly yes'] : []
  const lines = [
    `# wolphin ssh-config, project ${word('project', project, isHostAlias)}: ssh -F THIS_FILE ${hosts[0]?.alias ?? 'NAME'}`,
  ]
  if (bastion)
    lines.push(
      '',
      `Host ${word('bastion alias', bastion.alias, isHostAlias)}`,
      `  HostName ${word('ssh.bastion.host', bastion.hostName, isHostName)}`,
      `  Port ${port('ssh.bastion.port', bastion.port)}`,
      `  User ${word('ssh.bastion.user', bastion.user, isLoginName)}`,
      ...identity('ssh.bastion.key', bastion.identityFile),
      ...trust(bastion.knownHostsFile),
    )
  for (const h of hosts) {
    const alias = word(`${h.id}: Host alias`, h.alias, isHostAlias)
    lines.push(
      '',
      `Host ${alias}`,
      `  HostName ${word(`${alias}: address`, h.hostName, isHostName)}`,
      `  Port ${port(`${alias}: port`, h.port)}`,
      `  User ${word('user', h.user, isLoginName)}`,
      ...identity('ssh.key', h.identityFile),
      ...(h.proxyJump ? [`  ProxyJump ${word('bastion alias', h.proxyJump, isHostAlias)}`] : []),
      // Keys are filed under the Name: an address reused by another machine never matches them.
      ...(knownHostsFile ? [`  HostKeyAlias ${alias}`] : []),
      ...trust(knownHostsFile),
    )
  }
  return lines.join('\n') + '\n'
}

/**
 * The known_hosts text: one `alias type base64` line per host with a key. The alias is a plain
 * word and the type (read from the key the host sent) is checked too: a host could send any bytes.
 */
export function renderKnownHosts(hosts: SshHostEntry[]): string {
  return hosts
    .filter((h) => h.hostKey)
    .map((h) => {
      const parts = h.hostKey!.split(' ')
      const [type, b64] = parts
      if (
        parts.length !== 2 ||
        !isHostAlias(h.alias) ||
        !/^[A-Za-z0-9@._+-]{1,63}$/.test(type) ||
        !/^[A-Za-z0-9+/=]+$/.test(b64)
      )
        throw new ConfigError(`${h.id}: its host key cannot be written into a known_hosts file`)
      return `${h.alias} ${type} ${b64}\n`
    })
    .join('')
}

/**
 * Writes the known_hosts text (its folder made 0700 when missing). A path that is not a regular
 * file (a FIFO would block) is refused: a ConfigError.
 */
export async function writeKnownHosts(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), {recursive: true, mode: 0o700})
  try {
    await writeRegularFile(file, text, 0o644)
  } catch (e) {
    if (!(e instanceof UnreadableFileError)) throw e
    throw new ConfigError(`known_hosts file ${file}: cannot write it (${e.why})`)
  }
}

/**
 * Picks the one instance `wolphin ssh` logs in to: the slot or Name given, or the only running
 * instance of the selection.
 */
export function pickLogin<T extends {name: string; slot: number | null; id: string}>(
  hosts: T[],
  wanted: string | undefined,
): T {
  if (wanted !== undefined) {
    const hit = /^\d+$/.test(wanted)
      ? hosts.find((h) => h.slot === Number(wanted))
      : hosts.find((h) => h.name === wanted || h.id === wanted)
    if (!hit)
      throw new UsageError(
        `ssh: no running instance ${/^\d+$/.test(wanted) ? `in slot ${wanted}` : `named ${wanted}`}${hosts.length ? ` (running: ${hosts.map((h) => h.slot ?? h.name).join(', ')})` : ''}`,
      )
    return hit
  }
  if (hosts.length === 1) return hosts[0]
  if (!hosts.length) throw new UsageError('ssh: no running instance matches the selection')
  throw new UsageError(
    `ssh: ${hosts.length} instances are running (slots ${hosts.map((h) => h.slot ?? h.name).join(', ')}); name one, e.g. wolphin ssh ${hosts[0].slot ?? hosts[0].name}`,
  )
}

/** A login prepared for the system ssh: its arguments and the files they name. */
export interface PreparedLogin {
  alias: string
  /** Arguments for `ssh` (the program itself not included). */
  args: string[]
  /** The folder holding the generated ssh_config and known_hosts. */
  dir: string
  entry: SshHostEntry
  /** Removes the generated files. */
  dispose(): Promise<void>
}

/**
 * Prepares `ssh` to one instance: the slot or Name given, or the only running instance of the
 * selection. Writes an ssh_config and a known_hosts (the key checked as above) to a private
 * temporary folder; run `ssh ...args`, then `dispose()`.
 */
export async function prepareLogin(
  project: ProjectLike,
  selector: Selector | null,
  wanted: string | undefined,
  opts: {
    cwd?: string
    onEvent?: ExecEventSink
    command?: string[]
    tty?: boolean
    connector?: Connector
  } = {},
): Promise<PreparedLogin> {
  const {mkdtemp, rm} = await import('node:fs/promises')
  const os = await import('node:os')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-ssh-'))
  const dispose = () => rm(dir, {recursive: true, force: true})
  try {
    const knownHostsFile = path.join(dir, 'known_hosts')
    const r = await sshConfigForProject(project, selector, {
      knownHostsFile,
      cwd: opts.cwd,
      onEvent: opts.onEvent,
      connector: opts.connector,
      pick: (running) => [
        pickLogin(
          running.map((i) => ({...i, name: i.name ?? i.id})),
          wanted,
        ),
      ],
    })
    if (r.unreachable.length) throw new LoginError(`ssh: ${r.unreachable[0].name}: ${r.unreachable[0].error}`)
    const entry = r.hosts[0]
    const config = path.join(dir, 'ssh_config')
    await writeFile(config, r.config, {mode: 0o600})
    await writeKnownHosts(knownHostsFile, r.knownHosts)
    const command = opts.command ?? []
    return {
      alias: entry.alias,
      args: [
        '-F',
        config,
        ...(opts.tty ? ['-t'] : []),
        entry.alias,
        ...(command.length ? ['--', ...command] : []),
      ],
      dir,
      entry,
      dispose,
    }
  } catch (e) {
    await dispose()
    throw e
  }
}

/** The instance to log in to could not be reached or its host key was refused (exit 1). */
export class LoginError extends WolphinError {
  constructor(message: string) {
    super(message, 'UNREACHABLE', ExitCode.Failure)
  }
}
