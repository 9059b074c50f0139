import {formatDuration} from '../config/duration.js'
import {printable, printableLines} from './printable.js'
import type {LsResult, ProjectSummary, ReapResult} from '../project/fleet.js'
import {leaseText} from '../project/lease.js'
import type {ExtendResult} from '../project/project.js'
import type {ReapTarget} from '../project/reap.js'
import {stateStyle} from './colour.js'
import {age} from './render.js'
import {renderTable, type TableSpec} from './table.js'

const dash = (v: string | number | null | undefined) =>
  v === null || v === undefined || v === '' ? '-' : String(v)

export function extendText(r: ExtendResult): string {
  if (r.emptySelection) return `no instance of project ${r.project} matches the selection; nothing done\n`
  const lines = [
    r.extended.length
      ? `${r.dryRun ? 'would extend' : 'extended'} the lease of ${r.extended.length} instance(s) of project ${r.project}:`
      : `extend: nothing to do for project ${r.project}`,
  ]
  const now = Date.now()
  for (const t of r.extended)
    lines.push(`  ${dash(t.name)}  ${t.id}  ${dash(t.from)} -> ${t.to} (${leaseText(t.to, now)} left)`)
  for (const s of r.skipped) lines.push(`  skipped ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  if (r.dryRun) lines.push('(dry run: nothing changed)')
  return printableLines(lines)
}

const targetTable = (now: number): TableSpec<ReapTarget> => ({
  columns: [
    {key: 'name', head: 'name', get: (t) => dash(t.name)},
    {key: 'id', head: 'id', get: (t) => t.id},
    {key: 'state', head: 'state', get: (t) => t.state, style: (t) => stateStyle(t.state)},
    {
      key: 'lease',
      head: 'expired',
      // How long ago, from the moment the reap looked (the ISO instant is in --json).
      get: (t) => `${formatDuration(Math.max(0, now - Date.parse(t.expiresAt)))} ago`,
      style: () => 'red',
    },
  ],
  defaults: ['name', 'id', 'state', 'lease'],
  dropOrder: [],
})

/**
 * One line per project (what is done to how many), then its instances as an aligned table, one
 * per line, states coloured when `colour`.
 */
export function reapText(r: ReapResult, opts: {colour?: boolean} = {}): string {
  const verb = r.dryRun ? `would ${r.action}` : r.action === 'stop' ? 'stopped' : 'terminated'
  const grace = r.graceSeconds ? ` (grace ${formatDuration(r.graceSeconds * 1000)})` : ''
  let out = ''
  const acted = r.projects.filter((p) => p.targets.length)
  if (!acted.length) out += `reap: no expired leases in ${r.regions.join(', ')}${grace}\n`
  for (const p of r.projects) {
    const who = `${p.region} ${p.project}${p.owner ? ` (${p.owner})` : ''}`
    if (p.targets.length) {
      const status = p.error ? `FAILED: ${p.error}` : r.dryRun ? '' : p.done ? '' : 'not done'
      out += printable(
        `${who}: ${verb} ${p.targets.length} instance${p.targets.length === 1 ? '' : 's'}${grace}${status ? ` ${status}` : ''}`,
      )
      out += '\n'
      out += renderTable(targetTable(Date.parse(r.at) || Date.now()), p.targets, {
        keys: ['name', 'id', 'state', 'lease'],
        fit: false,
        colour: Boolean(opts.colour),
        indent: '  ',
      })
    } else out += `${printable(who)}:\n`
    for (const s of p.skipped)
      out += printable(`  skipped ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`) + '\n'
  }
  for (const e of r.errors) out += printable(`${e.region}: FAILED: ${e.message}`) + '\n'
  if (r.dryRun) out += '(dry run: nothing changed)\n'
  return out
}

const joinCounts = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ')

/** The ls columns; the default set fits 80 columns, owner and types give way first. */
export function lsColumns(now = Date.now()): TableSpec<ProjectSummary> {
  return {
    columns: [
      {key: 'region', head: 'region', get: (p) => p.region},
      {key: 'project', head: 'project', get: (p) => p.project},
      {key: 'owner', head: 'owner', get: (p) => dash(p.owner)},
      {key: 'instances', head: 'instances', get: (p) => String(p.instances)},
      {
        key: 'states',
        head: 'states',
        get: (p) => joinCounts(p.states),
        // The healthiest state's colour: all running green, any stopped yellow.
        style: (p) => stateStyle(Object.keys(p.states).length === 1 ? Object.keys(p.states)[0] : ''),
      },
      {key: 'types', head: 'types', get: (p) => dash(p.instanceTypes.join(', '))},
      {key: 'market', head: 'market', get: (p) => dash(joinCounts(p.markets))},
      {key: 'oldest', head: 'oldest', get: (p) => age(p.oldestLaunch, now)},
      {
        key: 'lease',
        head: 'lease',
        get: (p) => (p.expired ? `${p.expired} EXPIRED` : leaseText(p.nearestExpiry, now)),
        style: (p) => (p.expired ? 'red' : undefined),
      },
    ],
    defaults: ['region', 'project', 'owner', 'instances', 'states', 'oldest', 'lease'],
    dropOrder: ['owner', 'oldest', 'region'],
  }
}

export function lsTable(
  r: LsResult,
  view: {keys: string[]; fit: boolean; width?: number; colour: boolean},
): string {
  if (!r.projects.length) return `no wolphin projects in ${r.regions.join(', ')}\n`
  return renderTable(lsColumns(), r.projects, view)
}
