import {BaseCommand, selectionFlags} from '../base-command.js'
import type {StatusResult} from '../project/project.js'
import {statusTable} from '../ui/render.js'

export default class Status extends BaseCommand {
  static summary = 'Show every instance EC2 still reports for the project, terminated included.'
  static examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --state running',
    '<%= config.bin %> status --json | jq -r ".instances[].publicIp"',
  ]
  static flags = {...selectionFlags}

  async run(): Promise<StatusResult> {
    const {flags} = await this.parse(Status)
    const selector = await this.selection(flags)
    const project = await this.openProject(flags)
    const result = await project.status(selector)
    if (!this.jsonEnabled())
      process.stdout.write(await statusTable(result, {tty: Boolean(process.stdout.isTTY)}))
    return result
  }
}
