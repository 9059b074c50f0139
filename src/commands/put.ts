import * as Args from '@oclif/core/args'

import {selectionFlags} from '../base-command.js'
import type {ExecResult} from '../exec/types.js'
import {fanOutFlags, FanOutCommand, finish} from './exec.js'

export default class Put extends FanOutCommand {
  static summary = 'Copy a file or a directory tree to the running instances of the selection (SFTP).'
  static description = `A file goes to REMOTE, or into REMOTE when it ends with "/". A directory's contents go into REMOTE,
which is created with its parents. File modes are kept. Relative REMOTE paths start in the login
user's home directory.`
  static examples = [
    '<%= config.bin %> put ./loadgen.sh bin/',
    '<%= config.bin %> put ./dist /opt/app --concurrency 8',
    '<%= config.bin %> put -i 1,2 ./config.json app/config.json',
  ]
  static args = {
    local: Args.string({description: 'Local file or directory.', required: true}),
    remote: Args.string({description: 'Remote path.', required: true}),
  }
  static flags = {...selectionFlags, ...fanOutFlags}

  async run(): Promise<ExecResult> {
    const {flags, args} = await this.parse(Put)
    const {selector, json, project, output, fanOut} = await this.openFanOut(flags)
    const result = await project.put(selector, args.local, args.remote, {...fanOut, output})
    return finish(result, json, 'put')
  }
}
