import {spawn} from 'node:child_process'
import os from 'node:os'

import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'

import {BaseCommand, selectionFlags} from '../base-command.js'
import {UsageError} from '../errors.js'
import {remoteCommandWords, splitAtDashDash} from '../flags.js'

export default class Ssh extends BaseCommand {
  static summary = 'Log in to one instance with the system ssh (or run one command there).'
  static description = `Logs in to SLOT (a slot number or an instance Name), or to the only running instance of the
selection, with the configured user, key, port and bastion. The host key is checked against its pin
(or known_hosts) first and handed to ssh in a generated known_hosts file, so ssh never asks. A
terminal is allocated when ssh's standard input is one (as ssh does); -t forces one. Everything after
"--" is a command to run instead of a login shell. Exits with ssh's exit code.`
  static strict = false
  static examples = [
    '<%= config.bin %> ssh',
    '<%= config.bin %> ssh 3',
    '<%= config.bin %> ssh 2 -- tail -f /var/log/loadgen.log',
    '<%= config.bin %> ssh -t 1 -- sudo systemctl restart loadgen',
  ]
  static args = {
    slot: Args.string({description: 'Slot number or instance Name (default: the only running instance).'}),
  }
  static flags = {
    ...selectionFlags,
    tty: Flags.boolean({
      char: 't',
      summary: 'Force a terminal (ssh -t), e.g. for sudo with requiretty.',
      default: false,
    }),
  }

  // No --json: what ssh prints is the remote command's own output (or a login), never a document.
  // Asked for anyway, the refusal is one JSON document (jsonEnabled below), exit 2.
  static enableJsonFlag = false

  jsonEnabled(): boolean {
    return splitAtDashDash(this.argv).own.includes('--json')
  }

  async run(): Promise<void> {
    // Everything after "--" is the remote command; before it, flags and SLOT.
    const split = splitAtDashDash(this.argv)
    if (split.own.includes('--json'))
      throw new UsageError(
        'ssh: --json is not available: ssh prints what the remote command prints; for a JSON result use wolphin exec -i SLOT --json -- COMMAND',
      )
    const parsed = await this.parse(Ssh, split.own)
    const {flags, args, argv} = parsed
    if (argv.length > 1)
      throw new UsageError(
        `ssh: unexpected ${argv.slice(1).join(' ')}; put the command after "--": wolphin ssh ${args.slot} -- COMMAND`,
      )
    const command = split.command ? remoteCommandWords(split, parsed) : []
    if (split.command && !command.length) throw new UsageError('ssh: no command after "--"')
    const selector = await this.selection(flags)
    const project = await this.openProject(flags)
    const {prepareLogin} = await import('../exec/ssh-config.js')
    const login = await prepareLogin(project, selector, args.slot, {
      command,
      tty: flags.tty,
      onEvent: (e) => (e.type === 'info' || e.type === 'warn') && process.stderr.write(`${e.message}\n`),
    })
    let code: number
    try {
      code = await runSsh(login.args)
    } finally {
      await login.dispose()
    }
    if (code !== 0) this.exit(code)
  }
}

/**
 * Runs the system ssh on this terminal and resolves with its exit code. While it runs, Ctrl-C is
 * ssh's (and the remote's) to handle; SIGTERM and SIGHUP are passed on to it.
 */
function runSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, {stdio: 'inherit'})
    const ignore = () => {}
    const forward = (sig: NodeJS.Signals) => child.kill(sig)
    process.removeAllListeners('SIGINT')
    process.on('SIGINT', ignore)
    process.on('SIGTERM', forward)
    process.on('SIGHUP', forward)
    const done = () => {
      process.removeListener('SIGINT', ignore)
      process.removeListener('SIGTERM', forward)
      process.removeListener('SIGHUP', forward)
    }
    child.once('error', (e) => {
      done()
      reject(
        new Error(
          `ssh: cannot run the system ssh (${(e as NodeJS.ErrnoException).code ?? e.message}); install OpenSSH's client`,
        ),
      )
    })
    child.once('exit', (code, signal) => {
      done()
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 1) : 1))
    })
  })
}
