import type {OperationResult, PlanJson, StatusResult} from '../project/project.js'
import {printableLines} from './printable.js'
import {encodeSlots} from '../project/tags.js'
import type {InstanceJson} from '../project/types.js'
import {leaseText} from '../project/lease.js'
import {stateStyle} from './colour.js'
import {renderTable, type TableSpec} from './table.js'

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

const gone = (i: InstanceJson) => i.state === 'terminated' || i.state === 'shutting-down'

/** The status columns: --wide shows all but `address`, which is the public IP or else the private one. */
export function statusColumns(now = Date.now()): TableSpec<InstanceJson> {
  return {
    columns: [
      {key: 'slot', head: 'slot', get: (i) => dash(i.slot)},
      {key: 'name', head: 'name', get: (i) => dash(i.name)},
      {key: 'id', head: 'id', get: (i) => i.id},
      {key: 'state', head: 'state', get: (i) => stateText(i), style: (i) => stateStyle(i.state)},
      {key: 'address', head: 'address', get: (i) => dash(i.publicIp ?? i.privateIp)},
      {key: 'public-ip', head: 'public ip', get: (i) => dash(i.publicIp)},
      {key: 'private-ip', head: 'private ip', get: (i) => dash(i.privateIp)},
      {key: 'public-dns', head: 'public dns', get: (i) => dash(i.publicDns)},
      {key: 'private-dns', head: 'private dns', get: (i) => dash(i.privateDns)},
      {key: 'type', head: 'type', get: (i) => dash(i.instanceType)},
      {key: 'zone', head: 'zone', get: (i) => dash(i.zone)},
      {key: 'market', head: 'market', get: (i) => i.market},
      {key: 'age', head: 'age', get: (i) => age(i.launchTime, now)},
      {
        key: 'lease',
        head: 'lease',
        // A terminated instance's lease no longer matters.
        get: (i) => (gone(i) ? '-' : leaseText(i.expiresAt, now)),
        style: (_i, t) => (t.startsWith('EXPIRED') ? 'red' : undefined),
      },
      {
        key: 'spec',
        head: 'spec',
        get: (i) => (i.outdated ? 'outdated' : 'current') + (i.replaced ? ', replaced' : ''),
        style: (i) => (i.outdated ? 'yellow' : undefined),
      },
    ],
    defaults: ['name', 'id', 'state', 'address', 'age', 'lease'],
    dropOrder: ['id', 'age', 'address'],
    wide: [
      'slot',
      'name',
      'id',
      'state',
      'public-ip',
      'private-ip',
      'type',
      'zone',
      'market',
      'age',
      'lease',
      'spec',
    ],
  }
}

export interface TableView {
  keys: string[]
  fit: boolean
  width?: number
  colour: boolean
}

/** The status table; the region heads it, as the JSON document carries it. */
export function statusTable(
  result: Pick<StatusResult, 'project' | 'instances'> & {region?: string | null},
  view: TableView,
): string {
  const where = `project ${result.project}${result.region ? ` in ${result.region}` : ''}`
  if (!result.instances.length) return `${where}: no instances\n`
  // Drift is shown whenever there is some: the default columns gain `spec`.
  const drift = result.instances.some((i) => i.outdated || i.replaced)
  const keys = view.fit && drift && !view.keys.includes('spec') ? [...view.keys, 'spec'] : view.keys
  return renderTable(statusColumns(), result.instances, {...view, keys})
}

/** The state, with why when an instance is not up and EC2 says: `stopped (spot interruption)`. */
export function stateText(i: Pick<InstanceJson, 'state' | 'stateReason'>): string {
  return i.stateReason && i.state !== 'running' && i.state !== 'pending'
    ? `${i.state} (${i.stateReason.summary})`
    : i.state
}

export function planText(result: OperationResult): string {
  const lines = [`plan for ${result.operation} of project ${result.project}:`]
  if (!result.plan.actions.length) lines.push('  nothing to do')
  for (const a of result.plan.actions) lines.push(`  ${a.description}`)
  for (const s of result.plan.skipped)
    lines.push(`  skip ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  return printableLines(lines)
}

/** `1-4, 7`: slot lists stay short however many slots there are (the wolphin:slots encoding). */
export function slotRanges(slots: number[]): string {
  return encodeSlots([...slots].sort((a, b) => a - b)).replaceAll(',', ', ')
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** One action in words, without the plan notation (ids and prerequisites) and without instance ids. */
export function actionSummary(
  a: Pick<PlanJson['actions'][number], 'kind' | 'ids' | 'slots' | 'reason' | 'mark'>,
): string {
  const what =
    a.kind === 'launch'
      ? `launch ${plural(a.slots?.length ?? 0, 'instance')} into slot${a.slots?.length === 1 ? '' : 's'} ${slotRanges(a.slots ?? [])}`
      : a.kind === 'mark'
        ? `mark ${plural(a.ids.length, 'instance')} as ${a.mark ?? 'replaced'}`
        : a.kind === 'unmark'
          ? `clear the ${a.mark ?? 'replaced'} mark of ${plural(a.ids.length, 'instance')}`
          : `${a.kind} ${plural(a.ids.length, 'instance')}`
  return a.reason ? `${what} (${a.reason})` : what
}

/** Name, id and state of each instance, one per line, states coloured when `colour`. */
export function instanceLines(instances: InstanceJson[], colour: boolean): string {
  if (!instances.length) return ''
  return renderTable(
    {
      columns: statusColumns().columns.filter((c) => ['name', 'id', 'state'].includes(c.key)),
      defaults: ['name', 'id', 'state'],
      dropOrder: [],
    },
    instances,
    {keys: ['name', 'id', 'state'], fit: false, colour, indent: '  '},
  )
}

/**
 * What a mutating command prints when it is done: one line saying what was done, then one line
 * per instance with its state at the end.
 */
export function operationText(result: OperationResult, opts: {colour?: boolean} = {}): string {
  if (result.emptySelection)
    return `no instance of project ${result.project} matches the selection; nothing done\n`
  if (result.dryRun) return planText(result) + '(dry run: nothing changed)\n'
  const changed = result.plan.actions.filter((a) => a.kind !== 'wait')
  const lines: string[] = []
  if (!changed.length) lines.push(`${result.operation}: nothing to do for project ${result.project}`)
  else lines.push(`${result.operation}: ${changed.map(actionSummary).join('; ')}`)
  for (const s of result.plan.skipped)
    lines.push(`  skipped ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  return printableLines(lines) + instanceLines(result.instances, Boolean(opts.colour))
}
