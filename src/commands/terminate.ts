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
    const whole = !selector && !flags['dry-run'] && !flags.yes
    const onEvent = await this.progress()
    const project = await this.openProject(flags, {onEvent})
    // Without a terminal the refusal comes before any AWS call; on one, the question names how
    // many instances, once they are known.
    if (whole && !this.interactive())
      await this.confirm(
        `Terminate every instance of project ${project.name} in ${(await project.region()) ?? 'the default region'}?`,
        false,
      )
    const result = await project.terminate(selector, {
      dryRun: flags['dry-run'],
      wait: flags.wait,
      ...(whole ? {confirmTerminate: this.confirmTerminate(project, false)} : {}),
    })
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    return result
  }
}
