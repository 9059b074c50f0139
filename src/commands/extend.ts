import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand, selectionFlags} from '../base-command.js'
import {parseDuration} from '../config/duration.js'
import {UsageError} from '../errors.js'
import {type ExtendRequest, parseUntil} from '../project/lease.js'
import type {ExtendResult} from '../project/project.js'
import {extendText} from '../ui/fleet-render.js'

export default class Extend extends BaseCommand {
  static summary = "Move the lease (wolphin:expires-at) of the selection's live instances."
  static description = `DURATION is added to each instance's current lease end (or to now, when it has none or it has passed); --until sets one end for all. No lease may end further than maxLease from now. Only the tag changes: the lease watchdog on each instance reads the new end on its next check (within a minute).`
  static examples = [
    '<%= config.bin %> extend 2h',
    '<%= config.bin %> extend -i 1-3 30m',
    '<%= config.bin %> extend --until 2026-05-01T18:00:00Z',
    '<%= config.bin %> extend 1d --dry-run --json',
  ]
  static args = {
    duration: Args.string({description: 'How much longer, like 30m, 8h or 3d.', required: false}),
  }
  static flags = {
    ...selectionFlags,
    until: Flags.string({summary: 'Set the lease end to this ISO-8601 instant instead.'}),
    'dry-run': Flags.boolean({summary: 'Print the new lease ends and change nothing.', default: false}),
  }

  async run(): Promise<ExtendResult> {
    const {args, flags} = await this.parse(Extend)
    let req: ExtendRequest
    if (flags.until !== undefined && args.duration !== undefined)
      throw new UsageError('give either DURATION or --until, not both')
    if (flags.until !== undefined) req = {until: parseUntil(flags.until)}
    else if (args.duration !== undefined) {
      const by = parseDuration(args.duration)
      if (by === null || by <= 0)
        throw new UsageError(`DURATION "${args.duration}": expected a duration like 30m, 8h or 3d`)
      req = {by}
    } else throw new UsageError('missing DURATION (like 8h) or --until ISO-8601 instant')
    const selector = await this.selection(flags)
    const project = await this.openProject(flags)
    const result = await project.extend(selector, req, {dryRun: flags['dry-run']})
    if (!this.jsonEnabled()) this.log(extendText(result).trimEnd())
    return result
  }
}
