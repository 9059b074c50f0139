import http from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {motoEnv} from '../support/moto.js'

/**
 * Every bad config exits 2 with one line naming the file and field, and makes no AWS call: the
 * endpoint is a loopback server that counts every request it gets.
 */
describe('integration: bad configs make no AWS call', function () {
  this.timeout(60_000)
  let server: http.Server
  let requests = 0
  let env: Record<string, string>
  let dir: string

  before(async () => {
    server = http.createServer((req, res) => {
      requests++
      res.writeHead(500).end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    env = motoEnv(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bad-'))
  })
  after(() => new Promise<void>((r) => server.close(() => r())))

  const ok = 'project: p\nami: ami-12345678\n'
  const table: Array<[string, string, string[], RegExp]> = [
    [
      'min > max',
      ok + 'count: {min: 3, max: 1}\n',
      ['create'],
      /^wolphin: error: bad\.yaml: field "count": min \(3\) is greater than max \(1\)/,
    ],
    [
      'min < 1',
      ok + 'count: {min: 0, max: 1}\n',
      ['create'],
      /^wolphin: error: bad\.yaml: field "count\.min": expected min >= 1/,
    ],
    [
      'unknown field',
      ok + 'colour: blue\n',
      ['status'],
      /^wolphin: error: bad\.yaml: unknown field "colour"/,
    ],
    [
      'wrong type',
      ok + 'imdsv2: sometimes\n',
      ['status'],
      /^wolphin: error: bad\.yaml: field "imdsv2": .*expected boolean/i,
    ],
    [
      'missing ami for create',
      'project: p\n',
      ['create'],
      /^wolphin: error: bad\.yaml: field "ami" is required to launch instances/,
    ],
    [
      'malformed YAML',
      'project: p\ncount: {min: 1\n',
      ['status'],
      /^wolphin: error: bad\.yaml: malformed YAML/,
    ],
    [
      'unreadable file',
      '',
      ['status', '-c', 'missing.yaml'],
      /^wolphin: error: missing\.yaml: cannot read config file \(no such file\)/,
    ],
  ]
  for (const [name, text, args, re] of table) {
    it(`${name}: exit 2, one line, zero requests`, async () => {
      await writeFile(path.join(dir, 'bad.yaml'), text)
      const before0 = requests
      const full = args.includes('-c') ? args : [...args, '-c', 'bad.yaml']
      const r = await runCli(full, {cwd: dir, env})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr.trimEnd().split('\n')).to.have.length(1)
      expect(r.stderr).to.match(re)
      expect(r.stdout).to.equal('')
      expect(requests - before0).to.equal(0)
      const j = await runCli([...full, '--json'], {cwd: dir, env})
      expect(j.code).to.equal(2)
      expect(j.json().error.exitCode).to.equal(2)
      expect(requests - before0).to.equal(0)
    })
  }
})
