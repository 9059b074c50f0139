import * as Args from '@oclif/core/args'

import {selectionFlags} from '../base-command.js'
import type {ExecResult} from '../exec/types.js'
import {fanOutFlags, FanOutCommand, finish} from './exec.js'

export default class Get extends FanOutCommand {
  static summary = 'Copy a file or a directory tree from the running instances of the selection (SFTP).'
  static description = `Each instance's copy goes to LOCAL/<instance Name>/: REMOTE's last component below it (a file
LOCAL/<Name>/app.log, a tree LOCAL/<Name>/results/...), or REMOTE's contents for "." or "~". Bytes and
file modes are kept; symlinks are copied as symlinks. Relative REMOTE paths start in the login user's
home directory. Running it again replaces what an earlier get left.`
  static examples = [
    '<%= config.bin %> get results/ ./collected',
    '<%= config.bin %> get -i 1-4 /var/log/loadgen.log ./logs',
    '<%= config.bin %> get --json report.json ./out',
  ]
  static args = {
    remote: Args.string({description: 'Remote file or directory.', required: true}),
    local: Args.string({
      description: 'Local directory; one folder per instance is made in it.',
      required: true,
    }),
  }
  static flags = {...selectionFlags, ...fanOutFlags}

  async run(): Promise<ExecResult> {
    const {flags, args} = await this.parse(Get)
    const {selector, json, project, output, fanOut} = await this.openFanOut(flags)
    const result = await project.get(selector, args.remote, args.local, {...fanOut, output})
    return finish(result, json, 'get')
  }
}
