import type {OperationResult, StatusResult} from '../project/project.js'
import {printable, printableLines} from './printable.js'
import type {InstanceJson} from '../project/types.js'
import {leaseText} from '../project/lease.js'

const dash = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '-' : String(v)

export function age(launchTime: string | null, now = Date.now()): string {
  if (!launchTime) return '-'
  const s = Math.max(0, Math.floor((now - Date.parse(launchTime)) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`
}

/** The status table; plain aligned text when not on a terminal (no box drawing in CI logs). */
export async function statusTable(result: StatusResult, opts: {tty: boolean}): Promise<string> {
  if (!result.instances.length) return `project ${result.project}: no instances\n`
  const head = [
    'slot',
    'name',
    'id',
    'state',
    'public ip',
    'private ip',
    'type',
    'zone',
    'market',
    'age',
    'lease',
    'spec',
  ]
  const now = Date.now()
  const rows = result.instances.map((i: InstanceJson) => [
    dash(i.slot),
    dash(i.name),
    i.id,
    stateText(i),
    dash(i.publicIp),
    dash(i.privateIp),
    dash(i.instanceType),
    dash(i.zone),
    i.market,
    age(i.launchTime),
    // A terminated instance's lease no longer matters.
    i.state === 'terminated' || i.state === 'shutting-down' ? dash(null) : leaseText(i.expiresAt, now),
    (i.outdated ? 'outdated' : 'current') + (i.replaced ? ', replaced' : ''),
  ])
  return table(head, rows, opts.tty)
}

/** The state, with why when an instance is not up and EC2 says: `stopped (spot interruption)`. */
export function stateText(i: Pick<InstanceJson, 'state' | 'stateReason'>): string {
  return i.stateReason && i.state !== 'running' && i.state !== 'pending'
    ? `${i.state} (${i.stateReason.summary})`
    : i.state
}

/** cli-table3 on a terminal, aligned plain text otherwise (no box drawing in CI logs). */
export async function table(head: string[], cells: string[][], tty: boolean): Promise<string> {
  const rows = cells.map((r) => r.map(printable))
  if (!tty) {
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)))
    const line = (r: string[]) =>
      r
        .map((v, c) => v.padEnd(widths[c]))
        .join('  ')
        .trimEnd()
    return [line(head), ...rows.map(line)].join('\n') + '\n'
  }
  const {default: Table} = await import('cli-table3')
  const t = new Table({
    head,
    style: {head: ['cyan']},
    // No rule between rows: a fleet of fifty should fit on one screen.
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  t.push(...rows)
  return t.toString() + '\n'
}

export function planText(result: OperationResult): string {
  const lines = [`plan for ${result.operation} of project ${result.project}:`]
  if (!result.plan.actions.length) lines.push('  nothing to do')
  for (const a of result.plan.actions) lines.push(`  ${a.description}`)
  for (const s of result.plan.skipped)
    lines.push(`  skip ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  return printableLines(lines)
}

/** What a mutating command prints when it is done. */
export function operationText(result: OperationResult): string {
  if (result.emptySelection)
    return `no instance of project ${result.project} matches the selection; nothing done\n`
  if (result.dryRun) return planText(result) + '(dry run: nothing changed)\n'
  const changed = result.plan.actions.filter((a) => a.kind !== 'wait')
  const lines: string[] = []
  if (!changed.length) lines.push(`${result.operation}: nothing to do for project ${result.project}`)
  else
    lines.push(
      `${result.operation}: ${changed.map((a) => a.description.replace(/^\d+ \[[\d,]*\] /, '')).join('; ')}`,
    )
  for (const s of result.plan.skipped)
    lines.push(`  skipped ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  for (const i of result.instances) lines.push(`  ${dash(i.name)}  ${i.id}  ${i.state}`)
  return printableLines(lines)
}
