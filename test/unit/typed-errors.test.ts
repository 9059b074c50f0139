/**
 * Typed errors all the way: each failure surfaces as its own WolphinError subclass with a stable
 * code, and no decision anywhere is taken on the text of a message.
 */
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'
import ssh2 from 'ssh2'

import {EC2Client, DescribeInstancesCommand} from '@aws-sdk/client-ec2'

import {boundCalls} from '../../src/aws/client.js'
import {loadConfig} from '../../src/config/load.js'
import {fleetSettings} from '../../src/config/regions.js'
import {
  ConfigError,
  CredentialsError,
  HostKeyError,
  WaitTimeoutError,
  WolphinError,
} from '../../src/errors.js'
import {isEncryptedKey} from '../../src/exec/keys.js'
import {UnreachableError} from '../../src/exec/ssh.js'
import {waitForSsh} from '../../src/exec/wait.js'
import {testConfig, testInstance} from '../support/fixtures.js'

const config = testConfig({ssh: {address: 'public-ip'} as never, wait: {timeout: 1, interval: 0.01}})
const instance = testInstance({
  id: 'i-1',
  name: 'wolphin.p.1',
  slot: 1,
  state: 'running',
  publicIp: '127.0.0.1',
})

describe('typed errors', () => {
  it('waitForSsh: a refused host key is a HostKeyError (HOST_KEY_REJECTED), at once, not a wait timeout', async () => {
    let tries = 0
    const connector = async () => {
      tries++
      throw new UnreachableError(
        'host key of wolphin.p.1 (127.0.0.1) does not match the pinned key; refusing',
        true,
      )
    }
    const err = await waitForSsh([instance], config, undefined, {connector}).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).to.be.instanceOf(HostKeyError)
    expect(err).to.not.be.instanceOf(WaitTimeoutError)
    expect((err as HostKeyError).code).to.equal('HOST_KEY_REJECTED')
    expect(tries).to.equal(1)
  })

  it('waitForSsh: a host that never answers is still a WaitTimeoutError (WAIT_TIMEOUT)', async () => {
    const connector = async () => {
      throw new UnreachableError('connection refused')
    }
    const err = await waitForSsh([instance], config, undefined, {
      connector,
      timeoutMs: 50,
      intervalMs: 10,
    }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).to.be.instanceOf(WaitTimeoutError)
    expect((err as WaitTimeoutError).code).to.equal('WAIT_TIMEOUT')
  })

  describe('an AWS call that cannot start: told by the client, not by the text of the error', () => {
    const opts = {timeouts: {connect: 1, request: 1, total: 5}}
    const saved = {...process.env}
    beforeEach(() => {
      for (const k of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE'])
        delete process.env[k]
      process.env.AWS_CONFIG_FILE = '/nonexistent/wolphin-test-config'
      process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/wolphin-test-credentials'
    })
    afterEach(() => {
      process.env = {...saved}
    })
    const fails = (client: EC2Client) =>
      boundCalls(client, 'EC2', opts)
        .send(new DescribeInstancesCommand({}))
        .then(
          () => null,
          (e: unknown) => e,
        )

    it('no region anywhere: ConfigError (CONFIG_INVALID, exit 2)', async () => {
      const err = await fails(new EC2Client({credentials: {accessKeyId: 'a', secretAccessKey: 'b'}}))
      expect(err).to.be.instanceOf(ConfigError)
      expect((err as ConfigError).exitCode).to.equal(2)
    })

    it('credentials that cannot be loaded, whatever the error says: CredentialsError', async () => {
      const err = await fails(
        new EC2Client({
          region: 'us-east-1',
          credentials: async () => {
            throw new Error('something unrelated to the words of the old regex')
          },
        }),
      )
      expect(err).to.be.instanceOf(CredentialsError)
      expect((err as CredentialsError).code).to.equal('CREDENTIALS_MISSING')
    })

    it('a client with region and credentials fails with its own error (control)', async () => {
      const client = new EC2Client({
        region: 'us-east-1',
        credentials: {accessKeyId: 'a', secretAccessKey: 'b'},
      })
      client.send = (async () => {
        throw Object.assign(new Error('Could not load credentials: Region is missing'), {name: 'Boom'})
      }) as never
      const err = await fails(client)
      expect(err).to.not.be.instanceOf(WolphinError)
      expect((err as Error).name).to.equal('Boom')
    })
  })

  describe('config problems are typed: fleetSettings acts on ConfigError.problem, not its message', () => {
    let dir: string
    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-typed-'))
    })
    afterEach(() => rm(dir, {recursive: true, force: true}))
    const env = {AWS_REGION: 'eu-west-3'}

    it('no config: problem "not-found"; ls/reap fall back to AWS_REGION', async () => {
      const err = await loadConfig({cwd: dir}).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(ConfigError)
      expect(err).to.include({problem: 'not-found'})
      expect((await fleetSettings({cwd: dir, env})).regions).to.deep.equal(['eu-west-3'])
    })

    it('a config without project: problem "missing-field", field "project"; ls/reap use AWS_REGION', async () => {
      await writeFile(path.join(dir, 'wolphin.yaml'), 'region: us-west-2\n')
      const err = await loadConfig({cwd: dir}).catch((e: unknown) => e)
      expect(err).to.include({problem: 'missing-field', field: 'project'})
      expect((await fleetSettings({cwd: dir, env})).regions).to.deep.equal(['eu-west-3'])
    })

    it('a broken config is still an error for ls/reap, whatever its message says', async () => {
      await writeFile(path.join(dir, 'wolphin.yaml'), 'project: p\ncount: "no config found"\n')
      const err = await fleetSettings({cwd: dir, env}).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(ConfigError)
      expect(err).to.include({problem: 'invalid'})
    })
  })

  it('a passphrase-protected key is told by its format (PEM, PKCS#8, OpenSSH), not by a parser message', () => {
    const pem = (type: 'pkcs1' | 'pkcs8', passphrase?: string) =>
      generateKeyPairSync('rsa', {
        modulusLength: 1024,
        publicKeyEncoding: {type: 'spki', format: 'pem'},
        privateKeyEncoding: passphrase
          ? {type, format: 'pem', cipher: 'aes-128-cbc', passphrase}
          : {type, format: 'pem'},
      }).privateKey
    const openssh = (passphrase?: string) =>
      (passphrase
        ? ssh2.utils.generateKeyPairSync('ed25519', {passphrase, cipher: 'aes256-ctr', rounds: 16})
        : ssh2.utils.generateKeyPairSync('ed25519')
      ).private
    expect(isEncryptedKey(Buffer.from(pem('pkcs1', 'secret1')))).to.equal(true)
    expect(isEncryptedKey(Buffer.from(pem('pkcs8', 'secret1')))).to.equal(true)
    expect(isEncryptedKey(Buffer.from(openssh('secret1')))).to.equal(true)
    expect(isEncryptedKey(Buffer.from(pem('pkcs1')))).to.equal(false)
    expect(isEncryptedKey(Buffer.from(openssh()))).to.equal(false)
    expect(isEncryptedKey(Buffer.from('passphrase encrypted, but not a key'))).to.equal(false)
  })
})
