/**
 * The one place AWS SDK clients are configured: region, profile, retries and the time any call may
 * take. Every client wolphin builds (EC2, EC2 dry-run, SSM) comes from here, so every call is
 * bounded: a connection timeout, a per-request timeout, and a total budget per call that includes
 * the SDK's retries and their back-off. A network failure surfaces as a NetworkError that names the
 * endpoint and what timed out.
 */
import {DEFAULTS, type AwsTimeouts} from '../config/schema.js'
import {NetworkError, type WolphinError} from '../errors.js'
import {noCredentials, noRegion} from './errors.js'
import type {AwsOptions} from '../project/ports.js'

export type {AwsOptions}

export type AwsService = 'EC2' | 'SSM'

/** The constructor settings shared by every SDK client. */
export function clientSettings(opts: AwsOptions) {
  const t = opts.timeouts ?? DEFAULTS.timeouts
  return {
    region: opts.region,
    profile: opts.profile,
    // A legacy config's static keys, unless a profile was asked for explicitly.
    ...(opts.credentials && !opts.profile ? {credentials: opts.credentials} : {}),
    // Adaptive retry backs off client-side when EC2 throttles; attempts are bounded.
    retryMode: 'adaptive',
    maxAttempts: opts.maxAttempts ?? DEFAULTS.maxAttempts,
    requestHandler: {
      connectionTimeout: t.connect * 1000,
      requestTimeout: t.request * 1000,
      // Without it the SDK only logs that the request timeout passed, and keeps waiting.
      throwOnRequestTimeout: true,
    },
  }
}

/**
 * The one constructor call of every SDK client wolphin makes: the shared settings (region, profile,
 * retries, timeouts; the endpoint comes from AWS_ENDPOINT_URL[_SERVICE], which the SDK reads) and
 * every call bounded by the total budget. test/unit/aws-client.test.ts checks that no other file
 * constructs a client.
 */
export function sdkClient<C extends Sendable>(
  Client: new (settings: ReturnType<typeof clientSettings>) => C,
  service: AwsService,
  opts: AwsOptions,
): C {
  return boundCalls(new Client(clientSettings(opts)), service, opts)
}

/** The endpoint a client of `service` talks to, as a user would recognise it in an error. */
export function endpointOf(service: AwsService, region: string | undefined, env = process.env): string {
  const custom = env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL
  if (custom) return custom
  return `https://${service.toLowerCase()}.${region ?? '<region>'}.amazonaws.com`
}

/** Network-level failures (no answer from the service), by the error codes Node and the SDK set. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
])

type Sendable = {send(command: never, options?: {abortSignal?: AbortSignal}): Promise<unknown>}

/**
 * Bounds every `send` of `client` by the total budget and turns network failures into
 * NetworkErrors. A caller's own abort (Ctrl-C) still wins and surfaces as it did.
 */
export function boundCalls<C extends Sendable>(client: C, service: AwsService, opts: AwsOptions): C {
  const t = opts.timeouts ?? DEFAULTS.timeouts
  const endpoint = endpointOf(service, opts.region)
  const send = client.send.bind(client) as (c: unknown, o?: {abortSignal?: AbortSignal}) => Promise<unknown>
  const bounded = async (command: unknown, options: {abortSignal?: AbortSignal} = {}) => {
    const budget = new AbortController()
    const started = Date.now()
    const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, budget.signal]) : budget.signal
    let timer: NodeJS.Timeout | undefined
    const overBudgetError = () =>
      new NetworkError(
        `${service} endpoint ${endpoint} did not answer within ${t.total} s, the budget of one call with its retries (connect timeout ${t.connect} s, request timeout ${t.request} s); check the network or the endpoint, or raise timeouts.total`,
        'NETWORK_TIMEOUT',
      )
    // The SDK's retry back-off does not listen to the abort signal: race it as well.
    const overBudget = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(overBudgetError())
        budget.abort()
      }, t.total * 1000)
    })
    try {
      return await Promise.race([send(command, {...options, abortSignal: signal}), overBudget])
    } catch (e) {
      if (options.abortSignal?.aborted || e instanceof NetworkError) throw e
      if (budget.signal.aborted) throw overBudgetError()
      throw (
        networkError(e, service, endpoint, t, Date.now() - started) ?? (await settingsError(client, e)) ?? e
      )
    } finally {
      clearTimeout(timer)
    }
  }
  ;(client as {send: unknown}).send = bounded
  return client
}

const fails = (provider: unknown): Promise<boolean> =>
  typeof provider === 'function'
    ? Promise.resolve()
        .then(() => (provider as () => unknown)())
        .then(
          () => false,
          () => true,
        )
    : Promise.resolve(false)

/**
 * For a call that failed before it reached AWS: a ConfigError when the client has no region, a
 * CredentialsError when it has no credentials; null otherwise. Told by asking the client's own
 * region and credentials providers again (the SDK memoizes them), never by the error's text.
 */
export async function settingsError(client: unknown, e: unknown): Promise<WolphinError | null> {
  const config = (client as {config?: {region?: unknown; credentials?: unknown}}).config
  if (await fails(config?.region)) return noRegion()
  if (await fails(config?.credentials))
    return noCredentials(String((e as Error)?.message ?? e).split('\n')[0])
  return null
}

/** The NetworkError for an SDK failure that never reached the service, or null for any other. */
export function networkError(
  e: unknown,
  service: AwsService,
  endpoint: string,
  t: AwsTimeouts,
  elapsedMs: number,
): NetworkError | null {
  const err = e as {name?: string; code?: string; $metadata?: {attempts?: number}}
  const attempts = err.$metadata?.attempts
  const after = `after ${attempts ? `${attempts} attempt${attempts === 1 ? '' : 's'} in ` : ''}${Math.round(elapsedMs / 1000)} s`
  // The SDK also names a connection reset `TimeoutError` (a transient error to retry): the code
  // tells them apart, so a dropped connection is never reported as a connect timeout.
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE')
    return new NetworkError(
      `${service} endpoint ${endpoint} closed the connection before answering (${err.code}, ${after}); the request may have been carried out: check the network or the endpoint, then run the command again`,
      'NETWORK_ERROR',
    )
  if (err.name === 'TimeoutError') {
    // The SDK's request timeout sets ETIMEDOUT; its connection timeout sets no code.
    const what =
      err.code === 'ETIMEDOUT'
        ? `sent no answer within the request timeout of ${t.request} s`
        : `accepted no connection within the connect timeout of ${t.connect} s`
    return new NetworkError(
      `${service} endpoint ${endpoint} ${what} (${after}); check the network or the endpoint, or raise timeouts.${err.code === 'ETIMEDOUT' ? 'request' : 'connect'}`,
      'NETWORK_TIMEOUT',
    )
  }
  if (err.code && NETWORK_CODES.has(err.code)) {
    return new NetworkError(
      `${service} endpoint ${endpoint} could not be reached (${err.code}, ${after}); check the network, the region or AWS_ENDPOINT_URL`,
      'NETWORK_ERROR',
    )
  }
  return null
}
