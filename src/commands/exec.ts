import os from 'node:os'
import path from 'node:path'

import * as Flags from '@oclif/core/flags'

import {
  AlreadyReported,
  BaseCommand,
  type GlobalFlagValues,
  type SelectionFlagValues,
  selectionFlags,
} from '../base-command.js'
import {InterruptedError, PartialFailureError, UsageError} from '../errors.js'
import type {OutputSink} from '../exec/output.js'
import {durationFlag, remoteCommandWords, splitAtDashDash} from '../flags.js'
import type {ExecEventSink, ExecResult} from '../exec/types.js'
import type {ExecOutput} from '../ui/exec-output.js'

export const fanOutFlags = {
  concurrency: Flags.integer({summary: 'Instances at once (default: ssh.concurrency).', min: 1, max: 1024}),
  timeout: durationFlag({
    summary: 'Time limit per instance, in seconds or like 90s, 5m.',
    example: '90s, 5m',
  }),
  'fail-fast': Flags.boolean({summary: 'Start no new instance after the first failure.', default: false}),
  group: Flags.boolean({
    summary: "Print each instance's output as one block when it finishes.",
    default: false,
  }),
  'accept-new-host-key': Flags.boolean({
    summary:
      'Accept host keys that changed since this machine last connected (tofu; instances rebuilt on purpose).',
    default: false,
  }),
}

/**
 * The terminal side of a fan-out: its events, and every instance's output (prefixed lines, or
 * blocks with --group, or nothing with --quiet). Under --json, nothing on the terminal.
 */
export async function terminalOutput(
  json: boolean,
  opts: {group?: boolean; quiet?: boolean; prefix?: boolean; 'no-color'?: boolean},
): Promise<{onEvent: ExecEventSink; output?: ExecOutput}> {
  if (json) return {onEvent: () => {}}
  const {createExecOutput} = await import('../ui/exec-output.js')
  const {colourEnabled} = await import('../ui/colour.js')
  const output = createExecOutput({
    mode: opts.quiet ? 'quiet' : opts.group ? 'group' : 'stream',
    prefix: opts.prefix ?? true,
    colour: {
      stdout: colourEnabled(process.stdout, {noColor: opts['no-color']}),
      stderr: colourEnabled(process.stderr, {noColor: opts['no-color']}),
    },
  })
  return {onEvent: output.onEvent, output}
}

/** The summary line on stderr, then the exit code through BaseCommand's catch. */
export async function finish(result: ExecResult, json: boolean, what: string): Promise<ExecResult> {
  const {summaryLine} = await import('../exec/types.js')
  if (!json && !result.emptySelection) process.stderr.write(summaryLine(result.summary) + '\n')
  if (result.interrupted) {
    const line = (r: ExecResult['results'][number]) =>
      `${r.name}: ${r.status === 'ok' ? 'ok' : (r.error ?? (r.exitCode !== null ? `exit ${r.exitCode}` : r.status))}`
    const it = what === 'put' || what === 'get' ? 'the copy' : 'the command'
    const unstopped = result.results.filter((r) => r.stop === 'running' || r.stop === 'unknown').length
    throw new InterruptedError(
      unstopped
        ? `interrupted: ${it} could not be stopped (or stopping could not be confirmed) on ${unstopped} instance(s), see below; not started on the rest`
        : `interrupted: ${it} was stopped where it was running and not started on the rest`,
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
    flags: GlobalFlagValues &
      SelectionFlagValues & {
        group: boolean
        timeout?: number
        quiet?: boolean
        prefix?: boolean
        concurrency?: number
        'fail-fast': boolean
        'accept-new-host-key': boolean
      },
  ) {
    const timeout = flags.timeout
    const selector = await this.selection(flags)
    const json = this.jsonEnabled()
    const {onEvent, output: terminal} = await terminalOutput(json, flags)
    const project = await this.openProject(flags, {
      onEvent: (e) => (e.type === 'warn' || e.type === 'info') && !json && onEvent(e),
    })
    /** Where instance output goes on the terminal (undefined under --json: captured into results). */
    const output: OutputSink | undefined = terminal?.sink
    /** The fan-out options every command of this family passes on as they are. */
    const fanOut = {
      concurrency: flags.concurrency,
      timeout,
      failFast: flags['fail-fast'],
      acceptNewHostKey: flags['accept-new-host-key'],
      onEvent,
    }
    return {selector, json, project, output, terminal, fanOut}
  }
}

export default class Exec extends FanOutCommand {
  static summary = 'Run a command on the running instances of the selection, over SSH or SSM.'
  static description = `Everything after "--" is the command, run by the remote login shell. Each output line is prefixed
with the instance Name (stdout to stdout, stderr to stderr); the bytes are passed on unchanged, and a
slow reader slows the commands down rather than losing output. A summary follows on stderr. Exits 0
when every instance succeeded, with the remote exit code when there is one instance, 3 otherwise.
Ctrl-C, SIGTERM, SIGHUP and --timeout stop the commands on the instances (sudo'ed ones included) and
say what was stopped.`
  static strict = false
  static examples = [
    "<%= config.bin %> exec -- 'uptime'",
    '<%= config.bin %> exec -i 1-4 --concurrency 2 --timeout 5m -- ./run-load.sh --rate 500',
    "<%= config.bin %> exec --group -- 'df -h /'",
    '<%= config.bin %> exec --output-dir results --quiet --env RATE=500 -- ./run-load.sh',
    "<%= config.bin %> exec -i 1 --no-prefix -- 'tar czf - /var/log/app' > logs.tgz",
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
    prefix: Flags.boolean({
      summary: 'Prefix each output line with the instance Name (--no-prefix: the bytes as they are).',
      default: true,
      allowNo: true,
    }),
    raw: Flags.boolean({summary: 'The same as --no-prefix.', default: false}),
    quiet: Flags.boolean({
      char: 'q',
      summary: 'Print no instance output (with --output-dir: to the files only).',
      default: false,
    }),
    'output-dir': Flags.string({
      summary: "Also write each instance's stdout and stderr to DIR/<name>/stdout and DIR/<name>/stderr.",
    }),
    env: Flags.string({
      summary: 'Export KEY=VALUE for the command; repeatable.',
      multiple: true,
    }),
    tty: Flags.boolean({
      summary: 'Allocate a terminal (for sudo with requiretty); stdout and stderr arrive merged.',
      default: false,
    }),
  }

  async run(): Promise<ExecResult | undefined> {
    const split = splitAtDashDash(this.argv)
    const parsed = await this.parse(Exec, split.own)
    const {flags} = parsed
    const command = remoteCommandWords(split, parsed).join(' ').trim()
    if (!command) throw new UsageError('exec: no command given; expected: wolphin exec [flags] -- COMMAND...')
    const {parseEnv} = await import('../exec/remote-command.js')
    const env = parseEnv(flags.env)
    if (flags.tty && flags.via === 'ssm')
      throw new UsageError('--tty: SSM Run Command has no terminal; use --via ssh')
    if (flags['output-dir']) {
      const {stat} = await import('node:fs/promises')
      const st = await stat(flags['output-dir']).catch(() => null)
      if (st && !st.isDirectory())
        throw new UsageError(`--output-dir: ${flags['output-dir']} exists and is not a directory`)
      const {OutputFiles} = await import('../exec/output-files.js')
      const {NotOursError} = await import('../util/no-follow.js')
      await OutputFiles.check(path.resolve(flags['output-dir'])).catch((e: unknown) => {
        throw e instanceof NotOursError ? new UsageError(`--output-dir: ${e.message}`) : e
      })
    }
    const prefix = flags.prefix && !flags.raw
    const {selector, json, project, terminal, fanOut} = await this.openFanOut({...flags, prefix})
    const {OutputFiles} = await import('../exec/output-files.js')
    const {teeSinks} = await import('../exec/output.js')
    const {mkdtemp, rm} = await import('node:fs/promises')
    const sinks: OutputSink[] = []
    if (terminal) sinks.push(terminal.sink)
    const files = flags['output-dir'] ? new OutputFiles(path.resolve(flags['output-dir'])) : null
    if (files) sinks.push(files)
    // --json: the output is spooled to files (--output-dir's, or temporary ones) and the document
    // is written from them, so its size does not bound memory.
    const spoolDir = json && !files ? await mkdtemp(path.join(os.tmpdir(), 'wolphin-exec-')) : null
    const spool = files ?? (spoolDir ? new OutputFiles(spoolDir) : null)
    if (spoolDir && spool) sinks.push(spool)
    try {
      const result = await project.exec(selector, command, {
        via: flags.via as 'ssh' | 'ssm',
        ...fanOut,
        output: teeSinks(...sinks),
        env,
        tty: flags.tty,
      })
      if (!json || !spool) return await finish(result, json, 'command')
      const {writeExecJson} = await import('../ui/exec-json.js')
      let failure: Error | undefined
      try {
        await finish(result, true, 'command')
      } catch (e) {
        failure = e as Error
      }
      // Written here, not by logJson: like every --json document, it starts with schemaVersion.
      const {versioned} = await import('../json.js')
      const doc = versioned(failure ? {...this.errorJson(failure), ...result} : result)
      await writeExecJson(process.stdout, doc as typeof result & Record<string, unknown>, spool)
      if (failure) throw new AlreadyReported(result.exitCode)
      return undefined
    } finally {
      await terminal?.close()
      if (spoolDir) await rm(spoolDir, {recursive: true, force: true})
    }
  }
}
