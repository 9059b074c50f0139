import {DEFAULTS, type ResolvedConfig} from '../config/schema.js'
import {ConfigError} from '../errors.js'
import type {Ec2Port} from '../project/ports.js'
import {
  type HostKeySubject,
  type HostKeyVerifier,
  KnownHostsVerifier,
  NoVerifier,
  TofuVerifier,
} from './host-keys.js'
import {readPrivateKey} from './keys.js'
import {PinRecord} from './pin-record.js'
import type {SshSettings} from './ssh.js'

export type SshConfig = NonNullable<ResolvedConfig['ssh']>

/** The `ssh` section with defaults filled in (exec works without one, through ssh-agent). */
export function sshConfigOf(config: ResolvedConfig): SshConfig {
  return (
    config.ssh ?? {
      port: DEFAULTS.ssh.port,
      address: DEFAULTS.ssh.address,
      hostKeys: DEFAULTS.ssh.hostKeys,
      concurrency: DEFAULTS.ssh.concurrency,
      connectTimeout: DEFAULTS.ssh.connectTimeout,
    }
  )
}

export function verifierFor(
  ssh: SshConfig,
  ec2: () => Promise<Ec2Port>,
  onPin?: (s: HostKeySubject, value: string) => void,
  opts: {acceptNewHostKey?: boolean; known?: KnownHostsVerifier} = {},
): HostKeyVerifier {
  const known = opts.known ?? new KnownHostsVerifier(ssh.knownHostsFile)
  if (ssh.hostKeys === 'off') return new NoVerifier()
  if (ssh.hostKeys === 'known-hosts') return known
  return new TofuVerifier(ec2, known, onPin, {
    record: new PinRecord(),
    acceptNewHostKey: opts.acceptNewHostKey,
  })
}

/**
 * Everything a connection needs, checked before any AWS call: the key file (permissions and
 * format), or an ssh-agent when no key is configured.
 */
export async function sshSettings(
  config: ResolvedConfig,
  ec2: () => Promise<Ec2Port>,
  opts: {
    cwd?: string
    onPin?: (s: HostKeySubject, value: string) => void
    acceptNewHostKey?: boolean
  } = {},
): Promise<SshSettings> {
  const ssh = sshConfigOf(config)
  const agent = process.env.SSH_AUTH_SOCK || undefined
  const privateKey = ssh.key ? await readPrivateKey(ssh.key, 'ssh.key', opts.cwd) : undefined
  if (!privateKey && !agent)
    throw new ConfigError(
      'ssh.key is not set and no ssh-agent is running (SSH_AUTH_SOCK); set ssh.key to a private key file',
    )
  const b = ssh.bastion
  // known_hosts is read now when it will be used (known-hosts; a bastion under tofu): one that is
  // not a readable regular file (a FIFO would block) is a config error before any AWS call.
  const known = new KnownHostsVerifier(ssh.knownHostsFile)
  if (ssh.hostKeys === 'known-hosts' || (ssh.hostKeys === 'tofu' && b)) await known.load()
  return {
    user: config.user,
    privateKey,
    agent,
    connectTimeoutMs: ssh.connectTimeout * 1000,
    refusedRetryMs: ssh.connectTimeout * 1000,
    verifier: verifierFor(ssh, ec2, opts.onPin, {acceptNewHostKey: opts.acceptNewHostKey, known}),
    bastion: b
      ? {
          host: b.host,
          port: b.port ?? 22,
          user: b.user ?? config.user,
          privateKey: b.key ? await readPrivateKey(b.key, 'ssh.bastion.key', opts.cwd) : undefined,
        }
      : undefined,
  }
}
