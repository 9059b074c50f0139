import {expect} from 'chai'

import {ConfigError} from '../../src/errors.js'
import {parseHostPort, resolveTarget} from '../../src/exec/address.js'
import {renderConfig, renderKnownHosts, type SshHostEntry} from '../../src/exec/ssh-config.js'
import {isHostAlias, isHostName, isLoginName, sshConfigArg} from '../../src/util/ssh-words.js'
import {testInstance} from '../support/fixtures.js'

const INJECT = "127.0.0.9\n  ProxyCommand sh -c 'id > /tmp/x'\n#"

describe('ssh words: what may reach an ssh_config, known_hosts or ssh command line', () => {
  it('isHostName takes DNS names, IPv4 and IPv6 literals', () => {
    for (const h of [
      'localhost',
      '127.0.0.9',
      '10.0.0.255',
      'ip-10-0-0-1.ec2.internal',
      'ec2-3-4-5-6.compute-1.amazonaws.com',
      'bastion.example.com.',
      'a_b.example',
      '::1',
      'fe80::1',
      '2001:db8::8a2e:370:7334',
      '::ffff:10.0.0.1',
      'x'.repeat(63),
    ])
      expect(isHostName(h), h).to.equal(true)
  })

  it('isHostName refuses whitespace, control characters, %, quotes, a leading "-" and non-addresses', () => {
    for (const h of [
      '',
      INJECT,
      '127.0.0.9\n',
      '127.0.0.9 -oProxyCommand=x',
      'host\tname',
      'host\rname',
      'a\u0000b',
      '-oProxyCommand=id',
      '-host',
      'host-',
      'fe80::1%eth0',
      '%h',
      'a"b',
      "a'b",
      'a`id`',
      'a$(id)',
      'a;b',
      'a|b',
      'a/b',
      'a\\b',
      'a..b',
      '.a',
      'user@host',
      'host:22',
      '[::1]',
      '127.0.0.999',
      '1.2.3',
      '256.1.1.1',
      'x'.repeat(64),
      `${'a.'.repeat(127)}ab`,
      'bäcker.de',
    ])
      expect(isHostName(h), JSON.stringify(h)).to.equal(false)
  })

  it('isLoginName and isHostAlias: plain words, no leading "-"', () => {
    for (const u of ['ec2-user', 'ubuntu', 'a.b_c', 'me@corp.example', 'machine$'])
      expect(isLoginName(u), u).to.equal(true)
    for (const u of ['', '-oX', '@x', 'a b', 'a\nb', 'a"b', "a'b", 'a%b', 'a;b', 'x'.repeat(300)])
      expect(isLoginName(u), JSON.stringify(u)).to.equal(false)
    for (const a of ['wolphin.p.1', 'i-0123abcd', 'web+1']) expect(isHostAlias(a), a).to.equal(true)
    for (const a of ['', '-E', '.x', 'a b', 'a@b', 'a*', 'a?', '!a', 'a\nb', 'a%b'])
      expect(isHostAlias(a), JSON.stringify(a)).to.equal(false)
  })

  it('sshConfigArg quotes what needs it, doubles % where ssh expands tokens, refuses what cannot be carried', () => {
    expect(sshConfigArg('f', '/home/me/.ssh/id')).to.equal('/home/me/.ssh/id')
    expect(sshConfigArg('f', '/home/my dir/id')).to.equal('"/home/my dir/id"')
    expect(sshConfigArg('f', "/a#b'c")).to.equal(`"/a#b'c"`)
    expect(sshConfigArg('f', '/a\\b c')).to.equal('"/a\\\\b c"')
    expect(sshConfigArg('f', '/a%h', {tokens: true})).to.equal('/a%%h')
    for (const bad of ['/a\nProxyCommand id', '/a\rb', '/a"b', '/a\u0000', ''])
      expect(() => sshConfigArg('ssh.key', bad), JSON.stringify(bad)).to.throw(ConfigError, /ssh\.key/)
    expect(() => sshConfigArg('ssh.key', '/a/${HOME}/k', {tokens: true})).to.throw(ConfigError, /environment/)
  })

  it('an address tag or an EC2 field that is not a host makes the instance unreachable, with one line', () => {
    const i = (tags: Record<string, string>, over = {}) =>
      testInstance({id: 'i-1', state: 'running', name: 'wolphin.p.1', slot: 1, tags, ...over})
    const r = resolveTarget(i({addr: INJECT}), 'tag:addr', 22)
    expect(r).to.be.a('string')
    expect(r as string).to.not.include('\n')
    expect(r).to.match(/^tag addr is "127\.0\.0\.9\\n {2}ProxyCommand .*", expected host or host:port$/)
    expect(resolveTarget(i({addr: '-oProxyCommand=id'}), 'tag:addr', 22)).to.be.a('string')
    expect(resolveTarget(i({addr: '[fe80::1%25eth0]:22'}), 'tag:addr', 22)).to.be.a('string')
    expect(resolveTarget(i({}, {publicIp: 'x y'}), 'public-ip', 22)).to.match(
      /public IP "x y" is not a host name/,
    )
    expect(resolveTarget(i({addr: '127.0.0.9:2222'}), 'tag:addr', 22)).to.include({
      host: '127.0.0.9',
      port: 2222,
    })
    expect(parseHostPort('[::1]:2200', 22)).to.deep.equal({host: '::1', port: 2200})
    expect(parseHostPort('::1', 22)).to.deep.equal({host: '::1', port: 22})
    expect(parseHostPort('a b:22', 22)).to.equal(null)
  })

  describe('the ssh_config writer', () => {
    const entry = (over: Partial<SshHostEntry> = {}): SshHostEntry => ({
      alias: 'wolphin.p.1',
      id: 'i-1',
      slot: 1,
      hostName: '127.0.0.9',
      port: 22,
      user: 'ec2-user',
      identityFile: '/home/me/k',
      proxyJump: null,
      hostKey: null,
      ...over,
    })
    const bastion = {
      alias: 'wolphin.p.bastion',
      hostName: '127.0.0.8',
      port: 22,
      user: 'ec2-user',
      identityFile: null,
      knownHostsFile: null,
    }

    it('writes plain values as they are and quotes paths with spaces', () => {
      const text = renderConfig(
        'p',
        [entry({identityFile: '/home/my keys/k%1'})],
        bastion,
        '/tmp/kh dir/known_hosts',
      )
      expect(text).to.include('Host wolphin.p.1\n  HostName 127.0.0.9\n  Port 22\n  User ec2-user\n')
      expect(text).to.include('  IdentityFile "/home/my keys/k%%1"\n')
      expect(text).to.include('  UserKnownHostsFile "/tmp/kh dir/known_hosts"\n')
    })

    const hostile: Array<[string, () => string]> = [
      ['HostName', () => renderConfig('p', [entry({hostName: INJECT})], null, null)],
      ['bastion HostName', () => renderConfig('p', [entry()], {...bastion, hostName: INJECT}, null)],
      ['User', () => renderConfig('p', [entry({user: 'u\n  ProxyCommand id'})], null, null)],
      ['bastion User', () => renderConfig('p', [entry()], {...bastion, user: 'u\nProxyCommand id'}, null)],
      ['IdentityFile', () => renderConfig('p', [entry({identityFile: '/k\n  ProxyCommand id'})], null, null)],
      [
        'IdentityFile quote',
        () => renderConfig('p', [entry({identityFile: '/k" ProxyCommand "id'})], null, null),
      ],
      [
        'bastion IdentityFile',
        () => renderConfig('p', [entry()], {...bastion, identityFile: '/k\nProxyCommand id'}, null),
      ],
      ['UserKnownHostsFile', () => renderConfig('p', [entry()], null, '/kh\n  ProxyCommand id')],
      [
        'bastion known_hosts',
        () => renderConfig('p', [entry()], {...bastion, knownHostsFile: '/kh\rProxyCommand id'}, null),
      ],
      ['Port', () => renderConfig('p', [entry({port: Number.NaN})], null, null)],
      ['Host alias', () => renderConfig('p', [entry({alias: 'x\n  ProxyCommand id'})], null, null)],
      ['Host alias option', () => renderConfig('p', [entry({alias: '-oProxyCommand=id'})], null, null)],
      ['ProxyJump', () => renderConfig('p', [entry({proxyJump: 'b\n  ProxyCommand id'})], null, null)],
      ['project', () => renderConfig('p\nProxyCommand id', [entry()], null, null)],
      [
        'known_hosts type',
        () => renderKnownHosts([entry({hostKey: 'ssh-ed25519\n@cert-authority * AAAA AAAA'})]),
      ],
      ['known_hosts extra word', () => renderKnownHosts([entry({hostKey: 'a b c'})])],
    ]
    for (const [what, render] of hostile)
      it(`refuses a hostile ${what} (a ConfigError, nothing written)`, () => {
        expect(render).to.throw(ConfigError)
      })

    it('writes known_hosts lines for plain keys', () => {
      expect(renderKnownHosts([entry({hostKey: 'ssh-ed25519 AAAAC3Nz'}), entry({alias: 'b'})])).to.equal(
        'wolphin.p.1 ssh-ed25519 AAAAC3Nz\n',
      )
    })
  })
})
