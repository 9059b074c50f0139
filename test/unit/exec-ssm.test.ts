import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'
import {mockClient} from 'aws-sdk-client-mock'
import {expect} from 'chai'

import {SdkSsmPort} from '../../src/aws/ssm.js'
import {NOT_MANAGED, runSsm} from '../../src/exec/ssm-runner.js'
import {aggregateExitCode, type ExecEvent, type Target} from '../../src/exec/types.js'
import type {Instance} from '../../src/project/types.js'

const target = (n: number): Target => ({
  id: `i-${String(n).padStart(4, '0')}`,
  name: `wolphin.p.${n}`,
  slot: n,
  host: '',
  port: 0,
  instance: {} as Instance,
})

/** A mocked client *instance* (not the class), so nothing else in the process is affected. */
function setup() {
  const client = new SSMClient({region: 'us-east-1', credentials: {accessKeyId: 'x', secretAccessKey: 'y'}})
  const ssm = mockClient(client)
  return {ssm, port: new SdkSsmPort(client)}
}

describe('exec: SSM runner (SSM mocked)', () => {
  it('sends in batches of at most 50 ids and collects every invocation; a stuck one times out', async () => {
    const {ssm, port} = setup()
    const targets = Array.from({length: 120}, (_, i) => target(i + 1))
    const batches: string[][] = []
    ssm.on(SendCommandCommand).callsFake((input) => {
      batches.push(input.InstanceIds)
      return {Command: {CommandId: `cmd-${batches.length}`}}
    })
    const stuck = target(77).id
    ssm.on(ListCommandInvocationsCommand).callsFake((input) => {
      const n = Number(input.CommandId.split('-')[1])
      return {
        CommandInvocations: batches[n - 1].map((id) => ({
          InstanceId: id,
          Status: id === stuck ? 'InProgress' : 'Success',
        })),
      }
    })
    ssm.on(GetCommandInvocationCommand).callsFake((input) => ({
      Status: input.InstanceId.endsWith('3') ? 'Failed' : 'Success',
      StatusDetails: input.InstanceId.endsWith('3') ? 'Failed' : 'Success',
      ResponseCode: input.InstanceId.endsWith('3') ? 3 : 0,
      StandardOutputContent: `hello from ${input.InstanceId}\n`,
      StandardErrorContent: '',
    }))
    ssm.on(CancelCommandCommand).resolves({})
    const events: ExecEvent[] = []
    const results = await runSsm(targets, 'uname -n', port, {
      timeoutMs: 300,
      pollIntervalMs: 20,
      onEvent: (e) => events.push(e),
    })
    expect(batches.map((b) => b.length)).to.deep.equal([50, 50, 20])
    expect(batches.flat()).to.deep.equal(targets.map((t) => t.id))
    const send = ssm.commandCalls(SendCommandCommand)[0].args[0].input
    expect(send.DocumentName).to.equal('AWS-RunShellScript')
    expect(send.Parameters).to.deep.equal({commands: ['uname -n'], executionTimeout: ['1']})
    expect(results.map((r) => r.id)).to.deep.equal(targets.map((t) => t.id))
    const byId = new Map(results.map((r) => [r.id, r]))
    expect(byId.get(target(1).id)).to.include({
      status: 'ok',
      exitCode: 0,
      stdout: `hello from ${target(1).id}\n`,
    })
    expect(byId.get(target(3).id)).to.include({status: 'failed', exitCode: 3})
    expect(byId.get(stuck)).to.include({status: 'failed', exitCode: null})
    expect(byId.get(stuck)!.error).to.equal('timed out after 0.3s waiting for SSM')
    expect(ssm.commandCalls(CancelCommandCommand).map((c) => c.args[0].input)).to.deep.equal([
      {CommandId: 'cmd-2', InstanceIds: [stuck]},
    ])
    expect(ssm.commandCalls(GetCommandInvocationCommand)).to.have.length(119)
    expect(
      events
        .filter((e) => e.type === 'line' && e.target.id === target(1).id)
        .map((e) => (e as {line: string}).line),
    ).to.deep.equal([`hello from ${target(1).id}`])
    expect(aggregateExitCode(results)).to.equal(3)
  })

  it('names the instances SSM does not manage and still runs on the others', async () => {
    const {ssm, port} = setup()
    const targets = [1, 2, 3].map(target)
    const unmanaged = target(2).id
    ssm.on(SendCommandCommand).callsFake((input) => {
      if (input.InstanceIds.includes(unmanaged))
        throw Object.assign(new Error('Instances [[i-0002]] not in a valid state for account'), {
          name: 'InvalidInstanceId',
        })
      return {Command: {CommandId: 'cmd-ok'}}
    })
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        {InstanceId: target(1).id, PingStatus: 'Online'},
        {InstanceId: target(3).id, PingStatus: 'Online'},
      ],
    })
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [target(1), target(3)].map((t) => ({InstanceId: t.id, Status: 'Success'})),
    })
    ssm
      .on(GetCommandInvocationCommand)
      .resolves({Status: 'Success', ResponseCode: 0, StandardOutputContent: 'ok\n'})
    const results = await runSsm(targets, 'true', port, {timeoutMs: 5000, pollIntervalMs: 5})
    expect(results.map((r) => [r.id, r.status])).to.deep.equal([
      [target(1).id, 'ok'],
      [unmanaged, 'unreachable'],
      [target(3).id, 'ok'],
    ])
    expect(results[1].error).to.equal(NOT_MANAGED)
    expect(ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds)).to.deep.equal([
      targets.map((t) => t.id),
      [target(1).id, target(3).id],
    ])
  })

  it('an abort (Ctrl-C) cancels the invocations in flight and sends no further batch', async () => {
    const {ssm, port} = setup()
    const targets = Array.from({length: 60}, (_, i) => target(i + 1))
    ssm
      .on(SendCommandCommand)
      .callsFake((input) => ({Command: {CommandId: `cmd-${input.InstanceIds.length}`}}))
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: targets.slice(0, 50).map((t) => ({InstanceId: t.id, Status: 'InProgress'})),
    })
    ssm.on(CancelCommandCommand).resolves({})
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    const t0 = Date.now()
    // One batch at a time (as with --fail-fast) so the second is still to be sent when Ctrl-C comes.
    const results = await runSsm(targets, 'sleep 600', port, {
      timeoutMs: 60_000,
      pollIntervalMs: 20,
      failFast: true,
      signal: ac.signal,
    })
    expect(Date.now() - t0).to.be.below(2000)
    expect(ssm.commandCalls(SendCommandCommand)).to.have.length(1)
    expect(ssm.commandCalls(CancelCommandCommand).map((c) => c.args[0].input)).to.deep.equal([
      {CommandId: 'cmd-50', InstanceIds: targets.slice(0, 50).map((t) => t.id)},
    ])
    const outcome = (r: {status: string; error: string | null}) => `${r.status}: ${r.error}`
    expect(new Set(results.slice(0, 50).map(outcome))).to.deep.equal(
      new Set(['failed: cancelled: interrupted (Ctrl-C)']),
    )
    expect(new Set(results.slice(50).map(outcome))).to.deep.equal(
      new Set(['skipped: not run: interrupted (Ctrl-C)']),
    )
  })

  it('one target: its response code is the exit code', async () => {
    const {ssm, port} = setup()
    ssm.on(SendCommandCommand).resolves({Command: {CommandId: 'c'}})
    ssm
      .on(ListCommandInvocationsCommand)
      .resolves({CommandInvocations: [{InstanceId: target(1).id, Status: 'Failed'}]})
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 42,
      StandardOutputContent: '',
      StandardErrorContent: 'bad\n',
    })
    const results = await runSsm([target(1)], 'exit 42', port, {timeoutMs: 5000, pollIntervalMs: 5})
    expect(results[0]).to.include({status: 'failed', exitCode: 42, stderr: 'bad\n'})
    expect(aggregateExitCode(results)).to.equal(42)
  })

  it('falls back to polling each invocation when ListCommandInvocations is unavailable', async () => {
    const {ssm, port} = setup()
    ssm.on(SendCommandCommand).resolves({Command: {CommandId: 'c'}})
    ssm
      .on(ListCommandInvocationsCommand)
      .rejects(Object.assign(new Error('not allowed'), {name: 'AccessDeniedException'}))
    let calls = 0
    ssm.on(GetCommandInvocationCommand).callsFake(() => {
      calls++
      if (calls <= 2) throw Object.assign(new Error('not yet'), {name: 'InvocationDoesNotExist'})
      if (calls <= 4) return {Status: 'InProgress', ResponseCode: -1}
      return {Status: 'Success', ResponseCode: 0, StandardOutputContent: 'done\n'}
    })
    const events: ExecEvent[] = []
    const results = await runSsm([target(1), target(2)], 'x', port, {
      timeoutMs: 5000,
      pollIntervalMs: 5,
      onEvent: (e) => events.push(e),
    })
    expect(results.map((r) => [r.status, r.exitCode, r.stdout])).to.deep.equal([
      ['ok', 0, 'done\n'],
      ['ok', 0, 'done\n'],
    ])
    expect(ssm.commandCalls(ListCommandInvocationsCommand)).to.have.length(1)
    expect(events.filter((e) => e.type === 'warn')).to.have.length(1)
  })
})
