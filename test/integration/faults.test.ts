/**
 * create / revert / terminate through a proxy that injects faults into 30% of the EC2 calls
 * (throttling, 500s, delays, connection resets before and after the call took effect), with a fixed
 * seed and three others. Each run must end in exactly the desired state: no duplicate, no orphan,
 * no untagged instance.
 */
import {existsSync} from 'node:fs'
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {
  DescribeRegionsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, hasProjectName, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
import {FAULT_KINDS, type FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {motoEnv, ROOT, useMoto} from '../support/moto.js'

const RATE = 0.3
const FIXED_SEED = 20130501
const OTHER_SEEDS = [7, 1234, 99991]
const COUNT = 3
const HAS_REVERT = existsSync(path.join(ROOT, 'dist/commands/revert.js'))

/** Totals over every run of this file, printed at the end (the numbers of the issue's closing note). */
export const faultTotals = {requests: 0, injected: 0, byKind: {} as Record<string, number>, wrong: 0}

const live = (xs: Seen[]) => xs.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down')

describe('integration: faults (30% of EC2 calls fail, seeded)', function () {
  this.timeout(240_000)
  const moto = useMoto()

  after(() => {
    console.log(
      `    fault totals: ${faultTotals.injected} faults injected in ${faultTotals.requests} EC2 calls ` +
        `(${Object.entries(faultTotals.byKind)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}); instances that ended wrong: ${faultTotals.wrong}`,
    )
  })

  it('the proxy injects every kind of fault and counts them', async () => {
    const proxy = await startFaultProxy({target: moto().endpoint, rate: 1, seed: 1, delayMs: [10, 50]})
    try {
      const client = new EC2Client({
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
        maxAttempts: 1,
      })
      const outcomes: string[] = []
      for (let n = 0; n < 30; n++) {
        try {
          await client.send(new DescribeRegionsCommand({}))
          outcomes.push('ok')
        } catch (e) {
          outcomes.push((e as {name?: string; code?: string}).code ?? (e as Error).name)
        }
      }
      expect(proxy.counts.requests).to.equal(30)
      expect(proxy.counts.injected).to.equal(30)
      for (const k of FAULT_KINDS) expect(proxy.counts.byKind[k], k).to.be.greaterThan(0)
      expect(outcomes).to.include('RequestLimitExceeded')
      expect(outcomes).to.include('InternalError')
      expect(outcomes).to.include('ok') // delays answer, late
      expect(outcomes.filter((o) => /ECONNRESET|socket hang up|EPIPE/i.test(o)).length).to.be.greaterThan(0)
      expect(outcomes.filter((o) => o === 'ok')).to.have.length(proxy.counts.byKind.delay)
    } finally {
      await proxy.stop()
    }
  })

  it('moto ignores ClientToken (so the dedupe rule, not EC2, carries correctness here)', async () => {
    const client = testClient(moto().endpoint)
    const launch = () =>
      client.send(
        new RunInstancesCommand({
          ImageId: TEST_AMI,
          MinCount: 1,
          MaxCount: 1,
          ClientToken: 'wolphin-same-token',
          TagSpecifications: [
            {ResourceType: 'instance', Tags: [{Key: 'ProjectName', Value: 'wolphin.token'}]},
          ],
        }),
      )
    const a = await launch()
    const b = await launch()
    // Real EC2 answers the second call with the first call's instance.
    const ids = [a.Instances![0].InstanceId, b.Instances![0].InstanceId]
    console.log(
      `    moto and ClientToken: two RunInstances with one token launched ${new Set(ids).size} instance(s)`,
    )
    await client.send(new TerminateInstancesCommand({InstanceIds: ids as string[]}))
    // Real EC2 would launch one. When moto starts honouring tokens, this fails: update the docs.
    expect(new Set(ids).size, 'moto now honours ClientToken: update docs/reliability.md').to.equal(2)
  })

  describe('a batch call failing because of one instance', () => {
    let dir: string
    let protectedId: string
    const project = 'onebad'
    const cli = (...args: string[]) => runCli(args, {cwd: dir, env: motoEnv(moto().endpoint)})
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-onebad-'))
      await writeFile(
        path.join(dir, 'wolphin.yaml'),
        `project: ${project}\nami: ${TEST_AMI}\ncount: 3\nwait: {interval: 0.2, timeout: 30}\n`,
      )
      // Slot 2 is ours but protected against stop and termination.
      const r = await testClient(moto().endpoint).send(
        new RunInstancesCommand({
          ImageId: TEST_AMI,
          MinCount: 1,
          MaxCount: 1,
          DisableApiTermination: true,
          DisableApiStop: true,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: Object.entries({
                ProjectName: `wolphin.${project}`,
                Name: `wolphin.${project}.2`,
                'wolphin:slot': '2',
              }).map(([Key, Value]) => ({Key, Value})),
            },
          ],
        }),
      )
      protectedId = r.Instances![0].InstanceId!
      // moto takes termination protection from ModifyInstanceAttribute only.
      await testClient(moto().endpoint).send(
        new ModifyInstanceAttributeCommand({InstanceId: protectedId, DisableApiTermination: {Value: true}}),
      )
      const c = await cli('create')
      expect(c.code, c.stderr).to.equal(0)
    })
    after(async () => {
      const client = testClient(moto().endpoint)
      await client.send(
        new ModifyInstanceAttributeCommand({InstanceId: protectedId, DisableApiTermination: {Value: false}}),
      )
      await client.send(new TerminateInstancesCommand({InstanceIds: [protectedId]}))
    })
    const states = async () =>
      Object.fromEntries(
        (await describeAll(testClient(moto().endpoint)))
          .filter((i) => i.tags.ProjectName === `wolphin.${project}` && i.state !== 'terminated')
          .map((i) => [String(i.slot), i.state]),
      )

    it('stop: the others stop, exit 3 names the instance and why', async () => {
      const r = await cli('stop')
      expect(r.code, r.stderr).to.equal(3)
      expect(r.stderr).to.include(
        `wolphin: error: stop: 1 instance(s) failed, the rest was done: ${protectedId}\n`,
      )
      expect(r.stderr).to.include(
        `  ${protectedId} (wolphin.${project}.2): OperationNotPermitted: The instance '${protectedId}' may not be terminated. Modify its 'disableApiStop' instance attribute and try again.\n`,
      )
      expect(await states()).to.deep.equal({1: 'stopped', 2: 'running', 3: 'stopped'})
    })

    it('terminate --json: the others are terminated, the failure is in the JSON', async () => {
      const r = await cli('terminate', '--yes', '--json')
      expect(r.code, r.stderr).to.equal(3)
      const doc = r.json()
      expect(doc.error.code).to.equal('PARTIAL_FAILURE')
      expect(doc.error.failures).to.have.length(1)
      expect(doc.error.failures[0]).to.include({id: protectedId, name: `wolphin.${project}.2`})
      expect(doc.error.failures[0].reason).to.match(/^OperationNotPermitted: .*disableApiTermination/)
      expect(doc.operation).to.equal('terminate')
      expect(await states()).to.deep.equal({2: 'running'})
    })
  })

  for (const seed of [FIXED_SEED, ...OTHER_SEEDS]) {
    describe(`seed ${seed}`, () => {
      let proxy: FaultProxy
      let dir: string
      const project = `faults${seed}`
      const cli = (...args: string[]) =>
        runCli(args, {cwd: dir, env: motoEnv(proxy.endpoint), timeoutMs: 120_000})
      const mine = async () =>
        (await describeAll(testClient(moto().endpoint))).filter(
          (i) => i.tags.ProjectName === `wolphin.${project}`,
        )
      /** Exactly `n` live members in slots 1..n, nothing untagged anywhere in moto. */
      const expectExactly = async (n: number) => {
        const all = await describeAll(testClient(moto().endpoint))
        const untagged = all.filter((i) => !i.tags.ProjectName)
        const members = live(await mine())
        const slots = members.map((i) => i.slot ?? NaN).sort((a, b) => a - b)
        const wrong =
          untagged.length +
          Math.abs(members.length - n) +
          slots.filter((s, k) => s !== k + 1).length +
          members.filter((i) => !hasProjectName(i, project)).length
        faultTotals.wrong += wrong
        expect(untagged, 'untagged instances').to.deep.equal([])
        expect(slots, 'live slots').to.deep.equal(Array.from({length: n}, (_, k) => k + 1))
        for (const i of members)
          expect(hasProjectName(i, project), `${i.id} Name ${i.tags.Name}`).to.equal(true)
        return members
      }

      before(async () => {
        proxy = await startFaultProxy({target: moto().endpoint, rate: RATE, seed})
        dir = await mkdtemp(path.join(os.tmpdir(), `wolphin-faults-${seed}-`))
        await writeFile(
          path.join(dir, 'wolphin.yaml'),
          `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: ${COUNT}\nwait: {interval: 0.2, timeout: 60}\n`,
        )
      })
      after(async () => {
        faultTotals.requests += proxy.counts.requests
        faultTotals.injected += proxy.counts.injected
        for (const [k, n] of Object.entries(proxy.counts.byKind))
          faultTotals.byKind[k] = (faultTotals.byKind[k] ?? 0) + n
        await proxy.stop()
      })

      it(`create converges to exactly ${COUNT}`, async () => {
        const r = await cli('create', '--json')
        expect(r.code, r.stderr).to.equal(0)
        await expectExactly(COUNT)
        expect(proxy.counts.injected).to.be.greaterThan(0)
      })

      if (seed === FIXED_SEED)
        it('create again changes nothing', async () => {
          const before = live(await mine()).map((i) => i.id)
          const r = await cli('create', '--json')
          expect(r.code, r.stderr).to.equal(0)
          expect(r.json().launched).to.deep.equal([])
          expect((await expectExactly(COUNT)).map((i) => i.id)).to.have.members(before)
        })

      if (seed === FIXED_SEED)
        it('stop -i 2 then create restart it', async () => {
          let r = await cli('stop', '-i', '2', '--json')
          expect(r.code, r.stderr).to.equal(0)
          expect(live(await mine()).find((i) => i.slot === 2)?.state).to.equal('stopped')
          r = await cli('create', '--json')
          expect(r.code, r.stderr).to.equal(0)
          const members = await expectExactly(COUNT)
          expect(members.map((i) => i.state)).to.deep.equal(Array(COUNT).fill('running'))
        })

      if (HAS_REVERT) {
        it('revert -i 2 --strategy rolling replaces slot 2 only', async () => {
          const before = live(await mine())
          const old2 = before.find((i) => i.slot === 2)!.id
          const r = await cli('revert', '-i', '2', '--strategy', 'rolling', '--yes', '--json')
          expect(r.code, r.stderr).to.equal(0)
          const members = await expectExactly(COUNT)
          const now2 = members.find((i) => i.slot === 2)!.id
          expect(now2).to.not.equal(old2)
          expect(members.filter((i) => i.slot !== 2).map((i) => i.id)).to.have.members(
            before.filter((i) => i.slot !== 2).map((i) => i.id),
          )
        })
      }

      it('terminate --yes leaves nothing live', async () => {
        const r = await cli('terminate', '--yes', '--json')
        expect(r.code, r.stderr).to.equal(0)
        await expectExactly(0)
        expect((await mine()).every((i) => i.state === 'terminated')).to.equal(true)
      })
    })
  }
})
