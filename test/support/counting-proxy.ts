/**
 * A counting HTTP proxy in front of an EC2-compatible endpoint (moto): every request is forwarded
 * unchanged and recorded with its EC2 Action, parsed from the form-encoded body (the EC2 query
 * protocol), so tests and benchmarks can count the API calls an operation really makes.
 * Listens on 127.0.0.1 only.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface RecordedCall {
  action: string
  status: number
  ms: number
  /** Answered from the replay store, not by the upstream. */
  replayed: boolean
}

export interface ProxyOptions {
  /**
   * Read-only actions whose answers may be replayed: the first request with a given method, path
   * and body goes to the upstream and its answer is stored; identical requests later get the
   * stored bytes. For benchmarks, where the emulator's own time would otherwise dominate.
   */
  replay?: (action: string) => boolean
}

export interface CountingProxy {
  /** The URL to give the client instead of the upstream endpoint. */
  endpoint: string
  /** Every call recorded since the last take()/reset(), in arrival order. */
  calls(): RecordedCall[]
  /** Calls per Action since the last take()/reset(). */
  counts(): Record<string, number>
  /** TCP connections clients opened since the last take()/reset() (keep-alive: one per client). */
  connections(): number
  /** Turns replay on (with the actions it applies to) or off; the store is kept. */
  setReplay(replay: ((action: string) => boolean) | null): void
  /** Returns the counts and starts a new recording. */
  take(): Record<string, number>
  reset(): void
  close(): Promise<void>
}

/** The EC2 Action of a query-protocol request: from the form body, else from the URL. */
export function actionOf(body: string, url = ''): string {
  const fromBody = new URLSearchParams(body).get('Action')
  if (fromBody) return fromBody
  const q = url.indexOf('?')
  return (q >= 0 ? new URLSearchParams(url.slice(q + 1)).get('Action') : null) ?? '(none)'
}

export function countActions(calls: RecordedCall[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const c of calls) out[c.action] = (out[c.action] ?? 0) + 1
  return out
}

function withoutHopByHop(h: http.IncomingHttpHeaders): http.IncomingHttpHeaders {
  const out = {...h}
  for (const k of ['connection', 'keep-alive', 'proxy-connection', 'upgrade']) delete out[k]
  return out
}

interface Stored {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

export async function startCountingProxy(upstream: string, opts: ProxyOptions = {}): Promise<CountingProxy> {
  const target = new URL(upstream)
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(target.hostname))
    throw new Error(`counting proxy: upstream must be on loopback, got ${target.hostname}`)
  const agent = new http.Agent({keepAlive: true, maxSockets: 64})
  let recorded: RecordedCall[] = []
  let replay = opts.replay ?? null
  let connections = 0
  const store = new Map<string, Stored>()

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    const t0 = performance.now()
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const action = actionOf(body.toString('utf8'), req.url ?? '')
      const key = replay?.(action) ? `${req.method} ${req.url}\n${body.toString('utf8')}` : null
      const stored = key !== null ? store.get(key) : undefined
      if (stored) {
        recorded.push({action, status: stored.status, ms: performance.now() - t0, replayed: true})
        res.writeHead(stored.status, stored.headers)
        res.end(stored.body)
        return
      }
      const headers = {...req.headers, host: target.host}
      const up = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (upRes) => {
          // Recorded before the answer is relayed: a client that has its answer sees the call counted.
          const call: RecordedCall = {action, status: upRes.statusCode ?? 0, ms: 0, replayed: false}
          recorded.push(call)
          const parts: Buffer[] = []
          if (key !== null) upRes.on('data', (d: Buffer) => parts.push(d))
          upRes.on('end', () => {
            call.ms = performance.now() - t0
            if (key !== null && upRes.statusCode === 200) {
              const b = Buffer.concat(parts)
              const h = {...withoutHopByHop(upRes.headers), 'content-length': String(b.length)}
              delete h['transfer-encoding']
              store.set(key, {status: 200, headers: h, body: b})
            }
          })
          // Hop-by-hop headers are the proxy's own business: moto's dev server answers
          // `Connection: close`, which would otherwise close every client connection after one call.
          res.writeHead(upRes.statusCode ?? 502, withoutHopByHop(upRes.headers))
          upRes.pipe(res)
        },
      )
      up.on('error', (e) => {
        recorded.push({action, status: 502, ms: performance.now() - t0, replayed: false})
        if (!res.headersSent) res.writeHead(502, {'content-type': 'text/plain'})
        res.end(`counting proxy: upstream error: ${e.message}`)
      })
      up.end(body)
    })
  })
  server.on('connection', () => connections++)
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => [...recorded],
    counts: () => countActions(recorded),
    setReplay(r) {
      replay = r
    },
    connections: () => connections,
    take() {
      const c = countActions(recorded)
      recorded = []
      connections = 0
      return c
    },
    reset() {
      recorded = []
      connections = 0
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
      agent.destroy()
    },
  }
}
