import {expect} from 'chai'

import {formatDuration, parseDuration} from '../../src/config/duration.js'
import {UsageError} from '../../src/errors.js'
import {
  checkExtendRequest,
  expiredInstances,
  expiredWarning,
  leaseState,
  leaseText,
  parseExpiry,
  parseUntil,
  planExtend,
} from '../../src/project/lease.js'
import type {Instance, InstanceState} from '../../src/project/types.js'
import {testInstance} from '../support/fixtures.js'

const T0 = Date.parse('2026-05-01T12:00:00.000Z')
const H = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()

function inst(id: string, state: InstanceState, expiresAt: string | null): Instance {
  return testInstance({
    id,
    name: `wolphin.p.${id.slice(2)}`,
    slot: Number(id.slice(2)) || null,
    state,
    expiresAt,
    tags: expiresAt === null ? {} : {'wolphin:expires-at': expiresAt},
  })
}

describe('unit: durations', () => {
  const table: Array<[string | number, number | null]> = [
    ['1s', 1000],
    ['30m', 30 * 60_000],
    ['8h', 8 * H],
    ['3d', 72 * H],
    ['1w', 168 * H],
    ['1h30m', 90 * 60_000],
    ['250ms', 250],
    ['90', 90_000],
    [45, 45_000],
    ['1.5h', 1.5 * H],
    [' 2h ', 2 * H],
    ['', null],
    ['h', null],
    ['8 hours', null],
    ['8x', null],
    ['-1h', null],
    ['1h junk', null],
    [-5, null],
  ]
  for (const [text, ms] of table)
    it(`parseDuration(${JSON.stringify(text)}) = ${ms}`, () => expect(parseDuration(text)).to.equal(ms))

  it('formatDuration keeps the two largest units', () => {
    expect(formatDuration(0)).to.equal('0s')
    expect(formatDuration(59_000)).to.equal('59s')
    expect(formatDuration(61_000)).to.equal('1m1s')
    expect(formatDuration(2 * H + 10 * 60_000)).to.equal('2h10m')
    expect(formatDuration(3 * 24 * H + 5 * H)).to.equal('3d5h')
    expect(formatDuration(-90_000)).to.equal('-1m30s')
  })
})

describe('unit: lease arithmetic', () => {
  it('parseExpiry accepts ISO-8601 instants with a zone only', () => {
    expect(parseExpiry('2026-05-01T12:00:00.000Z')).to.equal(T0)
    expect(parseExpiry('2026-05-01T14:00:00+02:00')).to.equal(T0)
    expect(parseExpiry('2026-05-01T12:00Z')).to.equal(T0)
    expect(parseExpiry('2026-05-01')).to.equal(null)
    expect(parseExpiry('2026-05-01T12:00:00')).to.equal(null)
    expect(parseExpiry('tomorrow')).to.equal(null)
    expect(parseExpiry('2026-13-45T99:00:00Z')).to.equal(null)
    expect(parseExpiry(null)).to.equal(null)
    expect(parseExpiry('')).to.equal(null)
  })

  it('leaseState: time left, expiry at the instant, grace delays it', () => {
    expect(leaseState(iso(T0 + H), T0)).to.deep.equal({remainingMs: H, expired: false})
    expect(leaseState(iso(T0), T0)).to.deep.equal({remainingMs: 0, expired: true})
    expect(leaseState(iso(T0 - 1000), T0)).to.deep.equal({remainingMs: -1000, expired: true})
    expect(leaseState(iso(T0 - 1000), T0, 2000).expired).to.equal(false)
    expect(leaseState(iso(T0 - 2000), T0, 2000).expired).to.equal(true)
    expect(leaseState(null, T0)).to.deep.equal({remainingMs: null, expired: false})
    expect(leaseState('garbage', T0)).to.deep.equal({remainingMs: null, expired: false})
  })

  it('leaseText for the status table', () => {
    expect(leaseText(null, T0)).to.equal('-')
    expect(leaseText(iso(T0 + 2 * H + 10 * 60_000), T0)).to.equal('2h10m')
    expect(leaseText(iso(T0 - 5 * 60_000), T0)).to.equal('EXPIRED 5m ago')
    expect(leaseText('soon', T0)).to.equal('invalid')
  })

  it('expiredInstances: live instances past their lease only', () => {
    const xs = [
      inst('i-1', 'running', iso(T0 - 1000)),
      inst('i-2', 'stopped', iso(T0 - 1000)),
      inst('i-3', 'terminated', iso(T0 - 1000)),
      inst('i-4', 'running', iso(T0 + 1000)),
      inst('i-5', 'running', null),
      inst('i-6', 'shutting-down', iso(T0 - 1000)),
    ]
    expect(expiredInstances(xs, T0).map((i) => i.id)).to.deep.equal(['i-1', 'i-2'])
    expect(expiredInstances(xs, T0, 5000)).to.deep.equal([])
  })

  it('expiredWarning names the project, the instances and what to do; null when none', () => {
    const w = expiredWarning('p', [inst('i-1', 'running', iso(T0 - 10 * 60_000))], T0)
    expect(w).to.match(
      /1 instance\(s\) of project p passed their lease \(10m ago\): i-1; run "wolphin extend/,
    )
    expect(expiredWarning('p', [inst('i-1', 'running', iso(T0 + 1))], T0)).to.equal(null)
  })
})

describe('unit: planExtend', () => {
  it('adds to each current end; groups ids that get the same new value', () => {
    const sel = [
      inst('i-1', 'running', iso(T0 + H)),
      inst('i-2', 'running', iso(T0 + H)),
      inst('i-3', 'stopped', iso(T0 + 2 * H)),
    ]
    const plan = planExtend(sel, {by: 2 * H}, {now: T0})
    expect(plan.targets.map((t) => [t.id, t.to])).to.deep.equal([
      ['i-1', iso(T0 + 3 * H)],
      ['i-2', iso(T0 + 3 * H)],
      ['i-3', iso(T0 + 4 * H)],
    ])
    expect(plan.groups).to.deep.equal([
      {expiresAt: iso(T0 + 3 * H), ids: ['i-1', 'i-2']},
      {expiresAt: iso(T0 + 4 * H), ids: ['i-3']},
    ])
  })

  it('an expired, missing or unreadable lease is extended from now', () => {
    const sel = [
      inst('i-1', 'running', iso(T0 - 5 * H)),
      inst('i-2', 'running', null),
      inst('i-3', 'running', 'x'),
    ]
    const plan = planExtend(sel, {by: H}, {now: T0})
    expect(plan.groups).to.deep.equal([{expiresAt: iso(T0 + H), ids: ['i-1', 'i-2', 'i-3']}])
  })

  it('--until sets one end for all: one group', () => {
    const sel = [inst('i-1', 'running', iso(T0 + H)), inst('i-2', 'pending', iso(T0 + 9 * H))]
    const plan = planExtend(sel, {until: T0 + 5 * H}, {now: T0})
    expect(plan.groups).to.deep.equal([{expiresAt: iso(T0 + 5 * H), ids: ['i-1', 'i-2']}])
  })

  it('skips terminated and shutting-down instances', () => {
    const plan = planExtend(
      [inst('i-1', 'terminated', iso(T0)), inst('i-2', 'shutting-down', null), inst('i-3', 'running', null)],
      {by: H},
      {now: T0},
    )
    expect(plan.targets.map((t) => t.id)).to.deep.equal(['i-3'])
    expect(plan.skipped.map((s) => s.id)).to.deep.equal(['i-1', 'i-2'])
  })

  it('refuses anything beyond maxLease from now (UsageError, exit 2)', () => {
    const sel = [inst('i-1', 'running', iso(T0 + 7 * H))]
    expect(() => planExtend(sel, {by: 2 * H}, {now: T0, maxLease: 8 * H})).to.throw(
      UsageError,
      /maxLease \(8h\)/,
    )
    const ok = planExtend(sel, {by: H}, {now: T0, maxLease: 8 * H})
    expect(ok.targets[0].to).to.equal(iso(T0 + 8 * H))
    expect(() => planExtend(sel, {until: T0 + 9 * H}, {now: T0, maxLease: 8 * H})).to.throw(UsageError)
    try {
      planExtend(sel, {by: 9 * H}, {now: T0, maxLease: 8 * H})
      expect.fail('should throw')
    } catch (e) {
      expect((e as UsageError).exitCode).to.equal(2)
    }
  })

  it('checkExtendRequest refuses past --until and non-positive durations before any call', () => {
    expect(() => checkExtendRequest({until: T0 - 1}, {now: T0})).to.throw(UsageError, /in the past/)
    expect(() => checkExtendRequest({by: 0}, {now: T0})).to.throw(UsageError, /positive/)
    expect(() => checkExtendRequest({by: 9 * H}, {now: T0, maxLease: 8 * H})).to.throw(UsageError, /maxLease/)
    expect(() => checkExtendRequest({by: H}, {now: T0, maxLease: 8 * H})).not.to.throw()
  })

  it('parseUntil takes ISO-8601 instants only', () => {
    expect(parseUntil('2026-05-01T12:00:00Z')).to.equal(T0)
    expect(() => parseUntil('next friday')).to.throw(UsageError, /ISO-8601/)
  })
})
