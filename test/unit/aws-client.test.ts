import {expect} from 'chai'

import {boundCalls, clientSettings, endpointOf, networkError} from '../../src/aws/client.js'
import {DEFAULTS} from '../../src/config/schema.js'
import {NetworkError} from '../../src/errors.js'

const T = {connect: 10, request: 60, total: 180}

describe('aws client settings and time limits', () => {
  it('every client gets the connect and request timeouts, and throws when the request one passes', () => {
    const s = clientSettings({
      region: 'eu-west-1',
      profile: 'p',
      timeouts: {connect: 3, request: 7, total: 9},
    })
    expect(s).to.deep.include({region: 'eu-west-1', profile: 'p', maxAttempts: DEFAULTS.maxAttempts})
    expect(s.requestHandler).to.deep.equal({
      connectionTimeout: 3000,
      requestTimeout: 7000,
      throwOnRequestTimeout: true,
    })
    expect(clientSettings({}).requestHandler.requestTimeout).to.equal(DEFAULTS.timeouts.request * 1000)
  })

  it('names the endpoint: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, or the regional one', () => {
    expect(endpointOf('EC2', 'eu-west-1', {})).to.equal('https://ec2.eu-west-1.amazonaws.com')
    expect(endpointOf('SSM', 'eu-west-1', {AWS_ENDPOINT_URL: 'http://127.0.0.1:5'})).to.equal(
      'http://127.0.0.1:5',
    )
    expect(endpointOf('SSM', 'x', {AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_SSM: 'http://b'})).to.equal(
      'http://b',
    )
  })

  it('tells a connect timeout from a request timeout by the error code, not the text', () => {
    const connect = networkError(Object.assign(new Error('x'), {name: 'TimeoutError'}), 'EC2', 'E', T, 0)
    const request = networkError(
      Object.assign(new Error('x'), {name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: {attempts: 8}}),
      'EC2',
      'E',
      T,
      12_000,
    )
    expect(connect?.code).to.equal('NETWORK_TIMEOUT')
    expect(connect?.message).to.include('connect timeout of 10 s')
    expect(request?.message).to.include('request timeout of 60 s').and.include('8 attempts in 12 s')
    // The SDK names a reset connection TimeoutError too (seen against a proxy that resets after
    // the request): it is not a connect timeout, and the request may have been carried out.
    const reset = networkError(
      Object.assign(new Error('socket hang up'), {name: 'TimeoutError', code: 'ECONNRESET'}),
      'EC2',
      'E',
      T,
      5_000,
    )
    expect(reset?.code).to.equal('NETWORK_ERROR')
    expect(reset?.message).to.include('closed the connection before answering (ECONNRESET')
    expect(reset?.message).to.not.include('connect timeout')
    const refused = networkError(Object.assign(new Error('x'), {code: 'ECONNREFUSED'}), 'EC2', 'E', T, 0)
    expect(refused?.code).to.equal('NETWORK_ERROR')
    expect(networkError(Object.assign(new Error('x'), {name: 'AuthFailure'}), 'EC2', 'E', T, 0)).to.equal(
      null,
    )
  })

  it('a call that never settles ends at the total budget; a caller abort wins', async () => {
    const hanging = {
      send: (_c: never, o?: {abortSignal?: AbortSignal}) =>
        new Promise((_, reject) =>
          o?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
    }
    const client = boundCalls(hanging, 'EC2', {timeouts: {connect: 1, request: 1, total: 0.05}})
    const t0 = Date.now()
    const err = await client.send({} as never).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(NetworkError)
    expect((err as NetworkError).code).to.equal('NETWORK_TIMEOUT')
    expect(Date.now() - t0).to.be.below(1000)

    const mine = new AbortController()
    const slow = boundCalls(hanging, 'EC2', {timeouts: {connect: 1, request: 1, total: 5}})
    const p = slow.send({} as never, {abortSignal: mine.signal}).catch((e: unknown) => e)
    mine.abort()
    const e2 = await p
    expect(e2).not.to.be.instanceOf(NetworkError)
    expect((e2 as Error).message).to.equal('aborted')
  })
})
