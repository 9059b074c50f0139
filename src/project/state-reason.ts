/**
 * Why an instance is in its state, from EC2's StateReason and StateTransitionReason: a spot
 * interruption, a stop from the API or the console, a shutdown from inside the instance (the lease
 * watchdog's, when the lease had ended by then). Pure.
 */
import {parseExpiry} from './lease.js'
import type {RawInstance} from './observe.js'
import {Tag} from './tags.js'
import type {StateReason} from './types.js'

const SUMMARIES: Record<string, string> = {
  'Server.SpotInstanceTermination': 'spot interruption',
  'Server.SpotInstanceShutdown': 'spot interruption',
  'Client.UserInitiatedShutdown': 'user shutdown',
  'Client.UserInitiatedHibernate': 'user hibernate',
  'Client.InstanceInitiatedShutdown': 'shut down from the instance',
  'Client.InstanceTerminated': 'terminated at launch',
  'Server.ScheduledStop': 'scheduled stop (EC2 maintenance)',
  'Server.InsufficientInstanceCapacity': 'no capacity',
  'Server.InternalError': 'EC2 internal error',
  'Client.InternalError': 'volume or boot error',
  'Client.VolumeLimitExceeded': 'volume limit exceeded',
  'Client.InvalidSnapshot.NotFound': 'snapshot not found',
}

/** The instant in a StateTransitionReason like "User initiated (2026-05-01 18:00:00 GMT)", or null. */
export function transitionTime(reason: string | null | undefined): number | null {
  const m = /\((\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) GMT\)/.exec(reason ?? '')
  return m ? Date.parse(`${m[1]}T${m[2]}Z`) : null
}

export function stateReason(
  raw: Pick<RawInstance, 'stateReason' | 'transitionReason' | 'tags'>,
): StateReason | null {
  const code = raw.stateReason?.code ?? null
  const message = raw.stateReason?.message ?? raw.transitionReason ?? null
  if (!code && !message) return null
  let summary = (code && SUMMARIES[code]) ?? code ?? message ?? ''
  if (code === 'Client.InstanceInitiatedShutdown') {
    // The watchdog is what shuts an instance down once its lease has ended; EC2 cannot tell
    // who did, so it is named only when the lease had ended by the time of the shutdown.
    const end = parseExpiry(raw.tags[Tag.ExpiresAt])
    const at = transitionTime(raw.transitionReason)
    if (end !== null && at !== null && end <= at) summary = 'lease watchdog'
  }
  return {code, message, summary}
}
