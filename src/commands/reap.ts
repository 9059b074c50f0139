import * as Flags from '@oclif/core/flags'

import {BaseCommand, fleetBaseFlags, timeoutOverrides} from '../base-command.js'
import {fleetSettings} from '../config/regions.js'
import {PartialFailureError} from '../errors.js'
import {durationFlag} from '../flags.js'
import {reap, type ReapResult} from '../project/fleet.js'
import {reapText} from '../ui/fleet-render.js'

export default class Reap extends BaseCommand {
  static summary = 'Stop or terminate the instances of every wolphin project whose lease has passed.'
  static description = `Looks at every wolphin project (ProjectName tag "wolphin.*") in the regions, and stops or terminates the live instances whose wolphin:expires-at (plus --grace) is in the past. Instances without the wolphin tags or without a lease are never touched. Safe to run from cron or a scheduled CI job: one DescribeInstances per region and one stop/terminate call per region; a second run does nothing. Needs no project config: regions come from --region, the config, or AWS_REGION.`
  static examples = [
    '<%= config.bin %> reap --region us-east-1 --region eu-west-1',
    '<%= config.bin %> reap --action terminate --grace 15m',
    '<%= config.bin %> reap --dry-run --json',
  ]
  static baseFlags = fleetBaseFlags
  static flags = {
    region: Flags.string({
      summary: 'A region to reap; repeatable (default: the config region, or AWS_REGION).',
      multiple: true,
      multipleNonGreedy: true,
      helpGroup: 'GLOBAL',
    }),
    action: Flags.string({
      summary: 'What to do with expired instances.',
      options: ['stop', 'terminate'],
      default: 'stop',
    }),
    grace: durationFlag({
      summary: 'Leave instances alone until this long after their lease, like 10m.',
      allowZero: true,
      span: true,
      example: '10m',
      default: 0,
      defaultHelp: async () => '0s',
    }),
    'dry-run': Flags.boolean({summary: 'Print what would be done and change nothing.', default: false}),
  }

  async run(): Promise<ReapResult> {
    const {flags} = await this.parse(Reap)
    const graceMs = flags.grace * 1000
    await this.checkProfile(flags.profile)
    const settings = await fleetSettings({
      regions: flags.region,
      files: flags.config,
      timeouts: timeoutOverrides(flags),
    })
    const onEvent = await this.progress()
    const colour = await this.colour(flags)
    const render = (r: ReapResult) => {
      if (!this.jsonEnabled()) process.stdout.write(reapText(r, {colour}))
    }
    try {
      const result = await reap({
        ...settings,
        profile: flags.profile,
        action: flags.action as 'stop' | 'terminate',
        graceMs,
        dryRun: flags['dry-run'],
        onEvent,
      })
      render(result)
      return result
    } catch (e) {
      // Some regions failed: report what was done elsewhere, then exit 3.
      if (e instanceof PartialFailureError && e.result) render(e.result as ReapResult)
      throw e
    }
  }
}
