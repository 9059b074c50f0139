/**
 * Secrets never appear in output, logs or debug traces: plants an AWS secret key and session
 * token, user data and an SSH private key, runs a set of CLI commands (successes, dry runs, --json,
 * config and validate, exec/put using the key, failures, runs through a fault proxy) with every
 * debug switch on (WOLPHIN_DEBUG, DEBUG=*), and greps every byte they printed.
 */
import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {DescribeInstanceAttributeCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, TEST_AMI, testClient} from '../support/ec2.js'
import {startFaultProxy} from '../support/fault-proxy.js'
import {motoEnv, useMoto} from '../support/moto.js'

const SECRET_KEY = 'wJalrXUtnFEMIK7MDENGbPxRfiCYPLANTEDSECRET1'
const SESSION_TOKEN = 'FwoGZXIvYXdzEPLANTEDSESSIONTOKEN0123456789'
const USER_DATA = '#!/bin/sh\necho PLANTED-USERDATA-c0ffee > /etc/motd\n'

describe('integration: secrets never appear in any output', function () {
  this.timeout(240_000)
  const moto = useMoto()
  let dir: string
  let needles: Array<[string, string]>
  const outputs: Array<{args: string; text: string}> = []

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-secrets-'))
    const key = path.join(dir, 'id_planted')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'planted', '-f', key])
    const keyText = await readFile(key, 'utf8')
    // Every line of the key's body, and user data as written, base64-encoded (as RunInstances
    // sends it) and in pieces.
    const keyLines = keyText.split('\n').filter((l) => l && !l.startsWith('-----'))
    needles = [
      ['AWS_SECRET_ACCESS_KEY', SECRET_KEY],
      ['AWS_SESSION_TOKEN', SESSION_TOKEN],
      ['user data', 'PLANTED-USERDATA-c0ffee'],
      ['user data (base64)', Buffer.from(USER_DATA).toString('base64').slice(0, 24)],
      ...keyLines.map((l, n) => [`private key line ${n + 1}`, l] as [string, string]),
    ]
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      [
        'project: secrets',
        `ami: ${TEST_AMI}`,
        'count: 2',
        'wait: {interval: 0.2, timeout: 30}',
        `userData: ${JSON.stringify(USER_DATA)}`,
        'maxAttempts: 2',
        '',
      ].join('\n'),
    )
    // exec/put (and config) use the key but find no address: nothing is dialled (network rule).
    await writeFile(
      path.join(dir, 'ssh.yaml'),
      `ssh: {key: ${key}, address: "tag:wolphin-test-host", connectTimeout: 2}\n`,
    )
    await writeFile(path.join(dir, 'bad.yaml'), 'project: secrets\ncount: {min: 3, max: 1}\n')
    await writeFile(path.join(dir, 'payload.txt'), 'x\n')
  })

  const run = async (endpoint: string, ...args: string[]) => {
    const env = motoEnv(endpoint, {
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      WOLPHIN_DEBUG: '1',
      DEBUG: '*',
      WOLPHIN_LOOPBACK_ONLY: '1',
    })
    const r = await runCli(args, {cwd: dir, env, timeoutMs: 90_000})
    outputs.push({args: args.join(' '), text: `${r.stdout}\n${r.stderr}`})
    return r
  }

  it('runs the commands (with debug traces on)', async () => {
    const m = moto().endpoint
    const ok = async (...args: string[]) => {
      const r = await run(m, ...args)
      expect(r.code, `${args.join(' ')}: ${r.stderr.slice(-2000)}`).to.equal(0)
    }
    await ok('config')
    await ok('config', '--json')
    await run(m, 'validate')
    await run(m, 'validate', '--json')
    await ok('create', '--dry-run')
    await ok('create', '--dry-run', '--json')
    await ok('create')
    // The planted user data really went to EC2 (so it was in play while the outputs were made).
    const client = testClient(m)
    const mine = (await describeAll(client)).filter((i) => i.tags.ProjectName === 'wolphin.secrets')
    expect(mine).to.have.length(2)
    const attr = await client.send(
      new DescribeInstanceAttributeCommand({InstanceId: mine[0].id, Attribute: 'userData'}),
    )
    expect(Buffer.from(attr.UserData?.Value ?? '', 'base64').toString()).to.equal(USER_DATA)
    await ok('status')
    await ok('status', '--json')
    await ok('stop', '-i', '1', '--json')
    await ok('start', '-i', '1')
    const ssh = ['-c', 'wolphin.yaml', '-c', 'ssh.yaml']
    await ok('config', ...ssh)
    await run(m, 'exec', ...ssh, '--', 'echo', 'hi')
    await run(m, 'exec', ...ssh, '--json', '--', 'echo', 'hi')
    await run(m, 'put', 'payload.txt', 'payload.txt', ...ssh)
    await run(m, 'status', '-c', 'bad.yaml')
    await run(m, 'status', '--bogus')
    // Failures from AWS: every call fails, attempts run out, the error is printed.
    const proxy = await startFaultProxy({target: m, rate: 1, seed: 3, kinds: ['error500', 'throttle']})
    try {
      await run(proxy.endpoint, 'status')
      await run(proxy.endpoint, 'create', '--json')
      await run(proxy.endpoint, 'terminate', '--yes')
    } finally {
      await proxy.stop()
    }
    await ok('terminate', '--yes')
    expect(outputs.length).to.be.greaterThan(15)
  })

  it('no planted secret appears in any of their output', () => {
    const leaks: string[] = []
    for (const o of outputs)
      for (const [what, needle] of needles)
        if (o.text.includes(needle)) leaks.push(`${what} in: wolphin ${o.args}`)
    console.log(
      `    secrets: ${needles.length} planted values, ${outputs.length} runs, ${outputs.reduce((n, o) => n + o.text.length, 0)} bytes of output checked, ${leaks.length} leaks`,
    )
    expect(leaks).to.deep.equal([])
  })
})
