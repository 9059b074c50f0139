/** Why an instance stopped (src/project/state-reason.ts) and how `status` shows it. */
import {expect} from 'chai'

import {stateReason} from '../../src/project/state-reason.js'
import {stateText} from '../../src/ui/render.js'

const raw = (code: string | null, message: string | null, transition: string | null, expiresAt?: string) => ({
  stateReason: code || message ? {code, message} : null,
  transitionReason: transition,
  tags: (expiresAt ? {'wolphin:expires-at': expiresAt} : {}) as Record<string, string>,
})

describe('state reason', () => {
  it('names spot interruptions, user shutdowns and shutdowns from the instance', () => {
    expect(
      stateReason(raw('Server.SpotInstanceTermination', 'Server.SpotInstanceTermination: x', null))?.summary,
    ).to.equal('spot interruption')
    expect(
      stateReason(raw('Client.UserInitiatedShutdown', 'm', 'User initiated (2026-05-01 18:00:00 GMT)')),
    ).to.deep.equal({
      code: 'Client.UserInitiatedShutdown',
      message: 'm',
      summary: 'user shutdown',
    })
    expect(stateReason(raw('Client.InstanceInitiatedShutdown', 'm', null))?.summary).to.equal(
      'shut down from the instance',
    )
    // An unknown code is shown as EC2 gives it; nothing at all is null.
    expect(stateReason(raw('Server.Something', 'm', null))?.summary).to.equal('Server.Something')
    expect(stateReason(raw(null, null, null))).to.equal(null)
    expect(stateReason(raw(null, null, 'User initiated (2026-05-01 18:00:00 GMT)'))?.summary).to.equal(
      'User initiated (2026-05-01 18:00:00 GMT)',
    )
  })

  it('a shutdown from the instance after its lease ended is the lease watchdog', () => {
    const at = 'User initiated (2026-05-01 18:00:30 GMT)'
    expect(
      stateReason(raw('Client.InstanceInitiatedShutdown', 'm', at, '2026-05-01T18:00:00.000Z'))?.summary,
    ).to.equal('lease watchdog')
    // Before the lease ended: someone ran `poweroff` on it.
    expect(
      stateReason(raw('Client.InstanceInitiatedShutdown', 'm', at, '2026-05-01T19:00:00.000Z'))?.summary,
    ).to.equal('shut down from the instance')
  })

  it('status shows it next to the state of an instance that is not up', () => {
    const r = {code: 'Server.SpotInstanceTermination', message: 'x', summary: 'spot interruption'}
    expect(stateText({state: 'terminated', stateReason: r})).to.equal('terminated (spot interruption)')
    expect(stateText({state: 'running', stateReason: r})).to.equal('running')
    expect(stateText({state: 'stopped', stateReason: null})).to.equal('stopped')
  })
})
