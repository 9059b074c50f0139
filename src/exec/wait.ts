import type {ResolvedConfig} from '../config/schema.js'
import {HostKeyError, WaitTimeoutError} from '../errors.js'
import {type EventSink, withCodes} from '../project/events.js'
import {type AwsOptions, awsOptionsOf, type Ec2Port} from '../project/ports.js'
import type {Instance} from '../project/types.js'
import {resolveTarget} from './address.js'
import {sleep} from '../util/async.js'
import {sshConfigOf, sshSettings} from './settings.js'
import {type Connector, createSshConnector, UnreachableError} from './ssh.js'
import type {ExecEventSink} from './types.js'

export interface WaitForSshOptions {
  /** The EC2 port tofu pins host keys through; default: one built from `aws`. */
  ec2?: () => Promise<Ec2Port>
  /** The AWS options of that default port (a Project's awsOptions()); default: the config's. */
  aws?: AwsOptions
  /** Default wait.timeout, in milliseconds. */
  timeoutMs?: number
  /** Default wait.interval, in milliseconds. */
  intervalMs?: number
  connector?: Connector
  onEvent?: ExecEventSink
}

/**
 * Resolves once every instance accepts an SSH session (handshake, host key and authentication),
 * bounded by `wait.timeout`; rejects with a WaitTimeoutError naming the instances that never did.
 * A host key refusal is final and fails at once, with a HostKeyError. Its first three parameters match revert's
 * `SshWaiter` (src/project/ssh-wait.ts).
 */
export async function waitForSsh(
  instances: Instance[],
  config: ResolvedConfig,
  signal?: AbortSignal,
  opts: WaitForSshOptions = {},
): Promise<void> {
  if (!instances.length) return
  const emit = opts.onEvent ?? (() => {})
  const ssh = sshConfigOf(config)
  let ec2: Promise<Ec2Port> | null = null
  const ec2Port =
    opts.ec2 ??
    (() => (ec2 ??= import('../aws/ec2.js').then((m) => m.createEc2Port(opts.aws ?? awsOptionsOf(config)))))
  const timeoutMs = opts.timeoutMs ?? config.wait.timeout * 1000
  const intervalMs = opts.intervalMs ?? config.wait.interval * 1000
  const deadline = Date.now() + timeoutMs
  const settings = opts.connector ? null : await sshSettings(config, ec2Port)
  const connector =
    opts.connector ??
    createSshConnector({
      ...settings!,
      connectTimeoutMs: Math.min(settings!.connectTimeoutMs, Math.max(1000, timeoutMs)),
      refusedRetryMs: 0,
    })
  const pending = new Map(instances.map((i) => [i.id, i]))
  const last = new Map<string, string>()
  try {
    for (let round = 0; pending.size; round++) {
      await Promise.all(
        [...pending.values()].map(async (i) => {
          const t = resolveTarget(i, ssh.address, ssh.port)
          if (typeof t === 'string') return void last.set(i.id, t)
          try {
            const s = await connector(t, signal)
            s.close()
            pending.delete(i.id)
            emit({type: 'info', message: `${t.name}: accepts SSH`})
          } catch (e) {
            if (e instanceof UnreachableError && e.hostKey) throw new HostKeyError(e.message)
            last.set(i.id, (e as Error).message)
          }
        }),
      )
      if (!pending.size || signal?.aborted) break
      if (Date.now() + intervalMs > deadline) break
      await sleep(intervalMs, signal)
    }
  } finally {
    if ('close' in connector && typeof connector.close === 'function') connector.close()
  }
  if (pending.size) {
    const names = [...pending.values()].map((i) => `${i.name ?? i.id} (${last.get(i.id) ?? 'not tried'})`)
    throw new WaitTimeoutError(
      `${signal?.aborted ? 'interrupted' : `timed out after ${Math.round(timeoutMs / 1000)}s`} waiting for SSH on ${names.join(', ')}`,
    )
  }
}

/** For create/start: waits for SSH on the running instances among `ids`, from a fresh observation. */
export async function waitForProjectSsh(
  project: {observe(): Promise<Instance[]>; config: ResolvedConfig; port(): Promise<Ec2Port>},
  ids: string[],
  opts: Omit<WaitForSshOptions, 'ec2'> & {signal?: AbortSignal} = {},
): Promise<void> {
  if (!ids.length) return
  const want = new Set(ids)
  const instances = (await project.observe()).filter((i) => want.has(i.id) && i.state === 'running')
  await waitForSsh(instances, project.config, opts.signal, {...opts, ec2: () => project.port()})
}

/**
 * `--wait-ssh` of create and start: after an applied operation, waits for SSH on the instances it
 * left running. `waitSsh` undefined means "when the config has an ssh section". Returns whether it
 * waited.
 */
export async function waitForSshAfter(
  project: {observe(): Promise<Instance[]>; config: ResolvedConfig; port(): Promise<Ec2Port>},
  result: {dryRun: boolean; emptySelection: boolean; instances: Array<{id: string; state: string}>},
  opts: {
    waitSsh?: boolean
    wait?: boolean
    onEvent?: EventSink
    signal?: AbortSignal
  } = {},
): Promise<boolean> {
  const sink = opts.onEvent && withCodes(opts.onEvent)
  const enabled = opts.waitSsh ?? Boolean(project.config.ssh)
  if (!enabled || result.dryRun || result.emptySelection || opts.wait === false) return false
  const ids = result.instances.filter((i) => i.state === 'running').map((i) => i.id)
  if (!ids.length) return false
  sink?.({type: 'info', message: `waiting for SSH on ${ids.length} instance(s)`})
  await waitForProjectSsh(project, ids, {
    onEvent: (e) => (e.type === 'info' || e.type === 'warn') && sink?.(e),
    signal: opts.signal,
  })
  return true
}
