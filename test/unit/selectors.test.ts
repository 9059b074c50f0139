import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {SelectorError} from '../../src/errors.js'
import type {Instance, InstanceState} from '../../src/project/types.js'
import {
  AllOfSelector,
  applySelector,
  loadSelectorModule,
  parseSlots,
  parseStates,
  parseTagFilter,
  selectorFromFlags,
} from '../../src/selectors/index.js'
import {testInstance} from '../support/fixtures.js'

function inst(slot: number, state: InstanceState, tags: Record<string, string> = {}): Instance {
  return testInstance({
    id: `i-${slot}`,
    name: `wolphin.p.${slot}`,
    slot,
    state,
    outdated: slot % 2 === 0,
    tags,
  })
}

const fleet = [
  inst(1, 'running', {role: 'a'}),
  inst(2, 'stopped', {role: 'b'}),
  inst(3, 'running', {role: 'b'}),
  inst(5, 'running'),
  inst(7, 'pending'),
]
const slots = (xs: Instance[]) => xs.map((i) => i.slot)

describe('selectors', () => {
  it('parses slot lists and ranges', () => {
    expect(parseSlots('1,3,5-7')).to.deep.equal([1, 3, 5, 6, 7])
    expect(parseSlots(' 7-7 , 2,2 ')).to.deep.equal([2, 7])
  })
  const badSlots: Array<[string, RegExp]> = [
    ['', /empty list/],
    ['a', /"a" is not a slot number or range/],
    ['0', /slot numbers start at 1/],
    ['3-1', /range runs backwards/],
    ['1,,2', /"" is not a slot number/],
    ['-2', /"-2" is not a slot number/],
    ['1-999999', /slot numbers go up to 100000/],
  ]
  for (const [text, re] of badSlots) {
    it(`rejects --instances ${JSON.stringify(text)}`, () => {
      expect(() => parseSlots(text)).to.throw(SelectorError, re)
    })
  }
  it('parses states and tags, rejecting bad ones', () => {
    expect(parseStates('running,STOPPED')).to.deep.equal(['running', 'stopped'])
    expect(() => parseStates('up')).to.throw(
      SelectorError,
      /"up" is not an instance state; expected one or more of pending, running/,
    )
    expect(parseTagFilter('a=b=c')).to.deep.equal({key: 'a', value: 'b=c'})
    expect(() => parseTagFilter('=x')).to.throw(SelectorError, /is not KEY=VALUE/)
    expect(() => parseTagFilter('x')).to.throw(SelectorError, /is not KEY=VALUE/)
  })

  it('combines flags, each only narrowing', async () => {
    const s = await selectorFromFlags({instances: '1-5', state: 'running', tag: ['role=b']})
    expect(slots(await applySelector(s, fleet))).to.deep.equal([3])
    expect(slots(await applySelector(await selectorFromFlags({outdated: true}), fleet))).to.deep.equal([2])
    expect(await selectorFromFlags({})).to.equal(null)
    expect(slots(await applySelector(null, fleet))).to.deep.equal([1, 2, 3, 5, 7])
    expect(await applySelector(await selectorFromFlags({instances: '9'}), fleet)).to.deep.equal([])
  })

  it('--tag Name= matches the Name tag or the logical name of instances sharing a launch Name', async () => {
    const shared = [inst(1, 'running', {Name: 'wolphin.p'}), inst(2, 'running', {Name: 'wolphin.p'})]
    const byName = async (v: string) =>
      slots(await applySelector(await selectorFromFlags({tag: [`Name=${v}`]}), shared))
    expect(await byName('wolphin.p.2')).to.deep.equal([2])
    expect(await byName('wolphin.p')).to.deep.equal([1, 2])
    expect(await byName('wolphin.p.3')).to.deep.equal([])
    // Only Name has a logical twin: another key compares the tag alone.
    expect(
      slots(await applySelector(await selectorFromFlags({tag: ['role=wolphin.p.1']}), fleet)),
    ).to.deep.equal([])
  })

  describe('user selector modules', () => {
    let dir: string
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-sel-'))
      const files: Record<string, string> = {
        'object.mjs': 'export default {select: (xs) => xs.filter((i) => i.slot % 2 === 1)}',
        'fn.mjs': 'export default (xs) => xs.filter((i) => i.state === "running")',
        'klass.mjs': 'export default class { select(xs) { return xs.slice(0, 1) } }',
        'named.mjs': 'export const selector = {select: (xs) => xs.slice(-1)}',
        'named-select.mjs': 'export function select(xs) { return xs.filter((i) => i.slot === 2) }',
        'async-select.mjs': 'export const select = async (xs) => xs.slice(0, 2)',
        'widen.mjs': 'export default {select: (xs) => [...xs, {id: "i-foreign", slot: 99}]}',
        'none.mjs': 'export const nothing = 1',
        'broken.mjs': 'export default {select(',
        'throws.mjs': 'export default {select: () => { throw new Error("boom") }}',
      }
      for (const [f, t] of Object.entries(files)) await writeFile(path.join(dir, f), t)
    })
    it('loads objects, functions, classes and named exports', async () => {
      expect(slots(await applySelector(await loadSelectorModule('object.mjs', dir), fleet))).to.deep.equal([
        1, 3, 5, 7,
      ])
      expect(slots(await applySelector(await loadSelectorModule('fn.mjs', dir), fleet))).to.deep.equal([
        1, 3, 5,
      ])
      expect(slots(await applySelector(await loadSelectorModule('klass.mjs', dir), fleet))).to.deep.equal([1])
      expect(slots(await applySelector(await loadSelectorModule('named.mjs', dir), fleet))).to.deep.equal([7])
    })
    it('accepts a named `export function select(instances)`, as the README describes', async () => {
      const named = await loadSelectorModule('named-select.mjs', dir)
      expect(named.description).to.equal('named-select.mjs')
      expect(slots(await applySelector(named, fleet))).to.deep.equal([2])
      expect(
        slots(await applySelector(await loadSelectorModule('async-select.mjs', dir), fleet)),
      ).to.deep.equal([1, 2])
    })
    it('a selector can never widen the selection', async () => {
      expect(slots(await applySelector(await loadSelectorModule('widen.mjs', dir), fleet))).to.deep.equal([
        1, 2, 3, 5, 7,
      ])
    })
    it('clear errors for missing, broken, empty and throwing modules', async () => {
      const fail = async (f: string, re: RegExp) => {
        try {
          await applySelector(await loadSelectorModule(f, dir), fleet)
          expect.fail(`expected ${f} to fail`)
        } catch (e) {
          expect(e).to.be.instanceOf(SelectorError)
          expect((e as Error).message).to.match(re)
          expect((e as Error).message).not.to.contain('\n')
        }
      }
      await fail('missing.mjs', /--selector: missing\.mjs: no such file/)
      await fail('broken.mjs', /--selector: broken\.mjs: failed to load/)
      await fail(
        'none.mjs',
        /does not export a selector; expected a default export with a select\(instances\) method or a function/,
      )
      await fail('throws.mjs', /selector "throws\.mjs" failed: boom|selector .* failed: boom/)
    })
  })

  describe('a selector can only narrow', () => {
    it('gets frozen copies in a fresh array; our instances stay untouched', async () => {
      const ours = [inst(1, 'running'), inst(2, 'running')]
      let given: Instance[] = []
      const picked = await applySelector(
        {
          select: (xs) => {
            given = xs
            xs.reverse() // its own array: allowed
            return xs
          },
        },
        ours,
      )
      expect(given).to.not.equal(ours)
      expect(given[0]).to.not.equal(ours[1])
      expect(Object.isFrozen(given[0]) && Object.isFrozen(given[0].tags)).to.equal(true)
      // Results are our own objects, mapped back by id.
      expect(picked[0]).to.equal(ours[1])
      expect(ours.map((i) => i.slot)).to.deep.equal([1, 2])
    })
    it('mutation is an error; forged, foreign and repeated results are dropped', async () => {
      const ours = [inst(1, 'running'), inst(2, 'running')]
      const err = await applySelector(
        {
          select: (xs) => {
            ;(xs[0] as {id: string}).id = 'i-victim'
            return xs
          },
        },
        ours,
      ).catch((e: unknown) => e)
      expect(err).to.be.instanceOf(SelectorError)
      expect(ours[0].id).to.equal('i-1')
      const out = await applySelector(
        {
          select: (xs) =>
            [xs[1], xs[1], {...xs[0], id: 'i-victim'}, null, 42, {id: 7}, xs[1]] as unknown as Instance[],
        },
        ours,
      )
      expect(out).to.deep.equal([ours[1]])
    })
    it('a selector that never answers, or exits, is a one-line SelectorError; process.exit is restored', async () => {
      const exit = process.exit
      const never = new AllOfSelector(
        [{description: 'never', select: () => new Promise<Instance[]>(() => {})}],
        50,
      )
      const e1 = await applySelector(never, fleet).catch((e: unknown) => e)
      expect((e1 as Error).message).to.equal('selector "never" did not finish within 0.05s')
      const e2 = await applySelector({description: 'quitter', select: () => process.exit(0)}, fleet).catch(
        (e: unknown) => e,
      )
      expect(e2).to.be.instanceOf(SelectorError)
      expect((e2 as Error).message).to.equal(
        'selector "quitter" failed: called process.exit(0); a selector may not exit',
      )
      expect(process.exit).to.equal(exit)
    })
  })
})
