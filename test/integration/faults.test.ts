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

import {DescribeRegionsCommand, EC2Client} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, TEST_AMI, testClient, type Seen} from '../support/ec2.js'
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
        const slots = members.map((i) => Number(i.tags['wolphin:slot'] ?? NaN)).sort((a, b) => a - b)
        const wrong =
          untagged.length +
          Math.abs(members.length - n) +
          slots.filter((s, k) => s !== k + 1).length +
          members.filter((i) => i.tags.Name !== `wolphin.${project}.${i.tags['wolphin:slot']}`).length
        faultTotals.wrong += wrong
        expect(untagged, 'untagged instances').to.deep.equal([])
        expect(slots, 'live slots').to.deep.equal(Array.from({length: n}, (_, k) => k + 1))
        for (const i of members) expect(i.tags.Name).to.equal(`wolphin.${project}.${i.tags['wolphin:slot']}`)
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
          expect(live(await mine()).find((i) => i.tags['wolphin:slot'] === '2')?.state).to.equal('stopped')
          r = await cli('create', '--json')
          expect(r.code, r.stderr).to.equal(0)
          const members = await expectExactly(COUNT)
          expect(members.map((i) => i.state)).to.deep.equal(Array(COUNT).fill('running'))
        })

      if (HAS_REVERT) {
        it('revert -i 2 --strategy rolling replaces slot 2 only', async () => {
          const before = live(await mine())
          const old2 = before.find((i) => i.tags['wolphin:slot'] === '2')!.id
          const r = await cli('revert', '-i', '2', '--strategy', 'rolling', '--yes', '--json')
          expect(r.code, r.stderr).to.equal(0)
          const members = await expectExactly(COUNT)
          const now2 = members.find((i) => i.tags['wolphin:slot'] === '2')!.id
          expect(now2).to.not.equal(old2)
          expect(members.filter((i) => i.tags['wolphin:slot'] !== '2').map((i) => i.id)).to.have.members(
            before.filter((i) => i.tags['wolphin:slot'] !== '2').map((i) => i.id),
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
