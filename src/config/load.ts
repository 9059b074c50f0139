import {stat} from 'node:fs/promises'
import path from 'node:path'

import type {ZodError} from 'zod'

import {ConfigError} from '../errors.js'
import {readRegularFile, UnreadableFileError} from '../util/read-file.js'
import {
  credentialsWarning,
  LEGACY_CREDENTIALS,
  looksLegacy,
  parseLegacy,
  type StaticCredentials,
} from './legacy.js'
import {
  type AwsTimeouts,
  type ConfigFile,
  DEFAULTS,
  fileSchema,
  type LeasePolicy,
  type ResolvedConfig,
} from './schema.js'
import {MAX_DURATION_TEXT, parseDuration} from './duration.js'
import {launchSettingsProblem} from '../project/launch-settings.js'

export const SEARCH_PLACES = [
  'wolphin.yaml',
  'wolphin.yml',
  'wolphin.json',
  '.wolphinrc',
  '.wolphinrc.yaml',
  '.wolphinrc.yml',
  '.wolphinrc.json',
  'package.json',
]

export interface LoadConfigOptions {
  /** Explicit config files, later ones overriding earlier ones. Without them, discovery from `cwd`. */
  files?: string[]
  cwd?: string
  /** Overrides from flags. */
  project?: string
  region?: string
  /** Time limits of AWS calls from flags or the environment (durations), over the config's. */
  timeouts?: TimeoutOverrides
  /** Config given in code (library use); layered over the files. */
  inline?: ConfigFile
  /** Fail unless `ami` is set: create and revert need it. */
  requireAmi?: boolean
}

export interface TimeoutOverrides {
  connect?: string
  request?: string
  total?: string
}

export interface LoadedConfig {
  config: ResolvedConfig
  /** For each top-level field: the file it came from, `flag`, `inline` or `default`. */
  sources: Record<string, string>
  files: string[]
  /** One line each, for stderr: a legacy config with AWS keys in it. */
  warnings: string[]
}

/** Formats the first zod issue as `file: field "a.b": message`. */
function zodMessage(file: string, err: ZodError): string {
  let issue = err.issues[0]
  // A union whose mapping branch got as far as a field (lease: {grace: ...}) is about that field.
  if (issue.code === 'invalid_union') {
    const nested = (issue as {errors?: (typeof issue)[][]}).errors?.flat().find((i) => i.path.length > 0)
    if (nested) issue = {...nested, path: [...issue.path, ...nested.path]}
  }
  const field = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as {keys: string[]}).keys
    const where = field ? ` in "${field}"` : ''
    return `${file}: unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${where}`
  }
  let msg = issue.message
  if (issue.code === 'invalid_union') msg = unionMessage(field)
  return `${file}: field "${field || '(root)'}": ${msg}`
}

function unionMessage(field: string): string {
  if (field === 'count') return 'expected a whole number >= 1 or {min, max}'
  if (field === 'subnet' || field === 'availabilityZone') return 'expected a string or a list of strings'
  if (field === 'lease')
    return `expected a duration like 8h (more than 0, at most ${MAX_DURATION_TEXT}), or {duration: 8h, action: stop|terminate, grace: 10m, enforce: watchdog|reaper}`
  return 'invalid value'
}

function lineCol(text: string, offset: number | undefined): {line: number; col: number} | null {
  if (offset === undefined || !(offset >= 0)) return null
  const before = text.slice(0, offset).split('\n')
  return {line: before.length, col: before[before.length - 1].length + 1}
}

export async function parseConfigText(text: string, file: string): Promise<ConfigFile> {
  const base = path.basename(file)
  let data: unknown
  if (base === 'package.json') {
    try {
      data = (JSON.parse(text) as {wolphin?: unknown}).wolphin
    } catch (e) {
      throw new ConfigError(`${file}: malformed JSON: ${(e as Error).message.split('\n')[0]}`)
    }
    if (data === undefined) return {}
  } else if (looksLegacy(text)) {
    const legacy = parseLegacy(text, file)
    validateFile(legacy, file)
    return legacy
  } else {
    const {parse} = await import('yaml')
    try {
      data = parse(text, {prettyErrors: false, logLevel: 'error'})
    } catch (e) {
      const first = (e as Error).message.split('\n')[0]
      // The yaml package's YAMLParseError says where, as offsets: 1-based line and column.
      const at = lineCol(text, (e as {pos?: [number, number]}).pos?.[0])
      throw new ConfigError(
        `${file}: malformed YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}: ${first}`,
      )
    }
  }
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `${file}: expected a mapping of fields (like "project: loadgen"), got ${Array.isArray(data) ? 'a list' : typeof data}`,
    )
  }
  return validateFile(data, file)
}

function validateFile(data: unknown, file: string): ConfigFile {
  const r = fileSchema.safeParse(data)
  if (!r.success) throw new ConfigError(zodMessage(file, r.error))
  return data as ConfigFile
}

/** Config files are data: larger than this is not a config (and would be read whole). */
export const MAX_CONFIG_BYTES = 1024 * 1024

/** Code is never loaded as config, not even when named with -c. */
const CODE_EXTENSIONS = /\.(c|m)?(j|t)sx?$/i

async function readConfigFile(file: string, shown = file): Promise<ConfigFile> {
  if (CODE_EXTENSIONS.test(file)) {
    throw new ConfigError(
      `${shown}: is JavaScript or TypeScript; wolphin reads config as data only (YAML, JSON, package.json#wolphin); for config in code use the library (loadConfig({inline}))`,
    )
  }
  let text: string
  try {
    // Not a regular file (a FIFO, a device, a socket): reading it could block for ever or never end.
    text = (await readRegularFile(file, MAX_CONFIG_BYTES)).data.toString('utf8')
  } catch (e) {
    if (!(e instanceof UnreadableFileError)) throw e
    const why = e.reason === 'too-large' ? `${e.why}; a config is at most 1 MiB` : e.why
    throw new ConfigError(`${shown}: cannot read config file (${why})`)
  }
  return parseConfigText(text, shown)
}

/**
 * The first search place in `cwd` that holds a config, or null. Deliberately not cosmiconfig's
 * search: that one reads a meta-config of its own (`.config/config.*`, `package.json#cosmiconfig`,
 * `package.yaml`) which may be JavaScript, may add `.js`/`.mjs` search places, and follows
 * `$import`, so `wolphin status` in a cloned repository could run that repository's code. This
 * search only stats and reads the data files named in SEARCH_PLACES; nothing found is executed.
 * An empty file and a package.json without a `wolphin` key do not count as found.
 */
async function discover(cwd: string): Promise<string | null> {
  for (const name of SEARCH_PLACES) {
    const file = path.join(cwd, name)
    try {
      // A FIFO, a device or a directory under a config name is reported by readConfigFile, unread.
      if (!(await stat(file)).isFile()) return file
    } catch {
      continue
    }
    let text: string
    try {
      text = (await readRegularFile(file, MAX_CONFIG_BYTES)).data.toString('utf8')
    } catch {
      continue
    }
    if (name !== 'package.json') {
      if (text.trim() !== '') return file
      continue
    }
    try {
      if ((JSON.parse(text) as {wolphin?: unknown})?.wolphin !== undefined) return file
    } catch {
      // A malformed package.json is reported (by parseConfigText) rather than silently skipped.
      return file
    }
  }
  return null
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue
    if (isPlainObject(v) && isPlainObject(target[k]) && k !== 'count')
      mergeInto(target[k] as Record<string, unknown>, v)
    else target[k] = isPlainObject(v) ? structuredClone(v) : v
  }
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = opts.cwd ?? process.cwd()
  let files = (opts.files ?? []).map((f) => path.resolve(cwd, f))
  if (files.length === 0 && !opts.inline) {
    const found = await discover(cwd)
    if (!found) {
      throw new ConfigError(
        `no config found in ${cwd} (looked for wolphin.yaml, .wolphinrc*, package.json#wolphin); pass -c FILE or run "wolphin init"`,
        {problem: 'not-found'},
      )
    }
    files = [found]
  }
  const merged: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  const warnings: string[] = []
  let credentials: StaticCredentials | undefined
  const layer = (data: Record<string, unknown>, source: string) => {
    mergeInto(merged, data)
    for (const k of Object.keys(data)) if (data[k] !== undefined) sources[k] = source
  }
  for (const f of files) {
    // Messages name the file as the user would: relative to the working directory when inside it.
    const rel = path.relative(cwd, f)
    const shown = rel && !rel.startsWith('..') ? rel : f
    const data = await readConfigFile(f, shown)
    const keys = (data as {[LEGACY_CREDENTIALS]?: StaticCredentials})[LEGACY_CREDENTIALS]
    if (keys) {
      credentials = keys
      warnings.push(credentialsWarning(shown))
    }
    layer(data as Record<string, unknown>, shown)
  }
  if (opts.inline) layer(validateFile(opts.inline, 'inline config') as Record<string, unknown>, 'inline')
  if (opts.project !== undefined) {
    validateFile({project: opts.project}, '--project')
    layer({project: opts.project}, 'flag')
  }
  if (opts.region !== undefined) {
    validateFile({region: opts.region}, '--region')
    layer({region: opts.region}, 'flag')
  }
  const timeouts = timeoutLayer(opts.timeouts)
  if (timeouts) layer(timeouts, 'flag')
  const config = resolve(merged as ConfigFile, sources, files)
  if (opts.requireAmi && !config.ami) {
    throw new ConfigError(
      `${sourceOf('ami', sources, files)}: field "ami" is required to launch instances (expected an AMI id like ami-0123456789abcdef0)`,
      {problem: 'missing-field', field: 'ami'},
    )
  }
  if (opts.requireAmi) {
    // What EC2 would refuse at launch, named with the file it comes from.
    const problem = launchSettingsProblem(config)
    if (problem)
      throw new ConfigError(
        `${sourceOf(problem.field, sources, files)}: field "${problem.field}": ${problem.message}`,
      )
  }
  for (const k of Object.keys(DEFAULTS)) sources[k] ??= 'default'
  // Not enumerable: no listing of the config (wolphin config, JSON, a debugger's dump) shows it.
  if (credentials) Object.defineProperty(config, 'credentials', {value: credentials, enumerable: false})
  return {config, sources, files, warnings}
}

/** Flag or environment overrides of `timeouts`, validated like the config field they override. */
function timeoutLayer(o: TimeoutOverrides | undefined): {timeouts: TimeoutOverrides} | null {
  const given = Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined))
  if (!Object.keys(given).length) return null
  for (const [k, v] of Object.entries(given)) validateFile({timeouts: {[k]: v}}, `--${k}-timeout`)
  return {timeouts: given}
}

/** Time limits of AWS calls in seconds: the overrides, over the config's, over the defaults. */
export function resolveTimeouts(
  fromConfig: ConfigFile['timeouts'] | undefined,
  overrides?: TimeoutOverrides,
): AwsTimeouts {
  const out: AwsTimeouts = {...DEFAULTS.timeouts}
  for (const layerOf of [fromConfig, timeoutLayer(overrides)?.timeouts])
    for (const k of ['connect', 'request', 'total'] as const) {
      const v = layerOf?.[k]
      if (v !== undefined) out[k] = parseDuration(v)! / 1000
    }
  return out
}

function sourceOf(field: string, sources: Record<string, string>, files: string[]): string {
  return sources[field] ?? (files.length ? files.map((f) => path.basename(f)).join(', ') : 'config')
}

function resolve(c: ConfigFile, sources: Record<string, string>, files: string[]): ResolvedConfig {
  if (!c.project) {
    throw new ConfigError(
      `${sourceOf('project', sources, files)}: field "project" is required (expected a name like "loadgen"; or pass --project)`,
      {problem: 'missing-field', field: 'project'},
    )
  }
  const count =
    typeof c.count === 'number'
      ? {min: c.count, max: c.count}
      : (c.count ?? {min: DEFAULTS.count, max: DEFAULTS.count})
  if (count.min > count.max) {
    throw new ConfigError(
      `${sourceOf('count', sources, files)}: field "count": min (${count.min}) is greater than max (${count.max}); expected min <= max`,
    )
  }
  // A bound on count, not part of the resolved config: `countLimit` only says "I mean it".
  const countLimit = c.countLimit ?? DEFAULTS.countLimit
  if (count.max > countLimit) {
    throw new ConfigError(
      `${sourceOf('count', sources, files)}: field "count": ${count.max} instances is above countLimit (${countLimit}); set countLimit: ${count.max} in the config to launch that many on purpose`,
    )
  }
  const wait = {
    timeout: DEFAULTS.wait.timeout,
    interval: DEFAULTS.wait.interval,
    ...(c.wait as {timeout?: number; interval?: number}),
  }
  // Values that went through the file schema are still raw here; normalise durations.
  wait.timeout = parseDuration(wait.timeout)! / 1000
  wait.interval = parseDuration(wait.interval)! / 1000
  const s = c.ssh
  return {
    project: c.project,
    email: c.email,
    region: c.region,
    ami: c.ami,
    instanceType: c.instanceType ?? DEFAULTS.instanceType,
    keyName: c.keyName,
    securityGroups: c.securityGroups ?? [],
    subnets: list(c.subnet),
    availabilityZones: list(c.availabilityZone),
    count,
    user: c.user ?? DEFAULTS.user,
    ssh: s
      ? {
          key: s.key,
          port: s.port ?? DEFAULTS.ssh.port,
          address: s.address ?? DEFAULTS.ssh.address,
          hostKeys: s.hostKeys ?? DEFAULTS.ssh.hostKeys,
          knownHostsFile: s.knownHostsFile,
          concurrency: s.concurrency ?? DEFAULTS.ssh.concurrency,
          connectTimeout:
            s.connectTimeout !== undefined
              ? parseDuration(s.connectTimeout)! / 1000
              : DEFAULTS.ssh.connectTimeout,
          bastion: s.bastion,
        }
      : undefined,
    wait,
    tags: c.tags ?? {},
    userData: c.userData,
    iamInstanceProfile: c.iamInstanceProfile,
    imdsv2: c.imdsv2 ?? DEFAULTS.imdsv2,
    lease: leaseDuration(c.lease),
    leasePolicy: leasePolicy(c.lease),
    maxLease: c.maxLease !== undefined ? parseDuration(c.maxLease)! : undefined,
    market: c.market ?? DEFAULTS.market,
    maxPrice: c.maxPrice !== undefined ? String(c.maxPrice) : undefined,
    maxAttempts: c.maxAttempts ?? DEFAULTS.maxAttempts,
    nameTags: c.nameTags ?? DEFAULTS.nameTags,
    timeouts: resolveTimeouts(c.timeouts),
    disk: c.disk,
  }
}

type LeaseField = ConfigFile['lease']
const isLeaseObject = (l: LeaseField): l is Exclude<LeaseField, string | number | undefined> =>
  typeof l === 'object' && l !== null

function leaseDuration(l: LeaseField): number | undefined {
  if (l === undefined) return undefined
  return parseDuration(isLeaseObject(l) ? l.duration : l)!
}

function leasePolicy(l: LeaseField): LeasePolicy {
  const o: {action?: LeasePolicy['action']; grace?: string | number; enforce?: LeasePolicy['enforce']} =
    isLeaseObject(l) ? l : {}
  return {
    action: o.action ?? DEFAULTS.lease.action,
    graceMs: o.grace !== undefined ? parseDuration(o.grace)! : DEFAULTS.lease.grace,
    enforce: o.enforce ?? DEFAULTS.lease.enforce,
  }
}
