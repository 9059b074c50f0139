/**
 * Every AWS client wolphin builds honours the profile, the region, the endpoint and the time
 * limits (issue 16 §1: the SSH wait's own EC2 client once dropped --profile). Each factory of
 * src/aws (and a Project's port) makes one call against a local server that records the request:
 * the signature names the profile's access key and the region, and the request reached the
 * endpoint of AWS_ENDPOINT_URL. Against a server that never answers, the call ends within the
 * configured time limits. No client is constructed outside src/aws/client.ts.
 */
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import * as ec2Module from '../../src/aws/ec2.js'
import * as ssmModule from '../../src/aws/ssm.js'
import * as validateModule from '../../src/aws/validate.js'
import {NetworkError} from '../../src/errors.js'
import type {AwsOptions, Ec2Port} from '../../src/project/ports.js'
import {Project} from '../../src/project/project.js'
import {revertSshWaiter} from '../../src/project/ssh-wait.js'
import {sampleLaunchRequest} from '../../src/project/validate.js'
import {testConfig} from '../support/fixtures.js'

const PROFILE = 'wolphin-factories'
const KEY_ID = 'AKIDFACTORYPROFILE01'
const REGION = 'eu-central-1'

/** One call through each factory; the factory's name is the key. */
const CALLS: Record<string, (opts: AwsOptions) => Promise<unknown>> = {
  createEc2Client: (o) =>
    ec2Module
      .createEc2Port(o)
      .describeProject('wolphin.p')
      .then(() => ec2Module.createEc2Client(o)),
  createEc2Port: (o) => ec2Module.createEc2Port(o).describeProject('wolphin.p'),
  createFleetPort: (o) => ec2Module.createFleetPort(o).describeAllProjects(),
  // The SSM client an EC2 port builds to resolve `resolve:ssm:` AMIs.
  'createEc2Port (resolve:ssm:)': (o) => ec2Module.createEc2Port(o).resolveImageAlias!('resolve:ssm:/ami/x'),
  'createValidationPort (describe)': (o) => validateModule.createValidationPort(o).findKeyPairs(['k']),
  'createValidationPort (DryRun)': (o) =>
    validateModule.createValidationPort(o).dryRunLaunch(sampleLaunchRequest(testConfig(), 'abc')),
  createSsmClient: (o) => ssmModule.createSsmPort(o).listInvocations('c-1'),
  createSsmPort: (o) => ssmModule.createSsmPort(o).listInvocations('c-1'),
  getParameterValue: (o) => ssmModule.getParameterValue(o, '/x'),
  'Project#port (--profile, --region)': (o) =>
    new Project(testConfig({region: 'us-east-1', maxAttempts: o.maxAttempts, timeouts: o.timeouts}), {
      aws: {region: o.region, profile: o.profile},
    })
      .port()
      .then((p) => p.describeProject('wolphin.p')),
}

/** A server answering every request with an error (EC2 XML or SSM JSON), recording each. */
function recorder() {
  const seen: Array<{authorization: string; host: string}> = []
  const server = http.createServer((req, res) => {
    seen.push({authorization: String(req.headers.authorization ?? ''), host: String(req.headers.host)})
    req.resume()
    req.on('end', () => {
      if (req.headers['x-amz-target']) {
        res.writeHead(400, {'content-type': 'application/x-amz-json-1.1'})
        res.end(JSON.stringify({__type: 'AccessDeniedException', message: 'recorded'}))
      } else {
        res.writeHead(400, {'content-type': 'text/xml'})
        res.end(
          '<Response><Errors><Error><Code>AuthFailure</Code><Message>recorded</Message></Error></Errors><RequestID>r</RequestID></Response>',
        )
      }
    })
  })
  return {server, seen}
}

const listen = (server: http.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  )
const close = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

describe('unit: every AWS client factory honours profile, region, endpoint and time limits', () => {
  const saved: Record<string, string | undefined> = {}
  const ENV = [
    'AWS_CONFIG_FILE',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_EC2',
    'AWS_ENDPOINT_URL_SSM',
    'AWS_PROFILE',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ]
  let dir: string
  before(async () => {
    for (const k of ENV) saved[k] = process.env[k]
    for (const k of ENV) delete process.env[k]
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-factories-'))
    await writeFile(path.join(dir, 'config'), `[profile ${PROFILE}]\nregion = ap-south-1\n`)
    await writeFile(
      path.join(dir, 'credentials'),
      `[${PROFILE}]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = s3cr3t\n`,
    )
    process.env.AWS_CONFIG_FILE = path.join(dir, 'config')
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(dir, 'credentials')
    // Keys in the environment that a client ignoring the profile would pick up instead.
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFROMENVIRONMENT0'
    process.env.AWS_SECRET_ACCESS_KEY = 'env'
  })
  after(async () => {
    for (const k of ENV)
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    await rm(dir, {recursive: true, force: true})
  })

  it('the list covers every factory src/aws exports', () => {
    const exported = [ec2Module, ssmModule, validateModule].flatMap((m) =>
      Object.keys(m).filter((k) => /^create|^getParameterValue$/.test(k)),
    )
    const covered = new Set(Object.keys(CALLS).map((k) => k.split(' ')[0]))
    expect(exported.filter((k) => !covered.has(k))).to.deep.equal([])
  })

  for (const [name, call] of Object.entries(CALLS))
    it(`${name}: signed with the profile's key for the region, sent to AWS_ENDPOINT_URL`, async () => {
      const {server, seen} = recorder()
      const port = await listen(server)
      process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`
      try {
        const opts: AwsOptions = {region: REGION, profile: PROFILE, maxAttempts: 1}
        await call(opts).catch(() => {})
        expect(seen.length, 'requests that reached the endpoint').to.be.greaterThan(0)
        for (const s of seen) {
          expect(s.host).to.equal(`127.0.0.1:${port}`)
          expect(s.authorization).to.match(new RegExp(`Credential=${KEY_ID}/\\d{8}/${REGION}/(ec2|ssm)/`))
        }
      } finally {
        delete process.env.AWS_ENDPOINT_URL
        await close(server)
      }
    })

  for (const [name, call] of Object.entries(CALLS))
    it(`${name}: a call to an endpoint that never answers ends within the time limits`, async () => {
      // Accepts the connection and the request, never answers.
      const server = http.createServer(() => {})
      const port = await listen(server)
      process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`
      try {
        const t0 = Date.now()
        const opts: AwsOptions = {
          region: REGION,
          profile: PROFILE,
          maxAttempts: 1,
          timeouts: {connect: 1, request: 0.3, total: 1},
        }
        const err = await call(opts).then(
          () => null,
          (e: unknown) => e,
        )
        // By its code: a client loaded lazily (import()) may see its own copy of the error classes.
        expect((err as NetworkError | null)?.code, String(err)).to.equal('NETWORK_TIMEOUT')
        expect(Date.now() - t0).to.be.below(2500)
      } finally {
        delete process.env.AWS_ENDPOINT_URL
        await close(server)
      }
    })

  it("revert --wait-ssh hands an injected waiter the project's own EC2 port (its profile), not none", async () => {
    const port = {describeProject: async () => []} as unknown as Ec2Port
    const project = {observe: async () => [], config: testConfig(), port: async () => port}
    let given: (() => Promise<Ec2Port>) | undefined
    await revertSshWaiter(project, async (_i, _c, _s, opts) => {
      given = opts?.ec2
    })(['i-1'])
    expect(await given?.()).to.equal(port)
  })

  it('no SDK client is constructed outside src/aws/client.ts', async () => {
    const root = path.resolve(import.meta.dirname, '../../src')
    const files = (await readdir(root, {recursive: true})).filter((f) => f.endsWith('.ts'))
    const offenders: string[] = []
    for (const f of files) {
      const text = await readFile(path.join(root, f), 'utf8')
      if (/new\s+[A-Z][A-Za-z0-9]*Client\s*\(/.test(text) && f !== path.join('aws', 'client.ts'))
        offenders.push(f)
    }
    expect(offenders).to.deep.equal([])
  })
})
