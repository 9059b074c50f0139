import type {TimedTransition} from '../project/watch.js'
import {printable} from './printable.js'

/** `12:00:01 wolphin.p.2 i-0abc pending -> running`, in local time like the progress lines. */
export function transitionLine(t: TimedTransition): string {
  const time = new Date(t.at).toTimeString().slice(0, 8)
  const who = t.name ?? (t.slot !== null ? `slot ${t.slot}` : '-')
  return printable(`${time} ${who} ${t.id} ${t.from ?? '(new)'} -> ${t.to ?? '(gone)'}`)
}
