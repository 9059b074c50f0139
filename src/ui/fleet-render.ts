import {formatDuration} from '../config/duration.js'
import {printableLines} from './printable.js'
import type {LsResult, ReapResult} from '../project/fleet.js'
import {leaseText} from '../project/lease.js'
import type {ExtendResult} from '../project/project.js'
import {age, table} from './render.js'

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

export function reapText(r: ReapResult): string {
  const verb = r.dryRun ? `would ${r.action}` : r.action === 'stop' ? 'stopped' : 'terminated'
  const grace = r.graceSeconds ? ` (grace ${formatDuration(r.graceSeconds * 1000)})` : ''
  const lines: string[] = []
  const acted = r.projects.filter((p) => p.targets.length)
  if (!acted.length) lines.push(`reap: no expired leases in ${r.regions.join(', ')}${grace}`)
  for (const p of r.projects) {
    const who = `${p.region} ${p.project}${p.owner ? ` (${p.owner})` : ''}`
    if (p.targets.length) {
      const status = p.error ? `FAILED: ${p.error}` : r.dryRun ? '' : p.done ? '' : 'not done'
      lines.push(`${who}: ${verb} ${p.targets.length} instance(s)${grace}${status ? ` ${status}` : ''}`)
      for (const t of p.targets)
        lines.push(`  ${dash(t.name)}  ${t.id}  ${t.state}  lease ended ${t.expiresAt}`)
    } else lines.push(`${who}:`)
    for (const s of p.skipped) lines.push(`  skipped ${s.id}${s.name ? ` (${s.name})` : ''}: ${s.reason}`)
  }
  for (const e of r.errors) lines.push(`${e.region}: FAILED: ${e.message}`)
  if (r.dryRun) lines.push('(dry run: nothing changed)')
  return printableLines(lines)
}

export async function lsTable(r: LsResult, opts: {tty: boolean}): Promise<string> {
  if (!r.projects.length) return `no wolphin projects in ${r.regions.join(', ')}\n`
  const now = Date.now()
  const head = ['region', 'project', 'owner', 'instances', 'states', 'types', 'market', 'oldest', 'lease']
  const rows = r.projects.map((p) => [
    p.region,
    p.project,
    dash(p.owner),
    String(p.instances),
    Object.entries(p.states)
      .map(([s, n]) => `${n} ${s}`)
      .join(', '),
    dash(p.instanceTypes.join(', ')),
    dash(
      Object.entries(p.markets)
        .map(([m, n]) => `${n} ${m}`)
        .join(', '),
    ),
    age(p.oldestLaunch, now),
    p.expired ? `${p.expired} EXPIRED` : leaseText(p.nearestExpiry, now),
  ])
  return table(head, rows, opts.tty)
}
