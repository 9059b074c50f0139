import {expect} from 'chai'

import {
  type Action,
  describeAction,
  lowestFreeSlots,
  planCreate,
  planReboot,
  planStart,
  planStop,
  planTerminate,
  resolveSlotClaims,
} from '../../src/project/plan.js'
import type {Instance, InstanceState} from '../../src/project/types.js'
import {testInstance} from '../support/fixtures.js'

let seq = 0
function inst(slot: number | null, state: InstanceState, extra: Partial<Instance> = {}): Instance {
  seq++
  return testInstance({
    id: extra.id ?? `i-${String(seq).padStart(4, '0')}`,
    name: slot === null ? null : `wolphin.p.${slot}`,
    slot,
    state,
    imageId: 'ami-1',
    instanceType: 't3.micro',
    zone: 'us-east-1a',
    launchTime: extra.launchTime ?? `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    ...extra,
  })
}

/** Compact view of a plan: [id, deps, kind, ids-or-slots, until/minCount]. */
function view(actions: Action[]) {
  return actions.map((a) => {
    const row: unknown[] = [a.id, a.deps, a.kind]
    if (a.kind === 'launch') row.push(a.slots, a.minCount)
    else row.push(a.ids)
    if (a.until) row.push(a.until)
    return row
  })
}

/**
 * The original library's own fixture: 15 instances, 2 stopping, 2 stopped, 2 shutting-down,
 * 2 terminated, 2 pending, 5 running.
 */
function originalFixture(): Instance[] {
  const states: InstanceState[] = [
    'stopping',
    'stopping',
    'stopped',
    'stopped',
    'shutting-down',
    'shutting-down',
    'terminated',
    'terminated',
    'pending',
    'pending',
    'running',
    'running',
    'running',
    'running',
    'running',
  ]
  return states.map((s, n) => inst(n + 1, s, {id: `i-${String(n + 1).padStart(2, '0')}`}))
}

describe('planners', () => {
  describe('planCreate', () => {
    const wait = {wait: true}
    const table: Array<[string, Instance[], {min: number; max: number}, unknown[]]> = [
      [
        'empty project, count 3',
        [],
        {min: 3, max: 3},
        [
          [0, [], 'launch', [1, 2, 3], 3],
          [1, [0], 'wait', [], 'running'],
        ],
      ],
      [
        'empty project, {min 2, max 3}: greedy to max, succeed from min',
        [],
        {min: 2, max: 3},
        [
          [0, [], 'launch', [1, 2, 3], 2],
          [1, [0], 'wait', [], 'running'],
        ],
      ],
      [
        'already converged',
        [inst(1, 'running', {id: 'i-a'}), inst(2, 'running', {id: 'i-b'})],
        {min: 2, max: 2},
        [],
      ],
      [
        'a stopped member is started, not replaced',
        [inst(1, 'running', {id: 'i-a'}), inst(2, 'stopped', {id: 'i-b'})],
        {min: 2, max: 2},
        [
          [0, [], 'start', ['i-b']],
          [1, [0], 'wait', ['i-b'], 'running'],
        ],
      ],
      [
        'a hole is filled at the lowest free slot',
        [inst(1, 'running', {id: 'i-a'}), inst(3, 'running', {id: 'i-c'})],
        {min: 3, max: 3},
        [
          [0, [], 'launch', [2], 1],
          [1, [0], 'wait', [], 'running'],
        ],
      ],
      [
        'terminated and shutting-down slots are free',
        [
          inst(1, 'terminated', {id: 'i-a'}),
          inst(2, 'shutting-down', {id: 'i-b'}),
          inst(3, 'running', {id: 'i-c'}),
        ],
        {min: 2, max: 2},
        [
          [0, [], 'launch', [1], 1],
          [1, [0], 'wait', [], 'running'],
        ],
      ],
      [
        'above max: highest slots go first',
        [
          inst(1, 'running', {id: 'i-a'}),
          inst(2, 'running', {id: 'i-b'}),
          inst(3, 'stopped', {id: 'i-c'}),
          inst(4, 'running', {id: 'i-d'}),
        ],
        {min: 1, max: 2},
        [
          [0, [], 'terminate', ['i-c', 'i-d']],
          // Waited for, so the result shows them terminated, not as they were.
          [1, [0], 'wait', ['i-c', 'i-d'], 'terminated'],
        ],
      ],
      [
        'duplicate slot claim: the earliest launched keeps it',
        [
          inst(1, 'running', {id: 'i-late', launchTime: '2026-01-02T00:00:00.000Z'}),
          inst(1, 'running', {id: 'i-early', launchTime: '2026-01-01T00:00:00.000Z'}),
        ],
        {min: 1, max: 1},
        [
          [0, [], 'terminate', ['i-late']],
          [1, [0], 'wait', ['i-late'], 'terminated'],
        ],
      ],
      [
        'within min..max nothing is launched beyond max',
        [inst(1, 'running', {id: 'i-a'}), inst(2, 'running', {id: 'i-b'})],
        {min: 1, max: 3},
        [
          [0, [], 'launch', [3], 1],
          [1, [0], 'wait', [], 'running'],
        ],
      ],
    ]
    for (const [name, observed, count, expected] of table) {
      it(name, () => expect(view(planCreate(observed, {count, ...wait}).actions)).to.deep.equal(expected))
    }

    it("the original library's 15-instance fixture, count {min 8, max 10}", () => {
      const plan = planCreate(originalFixture(), {count: {min: 8, max: 10}, wait: true})
      // healthy: 2 stopping (1,2), 2 stopped (3,4), 2 pending (9,10), 5 running (11-15) = 11 > max 10
      expect(view(plan.actions)).to.deep.equal([
        [0, [], 'terminate', ['i-15']],
        [1, [0], 'wait', ['i-15'], 'terminated'],
        [2, [], 'wait', ['i-01', 'i-02'], 'stopped'],
        [3, [2], 'start', ['i-01', 'i-02']],
        [4, [], 'start', ['i-03', 'i-04']],
        [5, [3, 4], 'wait', ['i-01', 'i-02', 'i-03', 'i-04', 'i-09', 'i-10'], 'running'],
      ])
    })

    it('the 15-instance fixture, count 15: fills the terminated and shutting-down slots', () => {
      const plan = planCreate(originalFixture(), {count: {min: 15, max: 15}, wait: true})
      const launch = plan.actions.find((a) => a.kind === 'launch')!
      expect(launch.slots).to.deep.equal([5, 6, 7, 8])
      expect(launch.minCount).to.equal(4)
    })

    it('--no-wait plans no wait for running', () => {
      expect(view(planCreate([], {count: {min: 1, max: 1}, wait: false}).actions)).to.deep.equal([
        [0, [], 'launch', [1], 1],
      ])
    })

    it('is idempotent: planning from the converged result does nothing', () => {
      const converged = [1, 2, 3].map((s) => inst(s, 'running'))
      expect(planCreate(converged, {count: {min: 2, max: 3}, wait: true}).actions).to.deep.equal([])
    })
  })

  describe('selection planners on the 15-instance fixture', () => {
    it('start: starts stopped, waits out stopping, skips running and gone', () => {
      const plan = planStart(originalFixture(), {wait: true})
      expect(view(plan.actions)).to.deep.equal([
        [0, [], 'wait', ['i-01', 'i-02'], 'stopped'],
        [1, [0], 'start', ['i-01', 'i-02']],
        [2, [], 'start', ['i-03', 'i-04']],
        [3, [1, 2], 'wait', ['i-01', 'i-02', 'i-03', 'i-04', 'i-09', 'i-10'], 'running'],
      ])
      expect(plan.skipped.map((s) => s.id)).to.deep.equal([
        'i-05',
        'i-06',
        'i-07',
        'i-08',
        'i-11',
        'i-12',
        'i-13',
        'i-14',
        'i-15',
      ])
    })

    it('stop: stops pending and running, waits for the stopping too', () => {
      const plan = planStop(originalFixture(), {wait: true})
      expect(view(plan.actions)).to.deep.equal([
        [0, [], 'stop', ['i-09', 'i-10', 'i-11', 'i-12', 'i-13', 'i-14', 'i-15']],
        [1, [0], 'wait', ['i-09', 'i-10', 'i-11', 'i-12', 'i-13', 'i-14', 'i-15', 'i-01', 'i-02'], 'stopped'],
      ])
    })

    it('reboot: only running instances; --hard stops then starts', () => {
      expect(view(planReboot(originalFixture(), {wait: true, hard: false}).actions)).to.deep.equal([
        [0, [], 'reboot', ['i-11', 'i-12', 'i-13', 'i-14', 'i-15']],
      ])
      const running = ['i-11', 'i-12', 'i-13', 'i-14', 'i-15']
      // Marked before the stop, unmarked once started: a run cut off in between is finished by the
      // next one (below).
      expect(view(planReboot(originalFixture(), {wait: false, hard: true}).actions)).to.deep.equal([
        [0, [], 'mark', running],
        [1, [0], 'stop', running],
        [2, [1], 'wait', running, 'stopped'],
        [3, [2], 'start', running],
        [4, [3], 'unmark', running],
      ])
      expect(
        planReboot(originalFixture(), {wait: true, hard: true})
          .actions.filter((a) => a.kind === 'mark' || a.kind === 'unmark')
          .map((a) => a.mark),
      ).to.deep.equal(['rebooting', 'rebooting'])
      // What a hard reboot cut off between stop and start leaves: skipped, with how to start it.
      const skipped = planReboot(originalFixture(), {wait: true, hard: true}).skipped
      const stopped = skipped.filter((x) => x.state === 'stopped')
      expect(stopped.length).to.be.greaterThan(0)
      for (const x of stopped) expect(x.reason).to.equal('not running (stopped); `wolphin start` starts it')
    })

    it('reboot --hard cut off between stop and start: the re-run starts what it stopped, and only that', () => {
      const rebooting = {tags: {'wolphin:rebooting': '2026-01-01T00:00:00.000Z'}}
      const sel = [
        inst(1, 'stopped', {id: 'i-cut', ...rebooting}),
        inst(2, 'stopping', {id: 'i-cut2', ...rebooting}),
        inst(3, 'pending', {id: 'i-started', ...rebooting}),
        inst(4, 'stopped', {id: 'i-user'}),
        inst(5, 'running', {id: 'i-run'}),
      ]
      expect(view(planReboot(sel, {wait: true, hard: true}).actions)).to.deep.equal([
        [0, [], 'mark', ['i-run']],
        [1, [0], 'stop', ['i-run']],
        [2, [1], 'wait', ['i-run', 'i-cut', 'i-cut2'], 'stopped'],
        [3, [2], 'start', ['i-run', 'i-cut', 'i-cut2']],
        [4, [3], 'wait', ['i-run', 'i-cut', 'i-cut2', 'i-started'], 'running'],
        [5, [4], 'unmark', ['i-run', 'i-cut', 'i-cut2', 'i-started']],
      ])
      // A stopped instance nobody marked was stopped on purpose: left alone, with how to start it.
      expect(planReboot(sel, {wait: true, hard: true}).skipped.map((x) => x.id)).to.deep.equal(['i-user'])
      // Only the marked ones: nothing to stop first.
      expect(view(planReboot(sel.slice(0, 1), {wait: false, hard: true}).actions)).to.deep.equal([
        [0, [], 'wait', ['i-cut'], 'stopped'],
        [1, [0], 'start', ['i-cut']],
        [2, [1], 'unmark', ['i-cut']],
      ])
      // A soft reboot does not start anything: it skips them all.
      expect(planReboot(sel.slice(0, 1), {wait: true, hard: false}).actions).to.deep.equal([])
      // A stop the user asks for clears the mark: a later reboot --hard leaves the instance stopped.
      expect(view(planStop(sel.slice(0, 1), {wait: true}).actions)).to.deep.equal([
        [0, [], 'unmark', ['i-cut']],
      ])
    })

    it('terminate: everything not gone, waits for shutting-down too', () => {
      const plan = planTerminate(originalFixture(), {wait: true})
      const live = ['i-01', 'i-02', 'i-03', 'i-04', 'i-09', 'i-10', 'i-11', 'i-12', 'i-13', 'i-14', 'i-15']
      expect(view(plan.actions)).to.deep.equal([
        [0, [], 'terminate', live],
        [1, [0], 'wait', [...live, 'i-05', 'i-06'], 'terminated'],
      ])
      expect(plan.skipped.map((s) => s.id)).to.deep.equal(['i-07', 'i-08'])
    })

    it('an empty selection plans nothing', () => {
      for (const p of [planStart, planStop, planTerminate])
        expect(p([], {wait: true}).actions).to.deep.equal([])
    })
  })

  it('resolveSlotClaims keeps the earliest, ties by id, and unslotted members', () => {
    const a = inst(1, 'running', {id: 'i-b', launchTime: '2026-01-01T00:00:00.000Z'})
    const b = inst(1, 'running', {id: 'i-a', launchTime: '2026-01-01T00:00:00.000Z'})
    const c = inst(null, 'running', {id: 'i-z'})
    const {keep, duplicates} = resolveSlotClaims([a, b, c])
    expect(keep.map((i) => i.id)).to.deep.equal(['i-a', 'i-z'])
    expect(duplicates.map((i) => i.id)).to.deep.equal(['i-b'])
  })

  it('lowestFreeSlots', () => {
    expect(lowestFreeSlots([2, 4], 3)).to.deep.equal([1, 3, 5])
    expect(lowestFreeSlots([], 0)).to.deep.equal([])
  })

  it('describes actions with their prerequisites', () => {
    const plan = planCreate([inst(1, 'stopped', {id: 'i-s'})], {count: {min: 2, max: 3}, wait: true})
    expect(plan.actions.map((a) => describeAction(a, new Map([['i-s', 'wolphin.p.1']])))).to.deep.equal([
      '0 [] start i-s (wolphin.p.1)',
      '1 [] launch 2 instances into slots 2, 3 (at least 1)',
      '2 [0,1] wait until running: i-s (wolphin.p.1) and instances launched by [1]',
    ])
  })
})

describe('wolphin:slots encoding', () => {
  it('encodes ranges, decodes them back, and keeps within the tag limit', async () => {
    const {decodeSlots, encodeSlots, slotsThatFit, TAG_VALUE_MAX} = await import('../../src/project/tags.js')
    expect(encodeSlots([1, 2, 3, 5, 7, 8])).to.equal('1-3,5,7-8')
    expect(decodeSlots('1-3,5,7-8')).to.deep.equal([1, 2, 3, 5, 7, 8])
    expect(decodeSlots('3,1')).to.deep.equal([3, 1])
    for (const bad of ['', 'a', '0', '3-1', '1,,2']) expect(decodeSlots(bad)).to.equal(null)
    const hundred = Array.from({length: 100}, (_, i) => i + 1)
    expect(encodeSlots(hundred)).to.equal('1-100')
    // every other slot: too many for one tag value, so a launch takes the longest prefix that fits
    const sparse = Array.from({length: 200}, (_, i) => 2 * i + 1)
    const part = slotsThatFit(sparse)
    expect(encodeSlots(part).length).to.be.at.most(TAG_VALUE_MAX)
    expect(encodeSlots(sparse.slice(0, part.length + 1)).length).to.be.greaterThan(TAG_VALUE_MAX)
    expect(decodeSlots(encodeSlots(part))).to.deep.equal(part)
  })

  it('the slot at a launch index is the decoded list at that index, without expanding it', async () => {
    const {decodeSlots, slotAtLaunchIndex} = await import('../../src/project/tags.js')
    for (const text of ['1-3,5,7-8', '3,1', '1001-2000', '4', '2-2,9-12,6']) {
      const list = decodeSlots(text)!
      for (let i = -1; i <= list.length; i++)
        expect(slotAtLaunchIndex(text, i), `${text}[${i}]`).to.equal(list[i] ?? null)
    }
    for (const bad of ['', 'a', '0', '3-1', '1,,2']) expect(slotAtLaunchIndex(bad, 0)).to.equal(null)
    expect(slotAtLaunchIndex('1-3', 1.5)).to.equal(null)
  })
})
