import * as Flags from '@oclif/core/flags'

import {BaseCommand, mutatingFlags} from '../base-command.js'
import type {OperationResult} from '../project/project.js'
import type {ValidationResult} from '../project/validate.js'
import {operationText} from '../ui/render.js'

export default class Create extends BaseCommand {
  static summary = 'Converge the project to count.min..count.max healthy instances.'
  static description = `Starts stopped members, launches what is missing into the lowest free slots, and terminates the
highest slots above count.max: those are named first, and terminated only once confirmed on a terminal,
or with --yes. Idempotent: a second run changes nothing.`
  static examples = [
    '<%= config.bin %> create',
    '<%= config.bin %> create -c wolphin.yaml -c ci-overrides.yaml',
    '<%= config.bin %> create --dry-run',
    '<%= config.bin %> create --json --no-wait',
  ]
  static flags = {
    ...mutatingFlags,
    'wait-ssh': Flags.boolean({
      summary: 'Then wait until every instance accepts an SSH session (default: when ssh is configured).',
      allowNo: true,
    }),
  }

  async run(): Promise<OperationResult & {validation?: ValidationResult}> {
    const {flags} = await this.parse(Create)
    const onEvent = await this.progress()
    const project = await this.openProject(flags, {requireAmi: true, onEvent})
    const result = await project.create({
      dryRun: flags['dry-run'],
      wait: flags.wait,
      // count was lowered: the instances above count.max are named and asked about first.
      confirmTerminate: this.confirmTerminate(
        project,
        flags.yes,
        `above count.max ${project.config.count.max}`,
        'pass --yes to terminate them (or raise count)',
      ),
    })
    const {waitForSshAfter} = await import('../exec/wait.js')
    await waitForSshAfter(project, result, {waitSsh: flags['wait-ssh'], wait: flags.wait, onEvent})
    if (!this.jsonEnabled()) process.stdout.write(operationText(result, {colour: await this.colour(flags)}))
    if (flags['dry-run']) {
      // A dry run also checks what the launch would need (the same checks as `wolphin validate`).
      const validation = await project.validate()
      const {reportValidation} = await import('./validate.js')
      await reportValidation(this, validation, {...result, validation})
      return {...result, validation}
    }
    return result
  }
}
