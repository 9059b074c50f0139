/**
 * A small HTTP proxy in front of moto that answers chosen EC2 requests with an error, the way EC2
 * does when it has no capacity; every other request goes through unchanged. Loopback only.
 */
import http from 'node:http'
import type {AddressInfo} from 'node:net'

export interface CapacityProxy {
  endpoint: string
  /** Which requests to refuse (form parameters of the EC2 query request); null refuses none. */
  rule: ((params: URLSearchParams) => boolean) | null
  /** The error code refused requests get. */
  code: string
  /** Requests refused so far, as their parameters. */
  refused: URLSearchParams[]
  /** Every request seen, as `region Action` (region from the signature's credential scope). */
  calls: string[]
  close(): Promise<void>
}

/** Refuse RunInstances that ask for spot (InstanceMarketOptions). */
export const spotLaunch = (p: URLSearchParams) =>
  p.get('Action') === 'RunInstances' && p.get('InstanceMarketOptions.MarketType') === 'spot'

/** Refuse RunInstances placed in this zone. */
export const launchInZone = (zone: string) => (p: URLSearchParams) =>
  p.get('Action') === 'RunInstances' && p.get('Placement.AvailabilityZone') === zone

export async function startCapacityProxy(target: string): Promise<CapacityProxy> {
  const upstream = new URL(target)
  if (!['127.0.0.1', 'localhost'].includes(upstream.hostname)) throw new Error('loopback targets only')
  const proxy: CapacityProxy = {
    endpoint: '',
    rule: null,
    code: 'InsufficientInstanceCapacity',
    refused: [],
    calls: [],
    close: async () => {},
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const params = new URLSearchParams(body.toString('utf8'))
      const scope = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))
      proxy.calls.push(`${scope?.[1] ?? '?'} ${params.get('Action') ?? '?'}`)
      if (proxy.rule?.(params)) {
        proxy.refused.push(params)
        res.writeHead(400, {'content-type': 'text/xml'})
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${proxy.code}</Code>` +
            `<Message>We currently do not have sufficient capacity in the Availability Zone you requested (injected by the test proxy).</Message>` +
            `</Error></Errors><RequestID>capacity-proxy</RequestID></Response>`,
        )
        return
      }
      const up = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: {...req.headers, host: upstream.host},
        },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers)
          ur.pipe(res)
        },
      )
      up.on('error', (e) => {
        res.writeHead(502)
        res.end(String(e))
      })
      up.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}
