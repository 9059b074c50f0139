import type {ValidationResult} from '../project/validate.js'
import {printableLines} from './printable.js'

const LABEL: Record<string, string> = {
  ami: 'ami',
  keyPair: 'key pair',
  securityGroups: 'security groups',
  subnet: 'subnet',
  instanceProfile: 'instance profile',
  runInstances: 'run instances',
}

/** One line per check, then one line per problem. */
export function validationText(r: ValidationResult): string {
  const lines = [`validate project ${r.project}${r.region ? ` in ${r.region}` : ''}:`]
  for (const c of r.checks) {
    const mark = c.status === 'ok' ? 'ok     ' : c.status === 'skipped' ? 'skip   ' : 'PROBLEM'
    lines.push(`  ${mark} ${LABEL[c.check] ?? c.check}: ${c.detail}`)
  }
  if (r.problems.length) {
    lines.push(`${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}:`)
    for (const p of r.problems) lines.push(`  ${p}`)
  } else lines.push('no problems found')
  return printableLines(lines)
}
