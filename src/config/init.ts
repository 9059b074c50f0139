/**
 * `wolphin init`: a commented starter wolphin.yaml. Pure text generation plus a guarded write;
 * the command asks the questions (on a terminal) and passes the answers here.
 */
import {constants} from 'node:fs'
import {open} from 'node:fs/promises'
import path from 'node:path'

import {UsageError} from '../errors.js'
import {parseConfigText} from './load.js'
import {DEFAULTS, fileSchema} from './schema.js'

export interface InitAnswers {
  project: string
  region?: string
  ami?: string
  instanceType?: string
  keyName?: string
  count?: number | {min: number; max: number}
  user?: string
  sshKey?: string
  email?: string
}

/** The questions `init` asks on a terminal, in order, with their defaults. */
export const INIT_QUESTIONS: Array<{key: keyof InitAnswers; question: string; default?: string}> = [
  {key: 'project', question: 'Project name'},
  {key: 'region', question: 'AWS region', default: 'us-east-1'},
  {key: 'ami', question: 'AMI id (ami-...)'},
  {key: 'instanceType', question: 'Instance type', default: DEFAULTS.instanceType},
  {key: 'keyName', question: 'EC2 key pair name (empty: none)'},
  {key: 'count', question: 'How many instances (N or MIN-MAX)', default: String(DEFAULTS.count)},
  {key: 'user', question: 'SSH user', default: DEFAULTS.user},
  {key: 'sshKey', question: 'SSH private key file (empty: ssh-agent)'},
]

/** Parses `3`, `2-4` or `2..4` into a count. */
export function parseCount(text: string): number | {min: number; max: number} {
  const t = text.trim()
  if (/^\d+$/.test(t) && Number(t) >= 1) return Number(t)
  const m = /^(\d+)\s*(?:-|\.\.)\s*(\d+)$/.exec(t)
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= Number(m[2])) return {min: Number(m[1]), max: Number(m[2])}
  throw new UsageError(
    `--count: "${text}" is not a count; expected a whole number like 3 or a range like 2-4`,
  )
}

/** A project name from a directory name: letters, digits, - and _. */
export function projectFromDir(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
  return base.slice(0, 100) || 'my-project'
}

const q = (v: string) =>
  /^[A-Za-z0-9._/@~-]+$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v) ? v : JSON.stringify(v)

/** A commented starter config. Fields without an answer are left in as comments. */
export function starterConfig(a: InitAnswers): string {
  const line = (key: string, value: string | undefined, example: string, comment: string) =>
    value !== undefined && value !== ''
      ? `# ${comment}\n${key}: ${value}\n`
      : `# ${comment}\n# ${key}: ${example}\n`
  const count =
    a.count === undefined
      ? undefined
      : typeof a.count === 'number'
        ? String(a.count)
        : `{min: ${a.count.min}, max: ${a.count.max}}`
  return [
    '# wolphin.yaml: one project, a group of EC2 instances that wolphin keeps track of through EC2 tags.',
    '# Reference: docs/config.md. Check it against your account with `wolphin validate`.',
    '',
    line(
      'project',
      q(a.project),
      'loadgen',
      'Instances are tagged ProjectName=wolphin.<project>; each has a slot, shown as wolphin.<project>.<slot>.',
    ),
    line('email', a.email && q(a.email), 'you@example.com', 'Owner, stored in the OwnerEmail tag.'),
    line(
      'region',
      a.region && q(a.region),
      'us-east-1',
      'Without it: --region, AWS_REGION or your AWS profile.',
    ),
    line('ami', a.ami && q(a.ami), 'ami-0123456789abcdef0', 'The image to launch (create needs it).'),
    line(
      'instanceType',
      a.instanceType && q(a.instanceType),
      DEFAULTS.instanceType,
      `Default ${DEFAULTS.instanceType}.`,
    ),
    line('keyName', a.keyName && q(a.keyName), 'my-key', 'EC2 key pair installed on the instances.'),
    line(
      'count',
      count,
      '{min: 2, max: 4}',
      'create converges to count instances: a number, or {min, max} (launch up to max, succeed from min).',
    ),
    '# Security groups and subnet(s), by id.\n# securityGroups: [sg-0123456789abcdef0]\n# subnet: subnet-0123456789abcdef0\n',
    line('user', a.user && q(a.user), DEFAULTS.user, `SSH user for exec and put. Default ${DEFAULTS.user}.`),
    '# How exec and put reach the instances.',
    a.sshKey
      ? `ssh:\n  key: ${q(a.sshKey)}\n  # address: public-ip   # or private-ip, public-dns, private-dns, tag:KEY\n`
      : '# ssh:\n#   key: ~/.ssh/my-key.pem   # without it: ssh-agent\n#   address: public-ip     # or private-ip, public-dns, private-dns, tag:KEY\n',
    '# Stop forgotten fleets from running up a bill: each instance powers itself off 8h after launch\n' +
      '# (`wolphin extend 2h` gives it more; `wolphin reap` enforces it from outside). See docs/leases.md.\n' +
      '# Longer form: lease: {duration: 8h, action: terminate, grace: 10m}\nlease: 8h\n',
    '# Extra tags on every instance.\n# tags:\n#   team: perf\n',
    '# The instances of one launch share Name=wolphin.<project> (no extra API calls). per-instance also\n# writes each one its own Name=wolphin.<project>.<slot>, at one CreateTags call per instance.\n# nameTags: launch\n',
  ].join('\n')
}

/**
 * Writes the starter config to `file`, refusing to overwrite an existing file unless `force`.
 * The text is parsed back first, so a bad answer is an error here rather than at the next command.
 */
export async function writeStarterConfig(
  file: string,
  answers: InitAnswers,
  opts: {force?: boolean} = {},
): Promise<{file: string; text: string}> {
  const text = starterConfig(answers)
  await parseConfigText(text, `wolphin init (${path.basename(file)})`)
  let fh
  try {
    // O_EXCL: an existing file is never clobbered, even by a race.
    fh = await open(file, opts.force ? 'w' : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${file} already exists; pass --force to overwrite it`)
    throw new UsageError(`${file}: cannot write (${(e as Error).message})`)
  }
  try {
    await fh.writeFile(text)
  } finally {
    await fh.close()
  }
  return {file, text}
}

const FIELD: Record<string, string> = {
  project: 'project',
  region: 'region',
  ami: 'ami',
  instanceType: 'instanceType',
  keyName: 'keyName',
  user: 'user',
  email: 'email',
}

/** Checks one answer against the config schema: null when fine, else what was expected. */
export function checkAnswer(key: keyof InitAnswers, value: string): string | null {
  if (key === 'count') {
    try {
      parseCount(value)
      return null
    } catch (e) {
      return (e as Error).message.replace(/^--count: /, '')
    }
  }
  const field = FIELD[key]
  if (!field) return value.trim() === '' ? 'expected a value' : null
  const r = fileSchema.safeParse({[field]: value})
  return r.success ? null : `"${value}" is invalid: ${r.error.issues[0].message}`
}
