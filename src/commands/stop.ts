import {BaseCommand, mutatingFlags, selectionFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import {operationText} from '../ui/render.js'

export default class Stop extends BaseCommand {
  static summary = 'Stop the running instances of the selection.'
  static examples = [
    '<%= config.bin %> stop -i 2',
    '<%= config.bin %> stop --yes',
    '<%= config.bin %> stop -i 1-3 --no-wait --json',
  ]
  static flags = {...selectionFlags, ...mutatingFlags}

  async run(): Promise<OperationResult> {
    const {flags} = await this.parse(Stop)
    const selector = await this.selection(flags)

    const onEvent = await this.progress()
    const project = await this.openProject(flags, {onEvent})
    const result = await project.stop(selector, {dryRun: flags['dry-run'], wait: flags.wait})
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    return result
  }
}
