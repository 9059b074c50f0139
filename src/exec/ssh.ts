/**
 * SSH over ssh2: connecting (optionally through a bastion), running a command with streamed output,
 * and the SFTP half (put). ssh2 is loaded on first use.
 */
import {createSecretKey} from 'node:crypto'
import type {Duplex, Readable} from 'node:stream'

import type {Client, ClientChannel, ConnectConfig, ExecOptions, PseudoTtyOptions, SFTPWrapper} from 'ssh2'

import {HostKeyError} from '../errors.js'
import type {HostKeySubject, HostKeyVerifier} from './host-keys.js'
import {isLoopback} from './address.js'
import {sleep} from '../util/async.js'
import {loadSsh2} from './ssh2-module.js'
import type {Delivery} from './output.js'
import {parseStopReport, STOP_SCRIPT, type StopOutcome} from './remote-command.js'
import type {OutputStream, Target} from './types.js'

export interface SshSettings {
  user: string
  /** The private key's contents (already checked); without it ssh-agent is used. */
  privateKey?: Buffer
  agent?: string
  connectTimeoutMs: number
  /** How long to keep retrying "connection refused" (an instance still booting). */
  refusedRetryMs: number
  verifier: HostKeyVerifier
  bastion?: {host: string; port: number; user: string; privateKey?: Buffer}
}

/** An open SSH session to one target. */
export interface SshSession {
  /**
   * Runs `command`. `onData` gets every chunk; returning a promise pauses that stream until it
   * settles. Aborting `signal` stops the command on the host; `stop` then says what that found.
   */
  exec(
    command: string,
    io: {onData(stream: OutputStream, chunk: Buffer): Delivery | void; signal?: AbortSignal; tty?: boolean},
  ): Promise<{exitCode: number | null; signal: string | null; stop?: StopOutcome}>
  /** @internal ssh2's SFTP session (internal: the published types do not depend on @types/ssh2). */
  sftp(): Promise<SFTPWrapper>
  close(): void
  /** @internal The underlying ssh2 client (see RunningHost#connect for the public way). */
  readonly client: Client
}

/** Opens sessions; one per target. Tests replace it with a stub. */
export type Connector = (target: Target, signal?: AbortSignal) => Promise<SshSession>

/** A failure to get a session (refused, timed out, auth, host key): the target is unreachable. */
export class UnreachableError extends Error {
  constructor(
    message: string,
    readonly hostKey = false,
  ) {
    super(message)
  }
}

/** A hook for unit tests: the ssh2 Client class to construct. */
export interface ConnectorDeps {
  /** @internal */
  Client?: new () => Client
}

export function describeConnectError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & {level?: string}
  if (err instanceof HostKeyError) return err.message
  if (err.code === 'ECONNREFUSED') return 'connection refused'
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'host unreachable'
  if (err.code === 'ENOTFOUND') return 'name does not resolve'
  // ssh2 says what failed in `level`: 'client-timeout' (no handshake in time), 'client-authentication'.
  if (err.code === 'ETIMEDOUT' || err.level === 'client-timeout') return 'connection timed out'
  if (err.level === 'client-authentication')
    return 'authentication failed (is the key authorised for this user?)'
  return (err.message ?? String(e)).split('\n')[0]
}

/** SSH_OPEN_CONNECT_FAILED (RFC 4254 5.1): the bastion could not connect to the target. */
const OPEN_CONNECT_FAILED = 2
const forwardRefused = (err: Error) => (err as Error & {reason?: number}).reason === OPEN_CONNECT_FAILED

export function createSshConnector(
  settings: SshSettings,
  deps: ConnectorDeps = {},
): Connector & {close(): void} {
  let bastion: Promise<Client> | null = null

  const handshake = async (
    cfg: ConnectConfig,
    subject: HostKeySubject,
    signal?: AbortSignal,
  ): Promise<Client> => {
    const Ctor = deps.Client ?? (await loadSsh2()).Client
    const client = new Ctor()
    let hostKeyError: HostKeyError | null = null
    return new Promise<Client>((resolve, reject) => {
      let settled = false
      const onAbort = () => fail(new UnreachableError('cancelled'))
      const fail = (e: unknown) => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        client.end()
        reject(hostKeyError ? new UnreachableError(hostKeyError.message, true) : e)
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener('abort', onAbort, {once: true})
      client.once('ready', () => {
        if (settled) return void client.end()
        settled = true
        signal?.removeEventListener('abort', onAbort)
        client.on('error', () => {}) // later errors surface through channels
        keyObjectsForGcm(client)
        resolve(client)
      })
      client.on('error', fail)
      client.once('close', () => fail(new UnreachableError('connection closed during handshake')))
      const algorithms = settings.verifier.algorithms(subject)
      client.connect({
        ...cfg,
        readyTimeout: settings.connectTimeoutMs,
        ...(algorithms ? {algorithms: {serverHostKey: algorithms as never}} : {}),
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          settings.verifier.verify(subject, key).then(
            () => verify(true),
            (e: unknown) => {
              hostKeyError =
                e instanceof HostKeyError ? e : new HostKeyError(String((e as Error).message ?? e))
              verify(false)
            },
          )
        },
      })
      // Without TCP_NODELAY every small SSH packet (an SFTP request, a channel window update) waits
      // for the previous one's ACK (Nagle), which dominates a copy of many small files.
      client.setNoDelay?.(true)
      coalesceWrites(client)
    })
  }

  const guard = (host: string) => {
    if (process.env.WOLPHIN_LOOPBACK_ONLY && !isLoopback(host))
      throw new UnreachableError(`refusing to dial ${host}: WOLPHIN_LOOPBACK_ONLY is set`)
  }

  const bastionClient = (): Promise<Client> => {
    const b = settings.bastion!
    guard(b.host)
    bastion ??= handshake(
      {
        host: b.host,
        port: b.port,
        username: b.user,
        privateKey: b.privateKey ?? settings.privateKey,
        agent: settings.agent,
        authHandler: (b.privateKey ?? settings.privateKey) ? ['publickey'] : ['agent'],
      },
      {host: b.host, port: b.port, label: `bastion ${b.host}`},
    ).catch((e) => {
      bastion = null
      throw new UnreachableError(
        `bastion ${b.host}:${b.port}: ${describeConnectError(e)}`,
        e instanceof UnreachableError && e.hostKey,
      )
    })
    return bastion
  }

  const connectOnce = async (target: Target, signal?: AbortSignal): Promise<Client> => {
    guard(target.host)
    const subject: HostKeySubject = {
      host: target.host,
      port: target.port,
      label: target.name,
      instance: {id: target.id, tags: target.instance.tags},
    }
    const cfg: ConnectConfig = {
      username: settings.user,
      privateKey: settings.privateKey,
      agent: settings.privateKey ? undefined : settings.agent,
      // Straight to the one method configured: no "none" probe (a round trip and a failed attempt).
      authHandler: settings.privateKey ? ['publickey'] : ['agent'],
    }
    if (settings.bastion) {
      const via = await bastionClient()
      const sock = await new Promise<ClientChannel>((resolve, reject) =>
        via.forwardOut('127.0.0.1', 0, target.host, target.port, (err, stream) =>
          err
            ? reject(Object.assign(err, {code: forwardRefused(err) ? 'ECONNREFUSED' : undefined}))
            : resolve(stream),
        ),
      )
      return handshake({...cfg, sock}, subject, signal)
    }
    return handshake({...cfg, host: target.host, port: target.port}, subject, signal)
  }

  const connector = async (target: Target, signal?: AbortSignal): Promise<SshSession> => {
    const deadline = Date.now() + settings.refusedRetryMs
    let delay = 250
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await connectOnce(target, signal)
        return sessionOf(client)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        const retry = (code === 'ECONNREFUSED' || code === 'ECONNRESET') && Date.now() + delay < deadline
        if (!retry || signal?.aborted || attempt >= 100) {
          if (e instanceof UnreachableError) throw e
          throw new UnreachableError(`${target.host}:${target.port}: ${describeConnectError(e)}`)
        }
        await sleep(delay, signal)
        delay = Math.min(delay * 2, 2000)
      }
    }
  }
  return Object.assign(connector, {
    close() {
      bastion?.then((c) => c.end()).catch(() => {})
      bastion = null
    },
  })
}

/**
 * ssh2 without its native binding (not built for the running Node) encrypts and decrypts each
 * AES-GCM packet with a new cipher made from a Buffer key, which Node prepares again on every call;
 * made from a KeyObject it costs about a third (measured: 124 vs 42 us per packet), and a copy of many
 * small files is mostly such packets. Only the two fields those ciphers read are replaced, and only
 * when they hold a Buffer; a later re-key goes back to ssh2's own path, unchanged in behaviour.
 */
function keyObjectsForGcm(client: Client): void {
  type Keyed = Record<string, unknown> | undefined
  const protocol = (client as unknown as {_protocol?: {_cipher?: Keyed; _decipher?: Keyed}})._protocol
  const swap = (o: Keyed, field: string) => {
    const v = o?.[field]
    if (o && Buffer.isBuffer(v)) o[field] = createSecretKey(v)
  }
  swap(protocol?._cipher, '_encKey')
  swap(protocol?._decipher, '_decipherKey')
}

/**
 * Everything ssh2 writes to the connection in one tick leaves in one writev. ssh2 writes each packet
 * in up to three pieces (length, body, MAC), and a burst of pipelined SFTP requests is many packets:
 * without this, each piece is its own system call and, with TCP_NODELAY, often its own segment.
 */
function coalesceWrites(client: Client): void {
  // ssh2 keeps its socket (or the bastion channel it was given) here and writes through it.
  const sock = (client as unknown as {_sock?: Duplex})._sock
  if (!sock || typeof sock.cork !== 'function') return
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean
  let corked = false
  sock.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true
      sock.cork()
      process.nextTick(() => {
        corked = false
        sock.uncork()
      })
    }
    return write(...args)
  }) as Duplex['write']
}

function sessionOf(client: Client): SshSession {
  return {
    client,
    close: () => client.end(),
    sftp: () => new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s)))),
    exec: (command, io) =>
      new Promise((resolve, reject) => {
        const opts: ExecOptions = io.tty ? {pty: {term: 'xterm', modes: {ONLCR: 0}} as PseudoTtyOptions} : {}
        client.exec(command, opts, (err, ch) => {
          if (err) return reject(err)
          let exitCode: number | null = null
          let sig: string | null = null
          let stop: StopOutcome | undefined
          let done = false
          // Settled once the channel closed and both streams were read to their end: output still
          // held back by a paused stream is delivered before the result.
          let open = 3
          const settle = () => {
            if (done) return
            done = true
            io.signal?.removeEventListener('abort', onAbort)
            resolve({exitCode, signal: sig, stop})
          }
          // Once stopping has started, the result waits for what it found.
          let stopping: Promise<void> | null = null
          const closed = () => {
            if (--open === 0) void (stopping ?? Promise.resolve()).then(settle)
          }
          // On timeout or interrupt: sshd ignores the "signal" request for sessions without a
          // terminal, so a second session stops this connection's commands (see STOP_SCRIPT), then
          // the channel is closed whatever it found.
          const onAbort = () => {
            try {
              ch.signal('TERM')
            } catch {
              // the channel may be gone already
            }
            stopping = stopOtherSessions(client).then((s) => {
              stop = s
              try {
                ch.close()
              } catch {
                // gone already
              }
              settle()
            })
          }
          if (io.signal?.aborted) onAbort()
          else io.signal?.addEventListener('abort', onAbort, {once: true})
          ch.on('exit', (code: number | null, signalName?: string) => {
            if (typeof code === 'number') exitCode = code
            if (signalName) sig = signalName
          })
          const feed = (stream: OutputStream, from: Readable) => {
            holdLittle(from)
            from.on('data', (d: Buffer) => {
              const r = io.onData(stream, d)
              if (r === true || r === undefined) return
              // Backpressure: a paused stream stops reading, so ssh2 stops opening the channel's
              // window and the remote command blocks on its writes.
              from.pause()
              void r.finally(() => from.resume())
            })
            from.once('end', closed)
          }
          feed('stdout', ch)
          feed('stderr', ch.stderr)
          ch.on('close', closed)
          ch.end() // no stdin: the command reads EOF, like ssh -n
        })
      }),
  }
}

/** What a paused output stream holds before ssh2 stops opening the channel's window. */
export const PAUSED_HOLD = 64 * 1024

/**
 * ssh2's channel streams buffer up to their high-water mark (2 MiB, its window size) before they
 * tell it to stop opening the window: a paused channel held up to 2 MiB more than the window it
 * had granted, per stream and per instance (measured: 8-13 MB of the peak RSS of `exec` on 4 hosts
 * into a slow reader). With a small mark the channel stops asking for more as soon as a paused
 * stream holds PAUSED_HOLD; the window itself (what is in flight, so the throughput over a long
 * round trip) is unchanged, and a stream that is read as it comes never buffers anyway.
 */
function holdLittle(stream: Readable): void {
  const state = (stream as unknown as {_readableState?: {highWaterMark?: unknown}})._readableState
  if (state && typeof state.highWaterMark === 'number' && state.highWaterMark > PAUSED_HOLD)
    state.highWaterMark = PAUSED_HOLD
}

/** Runs STOP_SCRIPT on the connection (bounded in time) and says what it found. */
function stopOtherSessions(client: Client): Promise<StopOutcome> {
  return new Promise((resolve) => {
    let out = ''
    const t = setTimeout(() => done({kind: 'unknown', detail: 'no answer within 10s'}), 10_000)
    function done(s?: StopOutcome) {
      clearTimeout(t)
      resolve(s ?? parseStopReport(out))
    }
    try {
      client.exec(STOP_SCRIPT, (err, ch) => {
        if (err) return done({kind: 'unknown', detail: describeConnectError(err)})
        ch.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
        ch.stderr.on('data', () => {})
        ch.on('close', () => done())
        ch.end()
      })
    } catch (e) {
      done({kind: 'unknown', detail: describeConnectError(e)})
    }
  })
}
