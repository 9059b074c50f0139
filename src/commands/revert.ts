import * as Flags from '@oclif/core/flags'

import {BaseCommand, mutatingFlags, selectionFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import {REVERT_STRATEGIES, type RevertStrategy} from '../project/revert.js'
import {UsageError} from '../errors.js'
import {operationText} from '../ui/render.js'

export default class Revert extends BaseCommand {
  static summary =
    'Replace the selection with fresh instances from the configured spec, keeping slots and Names.'
  static description = `Strategies: batch (terminate the selection, then launch all replacements at once), sequential
(one slot at a time: terminate, launch, wait until running) and rolling (one slot, or --surge N, at a
time: launch the replacement, wait until it runs, then terminate the old one; capacity never drops).
Each instance being replaced is first tagged wolphin:replaced, so an interrupted revert is completed
by running the same command again.`
  static examples = [
    '<%= config.bin %> revert -i 1,2',
    '<%= config.bin %> revert --outdated --strategy rolling --yes',
    '<%= config.bin %> revert --strategy rolling --surge 2 --wait-ssh --yes',
    '<%= config.bin %> revert -i 3 --strategy batch --dry-run --json',
  ]
  static flags = {
    ...selectionFlags,
    ...mutatingFlags,
    strategy: Flags.string({
      summary: 'How to replace: batch, sequential or rolling.',
      options: [...REVERT_STRATEGIES],
      default: 'sequential',
    }),
    surge: Flags.integer({
      summary: 'rolling: how many slots to replace at a time.',
      min: 1,
      default: 1,
    }),
    'wait-ssh': Flags.boolean({
      summary: 'rolling: wait until each replacement answers over SSH before terminating the old one.',
      default: false,
    }),
  }

  async run(): Promise<OperationResult> {
    const {flags} = await this.parse(Revert)
    const selector = await this.selection(flags)
    if (flags.surge !== 1 && flags.strategy !== 'rolling')
      this.usage(`--surge applies to --strategy rolling only (got --strategy ${flags.strategy})`)
    if (flags['wait-ssh'] && flags.strategy !== 'rolling')
      this.usage(`--wait-ssh applies to --strategy rolling only (got --strategy ${flags.strategy})`)
    if (!selector && !flags['dry-run'])
      await this.confirm('Replace every instance of the project?', flags.yes)
    const onEvent = await this.progress()
    const project = await this.openProject(flags, {requireAmi: true, onEvent})
    const result = await project.revert(selector, {
      dryRun: flags['dry-run'],
      wait: flags.wait,
      strategy: flags.strategy as RevertStrategy,
      surge: flags.surge,
      waitSsh: flags['wait-ssh'],
    })
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    return result
  }

  private usage(message: string): never {
    throw new UsageError(message)
  }
}
