import {BaseCommand} from '../base-command.js'
import {loadConfig} from '../config/load.js'
import type {ResolvedConfig} from '../config/schema.js'
import {formatDuration} from '../config/duration.js'

/** Resolved field -> the config-file field it comes from (where the names differ). */
const FILE_FIELD: Record<string, string> = {subnets: 'subnet', availabilityZones: 'availabilityZone'}

export interface ConfigResult {
  /** The resolved config; userData is never shown, only its size. */
  config: Record<string, unknown>
  /** For each field: the file it came from, `flag`, `inline`, `env AWS_REGION`, `default` or `unset`. */
  sources: Record<string, string>
  files: string[]
}

export default class Config extends BaseCommand {
  static summary = 'Print the resolved config and, for each field, where it came from.'
  static description = `Layers the config files (-c, repeatable; or the discovered one), the flags and the defaults exactly
as every other command does, then prints each field with its value and its source: a file, a
flag, the environment or the default. User data is shown by size only.`
  static examples = [
    '<%= config.bin %> config',
    '<%= config.bin %> config -c wolphin.yaml -c ci.yaml --region eu-west-1',
    '<%= config.bin %> config --json | jq .sources',
  ]

  async run(): Promise<ConfigResult> {
    const {flags} = await this.parse(Config)
    const loaded = await loadConfig({files: flags.config, project: flags.project, region: flags.region})
    const result = describeConfig(loaded.config, loaded.sources, loaded.files)
    if (!this.jsonEnabled()) this.log(configText(result).trimEnd())
    return result
  }
}

export function describeConfig(
  config: ResolvedConfig,
  sources: Record<string, string>,
  files: string[],
  env: NodeJS.ProcessEnv = process.env,
): ConfigResult {
  const shown: Record<string, unknown> = {...config}
  if (config.userData !== undefined)
    shown.userData = `(${Buffer.byteLength(config.userData)} bytes, not shown)`
  const out: Record<string, string> = {}
  for (const key of Object.keys(shown)) {
    if (shown[key] === undefined) {
      shown[key] = null
      out[key] = 'unset'
    } else out[key] = sources[FILE_FIELD[key] ?? key] ?? 'default'
  }
  if (shown.region === null) {
    const envRegion = env.AWS_REGION ? 'AWS_REGION' : env.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : null
    if (envRegion) {
      shown.region = env[envRegion]
      out.region = `env ${envRegion}`
    }
  }
  return {config: shown, sources: out, files}
}

function show(key: string, v: unknown): string {
  if (v === undefined || v === null) return '-'
  if ((key === 'lease' || key === 'maxLease') && typeof v === 'number') return formatDuration(v)
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

export function configText(r: ConfigResult): string {
  const rows = Object.keys(r.config).map((k) => [k, show(k, r.config[k]), r.sources[k]])
  const w0 = Math.max(5, ...rows.map((x) => x[0].length))
  const w1 = Math.min(60, Math.max(5, ...rows.map((x) => x[1].length)))
  const lines = [`${'field'.padEnd(w0)}  ${'value'.padEnd(w1)}  source`]
  for (const [k, v, s] of rows) lines.push(`${k.padEnd(w0)}  ${v.padEnd(w1)}  ${s}`)
  lines.push('', `files: ${r.files.length ? r.files.join(', ') : '(none)'}`)
  return lines.join('\n') + '\n'
}
