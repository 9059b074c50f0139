/**
 * A fault-injecting HTTP proxy in front of moto, for the reliability tests. For each EC2 API call it
 * decides, by a seeded random choice, whether to pass it through or to inject one fault:
 *
 * - `throttle`: answer RequestLimitExceeded (EC2's XML error, HTTP 503) without forwarding;
 * - `error500`: answer InternalError (HTTP 500) without forwarding;
 * - `delay`: wait a little, then forward normally;
 * - `resetBefore`: reset the connection before forwarding (the request never took effect);
 * - `resetAfter`: forward, let moto act, then reset the connection (it took effect, the answer is lost).
 *
 * It counts every request and every fault it injected, per kind and per EC2 action. Listens on
 * 127.0.0.1 only and forwards only to the loopback target it is given.
 */
import http from 'node:http'
import type net from 'node:net'

export const FAULT_KINDS = ['throttle', 'error500', 'delay', 'resetBefore', 'resetAfter'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface FaultProxyOptions {
  /** moto's endpoint, like http://127.0.0.1:5000 (loopback only). */
  target: string
  /** Probability that a call gets a fault, 0..1. */
  rate: number
  seed: number
  /** Which faults to draw from (all by default). */
  kinds?: readonly FaultKind[]
  /** Range of an injected delay, in ms. */
  delayMs?: [number, number]
  /** Only these EC2 actions get faults (all by default). */
  actions?: readonly string[]
  /** Injects at most this many faults in all, then passes everything through (a single lost answer). */
  maxFaults?: number
  /** Rewrites moto's answer to an action before it is sent on (e.g. to freeze instance states). */
  rewrite?: (action: string, body: string) => string
}

export interface FaultCounts {
  requests: number
  injected: number
  byKind: Record<FaultKind, number>
  /** `Action:kind` -> count, e.g. `RunInstances:resetAfter`. */
  byAction: Record<string, number>
  /** Calls per EC2 action, faulted or not. */
  calls: Record<string, number>
}

export interface FaultProxy {
  endpoint: string
  counts: FaultCounts
  /** Changes the fault rate from now on (0 turns faults off). */
  setRate(rate: number): void
  stop(): Promise<void>
}

/** mulberry32: a small, fast, seedable PRNG; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ec2Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>`

function actionOf(body: string): string {
  const m = /(?:^|&)Action=([A-Za-z]+)/.exec(body)
  return m ? m[1] : 'unknown'
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target)
  if (!['127.0.0.1', 'localhost'].includes(target.hostname))
    throw new Error(`fault proxy forwards to loopback only, not ${target.hostname}`)
  const random = seededRandom(opts.seed)
  const kinds = opts.kinds ?? FAULT_KINDS
  const [dMin, dMax] = opts.delayMs ?? [50, 400]
  let rate = opts.rate
  const counts: FaultCounts = {
    requests: 0,
    injected: 0,
    byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    byAction: {},
    calls: {},
  }
  const sockets = new Set<net.Socket>()

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{status: number; headers: http.IncomingHttpHeaders; body: Buffer}> =>
    new Promise((resolve, reject) => {
      const headers = {...req.headers, host: target.host}
      const out = http.request(
        {
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () =>
            resolve({status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks)}),
          )
          res.on('error', reject)
        },
      )
      out.on('error', reject)
      out.end(body)
    })

  const reply = (
    res: http.ServerResponse,
    status: number,
    body: string | Buffer,
    headers: http.OutgoingHttpHeaders = {},
  ) => {
    res.writeHead(status, {'content-type': 'text/xml', ...headers, 'content-length': Buffer.byteLength(body)})
    res.end(body)
  }

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const isApi = req.method === 'POST' && !(req.url ?? '').startsWith('/moto-api')
    const action = isApi ? actionOf(body.toString('utf8')) : 'moto-api'
    let kind: FaultKind | null = null
    if (isApi) {
      counts.requests++
      counts.calls[action] = (counts.calls[action] ?? 0) + 1
      // Two draws per call, always, so one seed gives one fault sequence whatever the rate.
      const roll = random()
      const pick = random()
      const spent = opts.maxFaults !== undefined && counts.injected >= opts.maxFaults
      if (!spent && (!opts.actions || opts.actions.includes(action)) && roll < rate)
        kind = kinds[Math.floor(pick * kinds.length)]
    }
    if (kind) {
      counts.injected++
      counts.byKind[kind]++
      const key = `${action}:${kind}`
      counts.byAction[key] = (counts.byAction[key] ?? 0) + 1
    }
    try {
      switch (kind) {
        case 'throttle':
          return reply(res, 503, ec2Error('RequestLimitExceeded', 'Request limit exceeded.'))
        case 'error500':
          return reply(res, 500, ec2Error('InternalError', 'An internal error has occurred (injected).'))
        case 'resetBefore':
          req.socket.destroy()
          return
        case 'delay':
          await new Promise((r) => setTimeout(r, dMin + Math.floor(random() * (dMax - dMin))))
          break
        default:
      }
      const answer = await forward(req, body)
      if (kind === 'resetAfter') {
        // moto acted on it; the caller never hears back.
        req.socket.destroy()
        return
      }
      const headers = {...answer.headers}
      delete headers['transfer-encoding']
      delete headers['content-length']
      delete headers.connection
      const out = opts.rewrite
        ? Buffer.from(opts.rewrite(action, answer.body.toString('utf8')), 'utf8')
        : answer.body
      reply(res, answer.status, out, headers)
    } catch (e) {
      if (!res.headersSent) reply(res, 502, ec2Error('ProxyError', String((e as Error).message)))
    }
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    setRate(r: number) {
      rate = r
    },
    async stop() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
