import {expect} from 'chai'

import {diffStates, isStable, type StateView, watchProject} from '../../src/project/watch.js'
import {transitionLine} from '../../src/ui/watch.js'

const v = (id: string, slot: number, state: StateView['state']): StateView => ({
  id,
  name: `wolphin.p.${slot}`,
  slot,
  state,
})

describe('unit: status --watch transitions', () => {
  it('diffStates: changed, appeared and vanished instances; unchanged ones are not reported', () => {
    const prev = [v('i-1', 1, 'pending'), v('i-2', 2, 'running'), v('i-3', 3, 'running')]
    const next = [v('i-1', 1, 'running'), v('i-2', 2, 'running'), v('i-4', 4, 'pending')]
    expect(diffStates(prev, next)).to.deep.equal([
      {id: 'i-1', name: 'wolphin.p.1', slot: 1, from: 'pending', to: 'running'},
      {id: 'i-4', name: 'wolphin.p.4', slot: 4, from: null, to: 'pending'},
      {id: 'i-3', name: 'wolphin.p.3', slot: 3, from: 'running', to: null},
    ])
    expect(diffStates(prev, prev)).to.deep.equal([])
  })

  it('isStable: no pending, stopping or shutting-down instance', () => {
    expect(isStable([v('i-1', 1, 'running'), v('i-2', 2, 'stopped'), v('i-3', 3, 'terminated')])).to.equal(
      true,
    )
    for (const s of ['pending', 'stopping', 'shutting-down'] as const)
      expect(isStable([v('i-1', 1, 'running'), v('i-2', 2, s)]), s).to.equal(false)
  })

  it('transitionLine: `HH:MM:SS name id from -> to`', () => {
    const at = new Date(2026, 0, 1, 12, 0, 1).toISOString()
    expect(transitionLine({...v('i-0abc', 2, 'running'), from: 'pending', to: 'running', at})).to.equal(
      '12:00:01 wolphin.p.2 i-0abc pending -> running',
    )
    expect(transitionLine({...v('i-9', 9, 'running'), from: null, to: 'pending', at})).to.equal(
      '12:00:01 wolphin.p.9 i-9 (new) -> pending',
    )
  })

  /** A project whose observations follow a script; a fake clock advances with each sleep. */
  function scripted(rounds: StateView[][]) {
    let t = Date.parse('2026-01-01T12:00:00Z')
    let n = 0
    const sleeps: number[] = []
    return {
      project: {
        status: async () => ({project: 'p', instances: rounds[Math.min(n++, rounds.length - 1)]}),
      },
      now: () => new Date(t),
      sleep: async (ms: number) => {
        sleeps.push(ms)
        t += ms
      },
      sleeps,
      observations: () => n,
    }
  }

  it('--until-stable: reports each transition and stops at the first stable observation', async () => {
    const s = scripted([
      [v('i-1', 1, 'pending'), v('i-2', 2, 'stopping')],
      [v('i-1', 1, 'running'), v('i-2', 2, 'stopping')],
      [v('i-1', 1, 'running'), v('i-2', 2, 'stopped')],
      [v('i-1', 1, 'terminated'), v('i-2', 2, 'stopped')],
    ])
    const seen: string[] = []
    const r = await watchProject(s.project, null, {
      interval: 2,
      timeout: 60,
      untilStable: true,
      now: s.now,
      sleep: s.sleep,
      onTransition: (t) => seen.push(`${t.at.slice(11, 19)} ${t.id} ${t.from} -> ${t.to}`),
    })
    expect(seen).to.deep.equal(['12:00:02 i-1 pending -> running', '12:00:04 i-2 stopping -> stopped'])
    expect(r).to.include({stable: true, timedOut: false, observations: 3})
    expect(s.sleeps).to.deep.equal([2000, 2000])
  })

  it('--timeout bounds the watch: it ends, not stable, after the timeout (last sleep shortened)', async () => {
    const s = scripted([[v('i-1', 1, 'pending')]])
    const r = await watchProject(s.project, null, {
      interval: 2,
      timeout: 5,
      untilStable: true,
      now: s.now,
      sleep: s.sleep,
    })
    expect(r).to.include({stable: false, timedOut: true})
    expect(s.sleeps).to.deep.equal([2000, 2000, 1000])
    expect(s.observations()).to.equal(4)
  })

  it('an already stable project with --until-stable needs one observation and no sleep', async () => {
    const s = scripted([[v('i-1', 1, 'running')]])
    const r = await watchProject(s.project, null, {
      interval: 2,
      untilStable: true,
      now: s.now,
      sleep: s.sleep,
    })
    expect(r.observations).to.equal(1)
    expect(s.sleeps).to.deep.equal([])
  })

  it('aborting (Ctrl-C) ends the watch normally', async () => {
    const s = scripted([[v('i-1', 1, 'pending')]])
    const ac = new AbortController()
    const r = await watchProject(s.project, null, {
      interval: 1,
      now: s.now,
      sleep: async (ms) => {
        await s.sleep(ms)
        if (s.sleeps.length === 3) ac.abort()
      },
      signal: ac.signal,
    })
    expect(r).to.include({timedOut: false, stable: false})
    expect(s.sleeps).to.have.length(3)
  })
})
