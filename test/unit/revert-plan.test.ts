import {expect} from 'chai'

import {describeAction, type Plan, planCreate, resolveSlotClaims} from '../../src/project/plan.js'
import {analyseRevert, planRevert, type RevertOptions} from '../../src/project/revert.js'
import {Tag} from '../../src/project/tags.js'
import type {Instance, InstanceState} from '../../src/project/types.js'
import {testInstance} from '../support/fixtures.js'

const RUN = '2026-01-01T00:00:00.000Z'

/** An observed instance: `i-o1` launched at minute 1 into slot 1... */
function inst(
  id: string,
  slot: number | null,
  state: InstanceState,
  /** `replaced`: marked by a revert; a string is the run id it was marked with. */
  o: {replaced?: boolean | string; outdated?: boolean; minute?: number} = {},
): Instance {
  const tags: Record<string, string> = {ProjectName: 'wolphin.p'}
  if (slot !== null) {
    tags.Name = `wolphin.p.${slot}`
    tags[Tag.Slot] = String(slot)
  }
  if (o.replaced) tags[Tag.Replaced] = o.replaced === true ? RUN : o.replaced
  return testInstance({
    id,
    name: slot === null ? null : `wolphin.p.${slot}`,
    slot,
    state,
    imageId: 'ami-1',
    instanceType: 't3.micro',
    launchTime: `2026-01-01T00:${String(o.minute ?? 0).padStart(2, '0')}:00.000Z`,
    outdated: o.outdated ?? false,
    tags,
  })
}

const lines = (p: Plan) => p.actions.map((a) => describeAction(a))
const plan = (observed: Instance[], selection: Instance[], o: Partial<RevertOptions> = {}) =>
  lines(planRevert(observed, selection, {strategy: 'sequential', wait: true, ...o}))
const slots = (obs: Instance[], ...s: number[]) => obs.filter((i) => i.slot !== null && s.includes(i.slot))

// Three running slots; slots 1 and 2 are reverted.
const three = [inst('i-1', 1, 'running'), inst('i-2', 2, 'running'), inst('i-3', 3, 'running')]

describe('planRevert: fresh selection, per strategy', () => {
  it('batch: mark all, terminate all, one launch into the same slots, then wait', () => {
    expect(plan(three, slots(three, 1, 2), {strategy: 'batch'})).to.deep.equal([
      '0 [] mark i-1, i-2 as replaced',
      '1 [0] terminate i-1, i-2',
      '2 [1] launch 2 instances into slots 1, 2',
      '3 [2] wait until running: instances launched by [2]',
      '4 [3] wait until terminated: i-1, i-2',
    ])
  })

  it('sequential: per slot mark, terminate, launch, wait running; slot 2 after slot 1', () => {
    expect(plan(three, slots(three, 1, 2))).to.deep.equal([
      '0 [] mark i-1 as replaced',
      '1 [0] terminate i-1 (slot 1)',
      '2 [1] launch 1 instance into slot 1',
      '3 [2] wait until running: instances launched by [2]',
      '4 [3] mark i-2 as replaced',
      '5 [4] terminate i-2 (slot 2)',
      '6 [5] launch 1 instance into slot 2',
      '7 [6] wait until running: instances launched by [6]',
      '8 [7] wait until terminated: i-1, i-2',
    ])
  })

  it('rolling: mark, launch, wait running, then terminate the old one; slot by slot', () => {
    expect(plan(three, slots(three, 1, 2), {strategy: 'rolling'})).to.deep.equal([
      '0 [] mark i-1 as replaced',
      '1 [0] launch 1 instance into slot 1',
      '2 [1] wait until running: instances launched by [1]',
      '3 [2] terminate i-1 (slot 1)',
      '4 [3] mark i-2 as replaced',
      '5 [4] launch 1 instance into slot 2',
      '6 [5] wait until running: instances launched by [5]',
      '7 [6] terminate i-2 (slot 2)',
      '8 [7] wait until terminated: i-1, i-2',
    ])
  })

  it('rolling --surge 2 --wait-ssh: two slots per step, ssh before terminating', () => {
    expect(plan(three, three, {strategy: 'rolling', surge: 2, waitSsh: true})).to.deep.equal([
      '0 [] mark i-1, i-2 as replaced',
      '1 [0] launch 2 instances into slots 1, 2',
      '2 [1] wait until running: instances launched by [1]',
      '3 [1,2] wait until reachable over ssh: instances launched by [1]',
      '4 [3] terminate i-1, i-2 (slots 1, 2)',
      '5 [4] mark i-3 as replaced',
      '6 [5] launch 1 instance into slot 3',
      '7 [6] wait until running: instances launched by [6]',
      '8 [6,7] wait until reachable over ssh: instances launched by [6]',
      '9 [8] terminate i-3 (slot 3)',
      '10 [9] wait until terminated: i-1, i-2, i-3',
    ])
  })

  it('--no-wait drops the final waits but keeps the ones between slots', () => {
    expect(plan(three, slots(three, 1, 2), {wait: false})).to.deep.equal([
      '0 [] mark i-1 as replaced',
      '1 [0] terminate i-1 (slot 1)',
      '2 [1] launch 1 instance into slot 1',
      '3 [2] wait until running: instances launched by [2]',
      '4 [3] mark i-2 as replaced',
      '5 [4] terminate i-2 (slot 2)',
      '6 [5] launch 1 instance into slot 2',
    ])
    expect(plan(three, slots(three, 1), {strategy: 'batch', wait: false})).to.deep.equal([
      '0 [] mark i-1 as replaced',
      '1 [0] terminate i-1',
      '2 [1] launch 1 instance into slot 1',
    ])
    expect(plan(three, slots(three, 1), {strategy: 'rolling', wait: false})).to.deep.equal([
      '0 [] mark i-1 as replaced',
      '1 [0] launch 1 instance into slot 1',
      '2 [1] wait until running: instances launched by [1]',
      '3 [2] terminate i-1 (slot 1)',
    ])
  })

  it('stopped and pending instances are replaced too; terminated and unslotted ones are not', () => {
    const obs = [
      inst('i-1', 1, 'stopped'),
      inst('i-2', 2, 'pending'),
      inst('i-3', 3, 'terminated'),
      inst('i-x', null, 'running'),
    ]
    const p = planRevert(obs, obs, {strategy: 'batch', wait: false})
    expect(lines(p)).to.deep.equal([
      '0 [] mark i-1, i-2 as replaced',
      '1 [0] terminate i-1, i-2',
      '2 [1] launch 2 instances into slots 1, 2',
    ])
    expect(p.skipped.map((s) => [s.id, s.reason])).to.deep.equal([
      ['i-x', 'has no slot, so its replacement could not keep its Name'],
    ])
  })

  it('an empty selection plans nothing', () => {
    expect(plan(three, [])).to.deep.equal([])
    expect(plan(three, [], {strategy: 'rolling'})).to.deep.equal([])
  })

  it('duplicate claims on a selected slot are replaced by one instance', () => {
    const obs = [inst('i-1', 1, 'running', {minute: 1}), inst('i-1b', 1, 'running', {minute: 2})]
    expect(plan(obs, obs, {strategy: 'rolling', wait: false})).to.deep.equal([
      '0 [] mark i-1, i-1b as replaced',
      '1 [0] launch 1 instance into slot 1',
      '2 [1] wait until running: instances launched by [1]',
      '3 [2] terminate i-1, i-1b (slot 1)',
    ])
  })
})

describe('planRevert: half-done reverts (a re-run completes them)', () => {
  // Slot 1: replacement launched, old (marked) still running. Slot 2: old marked, replacement
  // missing. Slot 3: old marked and already terminated, replacement missing. Slot 4: done.
  const half = [
    inst('i-old1', 1, 'running', {replaced: true, outdated: true, minute: 1}),
    inst('i-new1', 1, 'pending', {minute: 9}),
    inst('i-old2', 2, 'running', {replaced: true, outdated: true, minute: 1}),
    inst('i-old3', 3, 'terminated', {replaced: true, outdated: true, minute: 1}),
    inst('i-old4', 4, 'terminated', {replaced: true, outdated: true, minute: 1}),
    inst('i-new4', 4, 'running', {minute: 8}),
    inst('i-5', 5, 'running', {outdated: true, minute: 1}),
  ]

  it('classifies each slot', () => {
    const a = analyseRevert(half, half)
    expect(a.resuming).to.equal(true)
    expect(a.units.map((u) => [u.slot, u.kind])).to.deep.equal([
      [1, 'finish'],
      [2, 'relaunch'],
      [3, 'relaunch'],
      [5, 'replace'],
    ])
    expect(a.skipped.map((s) => s.id)).to.deep.equal(['i-new4'])
  })

  it('rolling: waits for the pending replacement before terminating the old one', () => {
    expect(plan(half, half, {strategy: 'rolling'})).to.deep.equal([
      '0 [] wait until running: i-new1',
      '1 [0] terminate i-old1 (slot 1)',
      '2 [1] launch 1 instance into slot 2',
      '3 [2] wait until running: instances launched by [2]',
      '4 [3] terminate i-old2 (slot 2)',
      '5 [4] launch 1 instance into slot 3',
      '6 [5] wait until running: instances launched by [5]',
      '7 [6] mark i-5 as replaced',
      '8 [7] launch 1 instance into slot 5',
      '9 [8] wait until running: instances launched by [8]',
      '10 [9] terminate i-5 (slot 5)',
      '11 [10] wait until terminated: i-old1, i-old2, i-5',
    ])
  })

  it('sequential: terminates marked old ones first, launches what is missing', () => {
    expect(plan(half, half)).to.deep.equal([
      '0 [] terminate i-old1 (slot 1)',
      '1 [0] wait until running: i-new1',
      '2 [1] terminate i-old2 (slot 2)',
      '3 [2] launch 1 instance into slot 2',
      '4 [3] wait until running: instances launched by [3]',
      '5 [4] launch 1 instance into slot 3',
      '6 [5] wait until running: instances launched by [5]',
      '7 [6] mark i-5 as replaced',
      '8 [7] terminate i-5 (slot 5)',
      '9 [8] launch 1 instance into slot 5',
      '10 [9] wait until running: instances launched by [9]',
      '11 [10] wait until terminated: i-old1, i-old2, i-5',
    ])
  })

  it('batch: one terminate, one launch for every missing slot', () => {
    expect(plan(half, half, {strategy: 'batch'})).to.deep.equal([
      '0 [] mark i-5 as replaced',
      '1 [0] terminate i-old1, i-old2, i-5',
      '2 [1] launch 3 instances into slots 2, 3, 5',
      '3 [2] wait until running: i-new1 and instances launched by [2]',
      '4 [3] wait until terminated: i-old1, i-old2, i-5',
    ])
  })

  it('re-run with --outdated: the selection holds only old instances, yet every slot is recognised', () => {
    const outdated = half.filter((i) => i.outdated)
    expect(analyseRevert(half, outdated).units.map((u) => [u.slot, u.kind])).to.deep.equal([
      [1, 'finish'],
      [2, 'relaunch'],
      [3, 'relaunch'],
      [5, 'replace'],
    ])
  })

  it('both present and running: only the old one is terminated, no launch, no mark', () => {
    const both = [
      inst('i-old', 1, 'running', {replaced: true, outdated: true, minute: 1}),
      inst('i-new', 1, 'running', {minute: 5}),
    ]
    for (const strategy of ['batch', 'sequential', 'rolling'] as const)
      expect(plan(both, both, {strategy, wait: false}), strategy).to.deep.equal(
        strategy === 'rolling'
          ? ['0 [] wait until running: i-new', '1 [0] terminate i-old (slot 1)']
          : [strategy === 'batch' ? '0 [] terminate i-old' : '0 [] terminate i-old (slot 1)'],
      )
  })

  it('finished revert: --outdated selects only gone old instances and plans nothing', () => {
    const done = [
      inst('i-old', 1, 'terminated', {replaced: true, outdated: true, minute: 1}),
      inst('i-new', 1, 'running', {minute: 5}),
    ]
    expect(
      plan(
        done,
        done.filter((i) => i.outdated),
        {strategy: 'rolling'},
      ),
    ).to.deep.equal([])
  })

  it('finished revert: -i replaces the slot again (a new revert, not a resumption)', () => {
    const done = [
      inst('i-old', 1, 'terminated', {replaced: true, minute: 1}),
      inst('i-new', 1, 'running', {minute: 5}),
    ]
    expect(plan(done, done, {strategy: 'rolling', wait: false})).to.deep.equal([
      '0 [] mark i-new as replaced',
      '1 [0] launch 1 instance into slot 1',
      '2 [1] wait until running: instances launched by [1]',
      '3 [2] terminate i-new (slot 1)',
    ])
  })

  it('a slot whose replacement was launched and later terminated on purpose is left empty', () => {
    const emptied = [
      inst('i-old', 1, 'terminated', {replaced: true, outdated: true, minute: 1}),
      inst('i-new', 1, 'terminated', {minute: 5}),
    ]
    expect(plan(emptied, emptied)).to.deep.equal([])
  })

  it('resuming: a slot done before the interruption is not replaced twice, an outdated one is', () => {
    const obs = [
      inst('i-old1', 1, 'terminated', {replaced: true, minute: 1}),
      inst('i-new1', 1, 'running', {minute: 5}),
      inst('i-old2', 2, 'running', {replaced: true, minute: 1}),
      inst('i-old3', 3, 'terminated', {replaced: true, outdated: true, minute: 1}),
      inst('i-3', 3, 'running', {outdated: true, minute: 2}),
    ]
    const a = analyseRevert(obs, obs)
    expect(a.units.map((u) => [u.slot, u.kind])).to.deep.equal([
      [2, 'relaunch'],
      [3, 'replace'],
    ])
    expect(a.skipped.map((s) => [s.id, s.reason])).to.deep.equal([
      ['i-new1', 'already replaced by the revert being resumed'],
    ])
  })
})

describe('replaced instances hold no slot', () => {
  it('create does not count a marked instance as the slot holder; it finishes the revert once the holder runs', () => {
    const obs = [
      inst('i-old1', 1, 'running', {replaced: true, minute: 1}),
      inst('i-new1', 1, 'running', {minute: 5}),
      inst('i-2', 2, 'running'),
    ]
    // Not a duplicate of i-new1 (which keeps the slot although launched later): the revert's
    // leftover is terminated, nothing else happens.
    expect(lines(planCreate(obs, {count: {min: 2, max: 2}, wait: false}))).to.deep.equal([
      '0 [] terminate i-old1 (replaced by a revert)',
    ])
    expect(lines(planCreate(obs, {count: {min: 2, max: 2}, wait: true}))).to.deep.equal([
      '0 [] terminate i-old1 (replaced by a revert)',
      '1 [0] wait until terminated: i-old1',
    ])
    // Marked, with no replacement yet: the slot is free for create; the old one goes once the
    // new one runs, never before.
    const gap = [inst('i-old1', 1, 'running', {replaced: true}), inst('i-2', 2, 'running')]
    expect(lines(planCreate(gap, {count: {min: 2, max: 2}, wait: false}))).to.deep.equal([
      '0 [] launch 1 instance into slot 1',
      '1 [0] terminate i-old1 (replaced by a revert)',
    ])
    expect(lines(planCreate(gap, {count: {min: 2, max: 2}, wait: true}))).to.deep.equal([
      '0 [] launch 1 instance into slot 1',
      '1 [0] wait until running: instances launched by [0]',
      '2 [1] terminate i-old1 (replaced by a revert)',
      '3 [2] wait until terminated: i-old1',
    ])
    // Finishing a revert the user already ran converges: front ends do not ask before it, while
    // a shrink below the current count (a choice) is still asked about.
    const finish = planCreate(obs, {count: {min: 2, max: 2}, wait: false})
    expect(finish.actions.filter((a) => a.kind === 'terminate').map((a) => a.converges)).to.deep.equal([true])
    const shrink = planCreate(obs, {count: {min: 1, max: 1}, wait: false})
    expect(
      shrink.actions.filter((a) => a.kind === 'terminate').map((a) => [a.ids, a.converges ?? false]),
    ).to.deep.equal([
      [['i-2'], false],
      [['i-old1'], true],
    ])
    // A marked instance is never a duplicate, whatever its launch time.
    expect(resolveSlotClaims(obs).duplicates).to.deep.equal([])
    expect(resolveSlotClaims(obs).keep.map((i) => i.id)).to.deep.equal(['i-new1', 'i-2'])
  })
})

describe('planRevert: run ids in wolphin:replaced', () => {
  it('a new run marks with its own id; a resumed run keeps the id of the run it resumes', () => {
    const p = planRevert(three, slots(three, 1), {strategy: 'batch', wait: false, runId: 'run-B'})
    expect(p.actions[0]).to.include({kind: 'mark', value: 'run-B'})
    const half = [inst('i-old1', 1, 'running', {replaced: 'run-A'}), inst('i-2', 2, 'running')]
    const r = planRevert(half, half, {strategy: 'rolling', wait: false, runId: 'run-B'})
    expect(r.actions.find((a) => a.kind === 'mark')).to.include({value: 'run-A'})
    expect(analyseRevert(half, half).resumeId).to.equal('run-A')
  })

  it('resuming one run, a slot finished by an earlier, completed revert is replaced, not skipped', () => {
    const obs = [
      // Run A was interrupted with slot 1 half-done.
      inst('i-old1', 1, 'running', {replaced: 'run-A', minute: 1}),
      // Slot 2 was finished by run A; slot 3 by an older revert, run Z, long done.
      inst('i-old2', 2, 'terminated', {replaced: 'run-A', minute: 1}),
      inst('i-new2', 2, 'running', {minute: 5}),
      inst('i-old3', 3, 'terminated', {replaced: 'run-Z', minute: 0}),
      inst('i-3', 3, 'running', {minute: 1}),
    ]
    const a = analyseRevert(obs, obs)
    expect(a.units.map((u) => [u.slot, u.kind])).to.deep.equal([
      [1, 'relaunch'],
      [3, 'replace'],
    ])
    expect(a.skipped.map((s) => s.id)).to.deep.equal(['i-new2'])
  })
})
