import {expect} from 'chai'

import type {ResolvedConfig} from '../../src/config/schema.js'
import {AwsError} from '../../src/errors.js'
import {applyPlan} from '../../src/project/apply.js'
import {launchAttempts, nextAttempt} from '../../src/project/launch-order.js'
import type {RawInstance} from '../../src/project/observe.js'
import type {Plan} from '../../src/project/plan.js'
import type {Ec2Port, LaunchRequest} from '../../src/project/ports.js'
import {sampleLaunchRequest} from '../../src/project/validate.js'
import {testConfig} from '../support/fixtures.js'

function config(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return testConfig({count: {min: 1, max: 3}, ...over})
}

describe('unit: launch fallback order', () => {
  const table: Array<[string, Partial<ResolvedConfig>, string[]]> = [
    ['on-demand, EC2 picks the zone', {}, ['on-demand']],
    ['spot', {market: 'spot'}, ['spot']],
    ['spot-then-on-demand', {market: 'spot-then-on-demand'}, ['spot', 'on-demand']],
    [
      'zones in order',
      {availabilityZones: ['us-east-1a', 'us-east-1b']},
      ['on-demand us-east-1a', 'on-demand us-east-1b'],
    ],
    [
      'spot in every zone, then on-demand in every zone',
      {market: 'spot-then-on-demand', availabilityZones: ['a1', 'b1']},
      ['spot a1', 'spot b1', 'on-demand a1', 'on-demand b1'],
    ],
    [
      'subnets win over zones (a subnet lies in one zone)',
      {subnets: ['subnet-1', 'subnet-2'], availabilityZones: ['us-east-1a']},
      ['on-demand subnet-1', 'on-demand subnet-2'],
    ],
  ]
  for (const [what, over, expected] of table)
    it(what, () => {
      const got = launchAttempts(config(over)).map((a) =>
        [a.market, a.subnet ?? a.availabilityZone].filter(Boolean).join(' '),
      )
      expect(got).to.deep.equal(expected)
    })

  it('nextAttempt: capacity moves on, spot refusals only on spot, other errors give up', () => {
    const at = launchAttempts(config({market: 'spot-then-on-demand', availabilityZones: ['a1', 'b1']}))
    expect(nextAttempt(at, 0, 'InsufficientInstanceCapacity')).to.equal(1)
    expect(nextAttempt(at, 1, 'InsufficientInstanceCapacity')).to.equal(2)
    expect(nextAttempt(at, 0, 'SpotMaxPriceTooLow')).to.equal(1)
    // An account-wide spot limit: no other zone helps, go on-demand.
    expect(nextAttempt(at, 0, 'MaxSpotInstanceCountExceeded')).to.equal(2)
    expect(nextAttempt(at, 2, 'SpotMaxPriceTooLow')).to.equal(null)
    expect(nextAttempt(at, 2, 'InsufficientInstanceCapacity')).to.equal(3)
    expect(nextAttempt(at, 3, 'InsufficientInstanceCapacity')).to.equal(null)
    expect(nextAttempt(at, 0, 'InvalidAMIID.NotFound')).to.equal(null)
    expect(nextAttempt(at, 0, 'UnauthorizedOperation')).to.equal(null)
    expect(nextAttempt(at, 0, undefined)).to.equal(null)
    const spotOnly = launchAttempts(config({market: 'spot'}))
    expect(nextAttempt(spotOnly, 0, 'MaxSpotInstanceCountExceeded')).to.equal(null)
  })
})

/** An in-memory port that refuses launches a rule says no to, and launches the rest. */
class FakePort implements Ec2Port {
  calls: LaunchRequest[] = []
  private n = 0
  constructor(private readonly refuse: (r: LaunchRequest) => string | null) {}
  async describeProject(): Promise<RawInstance[]> {
    return []
  }
  async runInstances(req: LaunchRequest): Promise<RawInstance[]> {
    this.calls.push(req)
    const code = this.refuse(req)
    if (code) throw new AwsError(`RunInstances: ${code}`, code.toUpperCase(), code)
    return Array.from({length: req.maxCount}, (_, k) => ({
      id: `i-${++this.n}`,
      state: 'pending' as const,
      tags: {},
      amiLaunchIndex: k,
      publicIp: null,
      privateIp: null,
      publicDns: null,
      privateDns: null,
      imageId: req.ami,
      instanceType: req.instanceType,
      zone: req.availabilityZone ?? null,
      launchTime: null,
      spot: Boolean(req.spot),
    }))
  }
  async startInstances() {}
  async stopInstances() {}
  async rebootInstances() {}
  async terminateInstances() {}
  async createTags() {}
  async deleteTags() {}
}

const launchPlan = (slots: number[], minCount = 1): Plan => ({
  operation: 'create',
  actions: [{id: 0, deps: [], kind: 'launch', ids: [], slots, minCount}],
  skipped: [],
})

async function run(c: ResolvedConfig, port: FakePort, slots = [1, 2, 3]) {
  const warnings: string[] = []
  const r = await applyPlan(launchPlan(slots), {
    port,
    config: c,
    spec: 'abc',
    observed: [],
    onEvent: (e) => {
      if (e.type === 'warn') warnings.push(e.message)
    },
  })
  return {r, warnings}
}

describe('unit: launch with fallback (applyPlan)', () => {
  it('spot-then-on-demand: a spot capacity error fills every slot on demand', async () => {
    const port = new FakePort((r) => (r.spot ? 'InsufficientInstanceCapacity' : null))
    const {r, warnings} = await run(config({market: 'spot-then-on-demand', maxPrice: '0.05'}), port)
    expect(r.launched).to.have.length(3)
    expect(port.calls.map((c) => [Boolean(c.spot), c.minCount, c.maxCount])).to.deep.equal([
      [true, 1, 3],
      [false, 1, 3],
    ])
    expect(port.calls[0].spot).to.deep.equal({maxPrice: '0.05'})
    // Same spec and tags on the fallback; a different idempotency token.
    expect(port.calls[1].tags).to.deep.equal(port.calls[0].tags)
    expect(port.calls[1].clientToken).to.not.equal(port.calls[0].clientToken)
    expect(warnings.join('\n')).to.match(
      /spot: InsufficientInstanceCapacity; trying on-demand for 3 slot\(s\)/,
    )
  })

  it('spot fills part, then runs out: only the missing slots go on demand', async () => {
    let spotCalls = 0
    const port = new FakePort((r) => (r.spot && ++spotCalls > 1 ? 'InsufficientInstanceCapacity' : null))
    const partial = port.runInstances.bind(port)
    port.runInstances = async (req) => (await partial(req)).slice(0, req.spot ? 1 : undefined)
    const {r} = await run(config({market: 'spot-then-on-demand'}), port)
    expect(r.launched).to.have.length(3)
    expect(
      port.calls.map((c) => [
        Boolean(c.spot),
        c.minCount,
        c.maxCount,
        c.tags['wolphin:slots'] ?? c.tags['wolphin:slot'],
      ]),
    ).to.deep.equal([
      [true, 1, 3, '1-3'],
      // EC2 started fewer than asked: the rest is asked for at once (one more call, not one each)
      [true, 2, 2, '2-3'],
      [false, 1, 2, '2-3'],
    ])
    expect(r.launchedRaw.map((x) => x.spot)).to.deep.equal([true, false, false])
  })

  it('spot alone: a capacity error fails the launch', async () => {
    const port = new FakePort((r) => (r.spot ? 'InsufficientInstanceCapacity' : null))
    let err: unknown
    await run(config({market: 'spot'}), port).catch((e) => (err = e))
    expect(err).to.be.instanceOf(AwsError)
    expect(port.calls).to.have.length(1)
  })

  it('zones: InsufficientInstanceCapacity moves on to the next zone', async () => {
    const port = new FakePort((r) =>
      r.availabilityZone === 'us-east-1a' ? 'InsufficientInstanceCapacity' : null,
    )
    const {r} = await run(config({availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c']}), port)
    expect(r.launched).to.have.length(3)
    expect(port.calls.map((c) => c.availabilityZone)).to.deep.equal(['us-east-1a', 'us-east-1b'])
  })

  it('a non-capacity error is not retried elsewhere', async () => {
    const port = new FakePort(() => 'InvalidAMIID.NotFound')
    let err: unknown
    await run(config({availabilityZones: ['a', 'b']}), port).catch((e) => (err = e))
    expect((err as AwsError).awsCode).to.equal('InvalidAMIID.NotFound')
    expect(port.calls).to.have.length(1)
  })

  it('every attempt refused: the last error, after exactly one call per attempt', async () => {
    const port = new FakePort(() => 'InsufficientInstanceCapacity')
    let err: unknown
    await run(config({market: 'spot-then-on-demand', subnets: ['s1', 's2']}), port).catch((e) => (err = e))
    expect(err).to.be.instanceOf(AwsError)
    expect(port.calls.map((c) => `${c.spot ? 'spot' : 'od'} ${c.subnet}`)).to.deep.equal([
      'spot s1',
      'spot s2',
      'od s1',
      'od s2',
    ])
  })
})

describe("unit: validate's DryRun is the request create sends first", () => {
  const cases: Array<[string, Partial<ResolvedConfig>]> = [
    ['on demand', {}],
    // EC2 cannot stop a one-time spot instance: create asks a leased one to terminate on shutdown.
    ['spot with a lease', {market: 'spot', maxPrice: '0.05', lease: 3_600_000}],
    ['spot-then-on-demand in zones', {market: 'spot-then-on-demand', availabilityZones: ['a1', 'b1']}],
    // A subnet lies in one zone: create passes no zone with it.
    ['subnets and zones', {subnets: ['subnet-1', 'subnet-2'], availabilityZones: ['us-east-1a']}],
  ]
  for (const [what, over] of cases)
    it(what, async () => {
      const c = config(over)
      const port = new FakePort(() => null)
      await run(c, port, [1])
      // Counts, tags and token are per call; the root volume needs DescribeImages, which validate does not make.
      const strip = ({
        minCount: _a,
        maxCount: _b,
        tags: _t,
        clientToken: _c,
        rootVolume: _r,
        ...rest
      }: LaunchRequest) => rest
      expect(strip(sampleLaunchRequest(c, 'abc'))).to.deep.equal(strip(port.calls[0]))
    })
})
