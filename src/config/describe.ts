/**
 * What `wolphin config` shows: the resolved config with, for each field, where it came from. Pure;
 * user data is never included, only its size.
 */
import type {ResolvedConfig} from './schema.js'

/** Resolved field -> the config-file field it comes from (where the names differ). */
const FILE_FIELD: Record<string, string> = {
  subnets: 'subnet',
  availabilityZones: 'availabilityZone',
  leasePolicy: 'lease',
}

export interface ConfigResult {
  /** The resolved config; userData is never shown, only its size. */
  config: Record<string, unknown>
  /** For each field: the file it came from, `flag`, `inline`, `env AWS_REGION`, `default` or `unset`. */
  sources: Record<string, string>
  files: string[]
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
