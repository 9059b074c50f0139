import * as Flags from '@oclif/core/flags'

import {BaseCommand, mutatingFlags, selectionFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import {operationText} from '../ui/render.js'

export default class Reboot extends BaseCommand {
  static summary = "Reboot the running instances of the selection (EC2's RebootInstances)."
  static examples = [
    '<%= config.bin %> reboot -i 1',
    '<%= config.bin %> reboot --hard -i 2-3',
    '<%= config.bin %> reboot --dry-run',
  ]
  static flags = {
    ...selectionFlags,
    ...mutatingFlags,
    hard: Flags.boolean({summary: 'Stop, then start, instead of an OS reboot.', default: false}),
  }

  async run(): Promise<OperationResult> {
    const {flags} = await this.parse(Reboot)
    const selector = await this.selection(flags)
    const onEvent = await this.progress()
    const project = await this.openProject(flags, {onEvent})
    const result = await project.reboot(selector, {
      dryRun: flags['dry-run'],
      wait: flags.wait,
      hard: flags.hard,
    })
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    return result
  }
}
