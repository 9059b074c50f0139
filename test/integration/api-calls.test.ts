/**
 * Regression guard for API-call economy (not a timing): every EC2 call each operation makes is
 * counted at a proxy in front of moto and asserted exactly. moto changes an instance's state on
 * the next DescribeInstances after an action, so the waiter's polls are deterministic too.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {DeleteTagsCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.js'
import {describeAll, seedNeighbours, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

describe('integration: API calls per operation, counted at the endpoint', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let proxy: CountingProxy
  let dir: string

  before(async () => {
    proxy = await startCountingProxy(moto().endpoint)
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-calls-'))
    await seedNeighbours(testClient(moto().endpoint), 'calls')
  })
  after(async () => {
    await proxy?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  let connections = 0
  /** Runs the CLI against the proxy and returns exactly the calls it made. */
  const calls = async (cwd: string, ...args: string[]) => {
    proxy.reset()
    const r = await runCli(args, {cwd, env: motoEnv(proxy.endpoint)})
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0)
    connections = proxy.connections()
    return proxy.take()
  }

  const project = async (name: string, count: string) => {
    const cwd = path.join(dir, name)
    const {mkdir} = await import('node:fs/promises')
    await mkdir(cwd, {recursive: true})
    await writeFile(
      path.join(cwd, 'wolphin.yaml'),
      `project: ${name}\nami: ${TEST_AMI}\ncount: ${count}\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    return cwd
  }

  it('status: one DescribeInstances page, nothing else', async () => {
    const cwd = await project('calls', '1')
    expect(await calls(cwd, 'status', '--json')).to.deep.equal({DescribeInstances: 1})
  })

  it('create of 1 from empty: observe, one RunInstances with every tag, one waiter poll', async () => {
    const cwd = await project('calls1', '1')
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 2, RunInstances: 1})
  })

  for (const n of [3, 12]) {
    describe(`a project of ${n}`, () => {
      let cwd: string
      before(async () => {
        cwd = await project(`calls${n}`, String(n))
      })

      it(`create of ${n} from empty: one RunInstances carrying identity, one waiter poll, and the ${n} Names`, async () => {
        // One RunInstances tags all N alike (wolphin:slots + AmiLaunchIndex identify each one);
        // each per-instance Name (the default) is its own CreateTags, the only per-instance calls.
        expect(await calls(cwd, 'create', '--json')).to.deep.equal({
          DescribeInstances: 2,
          RunInstances: 1,
          CreateTags: n,
        })
      })

      it('create again: converged, one DescribeInstances and nothing else', async () => {
        expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 1})
      })

      it('status: one DescribeInstances', async () => {
        expect(await calls(cwd, 'status', '--json')).to.deep.equal({DescribeInstances: 1})
      })

      it(`stop of ${n}: one StopInstances for all, one waiter poll, over one kept-alive connection`, async () => {
        expect(await calls(cwd, 'stop', '--json')).to.deep.equal({DescribeInstances: 2, StopInstances: 1})
        expect(connections).to.equal(1)
      })

      it(`start of ${n}: one StartInstances for all, one waiter poll`, async () => {
        expect(await calls(cwd, 'start', '--json')).to.deep.equal({DescribeInstances: 2, StartInstances: 1})
      })

      it(`revert --strategy batch of ${n}: one mark, one TerminateInstances, one RunInstances, two waits, the ${n} Names`, async () => {
        expect(await calls(cwd, 'revert', '--strategy', 'batch', '--yes', '--json')).to.deep.equal({
          DescribeInstances: 3,
          CreateTags: 1 + n,
          TerminateInstances: 1,
          RunInstances: 1,
        })
      })

      it(`terminate of ${n}: one TerminateInstances for all, one waiter poll`, async () => {
        expect(await calls(cwd, 'terminate', '--yes', '--json')).to.deep.equal({
          DescribeInstances: 2,
          TerminateInstances: 1,
        })
      })
    })
  }

  it('create with count {min: 2, max: 4}: moto starts MinCount, so the rest is asked for again', async () => {
    const cwd = await project('callsminmax', '{min: 2, max: 4}')
    // moto starts MinCount instances, never more (real EC2 starts up to MaxCount when it has the
    // capacity). 1st RunInstances (Min 2, Max 4) -> 2; the follow-up asks for the rest at once
    // (Min 2, Max 2) -> 2. Never one launch per instance; one CreateTags per instance for its Name.
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({
      DescribeInstances: 2,
      RunInstances: 2,
      CreateTags: 4,
    })
  })

  it('nameTags: launch (opt-in): a launch of 3 shares one Name, nothing per instance', async () => {
    const cwd = await project('callsnamed', '3')
    await writeFile(path.join(cwd, 'wolphin.yaml'), `nameTags: launch\n`, {flag: 'a'})
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 2, RunInstances: 1})
    expect(connections).to.equal(1)
    // Converged: nothing to repair on the next run.
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 1})
  })

  it('create repairs a missing Name with one CreateTags, then changes nothing', async () => {
    const cwd = await project('callsrepair', '2')
    await calls(cwd, 'create', '--json')
    const client = testClient(moto().endpoint)
    const two = (await describeAll(client)).find(
      (i) => i.tags.ProjectName === 'wolphin.callsrepair' && i.slot === 2,
    )!
    await client.send(new DeleteTagsCommand({Resources: [two.id], Tags: [{Key: 'Name'}]}))
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 1, CreateTags: 1})
    const after = (await describeAll(client)).find((i) => i.id === two.id)!
    expect(after.tags.Name).to.equal('wolphin.callsrepair.2')
    expect(await calls(cwd, 'create', '--json')).to.deep.equal({DescribeInstances: 1})
  })
})
