import * as Flags from '@oclif/core/flags'

import {BaseCommand, fleetBaseFlags, timeoutOverrides} from '../base-command.js'
import {fleetSettings} from '../config/regions.js'
import {PartialFailureError} from '../errors.js'
import {listProjects, type LsResult} from '../project/fleet.js'
import {lsTable} from '../ui/fleet-render.js'

export default class Ls extends BaseCommand {
  static summary = 'List every wolphin project in the regions, with owner, states, types and leases.'
  static description = `Finds projects by their ProjectName tag ("wolphin.*"); needs no project config. Projects whose instances are all terminated are left out unless --all. Regions are queried in parallel.`
  static examples = [
    '<%= config.bin %> ls',
    '<%= config.bin %> ls --region us-east-1 --region eu-west-1',
    '<%= config.bin %> ls --json | jq -r ".projects[] | select(.expired > 0) | .project"',
  ]
  static baseFlags = fleetBaseFlags
  static flags = {
    region: Flags.string({
      summary: 'A region to list; repeatable (default: the config region, or AWS_REGION).',
      multiple: true,
      multipleNonGreedy: true,
      helpGroup: 'GLOBAL',
    }),
    all: Flags.boolean({
      summary: 'Also list projects with nothing but terminated instances.',
      default: false,
    }),
  }

  async run(): Promise<LsResult> {
    const {flags} = await this.parse(Ls)
    const settings = await fleetSettings({
      regions: flags.region,
      files: flags.config,
      timeouts: timeoutOverrides(flags),
    })
    const render = async (r: LsResult) => {
      if (!this.jsonEnabled()) process.stdout.write(await lsTable(r, {tty: Boolean(process.stdout.isTTY)}))
    }
    try {
      const result = await listProjects({
        ...settings,
        profile: flags.profile,
        all: flags.all,
      })
      await render(result)
      return result
    } catch (e) {
      // Some regions failed: show the others, then exit 3.
      if (e instanceof PartialFailureError && e.result) await render(e.result as LsResult)
      throw e
    }
  }
}
