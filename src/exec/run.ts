/**
 * exec and put over a project: observe, select the running instances, fan out over SSH or SSM.
 * Library users call these through Project#exec / Project#put or directly.
 */
import path from 'node:path'

import type {SFTPWrapper} from 'ssh2'

import type {ResolvedConfig} from '../config/schema.js'
import {ExitCode} from '../errors.js'
import {applySelector, type Selector} from '../selectors/index.js'
import {type AwsOptions, awsOptionsOf, type Ec2Port, type SsmPort} from '../project/ports.js'
import type {Instance} from '../project/types.js'
import {resolveTarget} from './address.js'
import {getOverSftp, instanceFolder, planGet} from './get.js'
import type {OutputSink} from './output.js'
import {CopyError, type CopyOutcome, planPut, putOverSftp} from './put.js'
import {withEnv} from './remote-command.js'
import {sshConfigOf, sshSettings} from './settings.js'
import {createSshConnector, type Connector, type SshSession} from './ssh.js'
import {emptyResult, fanOut, runSsh, type TargetIo} from './ssh-runner.js'
import {runSsm} from './ssm-runner.js'
import {
  aggregateExitCode,
  type ExecEventSink,
  type ExecResult,
  refOf,
  summarize,
  type Target,
  type TargetResult,
} from './types.js'

/** What exec/put need of a Project (the class satisfies it). */
export interface ProjectLike {
  readonly name: string
  readonly config: ResolvedConfig
  observe(): Promise<Instance[]>
  port(): Promise<Ec2Port>
  awsOptions?(): AwsOptions
}

export interface ExecOptions {
  via?: 'ssh' | 'ssm'
  /** Targets at once; default ssh.concurrency. */
  concurrency?: number
  /** Per-target time limit in seconds. */
  timeout?: number
  failFast?: boolean
  onEvent?: ExecEventSink
  /** Replaces the SSH connector (tests, or a caller's own transport). */
  connector?: Connector
  /** Replaces the SSM port (tests). */
  ssm?: SsmPort
  /** SSM poll interval in milliseconds. */
  pollIntervalMs?: number
  /** Where relative key and local paths resolve; default process.cwd(). */
  cwd?: string
  /**
   * Aborting (Ctrl-C in the CLI) stops the run: nothing new starts, commands in flight are killed
   * on their instances (SSH) or cancelled (SSM), and each target's result says so.
   */
  signal?: AbortSignal
  /**
   * Accept a host key that differs from the one this machine recorded for the instance (tofu): the
   * instance was rebuilt on purpose. The `wolphin:host-key` tag must still agree, or be absent.
   */
  acceptNewHostKey?: boolean
  /**
   * Where every chunk of every instance's output goes, unchanged, with backpressure (the command
   * is paused while the sink is full). Without it, output is captured into the results (up to
   * 8 MiB a stream) and reported as `line` events.
   */
  output?: OutputSink
  /** Variables exported for the command (by the remote shell: `export K='v'; COMMAND`). */
  env?: Record<string, string>
  /** Allocate a terminal for the command (SSH only; stdout and stderr then arrive merged). */
  tty?: boolean
}

export type PutOptions = Omit<ExecOptions, 'via' | 'ssm' | 'pollIntervalMs' | 'env' | 'tty'>
export type GetOptions = PutOptions

export interface Selection {
  running: Instance[]
  emptySelection: boolean
}

export async function selectRunning(
  project: ProjectLike,
  selector: Selector | null,
  emit: ExecEventSink,
): Promise<Selection> {
  const selected = await applySelector(selector, await project.observe())
  const running = selected.filter((i) => i.state === 'running')
  const idle = selected.filter((i) => i.state !== 'running' && i.state !== 'terminated')
  if (idle.length)
    emit({
      type: 'info',
      message: `skipping ${idle.length} instance(s) that are not running: ${idle.map((i) => `${i.name ?? i.id} (${i.state})`).join(', ')}`,
    })
  if (!running.length)
    emit({
      type: 'info',
      message: `no running instance of project ${project.name} matches the selection; nothing to do`,
    })
  if (running.length)
    emit({type: 'targets', targets: running.map((i) => ({id: i.id, name: i.name ?? i.id, slot: i.slot}))})
  return {running, emptySelection: running.length === 0}
}

function finalResult(
  project: ProjectLike,
  via: 'ssh' | 'ssm',
  operation: ExecResult['operation'],
  emptySelection: boolean,
  results: TargetResult[],
  signal?: AbortSignal,
): ExecResult {
  const interrupted = !emptySelection && signal?.aborted === true
  return {
    project: project.name,
    via,
    operation,
    emptySelection,
    interrupted,
    results,
    summary: summarize(results),
    exitCode: emptySelection ? 0 : interrupted ? ExitCode.Interrupted : aggregateExitCode(results),
  }
}

/** Targets for the instances; those without a usable address come back as unreachable results. */
export function targetsOf(running: Instance[], config: ResolvedConfig) {
  const ssh = sshConfigOf(config)
  const targets: Target[] = []
  const unresolved = new Map<string, TargetResult>()
  for (const i of running) {
    const t = resolveTarget(i, ssh.address, ssh.port)
    if (typeof t === 'string') {
      const name = i.name ?? i.id
      unresolved.set(
        i.id,
        emptyResult({id: i.id, name, slot: i.slot, host: '', port: 0, instance: i}, 'unreachable', t),
      )
    } else targets.push(t)
  }
  return {targets, unresolved}
}

function inOrder(
  running: Instance[],
  ran: TargetResult[],
  unresolved: Map<string, TargetResult>,
): TargetResult[] {
  const byId = new Map(ran.map((r) => [r.id, r]))
  return running.map((i) => byId.get(i.id) ?? unresolved.get(i.id)!)
}

async function sshConnector(project: ProjectLike, opts: ExecOptions, emit: ExecEventSink) {
  if (opts.connector) return Object.assign(opts.connector, {close() {}})
  // Load the EC2 SDK while the key is read and checked: no AWS call is made before the check.
  project.port().catch(() => {})
  const settings = await sshSettings(project.config, () => project.port(), {
    cwd: opts.cwd,
    acceptNewHostKey: opts.acceptNewHostKey,
    onPin: (s, v) => emit({type: 'info', message: `${s.label}: pinned host key ${v} (tofu)`}),
  })
  return createSshConnector(settings)
}

/** Runs `command` on the running instances of the selection. */
export async function execOnProject(
  project: ProjectLike,
  selector: Selector | null,
  command: string,
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const emit = opts.onEvent ?? (() => {})
  const via = opts.via ?? 'ssh'
  const concurrency = opts.concurrency ?? sshConfigOf(project.config).concurrency
  const timeoutMs = opts.timeout !== undefined ? opts.timeout * 1000 : undefined
  if (via === 'ssm') {
    const {running, emptySelection} = await selectRunning(project, selector, emit)
    if (emptySelection) return finalResult(project, via, 'exec', true, [])
    const port = opts.ssm ?? (await import('../aws/ssm.js')).createSsmPort(awsOf(project))
    const targets = running.map((i) => ({
      id: i.id,
      name: i.name ?? i.id,
      slot: i.slot,
      host: '',
      port: 0,
      instance: i,
    }))
    const results = await runSsm(targets, withEnv(command, opts.env), port, {
      output: opts.output,
      timeoutMs,
      concurrency: opts.concurrency,
      failFast: opts.failFast,
      pollIntervalMs: opts.pollIntervalMs,
      onEvent: emit,
      signal: opts.signal,
    })
    return finalResult(project, via, 'exec', false, results, opts.signal)
  }
  // Key and settings are checked before any AWS call.
  const connector = await sshConnector(project, opts, emit)
  try {
    const {running, emptySelection} = await selectRunning(project, selector, emit)
    if (emptySelection) return finalResult(project, via, 'exec', true, [])
    const {targets, unresolved} = targetsOf(running, project.config)
    for (const r of unresolved.values()) emit({type: 'done', target: refOf(r), result: r})
    const ran = await runSsh(targets, command, connector, {
      concurrency,
      timeoutMs,
      failFast: opts.failFast,
      onEvent: emit,
      signal: opts.signal,
      output: opts.output,
      env: opts.env,
      tty: opts.tty,
    })
    return finalResult(project, via, 'exec', false, inOrder(running, ran, unresolved), opts.signal)
  } finally {
    connector.close()
  }
}

/** Copies a local file or directory tree to the running instances of the selection over SFTP. */
export async function putOnProject(
  project: ProjectLike,
  selector: Selector | null,
  local: string,
  remote: string,
  opts: PutOptions = {},
): Promise<ExecResult> {
  const plan = await planPut(local, remote, opts.cwd)
  return copyOnProject(
    project,
    selector,
    'put',
    opts,
    () => (sftp, signal) => putOverSftp(sftp, plan, signal),
  )
}

/**
 * Copies a remote file or tree from every running instance of the selection into
 * `LOCAL/<instance Name>/` over SFTP (the instance id when two share a Name or the Name is not a
 * safe folder name).
 */
export async function getFromProject(
  project: ProjectLike,
  selector: Selector | null,
  remote: string,
  local: string,
  opts: GetOptions = {},
): Promise<ExecResult> {
  const plan = await planGet(remote, local, opts.cwd)
  return copyOnProject(project, selector, 'get', opts, (targets) => {
    const folder = new Map(targets.map((t) => [t.id, instanceFolder(t.name, t.id)]))
    const taken = new Map<string, number>()
    for (const f of folder.values()) taken.set(f, (taken.get(f) ?? 0) + 1)
    for (const [id, f] of folder) if (taken.get(f)! > 1) folder.set(id, id)
    return (sftp, signal, t) =>
      getOverSftp(sftp, plan.remote, path.join(plan.local, folder.get(t.id)!), signal)
  })
}

/** @internal */
type CopyFn = (sftp: SFTPWrapper, signal: AbortSignal, t: Target) => Promise<CopyOutcome>

/** The fan-out of put and get: select, connect, one SFTP session per instance. */
async function copyOnProject(
  project: ProjectLike,
  selector: Selector | null,
  operation: 'put' | 'get',
  opts: PutOptions,
  copyFor: (targets: Target[]) => CopyFn,
): Promise<ExecResult> {
  const emit = opts.onEvent ?? (() => {})
  const connector = await sshConnector(project, opts, emit)
  try {
    const {running, emptySelection} = await selectRunning(project, selector, emit)
    if (emptySelection) return finalResult(project, 'ssh', operation, true, [])
    const {targets, unresolved} = targetsOf(running, project.config)
    for (const r of unresolved.values()) emit({type: 'done', target: refOf(r), result: r})
    const ran = await fanOut(
      targets,
      connector,
      {
        concurrency: opts.concurrency ?? sshConfigOf(project.config).concurrency,
        timeoutMs: opts.timeout !== undefined ? opts.timeout * 1000 : undefined,
        failFast: opts.failFast,
        onEvent: emit,
        signal: opts.signal,
        output: opts.output,
      },
      copyWork(copyFor(targets)),
    )
    return finalResult(project, 'ssh', operation, false, inOrder(running, ran, unresolved), opts.signal)
  } finally {
    connector.close()
  }
}

/** How long a stopped copy may take to remove what it created before its session is ended. */
const UNDO_GRACE_MS = 10_000

/**
 * @internal (it takes ssh2's SFTPWrapper, which the published types do not name)
 * One host's share of put or get: an SFTP session for `copy`, a line saying what arrived, every
 * failure on the target's stderr. A timeout or Ctrl-C lets the copy undo itself, for a bounded time.
 */
export function copyWork(copy: CopyFn) {
  return async (session: SshSession, t: Target, io: TargetIo): Promise<Partial<TargetResult>> => {
    const sftp = await session.sftp()
    let grace: ReturnType<typeof setTimeout> | undefined
    const stop = () => (grace = setTimeout(() => sftp.end(), UNDO_GRACE_MS))
    io.signal.addEventListener('abort', stop, {once: true})
    try {
      const done = await copy(sftp, io.signal, t)
      io.stdout.push(`copied ${done.files} file(s), ${done.bytes} bytes to ${done.dest}\n`)
      return {exitCode: 0}
    } catch (e) {
      if (e instanceof CopyError) {
        for (const f of e.failures) io.stderr.push(`${f.path}: ${f.error}\n`)
        // The result's error will say "interrupted" or "timed out"; this says what became of the copy.
        if (io.signal.aborted) io.stderr.push(`${e.message}\n`)
      }
      return {error: (e as Error).message}
    } finally {
      clearTimeout(grace)
      io.signal.removeEventListener('abort', stop)
      sftp.end()
    }
  }
}

function awsOf(project: ProjectLike) {
  return project.awsOptions?.() ?? awsOptionsOf(project.config)
}

/** What RunningHost#connect resolves to: an ssh2 `Client`, of which only `end` is typed here. */
export interface ConnectedClient {
  end(): void
}

/** One running instance, ready to be reached: what `runningInstances` yields. */
export interface RunningHost {
  id: string
  name: string
  slot: number | null
  instance: Instance
  /** How it is reached (no secrets): address, port, user, host-key policy, bastion. */
  connection: {host: string; port: number; user: string; hostKeys: string; bastion: string | null}
  /** Runs a command on this host; never throws for a remote failure, see `status`. */
  run(command: string, opts?: {timeout?: number; onEvent?: ExecEventSink}): Promise<TargetResult>
  /** Copies a file or directory tree to this host. */
  put(local: string, remote: string): Promise<TargetResult>
  /** Copies a remote file or tree from this host into the local directory `local` (no per-instance folder). */
  get(remote: string, local: string): Promise<TargetResult>
  /**
   * A connected ssh2 `Client` for anything else; the caller ends it. Typed as ConnectedClient so
   * the published types need no @types/ssh2: cast it to ssh2's `Client` type for the full one.
   */
  connect(): Promise<ConnectedClient>
}

/**
 * Each running instance of the selection with a connection description and helpers: the heir of
 * the original library's `wolphin_project` generator.
 *
 *   for await (const host of runningInstances(project, null)) await host.run('uptime')
 */
export async function* runningInstances(
  project: ProjectLike,
  selector: Selector | null = null,
  opts: Pick<ExecOptions, 'connector' | 'onEvent' | 'cwd'> = {},
): AsyncGenerator<RunningHost> {
  const emit = opts.onEvent ?? (() => {})
  const connector = await sshConnector(project, opts, emit)
  const ssh = sshConfigOf(project.config)
  /** One SFTP copy on one host: RunningHost's put and get. */
  const copyOne = async (t: Target, copy: CopyFn) =>
    (await fanOut([t], connector, {concurrency: 1}, copyWork(copy)))[0]
  try {
    const {running} = await selectRunning(project, selector, emit)
    const {targets, unresolved} = targetsOf(running, project.config)
    for (const r of unresolved.values()) emit({type: 'warn', message: `${r.name}: ${r.error}`})
    for (const t of targets) {
      yield {
        id: t.id,
        name: t.name,
        slot: t.slot,
        instance: t.instance,
        connection: {
          host: t.host,
          port: t.port,
          user: project.config.user,
          hostKeys: ssh.hostKeys,
          bastion: ssh.bastion ? `${ssh.bastion.host}:${ssh.bastion.port ?? 22}` : null,
        },
        run: async (command, o = {}) =>
          (
            await runSsh([t], command, connector, {
              concurrency: 1,
              timeoutMs: o.timeout !== undefined ? o.timeout * 1000 : undefined,
              onEvent: o.onEvent,
            })
          )[0],
        put: async (local, remote) => {
          const plan = await planPut(local, remote, opts.cwd)
          return copyOne(t, (sftp, signal) => putOverSftp(sftp, plan, signal))
        },
        get: async (remote, local) => {
          const plan = await planGet(remote, local, opts.cwd)
          return copyOne(t, (sftp, signal) => getOverSftp(sftp, plan.remote, plan.local, signal))
        },
        connect: async () => (await connector(t)).client,
      }
    }
  } finally {
    connector.close()
  }
}
