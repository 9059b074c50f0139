/**
 * No AWS call can hang: against an endpoint that accepts connections and never answers (and one
 * that refuses them), every command ends within its time limits with one line naming the endpoint
 * and what timed out, exit 1, and a documented error code under --json.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {freePort, motoEnv} from '../support/moto.js'

describe('integration: AWS calls are bounded in time', function () {
  this.timeout(120_000)
  let silent: net.Server
  const sockets = new Set<net.Socket>()
  let accepted = 0
  let endpoint = ''
  let dir = ''

  before(async () => {
    // Accepts every connection, reads the request, never writes a byte.
    silent = net.createServer((s) => {
      sockets.add(s)
      accepted++
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-timeouts-'))
    await writeFile(path.join(dir, 'wolphin.yaml'), 'project: silent\nregion: us-east-1\nami: ami-12345678\n')
  })

  after(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((r) => silent.close(() => r()))
  })

  const timed = async (args: string[], env: Record<string, string>) => {
    const t0 = Date.now()
    const r = await runCli(args, {cwd: dir, env, timeoutMs: 60_000})
    return {...r, seconds: (Date.now() - t0) / 1000}
  }

  it('status fails within the request timeout times the attempts, naming the endpoint', async () => {
    const r = await timed(
      ['status'],
      motoEnv(endpoint, {WOLPHIN_REQUEST_TIMEOUT: '1s', WOLPHIN_TOTAL_TIMEOUT: '50s'}),
    )
    expect(r.code, r.stderr).to.equal(1)
    // 8 attempts of 1 s each, with the SDK's back-off between them (at most ~13 s in all).
    expect(r.seconds).to.be.below(40)
    const lines = r.stderr.trim().split('\n')
    expect(lines, r.stderr).to.have.length(1)
    expect(lines[0]).to.include(endpoint).and.include('request timeout of 1 s')
  })

  it('the total budget of one call bounds its retries; --json carries NETWORK_TIMEOUT', async () => {
    const r = await timed(
      ['status', '--json', '--request-timeout', '2s', '--total-timeout', '3s'],
      motoEnv(endpoint),
    )
    expect(r.code, r.stderr).to.equal(1)
    expect(r.seconds).to.be.below(10)
    const doc = r.json()
    expect(doc.error.code).to.equal('NETWORK_TIMEOUT')
    expect(doc.error.exitCode).to.equal(1)
    expect(doc.error.message).to.include(endpoint).and.include('within 3 s')
  })

  it('a CI teardown (terminate --yes) ends too, with the timeouts from the config', async () => {
    const cfg = path.join(dir, 'bounded.yaml')
    await writeFile(cfg, 'project: silent\nregion: us-east-1\ntimeouts: {request: 1s, total: 2s}\n')
    const r = await timed(['terminate', '--yes', '-c', cfg], motoEnv(endpoint))
    expect(r.code, r.stderr).to.equal(1)
    expect(r.seconds).to.be.below(10)
    expect(r.stderr).to.match(/^wolphin: error: EC2 endpoint .* within 2 s/)
  })

  it('ls and reap honour the timeouts without a project config', async () => {
    for (const cmd of ['ls', 'reap']) {
      const r = await timed([cmd, '--region', 'us-east-1', '--json'], {
        ...motoEnv(endpoint),
        WOLPHIN_REQUEST_TIMEOUT: '1s',
        WOLPHIN_TOTAL_TIMEOUT: '2s',
      })
      expect(r.code, `${cmd}: ${r.stderr}`).to.be.oneOf([1, 3])
      expect(r.seconds).to.be.below(10)
      expect(JSON.stringify(r.json())).to.include('NETWORK_TIMEOUT')
    }
  })

  it('a refused connection is NETWORK_ERROR, one line naming the endpoint', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    // The budget is far above the SDK's retries of a refusal (8 attempts, ~13 s of back-off at most).
    const r = await timed(['status', '--json'], motoEnv(closed, {WOLPHIN_TOTAL_TIMEOUT: '50s'}))
    expect(r.code, r.stderr).to.equal(1)
    expect(r.json().error.code).to.equal('NETWORK_ERROR')
    expect(r.json().error.message).to.include(closed).and.include('ECONNREFUSED')
  })

  it('a bad timeout is a usage error before any call', async () => {
    const before = accepted
    const r = await timed(['status', '--request-timeout', 'soon'], motoEnv(endpoint))
    expect(r.code).to.equal(2)
    expect(r.stderr.trim().split('\n')).to.have.length(1)
    expect(r.stderr).to.include('timeouts.request')
    expect(accepted).to.equal(before)
  })
})
