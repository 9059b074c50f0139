import {createHmac, randomBytes} from 'node:crypto'
import {EventEmitter} from 'node:events'
import {chmod, mkdtemp, readFile, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'
import ssh2 from 'ssh2'

import {ConfigError, HostKeyError} from '../../src/errors.js'
import {KnownHostsVerifier, NoVerifier, pinValue, TofuVerifier} from '../../src/exec/host-keys.js'
import {readPrivateKey} from '../../src/exec/keys.js'
import {defaultPinRecordFile, PinRecord} from '../../src/exec/pin-record.js'
import {checkKnownHosts, fingerprint, parseKnownHosts} from '../../src/exec/known-hosts.js'
import {createSshConnector, type SshSettings, UnreachableError} from '../../src/exec/ssh.js'
import type {Target} from '../../src/exec/types.js'
import type {Ec2Port} from '../../src/project/ports.js'
import type {Instance} from '../../src/project/types.js'

/** An SSH public key blob of the given type with random key material. */
function blob(type = 'ssh-ed25519'): Buffer {
  const t = Buffer.from(type)
  const k = randomBytes(32)
  const len = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  return Buffer.concat([len(t.length), t, len(k.length), k])
}

function fakeEc2() {
  const calls: Array<{ids: string[]; tags: Record<string, string>}> = []
  const port = {
    createTags: async (ids: string[], tags: Record<string, string>) => void calls.push({ids, tags}),
  } as unknown as Ec2Port
  return {port, calls}
}

function target(tags: Record<string, string> = {}): Target {
  const instance = {id: 'i-1', name: 'wolphin.p.1', slot: 1, state: 'running', tags} as unknown as Instance
  return {id: 'i-1', name: 'wolphin.p.1', slot: 1, host: '127.0.0.2', port: 2222, instance}
}

describe('exec: host keys', () => {
  it('parses known_hosts: plain, [host]:port, wildcard, negation, hashed, revoked', () => {
    const k1 = blob()
    const k2 = blob()
    const k3 = blob()
    const salt = randomBytes(20)
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[198.51.100.1]:2200').digest('base64')}`
    const text = [
      '# comment',
      `plain.example,127.0.0.2 ssh-ed25519 ${k1.toString('base64')}`,
      `[127.0.0.2]:2222 ssh-ed25519 ${k2.toString('base64')} someone@host`,
      `*.corp,!bad.corp ssh-ed25519 ${k3.toString('base64')}`,
      `${hashed} ssh-ed25519 ${k3.toString('base64')}`,
      `@revoked * ssh-ed25519 ${k1.toString('base64')}`,
      'garbage',
    ].join('\n')
    const e = parseKnownHosts(text)
    expect(e).to.have.length(5)
    expect(checkKnownHosts(e, '127.0.0.2', 2222, k2)).to.equal('match')
    expect(checkKnownHosts(e, '127.0.0.2', 2222, k3)).to.equal('mismatch')
    expect(checkKnownHosts(e, 'a.corp', 22, k3)).to.equal('match')
    expect(checkKnownHosts(e, 'bad.corp', 22, k3)).to.equal('unknown')
    expect(checkKnownHosts(e, '198.51.100.1', 2200, k3)).to.equal('match')
    expect(checkKnownHosts(e, '198.51.100.1', 22, k3)).to.equal('unknown')
    expect(checkKnownHosts(e, 'plain.example', 22, k1)).to.equal('revoked')
  })

  it('known-hosts policy refuses unknown and different keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-kh-'))
    const k = blob()
    const file = path.join(dir, 'known_hosts')
    await writeFile(file, `[127.0.0.2]:2222 ssh-ed25519 ${k.toString('base64')}\n`)
    const v = new KnownHostsVerifier(file)
    const s = {host: '127.0.0.2', port: 2222, label: 'wolphin.p.1'}
    await v.verify(s, k)
    await v.verify(s, blob()).then(
      () => expect.fail('accepted a different key'),
      (e) =>
        expect(e)
          .to.be.instanceOf(HostKeyError)
          .and.have.property('message')
          .match(/does not match/),
    )
    await v.verify({...s, port: 22}, k).then(
      () => expect.fail('accepted an unknown host'),
      (e) => expect(e.message).to.match(/is not in .*known_hosts/),
    )
  })

  it('tofu pins the first key in the instance tag, accepts it later, refuses a changed one', async () => {
    const {port, calls} = fakeEc2()
    const v = new TofuVerifier(async () => port)
    const tags: Record<string, string> = {}
    const s = {host: '127.0.0.2', port: 2222, label: 'wolphin.p.1', instance: {id: 'i-1', tags}}
    const k = blob()
    expect(v.algorithms(s)).to.equal(undefined)
    await v.verify(s, k)
    expect(calls).to.deep.equal([{ids: ['i-1'], tags: {'wolphin:host-key': `ssh-ed25519 ${fingerprint(k)}`}}])
    expect(tags['wolphin:host-key']).to.equal(pinValue(k))
    expect(v.algorithms(s)).to.deep.equal(['ssh-ed25519'])
    // Someone else's later run: the pin comes from the tag.
    const later = new TofuVerifier(async () => port)
    await later.verify({...s, instance: {id: 'i-1', tags: {...tags}}}, k)
    expect(calls).to.have.length(1)
    await later.verify({...s, instance: {id: 'i-1', tags: {...tags}}}, blob()).then(
      () => expect.fail('accepted a changed key'),
      (e) => {
        expect(e).to.be.instanceOf(HostKeyError)
        expect(e.message).to.match(/host key of wolphin\.p\.1 \(\[127\.0\.0\.2\]:2222\) changed/)
        expect(e.message).to.include('delete-tags --resources i-1')
      },
    )
    expect(calls).to.have.length(1)
    await new NoVerifier().verify()
  })

  it('tofu with a local record: a pin rewritten in the tag since this machine last connected is refused', async () => {
    const {port, calls} = fakeEc2()
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-pins-'))
    const file = path.join(dir, 'state', 'host-keys.json')
    const real = blob()
    const impostor = blob()
    const subject = (tags: Record<string, string>) => ({
      host: '127.0.0.2',
      port: 22,
      label: 'wolphin.p.1',
      instance: {id: 'i-1', tags},
    })
    // First use on this machine: pins in the tag and records it locally (mode 0600).
    await new TofuVerifier(async () => port, undefined, undefined, {record: new PinRecord(file)}).verify(
      subject({}),
      real,
    )
    expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal({'i-1': pinValue(real)})
    expect((await stat(file)).mode & 0o777).to.equal(0o600)
    // Someone with CreateTags points the instance at another host and rewrites the pin to match it.
    const v = new TofuVerifier(async () => port, undefined, undefined, {record: new PinRecord(file)})
    const err = await v.verify(subject({'wolphin:host-key': pinValue(impostor)}), impostor).catch((e) => e)
    expect(err).to.be.instanceOf(HostKeyError)
    expect(err.message).to.match(/changed since this machine last connected: recorded "ssh-ed25519 SHA256:/)
    expect(err.message).to.include(file)
    expect(err.message).to.include('--accept-new-host-key')
    // The real key still passes, whatever the tag says is absent.
    await v.verify(subject({'wolphin:host-key': pinValue(real)}), real)
    // Accepted on purpose: the record follows.
    const accept = new TofuVerifier(async () => port, undefined, undefined, {
      record: new PinRecord(file),
      acceptNewHostKey: true,
    })
    await accept.verify(subject({'wolphin:host-key': pinValue(impostor)}), impostor)
    expect(JSON.parse(await readFile(file, 'utf8'))).to.deep.equal({'i-1': pinValue(impostor)})
    // --accept-new-host-key does not override the tag: a key that matches neither is still refused.
    const third = await accept.verify(subject({'wolphin:host-key': pinValue(real)}), blob()).catch((e) => e)
    expect(third).to.be.instanceOf(HostKeyError)
    expect(calls).to.have.length(1)
  })

  it('a pin record that is not JSON counts as empty; many pins recorded at once are all kept', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-pins-'))
    const file = path.join(dir, 'host-keys.json')
    await writeFile(file, 'not json')
    const r = new PinRecord(file)
    expect(await r.get('i-1')).to.equal(undefined)
    await Promise.all(Array.from({length: 20}, (_, i) => r.set(`i-${i}`, `ssh-ed25519 SHA256:${i}`)))
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')))).to.have.length(20)
  })

  it('the default record lives under WOLPHIN_STATE_DIR, else XDG_STATE_HOME, else ~/.local/state', () => {
    const saved = {s: process.env.WOLPHIN_STATE_DIR, x: process.env.XDG_STATE_HOME}
    try {
      process.env.WOLPHIN_STATE_DIR = '/tmp/ws'
      expect(defaultPinRecordFile()).to.equal('/tmp/ws/host-keys.json')
      delete process.env.WOLPHIN_STATE_DIR
      process.env.XDG_STATE_HOME = '/tmp/xdg'
      expect(defaultPinRecordFile()).to.equal('/tmp/xdg/wolphin/host-keys.json')
      delete process.env.XDG_STATE_HOME
      expect(defaultPinRecordFile()).to.equal(path.join(os.homedir(), '.local/state/wolphin/host-keys.json'))
    } finally {
      if (saved.s === undefined) delete process.env.WOLPHIN_STATE_DIR
      else process.env.WOLPHIN_STATE_DIR = saved.s
      if (saved.x === undefined) delete process.env.XDG_STATE_HOME
      else process.env.XDG_STATE_HOME = saved.x
    }
  })

  it('the ssh2 connector wires tofu into hostVerifier: pins, then refuses a changed key as unreachable', async () => {
    const {port, calls} = fakeEc2()
    let offered = blob()
    const seen: Array<Record<string, unknown>> = []
    class FakeClient extends EventEmitter {
      connect(cfg: Record<string, unknown> & {hostVerifier: (k: Buffer, cb: (ok: boolean) => void) => void}) {
        seen.push(cfg)
        cfg.hostVerifier(offered, (ok) =>
          setImmediate(() =>
            ok ? this.emit('ready') : this.emit('error', new Error('Handshake failed: host key rejected')),
          ),
        )
      }
      end() {
        setImmediate(() => this.emit('close'))
      }
    }
    const settings: SshSettings = {
      user: 'ec2-user',
      privateKey: Buffer.from('k'),
      connectTimeoutMs: 1000,
      refusedRetryMs: 0,
      verifier: new TofuVerifier(async () => port),
    }
    const connect = createSshConnector(settings, {Client: FakeClient as never})
    const t = target()
    const s = await connect(t)
    s.close()
    expect(calls).to.have.length(1)
    expect(seen[0]).to.include({host: '127.0.0.2', port: 2222, username: 'ec2-user', readyTimeout: 1000})
    const first = offered
    offered = blob()
    const err = await connect(t).then(
      () => null,
      (e) => e,
    )
    expect(err).to.be.instanceOf(UnreachableError)
    expect(err.hostKey).to.equal(true)
    expect(err.message).to.match(/changed: pinned "ssh-ed25519 SHA256:/)
    expect(t.instance.tags['wolphin:host-key']).to.equal(pinValue(first))
    // The second handshake offered only the pinned key type.
    expect(seen[1].algorithms).to.deep.equal({serverHostKey: ['ssh-ed25519']})
    // A pin anyone allowed to tag wrote, with terminal escapes and a newline: quoted, not obeyed.
    t.instance.tags['wolphin:host-key'] = 'ssh-ed25519 \x1b[31mRED\x1b]0;title\x07\nsecond line'
    const hostile = await connect(t).then(
      () => null,
      (e) => e,
    )
    expect(hostile).to.be.instanceOf(UnreachableError)
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    expect(hostile.message).to.not.match(/[\x00-\x1f\x7f]/)
    expect(hostile.message).to.include('\\u001b[31mRED')
  })

  it('retries "connection refused" while an instance boots, within a bound', async () => {
    let attempts = 0
    class Refusing extends EventEmitter {
      connect(cfg: {hostVerifier: (k: Buffer, cb: (ok: boolean) => void) => void}) {
        attempts++
        setImmediate(() => {
          if (attempts < 3)
            this.emit('error', Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
          else cfg.hostVerifier(blob(), () => this.emit('ready'))
        })
      }
      end() {}
    }
    const base = {user: 'u', privateKey: Buffer.from('k'), connectTimeoutMs: 1000, verifier: new NoVerifier()}
    const ok = createSshConnector({...base, refusedRetryMs: 5000}, {Client: Refusing as never})
    await ok(target())
    expect(attempts).to.equal(3)
    attempts = 0
    const bounded = createSshConnector({...base, refusedRetryMs: 0}, {Client: Refusing as never})
    const err = await bounded(target()).catch((e) => e)
    expect(attempts).to.equal(1)
    expect(err).to.be.instanceOf(UnreachableError)
    expect(err.message).to.equal('127.0.0.2:2222: connection refused')
  })

  it('refuses dialling outside loopback when WOLPHIN_LOOPBACK_ONLY is set', async () => {
    const saved = process.env.WOLPHIN_LOOPBACK_ONLY
    process.env.WOLPHIN_LOOPBACK_ONLY = '1'
    try {
      let dialled = false
      class Never extends EventEmitter {
        connect() {
          dialled = true
        }
        end() {}
      }
      const c = createSshConnector(
        {
          user: 'u',
          privateKey: Buffer.from('k'),
          connectTimeoutMs: 100,
          refusedRetryMs: 0,
          verifier: new NoVerifier(),
        },
        {Client: Never as never},
      )
      const err = await c({...target(), host: '192.0.2.5'}).catch((e) => e)
      expect(dialled).to.equal(false)
      expect(err.message).to.match(/refusing to dial 192\.0\.2\.5/)
    } finally {
      if (saved === undefined) delete process.env.WOLPHIN_LOOPBACK_ONLY
      else process.env.WOLPHIN_LOOPBACK_ONLY = saved
    }
  })
})

describe('exec: private keys', () => {
  it('refuses a key readable by group or others (exit 2), accepts 0600, rejects a public key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-key-'))
    const pair = ssh2.utils.generateKeyPairSync('ed25519')
    const key = path.join(dir, 'id')
    await writeFile(key, pair.private)
    await chmod(key, 0o644)
    const err = await readPrivateKey(key).catch((e) => e)
    expect(err).to.be.instanceOf(ConfigError)
    expect(err.exitCode).to.equal(2)
    expect(err.message).to.match(
      /has permissions 0644; a private key must not be accessible by group or others/,
    )
    await chmod(key, 0o600)
    expect((await readPrivateKey(key)).toString()).to.equal(pair.private)
    const pub = path.join(dir, 'id.pub')
    await writeFile(pub, pair.public, {mode: 0o600})
    expect((await readPrivateKey(pub).catch((e) => e)).message).to.match(/public key/)
    expect((await readPrivateKey(path.join(dir, 'nope')).catch((e) => e)).message).to.match(/no such file/)
  })
})
