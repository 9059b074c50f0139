/**
 * Reliability of the core against a mocked SDK (aws-sdk-client-mock on one client instance):
 * instances EC2 returns without our tag are refused; a batch call failing because of some of its
 * instances is retried per instance and ends in a PartialFailureError (exit 3) naming each one;
 * eventual consistency right after launch is waited out; Ctrl-C (an aborted signal) stops waiting
 * and reports what was done; launches carry a deterministic ClientToken.
 */
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RebootInstancesCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import {type AwsStub, mockClient} from 'aws-sdk-client-mock'
import {expect} from 'chai'
import sinon from 'sinon'

import {SdkEc2Port} from '../../src/aws/ec2.js'
import type {ResolvedConfig} from '../../src/config/schema.js'
import {AwsError, ExitCode, InterruptedError, PartialFailureError} from '../../src/errors.js'
import {LAUNCH_TOKEN_WINDOW_MS, launchToken} from '../../src/project/apply.js'
import type {RawInstance} from '../../src/project/observe.js'
import type {LaunchRequest} from '../../src/project/ports.js'
import {Project} from '../../src/project/project.js'
import {testConfig} from '../support/fixtures.js'

const config = testConfig

function sdkInstance(id: string, state: string, tags: Record<string, string> | null, launchIndex = 0) {
  return {
    InstanceId: id,
    State: {Name: state as 'running'},
    AmiLaunchIndex: launchIndex,
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    ...(tags ? {Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value}))} : {}),
  }
}
const ours = (slot: number) => ({
  ProjectName: 'wolphin.p',
  Name: `wolphin.p.${slot}`,
  'wolphin:slot': String(slot),
})
const awsError = (name: string, message = `${name} (mocked)`) => Object.assign(new Error(message), {name})

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the stub's generic types are the client's own
type Stub = AwsStub<any, any, any>

describe('reliability (mocked SDK)', () => {
  let client: EC2Client
  let ec2: Stub
  let sleeps: number[]
  const port = () =>
    new SdkEc2Port(client, {
      consistencyAttempts: 4,
      consistencyDelayMs: 1,
      sleep: async (ms) => void sleeps.push(ms),
    })
  const project = (over: Partial<ResolvedConfig> = {}, signal?: AbortSignal) =>
    new Project(config(over), {port: port(), signal})

  beforeEach(() => {
    client = new EC2Client({region: 'us-east-1', credentials: {accessKeyId: 'a', secretAccessKey: 'b'}})
    ec2 = mockClient(client)
    sleeps = []
  })
  afterEach(() => ec2.restore())

  describe('instances EC2 returns without our tag are refused', () => {
    const foreign = [
      sdkInstance('i-untagged', 'running', null),
      sdkInstance('i-empty-tags', 'stopped', {}),
      sdkInstance('i-name-only', 'running', {Name: 'wolphin.p.1', 'wolphin:slot': '1'}),
      sdkInstance('i-case', 'running', {ProjectName: 'WOLPHIN.P', Name: 'wolphin.p.2'}),
      sdkInstance('i-space', 'running', {ProjectName: 'wolphin.p ', Name: 'wolphin.p.3'}),
    ]
    const foreignIds = foreign.map((i) => i.InstanceId)
    beforeEach(() => {
      // As if the server-side filter had let them through.
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [{Instances: [sdkInstance('i-ours', 'running', ours(1)), ...foreign]}],
      })
      for (const C of [
        StartInstancesCommand,
        StopInstancesCommand,
        RebootInstancesCommand,
        TerminateInstancesCommand,
      ])
        ec2.on(C).resolves({})
    })
    const touched = () =>
      [
        StartInstancesCommand,
        StopInstancesCommand,
        RebootInstancesCommand,
        TerminateInstancesCommand,
        CreateTagsCommand,
      ]
        .flatMap((C) => ec2.commandCalls(C as typeof StartInstancesCommand))
        .flatMap(
          (c) =>
            (c.args[0].input as {InstanceIds?: string[]; Resources?: string[]}).InstanceIds ??
            (c.args[0].input as {Resources?: string[]}).Resources ??
            [],
        )

    it('status lists only ours', async () => {
      const s = await project().status()
      expect(s.instances.map((i) => i.id)).to.deep.equal(['i-ours'])
    })

    for (const op of ['stop', 'reboot', 'terminate', 'start'] as const) {
      it(`${op} of the whole project acts on ours only`, async () => {
        await project()[op](null, {wait: false})
        expect(touched().filter((id) => foreignIds.includes(id))).to.deep.equal([])
      })
    }

    it('create counts only ours (count 1 is met: no launch, no terminate)', async () => {
      const r = await project().create({wait: false})
      expect(r.plan.actions).to.deep.equal([])
      expect(ec2.commandCalls(RunInstancesCommand)).to.have.length(0)
      expect(touched()).to.deep.equal([])
    })
  })

  describe('a batch call failing because of some instances is retried per instance', () => {
    beforeEach(() => {
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: [
              sdkInstance('i-1', 'running', ours(1)),
              sdkInstance('i-2', 'running', ours(2)),
              sdkInstance('i-3', 'running', ours(3)),
            ],
          },
        ],
      })
    })

    it('stop: the others are stopped, the command fails with exit 3 naming the instance and why', async () => {
      ec2.on(StopInstancesCommand).callsFake((input: {InstanceIds: string[]}) => {
        if (input.InstanceIds.includes('i-2'))
          throw awsError(
            'IncorrectInstanceState',
            "The instance 'i-2' is not in a state from which it can be stopped.",
          )
        return {}
      })
      const err = await project({count: {min: 3, max: 3}})
        .stop(null, {wait: false})
        .then(
          () => null,
          (e: unknown) => e,
        )
      expect(err).to.be.instanceOf(PartialFailureError)
      const p = err as PartialFailureError
      expect(p.exitCode).to.equal(ExitCode.Partial)
      expect(p.failures).to.deep.equal([
        {
          id: 'i-2',
          name: 'wolphin.p.2',
          reason:
            "IncorrectInstanceState: The instance 'i-2' is not in a state from which it can be stopped.",
        },
      ])
      const calls = ec2.commandCalls(StopInstancesCommand).map((c) => c.args[0].input.InstanceIds)
      expect(calls[0]).to.deep.equal(['i-1', 'i-2', 'i-3'])
      expect(calls.slice(1).flat().sort()).to.deep.equal(['i-1', 'i-2', 'i-3'])
      // The result of what was done comes with the error (for --json).
      expect((p.result as {operation: string}).operation).to.equal('stop')
    })

    it('terminate with one protected instance: the rest are terminated and waited for', async () => {
      let terminated: string[] = []
      ec2.on(TerminateInstancesCommand).callsFake((input: {InstanceIds: string[]}) => {
        if (input.InstanceIds.includes('i-3'))
          throw awsError('OperationNotPermitted', "The instance 'i-3' may not be terminated.")
        terminated = [...terminated, ...input.InstanceIds]
        return {}
      })
      ec2.on(DescribeInstancesCommand).callsFake(() => ({
        Reservations: [
          {
            Instances: ['i-1', 'i-2', 'i-3'].map((id, n) =>
              sdkInstance(id, terminated.includes(id) ? 'terminated' : 'running', ours(n + 1)),
            ),
          },
        ],
      }))
      const err = (await project()
        .terminate(null)
        .catch((e: unknown) => e)) as PartialFailureError
      expect(err).to.be.instanceOf(PartialFailureError)
      expect(err.failures.map((f) => f.id)).to.deep.equal(['i-3'])
      expect(err.failures[0].reason).to.match(/^OperationNotPermitted: /)
      expect(terminated.sort()).to.deep.equal(['i-1', 'i-2'])
      // The waiter did not wait for i-3 (it would have timed out): it reports the others terminated.
      const r = err.result as {instances: Array<{id: string; state: string}>}
      expect(r.instances.filter((i) => i.id !== 'i-3').map((i) => i.state)).to.deep.equal([
        'terminated',
        'terminated',
      ])
    })

    it('an error that is not about instances (IAM) fails the whole call, no per-instance retry', async () => {
      ec2.on(StopInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized.'))
      const err = await project()
        .stop(null, {wait: false})
        .catch((e: unknown) => e)
      expect(err).to.be.instanceOf(AwsError)
      expect(ec2.commandCalls(StopInstancesCommand)).to.have.length(1)
    })

    it('InvalidInstanceID.NotFound right after launch is waited out with backoff', async () => {
      let n = 0
      ec2.on(CreateTagsCommand).callsFake(() => {
        if (n++ < 2) throw awsError('InvalidInstanceID.NotFound', "The instance ID 'i-9' does not exist")
        return {}
      })
      await port().createTags(['i-9'], {Name: 'x'})
      expect(ec2.commandCalls(CreateTagsCommand)).to.have.length(3)
      expect(sleeps).to.deep.equal([1, 2])
    })

    it('an id that stays unknown is reported after the bounded tries', async () => {
      ec2.on(StartInstancesCommand).callsFake((input: {InstanceIds: string[]}) => {
        if (input.InstanceIds.includes('i-gone')) throw awsError('InvalidInstanceID.NotFound', 'nope')
        return {}
      })
      const err = (await port()
        .startInstances(['i-a', 'i-gone', 'i-b'])
        .catch((e: unknown) => e)) as PartialFailureError
      expect(err).to.be.instanceOf(PartialFailureError)
      expect(err.failures).to.deep.equal([{id: 'i-gone', reason: 'InvalidInstanceID.NotFound: nope'}])
      // 1 batch call + 2 singles for the good ones + 4 tries for the unknown one.
      expect(ec2.commandCalls(StartInstancesCommand)).to.have.length(1 + 2 + 4)
      expect(sleeps).to.deep.equal([1, 2, 4])
    })
  })

  describe('Ctrl-C (an aborted signal)', () => {
    it('stops waiting and says what was done and what was not', async () => {
      ec2
        .on(DescribeInstancesCommand)
        .resolvesOnce({Reservations: []})
        .resolves({Reservations: [{Instances: [sdkInstance('i-new', 'pending', ours(1))]}]})
      ec2.on(RunInstancesCommand).resolves({Instances: [sdkInstance('i-new', 'pending', ours(1))]})
      const ac = new AbortController()
      const p = project({wait: {timeout: 60, interval: 0.05}}, ac.signal).create()
      setTimeout(() => ac.abort(), 150)
      const started = Date.now()
      const err = (await p.catch((e: unknown) => e)) as InterruptedError
      expect(Date.now() - started).to.be.lessThan(2000)
      expect(err).to.be.instanceOf(InterruptedError)
      expect(err.exitCode).to.equal(130)
      expect(err.message).to.equal('interrupted: 1 of 2 action(s) done, 1 not done')
      expect(err.report?.done).to.deep.equal(['launch 1 instance into slot 1: launched i-new'])
      expect(err.report?.notDone).to.have.length(1)
      expect(err.report?.notDone[0]).to.match(/^wait until running/)
      expect(err.report?.launched).to.deep.equal(['i-new'])
    })

    it('aborted before applying: nothing is done', async () => {
      ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
      const ac = new AbortController()
      ac.abort()
      const err = (await project({}, ac.signal)
        .create()
        .catch((e: unknown) => e)) as InterruptedError
      expect(err).to.be.instanceOf(InterruptedError)
      expect(err.report?.done).to.deep.equal([])
      expect(ec2.commandCalls(RunInstancesCommand)).to.have.length(0)
    })
  })

  describe('idempotent launches', () => {
    const obs = (id: string, state: RawInstance['state']) => ({id, state}) as RawInstance
    const request = (over: Partial<Omit<LaunchRequest, 'clientToken'>> = {}) => ({
      ami: 'ami-1',
      instanceType: 't3.micro',
      minCount: 1,
      maxCount: 2,
      tags: {ProjectName: 'wolphin.p', 'wolphin:spec': 'abc', 'wolphin:slots': '1-2'},
      securityGroups: [],
      imdsv2: true,
      ...over,
    })
    const at = new Date('2026-12-03T10:00:05Z')
    const seen = [obs('i-1', 'running'), obs('i-2', 'stopped')]

    it('the ClientToken is a function of the whole request, the observed state and the minute', () => {
      const a = launchToken(request(), seen, at)
      // Order does not matter: of the observation, nor of the request's keys and tags.
      expect(launchToken(request(), [...seen].reverse(), at)).to.equal(a)
      const {tags, ...rest} = request()
      const reordered = {tags: Object.fromEntries(Object.entries(tags).reverse()), ...rest}
      expect(launchToken(reordered, seen, at)).to.equal(a)
      // Within the window: the same token (two runs planning the same launch start it once).
      expect(launchToken(request(), seen, new Date(at.getTime() + 50_000))).to.equal(a)
      expect(a).to.match(/^wolphin-[0-9a-f]{48}$/)
      expect(a.length).to.be.at.most(64) // EC2's limit
      for (const other of [
        // A lease ends at another time: another request, so never the same token (EC2 would
        // answer IdempotentParameterMismatch).
        launchToken(request({tags: {...tags, 'wolphin:expires-at': '2026-12-03T18:00:05.000Z'}}), seen, at),
        launchToken(request({minCount: 2}), seen, at),
        launchToken(request({subnet: 'subnet-2'}), seen, at),
        launchToken(request({userData: 'x'}), seen, at),
        launchToken(request(), [obs('i-1', 'running'), obs('i-2', 'running')], at),
      ])
        expect(other).to.not.equal(a)
      // The same launch from the same (empty) observation an hour later, e.g. a project made again
      // after its terminated instances left the listing: EC2 keeps tokens for a day after, and
      // would answer with the old reservation, so the token is a new one.
      expect(launchToken(request(), [], new Date(at.getTime() + 3_600_000))).to.not.equal(
        launchToken(request(), [], at),
      )
    })

    for (const [gapMs, same] of [
      [1_000, true],
      [LAUNCH_TOKEN_WINDOW_MS + 1_000, false],
    ] as const)
      it(`two creates planned from the same observation ${gapMs / 1000} s apart send ${same ? 'the same' : 'another'} ClientToken`, async () => {
        const clock = sinon.useFakeTimers({now: new Date('2026-12-03T10:00:05Z'), toFake: ['Date']})
        try {
          ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
          ec2.on(RunInstancesCommand).resolves({Instances: [sdkInstance('i-new', 'pending', ours(1))]})
          await project().create({wait: false})
          clock.tick(gapMs)
          await project().create({wait: false})
        } finally {
          clock.restore()
        }
        const tokens = ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)
        expect(tokens).to.have.length(2)
        expect(tokens[0] === tokens[1]).to.equal(same)
      })
  })
})
