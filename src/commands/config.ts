import {BaseCommand} from '../base-command.js'
import {loadConfig} from '../config/load.js'
import {type ConfigResult, describeConfig} from '../config/describe.js'
import {formatDuration} from '../config/duration.js'

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
    for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`)
    const result = describeConfig(loaded.config, loaded.sources, loaded.files)
    if (!this.jsonEnabled()) this.log(configText(result).trimEnd())
    return result
  }
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
