import * as Flags from '@oclif/core/flags'

import {
  BaseCommand,
  type GlobalFlagValues,
  type SelectionFlagValues,
  selectionFlags,
} from '../base-command.js'
import {parseDuration} from '../config/duration.js'
import {InterruptedError, PartialFailureError, UsageError} from '../errors.js'
import type {ExecEventSink, ExecResult} from '../exec/types.js'

export const fanOutFlags = {
  concurrency: Flags.integer({summary: 'Instances at once (default: ssh.concurrency).', min: 1, max: 1024}),
  timeout: Flags.string({summary: 'Time limit per instance, in seconds or like 90s, 5m.'}),
  'fail-fast': Flags.boolean({summary: 'Start no new instance after the first failure.', default: false}),
  group: Flags.boolean({
    summary: "Print each instance's output as one block when it finishes.",
    default: false,
  }),
}

export function parseTimeout(v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const ms = parseDuration(v)
  if (ms === null || ms <= 0)
    throw new UsageError(`--timeout: "${v}" is not a duration; expected seconds or like 90s, 5m`)
  return ms / 1000
}

/** Renders the fan-out's events on the terminal; nothing under --json. */
export async function renderer(json: boolean, group: boolean, noColor = false): Promise<ExecEventSink> {
  const {createExecRenderer} = await import('../ui/exec-output.js')
  const {colourEnabled} = await import('../ui/colour.js')
  return createExecRenderer({
    mode: json ? 'quiet' : group ? 'group' : 'stream',
    colour: {
      stdout: colourEnabled(process.stdout, {noColor}),
      stderr: colourEnabled(process.stderr, {noColor}),
    },
  })
}

/** The summary line on stderr, then the exit code through BaseCommand's catch. */
export async function finish(result: ExecResult, json: boolean, what: string): Promise<ExecResult> {
  const {summaryLine} = await import('../exec/types.js')
  if (!json && !result.emptySelection) process.stderr.write(summaryLine(result.summary) + '\n')
  if (result.interrupted) {
    const line = (r: ExecResult['results'][number]) =>
      `${r.name}: ${r.status === 'ok' ? 'ok' : (r.error ?? (r.exitCode !== null ? `exit ${r.exitCode}` : r.status))}`
    const it = what === 'put' || what === 'get' ? 'the copy' : 'the command'
    throw new InterruptedError(
      `interrupted: ${it} was stopped where it was running and not started on the rest`,
      {
        done: result.results.filter((r) => r.status === 'ok').map(line),
        notDone: result.results.filter((r) => r.status !== 'ok').map(line),
      },
    )
  }
  if (result.exitCode === 0) return result
  const bad = result.results.filter((r) => r.status !== 'ok')
  const single = result.results.length === 1 && bad[0]?.exitCode !== null
  throw new PartialFailureError(
    single
      ? `${what} exited with ${bad[0].exitCode} on ${bad[0].name}`
      : `${what} failed on ${bad.length} of ${result.results.length} instance(s): ${result.summary.failed} failed, ${result.summary.unreachable} unreachable`,
    bad.map((r) => ({
      id: r.id,
      name: r.name,
      reason: `${r.status}: ${r.exitCode !== null ? `exit ${r.exitCode}` : (r.error ?? r.signal ?? r.status)}`,
    })),
    result,
    result.exitCode,
  )
}

/** exec and put: the selection, the project, and its fan-out events rendered (nothing under --json). */
export abstract class FanOutCommand extends BaseCommand {
  static enableJsonFlag = true

  protected async openFanOut(
    flags: GlobalFlagValues & SelectionFlagValues & {group: boolean; timeout?: string},
  ) {
    const timeout = parseTimeout(flags.timeout)
    const selector = await this.selection(flags)
    const json = this.jsonEnabled()
    const onEvent = await renderer(json, flags.group, flags['no-color'])
    const project = await this.openProject(flags, {
      onEvent: (e) => (e.type === 'warn' || e.type === 'info') && !json && onEvent(e),
    })
    return {timeout, selector, json, onEvent, project}
  }
}

export default class Exec extends FanOutCommand {
  static summary = 'Run a command on the running instances of the selection, over SSH or SSM.'
  static description = `Everything after "--" is the command, run by the remote login shell. Each output line is prefixed
with the instance Name (stdout to stdout, stderr to stderr); a summary follows on stderr. Exits 0 when
every instance succeeded, with the remote exit code when there is one instance, 3 otherwise.`
  static strict = false
  static examples = [
    "<%= config.bin %> exec -- 'uptime'",
    '<%= config.bin %> exec -i 1-4 --concurrency 2 --timeout 5m -- ./run-load.sh --rate 500',
    "<%= config.bin %> exec --group -- 'df -h /'",
    "<%= config.bin %> exec --via ssm --json -- 'systemctl is-active nginx'",
  ]
  static flags = {
    ...selectionFlags,
    via: Flags.string({
      summary: 'Transport: ssh (ssh2) or ssm (SSM Run Command).',
      options: ['ssh', 'ssm'],
      default: 'ssh',
    }),
    ...fanOutFlags,
  }

  async run(): Promise<ExecResult> {
    const {flags, argv} = await this.parse(Exec)
    const command = (argv as string[]).join(' ').trim()
    if (!command) throw new UsageError('exec: no command given; expected: wolphin exec [flags] -- COMMAND...')
    const {timeout, selector, json, onEvent, project} = await this.openFanOut(flags)
    const result = await project.exec(selector, command, {
      via: flags.via as 'ssh' | 'ssm',
      concurrency: flags.concurrency,
      timeout,
      failFast: flags['fail-fast'],
      onEvent,
    })
    return finish(result, json, 'command')
  }
}
