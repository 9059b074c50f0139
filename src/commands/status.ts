import * as Flags from '@oclif/core/flags'

import {BaseCommand, selectionFlags, tableFlags} from '../base-command.js'
import {WaitTimeoutError} from '../errors.js'
import {durationFlag} from '../flags.js'
import type {StatusResult} from '../project/project.js'
import type {WatchResult} from '../project/watch.js'
import {statusColumns, statusTable} from '../ui/render.js'
import {chooseColumns, terminalWidth} from '../ui/table.js'

export default class Status extends BaseCommand {
  static summary = 'Show every instance EC2 still reports for the project, terminated included.'
  static description = `By default the columns that fit the terminal (name, id, state, address, age, lease; id and age
give way below about 90 columns); --wide shows every column, --columns picks them: slot, name, id,
state, address (public IP, else private), public-ip, private-ip, public-dns, private-dns, type,
zone, market, age, lease, spec.

With --watch, re-observe every --interval seconds and print each state transition as it
happens, until interrupted, until no instance is pending, stopping or shutting down (--until-stable),
or until --timeout.`
  static examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --state running',
    '<%= config.bin %> status --json | jq -r ".instances[].publicIp"',
    '<%= config.bin %> status --outdated',
    '<%= config.bin %> status --wide',
    '<%= config.bin %> status --columns name,state,private-ip,zone',
    '<%= config.bin %> status --watch --until-stable --timeout 10m',
  ]
  static flags = {
    ...selectionFlags,
    ...tableFlags,
    // No default: a default counts as given, and --interval/--timeout/--until-stable would then be
    // accepted (and ignored) without --watch.
    watch: Flags.boolean({summary: 'Re-observe and print each state transition.'}),
    interval: durationFlag({
      summary: 'With --watch: time between observations (default: the config wait.interval).',
      dependsOn: ['watch'],
    }),
    'until-stable': Flags.boolean({
      summary: 'With --watch: stop once no instance is in a transitional state.',
      dependsOn: ['watch'],
    }),
    timeout: durationFlag({
      summary: 'With --watch: stop after this long (default: none; with --until-stable, wait.timeout).',
      dependsOn: ['watch'],
    }),
  }

  async run(): Promise<StatusResult | WatchResult> {
    const {flags} = await this.parse(Status)
    const selector = await this.selection(flags)
    const interval = flags.interval
    let timeout = flags.timeout
    const columns = chooseColumns(statusColumns(), flags)
    const project = await this.openProject(flags)
    const view = {...columns, width: terminalWidth(), colour: await this.colour(flags)}
    if (!flags.watch) {
      const result = await project.status(selector)
      if (!this.jsonEnabled()) process.stdout.write(statusTable(result, view))
      return result
    }
    if (timeout === undefined && flags['until-stable']) timeout = project.config.wait.timeout
    const {transitionLine} = await import('../ui/watch.js')
    let first = true
    const result = await project.watch(selector, {
      interval: interval ?? project.config.wait.interval,
      timeout,
      untilStable: flags['until-stable'],
      onTransition: (t) => {
        if (!this.jsonEnabled()) this.log(transitionLine(t))
      },
      onObservation: async (s) => {
        if (first && !this.jsonEnabled()) process.stdout.write(statusTable(s, view))
        first = false
      },
    })
    if (flags['until-stable'] && !result.stable)
      throw new WaitTimeoutError(
        `status --watch: still not stable after ${timeout}s: ${result.instances
          .filter((i) => ['pending', 'stopping', 'shutting-down'].includes(i.state))
          .map((i) => `${i.id} ${i.state}`)
          .join(', ')}`,
      )
    return result
  }
}
