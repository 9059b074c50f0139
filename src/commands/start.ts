import * as Flags from '@oclif/core/flags'

import {BaseCommand, mutatingFlags, selectionFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import {operationText} from '../ui/render.js'

export default class Start extends BaseCommand {
  static summary = 'Start the stopped instances of the selection.'
  static examples = [
    '<%= config.bin %> start',
    '<%= config.bin %> start -i 2,4-5',
    '<%= config.bin %> start --state stopped --tag role=loadgen',
  ]
  static flags = {
    ...selectionFlags,
    ...mutatingFlags,
    'wait-ssh': Flags.boolean({
      summary: 'Then wait until every instance accepts an SSH session (default: when ssh is configured).',
      allowNo: true,
    }),
  }

  async run(): Promise<OperationResult> {
    const {flags} = await this.parse(Start)
    const selector = await this.selection(flags)

    const onEvent = await this.progress()
    const project = await this.openProject(flags, {onEvent})
    const result = await project.start(selector, {dryRun: flags['dry-run'], wait: flags.wait})
    const {waitForSshAfter} = await import('../exec/wait.js')
    await waitForSshAfter(project, result, {waitSsh: flags['wait-ssh'], wait: flags.wait, onEvent})
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    return result
  }
}
