import {randomBytes} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {Writable} from 'node:stream'

import {expect} from 'chai'

import {parseHostPort, resolveTarget} from '../../src/exec/address.js'
import {LineSplitter, MemoryCapture, Utf8Check} from '../../src/exec/output.js'
import {pool} from '../../src/util/async.js'
import type {Connector, SshSession} from '../../src/exec/ssh.js'
import {UnreachableError} from '../../src/exec/ssh.js'
import {runSsh} from '../../src/exec/ssh-runner.js'
import {
  aggregateExitCode,
  type ExecEvent,
  summarize,
  summaryLine,
  type Target,
  type TargetResult,
} from '../../src/exec/types.js'
import type {Instance} from '../../src/project/types.js'
import {createExecOutput, HOLD_LINE} from '../../src/ui/exec-output.js'
import {testInstance} from '../support/fixtures.js'

function instance(slot: number, tags: Record<string, string> = {}): Instance {
  return testInstance({
    id: `i-${slot}`,
    name: `wolphin.p.${slot}`,
    slot,
    state: 'running',
    publicIp: `203.0.113.${slot}`,
    privateIp: `198.51.100.${slot}`,
    privateDns: `ip-198-51-100-${slot}.ec2.internal`,
    tags,
  })
}

const target = (slot: number): Target => ({
  id: `i-${slot}`,
  name: `wolphin.p.${slot}`,
  slot,
  host: `127.0.0.${slot + 1}`,
  port: 22,
  instance: instance(slot),
})

interface Script {
  /** ms before the command finishes */
  delay?: number
  exitCode?: number | null
  signal?: string | null
  out?: string[]
  err?: string[]
  hang?: boolean
  unreachable?: string
}

/** A connector whose sessions follow a script per target, recording concurrency. */
function stubConnector(scripts: Record<string, Script>) {
  const stats = {inFlight: 0, maxInFlight: 0, finished: [] as string[], closed: 0}
  const connector: Connector = async (t) => {
    const s = scripts[t.id] ?? {}
    if (s.unreachable) throw new UnreachableError(s.unreachable)
    stats.inFlight++
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
    const session: SshSession = {
      client: new EventEmitter() as never,
      close: () => {
        stats.inFlight--
        stats.closed++
      },
      sftp: async () => {
        throw new Error('no sftp in this stub')
      },
      exec: (_cmd, io) =>
        new Promise((resolve) => {
          for (const o of s.out ?? []) io.onData('stdout', Buffer.from(o))
          for (const e of s.err ?? []) io.onData('stderr', Buffer.from(e))
          if (s.hang) {
            io.signal?.addEventListener('abort', () => resolve({exitCode: null, signal: null}))
            return
          }
          setTimeout(() => {
            stats.finished.push(t.id)
            resolve({exitCode: s.exitCode === undefined ? 0 : s.exitCode, signal: s.signal ?? null})
          }, s.delay ?? 0)
        }),
    }
    return session
  }
  return {connector, stats}
}

describe('exec: SSH runner (ssh2 stubbed)', () => {
  it('keeps results in target order whatever the completion order', async () => {
    const targets = [1, 2, 3, 4].map(target)
    const {connector, stats} = stubConnector({
      'i-1': {delay: 60, out: ['one\n']},
      'i-2': {delay: 5, out: ['two\n']},
      'i-3': {delay: 30, out: ['three\n']},
      'i-4': {delay: 0, out: ['four\n']},
    })
    const results = await runSsh(targets, 'x', connector, {concurrency: 4})
    expect(stats.finished).to.not.deep.equal(['i-1', 'i-2', 'i-3', 'i-4'])
    expect(results.map((r) => [r.id, r.stdout, r.status])).to.deep.equal([
      ['i-1', 'one\n', 'ok'],
      ['i-2', 'two\n', 'ok'],
      ['i-3', 'three\n', 'ok'],
      ['i-4', 'four\n', 'ok'],
    ])
    expect(stats.closed).to.equal(4)
  })

  it('honours the concurrency limit', async () => {
    const targets = Array.from({length: 12}, (_, i) => target(i + 1))
    const scripts = Object.fromEntries(targets.map((t, i) => [t.id, {delay: 10 + (i % 3) * 5}]))
    const {connector, stats} = stubConnector(scripts)
    const results = await runSsh(targets, 'x', connector, {concurrency: 3})
    expect(results).to.have.length(12)
    expect(stats.maxInFlight).to.equal(3)
    const one = stubConnector(scripts)
    await runSsh(targets, 'x', one.connector, {concurrency: 1})
    expect(one.stats.maxInFlight).to.equal(1)
  })

  it('times a hanging command out: failed, no exit code, the rest unaffected', async () => {
    const {connector} = stubConnector({'i-1': {hang: true, out: ['started\n']}, 'i-2': {delay: 5}})
    const t0 = Date.now()
    const results = await runSsh([target(1), target(2)], 'x', connector, {concurrency: 2, timeoutMs: 80})
    expect(Date.now() - t0).to.be.below(2000)
    expect(results[0]).to.include({
      status: 'failed',
      exitCode: null,
      error: 'timed out after 0.08s',
      stdout: 'started\n',
    })
    expect(results[1]).to.include({status: 'ok', exitCode: 0})
  })

  it('classifies exit codes, signals and unreachable hosts, and aggregates the exit code', async () => {
    const {connector} = stubConnector({
      'i-1': {exitCode: 0},
      'i-2': {exitCode: 5, err: ['boom\n']},
      'i-3': {exitCode: null, signal: 'KILL'},
      'i-4': {unreachable: '127.0.0.5:22: connection refused'},
    })
    const results = await runSsh([1, 2, 3, 4].map(target), 'x', connector, {concurrency: 4})
    expect(results.map((r) => [r.status, r.exitCode, r.signal, r.error])).to.deep.equal([
      ['ok', 0, null, null],
      ['failed', 5, null, null],
      ['failed', null, 'KILL', 'killed by signal KILL'],
      ['unreachable', null, null, '127.0.0.5:22: connection refused'],
    ])
    expect(results[1].stderr).to.equal('boom\n')
    expect(summarize(results)).to.deep.equal({ok: 1, failed: 2, unreachable: 1, skipped: 0})
    expect(summaryLine(summarize(results))).to.equal('1 ok, 2 failed, 1 unreachable')
    expect(aggregateExitCode(results)).to.equal(3)
  })

  it('exit code: 0 when all succeed, the remote code with one target, 3 otherwise', () => {
    const r = (status: TargetResult['status'], exitCode: number | null) =>
      ({status, exitCode}) as TargetResult
    expect(aggregateExitCode([r('ok', 0), r('ok', 0)])).to.equal(0)
    expect(aggregateExitCode([r('failed', 7)])).to.equal(7)
    expect(aggregateExitCode([r('failed', 2)])).to.equal(2)
    expect(aggregateExitCode([r('unreachable', null)])).to.equal(3)
    expect(aggregateExitCode([r('failed', null)])).to.equal(3)
    expect(aggregateExitCode([r('ok', 0), r('failed', 7)])).to.equal(3)
  })

  it('--fail-fast starts nothing after the first failure', async () => {
    const {connector, stats} = stubConnector({'i-2': {exitCode: 1}})
    const results = await runSsh([1, 2, 3, 4].map(target), 'x', connector, {concurrency: 1, failFast: true})
    expect(results.map((r) => r.status)).to.deep.equal(['ok', 'failed', 'skipped', 'skipped'])
    expect(stats.closed).to.equal(2)
  })

  it('emits start, line (per stream, split on newlines) and done events', async () => {
    const events: ExecEvent[] = []
    const {connector} = stubConnector({'i-1': {out: ['a\nb', 'c\n', 'tail'], err: ['e1\n']}})
    await runSsh([target(1)], 'x', connector, {concurrency: 1, onEvent: (e) => events.push(e)})
    expect(events.map((e) => (e.type === 'line' ? `${e.stream}:${e.line}` : e.type))).to.deep.equal([
      'start',
      'stdout:a',
      'stdout:bc',
      'stderr:e1',
      'stdout:tail',
      'done',
    ])
  })
})

/** A Writable that keeps what it is given; `slow` makes it report full after each write. */
function collector(opts: {highWaterMark?: number; slow?: boolean} = {}) {
  const chunks: Buffer[] = []
  const w = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk)
      if (opts.slow) setImmediate(cb)
      else cb()
    },
  })
  return {w, text: () => Buffer.concat(chunks).toString('utf8'), bytes: () => Buffer.concat(chunks)}
}

const res = (t: {id: string; name: string; slot: number}, exitCode: number) =>
  ({
    ...t,
    status: exitCode ? 'failed' : 'ok',
    exitCode,
    signal: null,
    stdout: null,
    stderr: null,
    durationMs: 1500,
    error: null,
  }) as TargetResult

describe('exec: output', () => {
  it('splits lines linearly across chunks; multi-byte characters and CR LF survive in the capture', async () => {
    const lines: string[] = []
    const s = new LineSplitter((l) => lines.push(l.toString('utf8')))
    const snow = Buffer.from('☃\n')
    s.push(Buffer.concat([Buffer.from('x'), snow.subarray(0, 1)]))
    s.push(snow.subarray(1))
    s.push(Buffer.from('crlf\r\nlast'))
    s.end()
    expect(lines).to.deep.equal(['x☃', 'crlf\r', 'last'])
    const events: ExecEvent[] = []
    const cap = new MemoryCapture((e) => events.push(e))
    const t = {id: 'i-1', name: 'a', slot: 1}
    cap.write(t, 'stdout', Buffer.from('crlf\r\nok'))
    cap.write(t, 'stderr', Buffer.from([0xff, 0x00, 0x0a]))
    await cap.end(t)
    expect(events.map((e) => e.type === 'line' && e.line)).to.deep.equal(['crlf', '\ufffd\u0000', 'ok'])
    expect(cap.take(t)).to.deep.equal({stdout: 'crlf\r\nok', stderr: null, stderrBase64: '/wAK'})
  })

  it('a 100 MB line in 32 KiB chunks is split in linear time', () => {
    let got = 0
    const s = new LineSplitter((l) => (got += l.length))
    const chunk = Buffer.alloc(32 * 1024, 0x61)
    const t0 = performance.now()
    for (let i = 0; i < 3200; i++) s.push(chunk)
    s.end()
    expect(got).to.equal(3200 * 32 * 1024)
    expect(performance.now() - t0).to.be.below(2000)
  })

  it('tells valid from invalid UTF-8 however the chunks cut the characters', () => {
    const text = Buffer.from('añ☃😀z'.repeat(3))
    for (let cut = 1; cut < text.length; cut++) {
      const c = new Utf8Check()
      c.push(text.subarray(0, cut))
      c.push(text.subarray(cut))
      expect(c.valid, `cut at ${cut}`).to.equal(true)
      const bad = new Utf8Check()
      bad.push(text.subarray(0, cut))
      if (cut < text.length - 1) expect(bad.valid || cut > 0).to.equal(true)
    }
    for (const b of [[0xff], [0xe2, 0x98], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0x80]]) {
      const c = new Utf8Check()
      c.push(Buffer.from(b))
      expect(c.valid, Buffer.from(b).toString('hex')).to.equal(false)
    }
  })

  it('prefixes each line with the padded instance Name, bytes unchanged, lines of instances never mixed', async () => {
    const out = collector()
    const err = collector()
    const o = createExecOutput({
      mode: 'stream',
      colour: {stdout: false, stderr: true},
      out: {stdout: out.w, stderr: err.w},
    })
    const t1 = {id: 'i-1', name: 'wolphin.p.1', slot: 1}
    const t10 = {id: 'i-10', name: 'wolphin.p.10', slot: 10}
    o.onEvent({type: 'targets', targets: [t1, t10]})
    await o.sink.write(t1, 'stdout', Buffer.from('hel'))
    await o.sink.write(t10, 'stdout', Buffer.from([...Buffer.from('world\r\n'), 0xff]))
    await o.sink.write(t1, 'stdout', Buffer.from('lo\nsecond'))
    await o.sink.write(t1, 'stderr', Buffer.from('warn\n'))
    await o.sink.end(t1, res(t1, 0))
    await o.sink.end(t10, res(t10, 0))
    await new Promise((r) => setImmediate(r))
    expect(out.bytes()).to.deep.equal(
      Buffer.concat([
        Buffer.from('wolphin.p.10 | world\r\nwolphin.p.1  | hello\nwolphin.p.1  | second\nwolphin.p.10 | '),
        Buffer.from([0xff, 0x0a]),
      ]),
    )
    const ESC = String.fromCharCode(27)
    expect(err.text().startsWith(`${ESC}[`)).to.equal(true)
    expect(err.text().endsWith(`wolphin.p.1  |${ESC}[0m warn\n`)).to.equal(true)
  })

  it('prefixes every line exactly, for short, long and mixed lines cut into chunks anywhere', async () => {
    // Lines of 0 to 3000 bytes (the writer copies short and long lines by different paths), random
    // bytes but for the newlines, cut into chunks of 1 byte to 64 KiB.
    const lines: Buffer[] = []
    for (let i = 0; i < 3000; i++) {
      const len = [0, 1, 7, 31, 95, 300, 3000][i % 7] + (i % 5)
      const l = randomBytes(len)
      for (let k = 0; k < l.length; k++) if (l[k] === 10) l[k] = 11
      lines.push(l)
    }
    const data = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
    for (const maxCut of [1, 40, 700, 33_000, 65_536]) {
      const out = collector()
      const o = createExecOutput({
        mode: 'stream',
        colour: {stdout: false, stderr: false},
        out: {stdout: out.w, stderr: collector().w},
      })
      const t = {id: 'i-1', name: 'wolphin.p.1', slot: 1}
      o.onEvent({type: 'targets', targets: [t]})
      let seed = maxCut
      for (let at = 0; at < data.length;) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        const next = Math.min(data.length, at + 1 + (seed % maxCut))
        await o.sink.write(t, 'stdout', data.subarray(at, next))
        at = next
      }
      await o.sink.end(t, res(t, 0))
      await new Promise((r) => setImmediate(r))
      const want = Buffer.concat(lines.flatMap((l) => [Buffer.from('wolphin.p.1 | '), l, Buffer.from('\n')]))
      expect(out.bytes().equals(want), `chunks up to ${maxCut} bytes`).to.equal(true)
    }
  })

  it('a line longer than the hold limit is streamed, the other instances wait for its end', async () => {
    const out = collector()
    const o = createExecOutput({
      mode: 'stream',
      colour: {stdout: false, stderr: false},
      out: {stdout: out.w, stderr: out.w},
    })
    const a = {id: 'i-1', name: 'a', slot: 1}
    const b = {id: 'i-2', name: 'b', slot: 2}
    o.onEvent({type: 'targets', targets: [a, b]})
    const long = Buffer.alloc(HOLD_LINE + 10, 0x78)
    await o.sink.write(a, 'stdout', long)
    const waited = o.sink.write(b, 'stdout', Buffer.from('b1\n'))
    expect(waited).to.not.equal(true)
    await o.sink.write(a, 'stdout', Buffer.from('end\n'))
    await waited
    await new Promise((r) => setImmediate(r))
    expect(out.text()).to.equal(`a | ${'x'.repeat(HOLD_LINE + 10)}end\nb | b1\n`)
  })

  it('--no-prefix on one instance passes the bytes through as they come', async () => {
    const out = collector()
    const o = createExecOutput({
      mode: 'stream',
      prefix: false,
      colour: {stdout: false, stderr: false},
      out: {stdout: out.w, stderr: out.w},
    })
    const a = {id: 'i-1', name: 'a', slot: 1}
    o.onEvent({type: 'targets', targets: [a]})
    const bytes = randomBytes(100_000)
    for (let i = 0; i < bytes.length; i += 7000) await o.sink.write(a, 'stdout', bytes.subarray(i, i + 7000))
    await o.sink.end(a, res(a, 0))
    await new Promise((r) => setImmediate(r))
    expect(out.bytes().equals(bytes)).to.equal(true)
  })

  it('reports a full stdout: the write returns a promise that settles on drain', async () => {
    const out = collector({highWaterMark: 1024, slow: true})
    const o = createExecOutput({
      mode: 'stream',
      colour: {stdout: false, stderr: false},
      out: {stdout: out.w, stderr: out.w},
    })
    const a = {id: 'i-1', name: 'a', slot: 1}
    o.onEvent({type: 'targets', targets: [a]})
    const d = o.sink.write(a, 'stdout', Buffer.alloc(4096, 0x0a))
    expect(d).to.be.instanceOf(Promise)
    await d
  })

  it('--group prints one block per instance when it finishes', async () => {
    const out = collector()
    const err = collector()
    const o = createExecOutput({
      mode: 'group',
      colour: {stdout: false, stderr: false},
      out: {stdout: out.w, stderr: err.w},
    })
    const a = {id: 'i-1', name: 'a', slot: 1}
    const b = {id: 'i-2', name: 'b', slot: 2}
    await o.sink.write(a, 'stdout', Buffer.from('a1\n'))
    await o.sink.write(b, 'stdout', Buffer.from('b1'))
    await o.sink.write(a, 'stderr', Buffer.from('a2\n'))
    await o.sink.end(b, res(b, 0))
    await o.sink.end(a, res(a, 4))
    await o.close()
    await new Promise((r) => setImmediate(r))
    expect(out.text()).to.equal('── b (ok, exit 0, 1.50s)\nb1\n── a (failed: exit 4, 1.50s)\na1\n')
    expect(err.text()).to.equal('a2\n')
  })
})

describe('exec: addresses', () => {
  it('parses host[:port]', () => {
    expect(parseHostPort('127.0.0.2:2222', 22)).to.deep.equal({host: '127.0.0.2', port: 2222})
    expect(parseHostPort('h.example', 22)).to.deep.equal({host: 'h.example', port: 22})
    expect(parseHostPort('[::1]:2200', 22)).to.deep.equal({host: '::1', port: 2200})
    expect(parseHostPort('::1', 22)).to.deep.equal({host: '::1', port: 22})
    expect(parseHostPort('h:99999', 22)).to.equal(null)
    expect(parseHostPort('h:x', 22)).to.equal(null)
  })

  it('picks the address ssh.address names', () => {
    const i = instance(3, {'test.addr': '127.0.0.9:2022', bad: 'a:b'})
    const pick = (a: string) => {
      const t = resolveTarget(i, a, 22)
      return typeof t === 'string' ? t : `${t.host}:${t.port}`
    }
    expect(pick('public-ip')).to.equal('203.0.113.3:22')
    expect(pick('private-ip')).to.equal('198.51.100.3:22')
    expect(pick('private-dns')).to.equal('ip-198-51-100-3.ec2.internal:22')
    expect(pick('public-dns')).to.match(/no public DNS name/)
    expect(pick('tag:test.addr')).to.equal('127.0.0.9:2022')
    expect(pick('tag:missing')).to.match(/no tag missing/)
    expect(pick('tag:bad')).to.match(/expected host or host:port/)
  })
})

describe('exec: pool', () => {
  it('runs everything once, in order of results, bounded', async () => {
    let inFlight = 0
    let max = 0
    const out = await pool([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++
      max = Math.max(max, inFlight)
      await new Promise((r) => setTimeout(r, n * 3))
      inFlight--
      return n * 10
    })
    expect(out).to.deep.equal([50, 10, 40, 20, 30])
    expect(max).to.equal(2)
  })
})
