import os from 'node:os'
import path from 'node:path'

import * as Flags from '@oclif/core/flags'

import {BaseCommand, selectionFlags} from '../base-command.js'
import {PartialFailureError} from '../errors.js'
import type {SshConfigResult} from '../exec/ssh-config.js'

export default class SshConfig extends BaseCommand {
  static enableJsonFlag = true
  static summary = 'Print OpenSSH Host entries for the running instances, and write their known_hosts file.'
  static description = `One "Host wolphin.<project>.<n>" entry per running instance of the selection (HostName, Port,
User, IdentityFile, ProxyJump for ssh.bastion), so ssh, scp, rsync and ansible reach them as wolphin
does. Each instance is connected to once: the host key it presents is checked against its pin (or
known_hosts) and written to the known_hosts file the entries name (--known-hosts, by default
~/.ssh/wolphin/<project>.known_hosts). Instances that cannot be checked get no entry (exit 3).`
  static examples = [
    '<%= config.bin %> ssh-config > wolphin.ssh_config && ssh -F wolphin.ssh_config wolphin.loadgen.1',
    '<%= config.bin %> ssh-config --known-hosts ./known_hosts > ssh_config && rsync -a -e "ssh -F ssh_config" wolphin.loadgen.2:results/ ./r2/',
    '<%= config.bin %> ssh-config --json',
  ]
  static flags = {
    ...selectionFlags,
    'known-hosts': Flags.string({
      summary: 'The known_hosts file to write (default ~/.ssh/wolphin/<project>.known_hosts).',
    }),
  }

  async run(): Promise<SshConfigResult> {
    const {flags} = await this.parse(SshConfig)
    const json = this.jsonEnabled()
    const selector = await this.selection(flags)
    const toStderr = (message: string) => !json && process.stderr.write(`${message}\n`)
    const project = await this.openProject(flags, {
      onEvent: (e) => e.type === 'warn' && toStderr(`warning: ${e.message}`),
    })
    const knownHostsFile = path.resolve(
      flags['known-hosts'] ?? path.join(os.homedir(), '.ssh', 'wolphin', `${project.name}.known_hosts`),
    )
    const {sshConfigForProject, writeKnownHosts} = await import('../exec/ssh-config.js')
    const r = await sshConfigForProject(project, selector, {
      knownHostsFile,
      onEvent: (e) => (e.type === 'info' || e.type === 'warn') && toStderr(e.message),
    })
    if (r.knownHostsFile && r.hosts.length) {
      await writeKnownHosts(r.knownHostsFile, r.knownHosts)
      toStderr(`known_hosts: ${r.hosts.length} key(s) written to ${r.knownHostsFile}`)
    }
    if (!json && r.hosts.length) process.stdout.write(r.config)
    if (r.unreachable.length)
      throw new PartialFailureError(
        `ssh-config: ${r.unreachable.length} instance(s) could not be checked and have no entry`,
        r.unreachable.map((u) => ({id: u.id, name: u.name, reason: u.error})),
        r,
      )
    return r
  }
}
