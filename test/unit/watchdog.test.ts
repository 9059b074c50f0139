/**
 * The lease watchdog's check (src/project/watchdog.ts) run for real by `sh` against a fake
 * instance metadata service on loopback (IMDSv2: a token first, then the tag), with fake `shutdown`
 * and `poweroff` first on PATH that only write down that they were called.
 */
import {execFile} from 'node:child_process'
import {chmod, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {
  WATCHDOG_IMDS_ENV,
  WATCHDOG_PATH,
  watchdogInstaller,
  watchdogScript,
} from '../../src/project/watchdog.js'

const TOKEN = 'fake-token-123'

interface FakeImds {
  url: string
  /** The tag's value; null answers 404 (no such tag). */
  tag: string | null
  /** Refuse tokens (as an instance with the metadata service off would). */
  refuseToken: boolean
  requests: string[]
  close(): Promise<void>
}

async function fakeImds(): Promise<FakeImds> {
  const state = {tag: null as string | null, refuseToken: false, requests: [] as string[]}
  const server = http.createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`)
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (state.refuseToken || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        res.writeHead(403).end()
        return
      }
      res.writeHead(200).end(TOKEN)
      return
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== TOKEN) {
      res.writeHead(401).end()
      return
    }
    if (req.method === 'GET' && req.url === '/latest/meta-data/tags/instance/wolphin:expires-at') {
      if (state.tag === null) res.writeHead(404).end()
      else res.writeHead(200).end(state.tag)
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address() as AddressInfo
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })
}

describe('lease watchdog: the check on the instance, against a fake IMDS', function () {
  this.timeout(30_000)
  let imds: FakeImds
  let dir: string
  let calls: string

  before(async () => {
    imds = await fakeImds()
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-watchdog-'))
    calls = path.join(dir, 'calls')
    // Fakes first on PATH: nothing real is ever powered off.
    for (const name of ['shutdown', 'poweroff', 'systemctl']) {
      await writeFile(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> '${calls}'\n`)
      await chmod(path.join(dir, name), 0o755)
    }
  })
  after(async () => {
    await imds.close()
    await rm(dir, {recursive: true, force: true})
  })
  beforeEach(async () => {
    await rm(calls, {force: true})
    imds.refuseToken = false
    imds.requests.length = 0
  })

  /** Runs the check with the given grace; returns its output and what it powered off. */
  async function check(tag: string | null, graceSeconds = 0) {
    imds.tag = tag
    const script = path.join(dir, `check-${graceSeconds}.sh`)
    await writeFile(script, watchdogScript(graceSeconds))
    const out = await new Promise<{code: number; stdout: string}>((resolve) => {
      execFile(
        'sh',
        [script],
        {
          env: {PATH: `${dir}:/usr/bin:/bin`, [WATCHDOG_IMDS_ENV]: imds.url},
          timeout: 20_000,
        },
        (err, stdout) => resolve({code: err ? ((err as {code?: number}).code ?? 1) : 0, stdout}),
      )
    })
    const powered = await readFile(calls, 'utf8').catch(() => '')
    return {...out, powered}
  }

  const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString()

  it('powers off once the lease has passed (shutdown -h now), reading the tag with an IMDSv2 token', async () => {
    const r = await check(iso(-5 * 60_000))
    expect(r.code).to.equal(0)
    expect(r.powered).to.match(/^shutdown -h now wolphin: lease ended at /)
    expect(r.powered.trim().split('\n')).to.have.length(1)
    expect(r.stdout).to.include('powering off')
    expect(imds.requests).to.deep.equal([
      'PUT /latest/api/token',
      'GET /latest/meta-data/tags/instance/wolphin:expires-at',
    ])
  })

  it('leaves a lease that has not ended alone: an extended lease is read on the next check', async () => {
    expect((await check(iso(-60_000))).powered).to.not.equal('')
    await rm(calls, {force: true})
    // `wolphin extend 1h` moved the tag: the next check reads the new end.
    const r = await check(iso(3_600_000))
    expect(r.powered).to.equal('')
    expect(r.stdout).to.match(/lease ends at .*: 3\d{3}s left/)
  })

  it('does nothing without the tag (404): no lease', async () => {
    const r = await check(null)
    expect(r.powered).to.equal('')
    expect(r.stdout).to.include('no wolphin:expires-at tag')
  })

  for (const bad of [
    'tomorrow',
    '',
    '2020-13-01T00:00:00Z',
    '2020-01-01 00:00:00Z',
    '2020-01-01T00:00:00',
    '2020-01-01T25:00:00Z',
    '1600000000',
    '2020-01-01T00:00:00Z; poweroff',
    '2020-01-01T00:00:00Z\n2020-01-01T00:00:00Z',
  ]) {
    it(`leaves a malformed tag alone: ${JSON.stringify(bad)}`, async () => {
      const r = await check(bad)
      expect(r.powered).to.equal('')
      expect(r.stdout).to.include('not an ISO-8601 instant')
    })
  }

  it('honours the grace: powers off only once lease + grace has passed', async () => {
    expect((await check(iso(-30_000), 120)).powered).to.equal('')
    expect((await check(iso(-200_000), 120)).powered).to.match(/^shutdown -h now/)
  })

  it('reads the instants wolphin reads: offsets, no seconds, fractions', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000)
    const hourAhead = new Date(Date.now() + 3_600_000)
    // The same instants written in other zones.
    const inZone = (d: Date, minutes: number, withColon = true) => {
      const local = new Date(d.getTime() + minutes * 60_000).toISOString().slice(0, 19)
      const sign = minutes < 0 ? '-' : '+'
      const abs = Math.abs(minutes)
      const hh = String(Math.floor(abs / 60)).padStart(2, '0')
      const mm = String(abs % 60).padStart(2, '0')
      return `${local}${sign}${hh}${withColon ? ':' : ''}${mm}`
    }
    expect((await check(inZone(hourAgo, 120))).powered, 'an hour ago, +02:00').to.not.equal('')
    await rm(calls, {force: true})
    expect((await check(inZone(hourAgo, -330, false))).powered, 'an hour ago, -0530').to.not.equal('')
    await rm(calls, {force: true})
    expect((await check(inZone(hourAhead, 330))).powered, 'an hour ahead, +05:30').to.equal('')
    expect((await check(inZone(hourAhead, -480))).powered, 'an hour ahead, -08:00').to.equal('')
    expect((await check(hourAhead.toISOString().slice(0, 16) + 'Z')).powered, 'no seconds').to.equal('')
    // Across a leap day and a year end, months with leading zeros (08, 09 are not octal).
    expect((await check('2024-02-29T08:09:09.500Z')).powered).to.not.equal('')
    await rm(calls, {force: true})
    expect((await check('2099-12-31T23:59:59.999Z')).powered).to.equal('')
  })

  it('computes the time left as JavaScript does, for instants from now to 2099', async () => {
    let seed = 17
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    for (let n = 0; n < 12; n++) {
      const end = Date.now() + 60_000 + Math.floor(rand() * (Date.parse('2099-12-31T00:00:00Z') - Date.now()))
      const r = await check(new Date(end).toISOString())
      expect(r.powered).to.equal('')
      const left = Number(/: (\d+)s left/.exec(r.stdout)?.[1])
      expect(
        Math.abs(left - (end - Date.now()) / 1000),
        `${new Date(end).toISOString()}: ${r.stdout}`,
      ).to.be.below(3)
    }
  })

  it('does nothing when the metadata service gives no token', async () => {
    imds.refuseToken = true
    const r = await check(iso(-3_600_000))
    expect(r.powered).to.equal('')
    expect(r.stdout).to.include('no token')
  })

  it('does nothing when the metadata service does not answer at all (bounded)', async () => {
    const closed = await fakeImds()
    const url = closed.url
    await closed.close()
    const script = path.join(dir, 'check-closed.sh')
    await writeFile(script, watchdogScript(0))
    const started = Date.now()
    const stdout = await new Promise<string>((resolve) =>
      execFile(
        'sh',
        [script],
        {env: {PATH: `${dir}:/usr/bin:/bin`, [WATCHDOG_IMDS_ENV]: url}, timeout: 20_000},
        (_e, out) => resolve(out),
      ),
    )
    expect(stdout).to.include('no token')
    expect(Date.now() - started).to.be.below(15_000)
    expect(await readFile(calls, 'utf8').catch(() => '')).to.equal('')
  })

  it('the installer and the check are valid sh (sh -n, as dash parses them)', async () => {
    for (const [name, text] of [
      ['installer.sh', watchdogInstaller(30)],
      ['check.sh', watchdogScript(30)],
    ]) {
      const file = path.join(dir, name)
      await writeFile(file, text)
      const r = await new Promise<{code: number; stderr: string}>((resolve) =>
        execFile('sh', ['-n', file], (err, _out, stderr) =>
          resolve({code: err ? ((err as {code?: number}).code ?? 1) : 0, stderr}),
        ),
      )
      expect(r, name).to.deep.equal({code: 0, stderr: ''})
    }
  })

  it('the installer writes exactly this check, and schedules it every minute (systemd, else cron)', () => {
    const installer = watchdogInstaller(90)
    const start = installer.indexOf("<<'WOLPHIN_WATCHDOG_EOF'\n") + "<<'WOLPHIN_WATCHDOG_EOF'\n".length
    const end = installer.indexOf('WOLPHIN_WATCHDOG_EOF\n', start)
    expect(installer.slice(start, end)).to.equal(watchdogScript(90))
    expect(watchdogScript(90)).to.include('GRACE=90\n')
    expect(installer).to.include(`cat > ${WATCHDOG_PATH} <<`)
    expect(installer).to.include('OnUnitActiveSec=1min')
    expect(installer).to.include('systemctl daemon-reload && systemctl enable --now wolphin-lease.timer')
    expect(installer).to.include(`'* * * * * root ${WATCHDOG_PATH}' > /etc/cron.d/wolphin-lease`)
    expect(installer).to.include('systemctl enable --now wolphin-lease.timer || cron')
  })
})
