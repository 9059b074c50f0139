/**
 * The renderers on fixed inputs: widths, colour, and CI progress (one line per change of a wait's
 * count, never the plan notation).
 */
import {expect} from 'chai'

import {closest} from '../../src/hooks/command-not-found.js'
import type {ReapResult} from '../../src/project/fleet.js'
import type {Action} from '../../src/project/plan.js'
import type {OperationResult} from '../../src/project/project.js'
import type {InstanceJson} from '../../src/project/types.js'
import {colourEnabled} from '../../src/ui/colour.js'
import {reapText} from '../../src/ui/fleet-render.js'
import {plainProgress} from '../../src/ui/progress.js'
import {operationText, slotRanges, statusColumns, statusTable} from '../../src/ui/render.js'
import {chooseColumns} from '../../src/ui/table.js'

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length))

function inst(slot: number, state: InstanceJson['state']): InstanceJson {
  return {
    id: `i-0123456789abcd${String(slot).padStart(3, '0')}`,
    name: `wolphin.loadgen-eu-west.${slot}`,
    slot,
    state,
    publicIp: `203.0.113.${slot}`,
    privateIp: `10.0.0.${slot}`,
    publicDns: null,
    privateDns: null,
    imageId: 'ami-12c6146b',
    instanceType: 'c6i.large',
    zone: 'eu-west-1a',
    launchTime: new Date(Date.now() - 3_600_000).toISOString(),
    owner: 'perf-team@example.com',
    expiresAt: new Date(Date.now() + 7_200_000).toISOString(),
    outdated: false,
    market: 'on-demand',
    stateReason: null,
    replaced: false,
  }
}

const twelve = Array.from({length: 12}, (_, n) => inst(n + 1, n < 9 ? 'running' : 'shutting-down'))

describe('unit: renderers', () => {
  it('status: the default columns fit 80 and 120 columns; --wide has all twelve', () => {
    const cols = chooseColumns(statusColumns(), {})
    const at80 = statusTable({project: 'p', instances: twelve}, {...cols, width: 80, colour: false})
    const at120 = statusTable({project: 'p', instances: twelve}, {...cols, width: 120, colour: false})
    expect(widest(at80)).to.be.at.most(80)
    expect(widest(at120)).to.be.at.most(120)
    expect(at80.split('\n')[0].split(/\s+/)).to.deep.equal(['name', 'state', 'address', 'age', 'lease'])
    expect(at120.split('\n')[0].split(/\s+/)).to.include('id')
    const wide = statusTable(
      {project: 'p', instances: twelve},
      {...chooseColumns(statusColumns(), {wide: true}), width: 80, colour: false},
    )
    expect(wide.split('\n')[0].split(/ {2,}/)).to.have.length(12)
  })

  it('status: states coloured only when asked', () => {
    const cols = chooseColumns(statusColumns(), {})
    const on = statusTable({project: 'p', instances: twelve}, {...cols, colour: true})
    expect(on).to.include('\x1b[32mrunning\x1b[39m').and.include('\x1b[35mshutting-down\x1b[39m')
    // Padding is outside the colour, so columns still line up.
    const plain = on.replace(/\x1b\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex
    expect(plain).to.equal(statusTable({project: 'p', instances: twelve}, {...cols, colour: false}))
  })

  it('colour: off under NO_COLOR (non-empty), TERM=dumb, --no-color, or without a terminal', () => {
    const tty = {isTTY: true}
    expect(colourEnabled(tty, {env: {}})).to.equal(true)
    expect(colourEnabled(tty, {env: {NO_COLOR: '1'}})).to.equal(false)
    expect(colourEnabled(tty, {env: {NO_COLOR: ''}})).to.equal(true)
    expect(colourEnabled(tty, {env: {TERM: 'dumb'}})).to.equal(false)
    expect(colourEnabled(tty, {env: {}, noColor: true})).to.equal(false)
    expect(colourEnabled({isTTY: false}, {env: {}})).to.equal(false)
  })

  it('a 12-instance terminate summary: one short line, then one line per instance', () => {
    const result: OperationResult = {
      project: 'loadgen-eu-west',
      operation: 'terminate',
      dryRun: false,
      emptySelection: false,
      plan: {
        actions: [
          {id: 0, deps: [], kind: 'terminate', ids: twelve.map((i) => i.id), description: 'x'},
          {id: 1, deps: [0], kind: 'wait', ids: twelve.map((i) => i.id), description: 'y'},
        ],
        skipped: [],
      },
      launched: [],
      instances: twelve,
    }
    const text = operationText(result)
    expect(text.split('\n')[0]).to.equal('terminate: terminate 12 instances')
    expect(text.trimEnd().split('\n')).to.have.length(14)
    expect(widest(text)).to.be.at.most(80)
  })

  it('reap --dry-run: one line per instance, fits 80 columns', () => {
    // One instant for the reap and the leases: "ago" is counted from the reap's own `at`.
    const now = Date.now()
    const r: ReapResult = {
      regions: ['eu-west-1'],
      action: 'terminate',
      graceSeconds: 0,
      dryRun: true,
      at: new Date(now).toISOString(),
      errors: [],
      projects: [
        {
          region: 'eu-west-1',
          project: 'loadgen-eu-west',
          owner: 'perf-team@example.com',
          action: 'terminate',
          targets: twelve.map((i) => ({
            id: i.id,
            name: i.name,
            state: i.state,
            expiresAt: new Date(now - 5_400_000).toISOString(),
          })),
          skipped: [],
          done: false,
        },
      ],
    }
    const text = reapText(r)
    expect(text.trimEnd().split('\n')).to.have.length(1 + 1 + 12 + 1)
    expect(widest(text)).to.be.at.most(80)
    expect(text).to.match(/^ {2}wolphin\.loadgen-eu-west\.1 +i-\w+ +running +1h30m ago$/m)
    expect(text).to.not.match(/\x1b/) // eslint-disable-line no-control-regex
  })

  it('slot lists as ranges', () => {
    expect(slotRanges([3, 1, 2, 7, 5, 6])).to.equal('1-3, 5-7')
    expect(slotRanges([4])).to.equal('4')
  })

  it('CI progress: a wait prints a line when its count changes, not once per poll', () => {
    const out: string[] = []
    let t = 0
    const p = plainProgress(
      (s) => out.push(s),
      () => t,
    )
    const wait: Action = {id: 1, deps: [0], kind: 'wait', ids: [], until: 'running', launches: [0]}
    p.onEvent({type: 'action:start', code: 'ACTION_START', action: wait, message: '1 [0] wait until running'})
    for (let poll = 0; poll < 120; poll++) {
      t = poll * 1000
      const reached = poll < 50 ? 0 : poll < 100 ? 3 : 4
      p.onEvent({
        type: 'action:progress',
        code: 'ACTION_PROGRESS',
        action: wait,
        message: `${reached}/5 running`,
        counts: {reached, total: 5},
      })
    }
    t = 121_000
    p.onEvent({
      type: 'action:done',
      code: 'ACTION_DONE',
      action: wait,
      message: '1 [0] wait',
      ids: ['a', 'b', 'c', 'd', 'e'],
    })
    const lines = out.join('').trimEnd().split('\n')
    expect(lines.map((l) => l.slice(9))).to.deep.equal([
      'waiting until running',
      '0/5 running, 0 s',
      '3/5 running, 50 s',
      '4/5 running, 100 s',
      '5/5 running, 121 s',
    ])
  })

  it('unknown command: the closest one, or none when nothing is close', () => {
    const ids = ['status', 'start', 'stop', 'create', 'terminate', 'exec', 'put', 'ls', 'reap']
    expect(closest('statu', ids)).to.equal('status')
    expect(closest('termiante', ids)).to.equal('terminate')
    expect(closest('crate', ids)).to.equal('create')
    expect(closest('frobnicate', ids)).to.equal(null)
  })
})
