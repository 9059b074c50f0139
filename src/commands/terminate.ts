import {BaseCommand, mutatingFlags, selectionFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import {operationText} from '../ui/render.js'

export default class Terminate extends BaseCommand {
  static summary = 'Terminate the instances of the selection (the whole project asks for confirmation).'
  static examples = [
    '<%= config.bin %> terminate -i 3 --yes',
    '<%= config.bin %> terminate --yes',
    '<%= config.bin %> terminate --dry-run',
  ]
  static flags = {...selectionFlags, ...mutatingFlags}

  async run(): Promise<OperationResult> {
    const {flags} = await this.parse(Terminate)
    const selector = await this.selection(flags)
    if (!selector && !flags['dry-run'])
      await this.confirm('Terminate every instance of the project?', flags.yes)
    const onEvent = await this.progress()
    const project = await this.openProject(flags, {onEvent})
    const result = await project.terminate(selector, {dryRun: flags['dry-run'], wait: flags.wait})
    if (!this.jsonEnabled()) this.log(operationText(result).trimEnd())
    return result
  }
}
