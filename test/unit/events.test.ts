/**
 * Progress events carry stable codes and typed data (src/project/events.ts): a library user reacts
 * to `code`, never to `message`. `type` and `message` stay for existing consumers.
 */
import {expect} from 'chai'

import {EventCode, type ProjectEvent} from '../../src/project/events.js'
import type {RawInstance} from '../../src/project/observe.js'
import type {Ec2Port} from '../../src/project/ports.js'
import {Project} from '../../src/project/project.js'
import {SlotSelector} from '../../src/selectors/index.js'
import {testConfig} from '../support/fixtures.js'

function memoryPort(instances: RawInstance[]): Ec2Port {
  const set = (ids: string[], state: RawInstance['state']) => {
    for (const i of instances) if (ids.includes(i.id)) i.state = state
  }
  return {
    describeProject: async () => instances.map((i) => ({...i, tags: {...i.tags}})),
    runInstances: async () => [],
    startInstances: async (ids) => set(ids, 'running'),
    stopInstances: async (ids) => set(ids, 'stopped'),
    rebootInstances: async () => {},
    terminateInstances: async (ids) => set(ids, 'terminated'),
    createTags: async () => {},
    deleteTags: async () => {},
  }
}
const raw = (id: string, slot: number, tags: Record<string, string> = {}): RawInstance => ({
  id,
  state: 'running',
  tags: {ProjectName: 'wolphin.p', Name: `wolphin.p.${slot}`, 'wolphin:slot': String(slot), ...tags},
  amiLaunchIndex: 0,
  publicIp: null,
  privateIp: null,
  publicDns: null,
  privateDns: null,
  imageId: null,
  instanceType: null,
  zone: null,
  launchTime: '2026-01-01T00:00:00.000Z',
  spot: false,
})

describe('progress events: stable codes and typed data', () => {
  it('every event of an operation has a code; lifecycle codes follow the type', async () => {
    const events: ProjectEvent[] = []
    const project = new Project(testConfig(), {
      port: memoryPort([raw('i-1', 1), raw('i-2', 2)]),
      onEvent: (e) => events.push(e),
    })
    await project.stop(new SlotSelector([1]))
    expect(events.every((e) => Object.values(EventCode).includes(e.code))).to.equal(true)
    const codes = events.map((e) => e.code)
    expect(codes.slice(0, 2)).to.deep.equal(['OBSERVED', 'PLAN'])
    expect(codes).to.include.members(['ACTION_START', 'ACTION_DONE'])
    const observed = events[0]
    // The code narrows the event to its data, as a library user would use it.
    if (observed.code !== EventCode.Observed) throw new Error('expected OBSERVED first')
    expect(observed.count).to.equal(2)
  })

  it('notes and warnings carry their own codes: EMPTY_SELECTION, LEASE_EXPIRED', async () => {
    const events: ProjectEvent[] = []
    const expired = raw('i-1', 1, {'wolphin:expires-at': '2026-01-01T00:00:00Z'})
    const project = new Project(testConfig(), {port: memoryPort([expired]), onEvent: (e) => events.push(e)})
    const r = await project.stop(new SlotSelector([7]))
    expect(r.emptySelection).to.equal(true)
    const notes = events.filter((e) => e.type === 'info' || e.type === 'warn').map((e) => [e.type, e.code])
    expect(notes).to.deep.equal([
      ['warn', 'LEASE_EXPIRED'],
      ['info', 'EMPTY_SELECTION'],
    ])
  })
})
