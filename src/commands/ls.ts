import * as Flags from '@oclif/core/flags'

import {BaseCommand, fleetBaseFlags, tableFlags, timeoutOverrides} from '../base-command.js'
import {fleetSettings} from '../config/regions.js'
import {PartialFailureError} from '../errors.js'
import {listProjects, type LsResult} from '../project/fleet.js'
import {lsColumns, lsTable} from '../ui/fleet-render.js'
import {chooseColumns, terminalWidth} from '../ui/table.js'

export default class Ls extends BaseCommand {
  static summary = 'List every wolphin project in the regions, with owner, states, types and leases.'
  static description = `Columns: region, project, owner, instances, states, types, market, oldest, lease; by default
those that fit the terminal, --wide for all, --columns to pick. Finds projects by their ProjectName tag ("wolphin.*"); needs no project config. Projects whose instances are all terminated are left out unless --all. Regions are queried in parallel.`
  static examples = [
    '<%= config.bin %> ls',
    '<%= config.bin %> ls --region us-east-1 --region eu-west-1',
    '<%= config.bin %> ls --json | jq -r ".projects[] | select(.expired > 0) | .project"',
  ]
  static baseFlags = fleetBaseFlags
  static flags = {
    ...tableFlags,
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
    const columns = chooseColumns(lsColumns(), flags)
    await this.checkProfile(flags.profile)
    const settings = await fleetSettings({
      regions: flags.region,
      files: flags.config,
      timeouts: timeoutOverrides(flags),
    })
    const view = {...columns, width: terminalWidth(), colour: await this.colour(flags)}
    const render = async (r: LsResult) => {
      if (!this.jsonEnabled()) process.stdout.write(lsTable(r, view))
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
