import {ConfigError} from '../errors.js'
import {loadConfig, resolveTimeouts, type TimeoutOverrides} from './load.js'
import type {AwsTimeouts} from './schema.js'

export interface FleetSettings {
  regions: string[]
  /** The config's maxAttempts when a config was found. */
  maxAttempts?: number
  /** The time limits of AWS calls: flags and environment, over the config's, over the defaults. */
  timeouts: AwsTimeouts
}

/**
 * Regions for commands that span projects (ls, reap), which need no project config: the
 * `--region` flags; else the config's region (explicit `-c` files must load, a discovered config is
 * used when it loads); else AWS_REGION / AWS_DEFAULT_REGION. Empty when none of them says.
 */
export async function fleetSettings(opts: {
  regions?: string[]
  files?: string[]
  cwd?: string
  env?: NodeJS.ProcessEnv
  timeouts?: TimeoutOverrides
}): Promise<FleetSettings> {
  const env = opts.env ?? process.env
  let config: Awaited<ReturnType<typeof loadConfig>>['config'] | null = null
  if (opts.files?.length) config = (await loadConfig({files: opts.files, cwd: opts.cwd})).config
  else if (!opts.regions?.length) {
    try {
      config = (await loadConfig({cwd: opts.cwd})).config
    } catch (e) {
      // No project here is normal for a reaper run from cron; a broken one is still an error.
      if (!(e instanceof ConfigError) || !/^no config found|field "project" is required/.test(e.message))
        throw e
    }
  }
  const regions = opts.regions?.length
    ? opts.regions
    : config?.region
      ? [config.region]
      : [env.AWS_REGION ?? env.AWS_DEFAULT_REGION].filter((r): r is string => Boolean(r))
  return {
    regions,
    maxAttempts: config?.maxAttempts,
    timeouts: resolveTimeouts(config?.timeouts, opts.timeouts),
  }
}
