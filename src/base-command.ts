// What @oclif/core's index checked on import (cwd exists, node version); see the file.
import './startup-checks.js'

import {Command} from '@oclif/core/command'
import * as Flags from '@oclif/core/flags'

import {loadConfig, type TimeoutOverrides} from './config/load.js'
import {ExitCode, InterruptedError, PartialFailureError, UsageError, WolphinError} from './errors.js'
import {versioned} from './json.js'
import type {EventSink} from './project/events.js'
import {Project} from './project/project.js'
import {SELECTOR_TIMEOUT_MS, type Selector, selectorFromFlags} from './selectors/index.js'
import {onlyOurStdoutErrorHandler, stdoutClosed} from './util/stdout-closed.js'
import {printable} from './ui/printable.js'

// Loaded after @oclif/core/command, which adds a stdout error handler of its own (see the function).
onlyOurStdoutErrorHandler()

/** The signals that interrupt an operation gracefully (see BaseCommand#interruptSignal). */
const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export const globalFlags = {
  config: Flags.string({
    char: 'c',
    summary: 'Config file; repeat to layer files, later ones override earlier ones.',
    multiple: true,
    // One value per -c, so positional arguments after it stay arguments (put -c w.yaml LOCAL REMOTE).
    multipleNonGreedy: true,
    helpGroup: 'GLOBAL',
  }),
  project: Flags.string({char: 'p', summary: 'Project name (overrides the config).', helpGroup: 'GLOBAL'}),
  region: Flags.string({summary: 'AWS region (overrides the config and AWS_REGION).', helpGroup: 'GLOBAL'}),
  profile: Flags.string({
    summary: 'AWS profile from ~/.aws/config.',
    helpGroup: 'GLOBAL',
    env: 'AWS_PROFILE',
  }),
  yes: Flags.boolean({
    char: 'y',
    summary: 'Do not ask for confirmation.',
    helpGroup: 'GLOBAL',
    default: false,
  }),
  'no-color': Flags.boolean({
    summary: 'No colours (also when NO_COLOR is set or output is not a terminal).',
    helpGroup: 'GLOBAL',
    default: false,
  }),
  ...awsTimeoutFlags(),
}

/** Commands that print a table: which columns. */
export const tableFlags = {
  wide: Flags.boolean({summary: 'Show every column.', default: false}),
  columns: Flags.string({summary: 'The columns to show, like name,state,address (see --help).'}),
}

/** --connect-timeout, --request-timeout, --total-timeout (or WOLPHIN_*_TIMEOUT): config `timeouts`. */
function awsTimeoutFlags() {
  const flag = (what: 'connect' | 'request' | 'total', summary: string) =>
    Flags.string({summary, helpGroup: 'AWS', env: `WOLPHIN_${what.toUpperCase()}_TIMEOUT`})
  return {
    'connect-timeout': flag(
      'connect',
      'Longest wait for a connection to AWS, like 10s (config timeouts.connect).',
    ),
    'request-timeout': flag(
      'request',
      'Longest wait for an answer from AWS, like 60s (config timeouts.request).',
    ),
    'total-timeout': flag(
      'total',
      'Longest time one AWS call may take with its retries, like 3m (config timeouts.total).',
    ),
  }
}

/** The timeout flags' values, for loadConfig and fleetSettings (validated there like the config). */
export function timeoutOverrides(flags: GlobalFlagValues): TimeoutOverrides {
  return {
    connect: flags['connect-timeout'],
    request: flags['request-timeout'],
    total: flags['total-timeout'],
  }
}

/**
 * For commands that span every project (ls, reap): no --project, nothing to confirm. A subset of
 * the global flags; the cast only satisfies BaseCommand's static type.
 */
export const fleetBaseFlags = {
  config: globalFlags.config,
  profile: globalFlags.profile,
  'no-color': globalFlags['no-color'],
  'connect-timeout': globalFlags['connect-timeout'],
  'request-timeout': globalFlags['request-timeout'],
  'total-timeout': globalFlags['total-timeout'],
} as unknown as typeof globalFlags

export const selectionFlags = {
  instances: Flags.string({
    char: 'i',
    summary: 'Slot numbers and ranges, like 1,3,5-7.',
    helpGroup: 'SELECTION',
  }),
  state: Flags.string({
    summary: 'Only instances in these states, like running,stopped.',
    helpGroup: 'SELECTION',
  }),
  tag: Flags.string({
    summary: 'Only instances with this tag, KEY=VALUE; repeatable.',
    multiple: true,
    multipleNonGreedy: true,
    helpGroup: 'SELECTION',
  }),
  selector: Flags.string({
    summary: 'A module exporting a Selector (select(instances) => instances).',
    helpGroup: 'SELECTION',
  }),
  outdated: Flags.boolean({
    summary: 'Only instances launched from an older launch spec than the config (drift).',
    helpGroup: 'SELECTION',
    default: false,
  }),
}

export const mutatingFlags = {
  'dry-run': Flags.boolean({summary: 'Print the plan and change nothing.', default: false}),
  wait: Flags.boolean({
    summary: 'Wait until the instances reach their target state.',
    default: true,
    allowNo: true,
  }),
}

export type GlobalFlagValues = {
  config?: string[]
  project?: string
  region?: string
  profile?: string
  yes: boolean
  'no-color'?: boolean
  'connect-timeout'?: string
  'request-timeout'?: string
  'total-timeout'?: string
}
export type SelectionFlagValues = {
  instances?: string
  state?: string
  tag?: string[]
  selector?: string
  outdated?: boolean
}

/**
 * The one place that loads config, builds the project and maps every error to an exit code, with
 * or without --json.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true
  static baseFlags = globalFlags

  private finishProgress: (() => Promise<void>) | null = null
  private interrupt: AbortController | null = null

  private watchPlan(sink: EventSink): EventSink {
    return (e) => {
      if (e.type === 'plan') this.applying = true
      sink(e)
    }
  }

  /**
   * Aborted by the first Ctrl-C (SIGINT), SIGTERM (a cancelled CI job) or SIGHUP (a closed
   * terminal): operations stop waiting, start nothing new, stop what they run on instances and end
   * with an InterruptedError saying what was done (exit 130). The abort reason is the signal's name.
   * A second signal, or one while nothing honours the abort, ends the process at once (SIGINT with
   * exit 130, the others by the signal itself, as without wolphin's handler).
   */
  protected interruptSignal(): AbortSignal {
    if (!this.interrupt) {
      const ac = new AbortController()
      this.interrupt = ac
      // Whether anything (a watch, an interruptible wait) has listened to the signal.
      let listened = false
      const add = ac.signal.addEventListener.bind(ac.signal)
      ac.signal.addEventListener = ((type: string, fn: EventListener, o?: AddEventListenerOptions) => {
        if (type === 'abort') listened = true
        add(type, fn, o)
      }) as typeof ac.signal.addEventListener
      // After SIGHUP the terminal is gone: a failed write to it must not end the process before
      // the commands on the instances are stopped.
      const say = (s: string) => {
        try {
          process.stderr.write(s)
        } catch {
          // nowhere to say it
        }
      }
      for (const sig of INTERRUPTS) {
        const handler = () => {
          if (sig === 'SIGHUP') process.stderr.on('error', () => {})
          // SIGTERM or SIGHUP again while the stop is under way (a wrapper passing the signal on,
          // a process group signalled twice) does not cut it short; a second Ctrl-C does.
          if (ac.signal.aborted && sig !== 'SIGINT' && listened) return
          if (ac.signal.aborted || !(this.applying || listened)) {
            if (sig === 'SIGINT') {
              say('\nwolphin: interrupted\n')
              process.exit(ExitCode.Interrupted)
            }
            for (const [s, h] of this.onInterrupt) process.removeListener(s, h)
            process.kill(process.pid, sig)
            return
          }
          const what = sig === 'SIGINT' ? '' : ` (${sig})`
          say(
            `\ninterrupted${what}: finishing the calls in flight, starting nothing new (Ctrl-C again to quit now)\n`,
          )
          ac.abort(sig)
        }
        this.onInterrupt.push([sig, handler])
        process.on(sig, handler)
      }
      // The reader of stdout went away (`| head`): what runs on instances is stopped as on
      // SIGPIPE, rather than left running behind an exit.
      stdoutClosed.handler = () => {
        if (!listened) process.exit(stdoutClosed.failure?.exitCode ?? 0)
        if (!ac.signal.aborted) ac.abort('SIGPIPE')
      }
    }
    return this.interrupt.signal
  }
  private onInterrupt: Array<[NodeJS.Signals, () => void]> = []
  /** A Project operation announced its plan: Ctrl-C now stops it gracefully. */
  private applying = false

  protected async openProject(
    flags: GlobalFlagValues,
    opts: {requireAmi?: boolean; onEvent?: EventSink} = {},
  ): Promise<Project> {
    await this.checkProfile(flags.profile)
    const {config, warnings} = await loadConfig({
      files: flags.config,
      project: flags.project,
      region: flags.region,
      timeouts: timeoutOverrides(flags),
      requireAmi: opts.requireAmi,
    })
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`)
    return new Project(config, {
      aws: {region: flags.region ?? config.region, profile: flags.profile},
      signal: this.interruptSignal(),
      // Without progress (status...), warnings such as expired leases still reach stderr.
      onEvent: this.watchPlan(opts.onEvent ?? warningsToStderr),
    })
  }

  /**
   * --json output. oclif colourizes JSON token by token (for 2000 instances ~190 ms and one object
   * per token); piped output gets no colour anyway, so it is written with one JSON.stringify, the
   * same bytes. On a terminal oclif's own (coloured) rendering is kept.
   */
  protected logJson(json: unknown): void {
    const doc = versioned(json)
    if (process.stdout.isTTY) return super.logJson(doc)
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n')
  }

  /** A named profile that does not exist is bad input (exit 2), found before any AWS call. */
  protected async checkProfile(profile: string | undefined): Promise<void> {
    if (!profile) return
    const {checkProfile} = await import('./aws/profile.js')
    await checkProfile(profile)
  }

  /** Whether to colour what goes to `stream` (one rule: src/ui/colour.ts). */
  protected async colour(flags: {'no-color'?: boolean}, stream: NodeJS.WriteStream = process.stdout) {
    const {colourEnabled} = await import('./ui/colour.js')
    return colourEnabled(stream, {noColor: flags['no-color']})
  }

  protected async selection(flags: SelectionFlagValues): Promise<Selector | null> {
    return selectorFromFlags(flags, process.cwd(), selectorTimeoutMs())
  }

  /** Progress for long work: listr2 on a terminal, timestamped lines otherwise, quiet under --json. */
  protected async progress(): Promise<EventSink> {
    const {createProgress} = await import('./ui/progress.js')
    const p = await createProgress({json: this.jsonEnabled(), tty: Boolean(process.stderr.isTTY)})
    this.finishProgress = p.finish
    return p.onEvent
  }

  /** Whether a question can be asked: stdin and stderr are terminals and --json is off. */
  protected interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !this.jsonEnabled()
  }

  /**
   * Destructive work: ask on a terminal (after printing `details` to stderr), demand --yes
   * otherwise. Refusing is a UsageError (exit 2).
   */
  protected async confirm(
    question: string,
    yes: boolean,
    details: string[] = [],
    hint = 'pass --yes (or narrow the selection)',
  ): Promise<void> {
    if (yes) return
    if (!this.interactive()) throw new UsageError(`${question} Refusing without confirmation: ${hint}.`)
    for (const d of details) process.stderr.write(`${d}\n`)
    const {createInterface} = await import('node:readline/promises')
    const rl = createInterface({input: process.stdin, output: process.stderr})
    // Ctrl-C at the question reaches readline, not the process: it ends the command (130);
    // Ctrl-D (end of input) is a no.
    const answer = await new Promise<string | 'interrupted' | null>((resolve) => {
      rl.on('SIGINT', () => resolve('interrupted'))
      rl.on('close', () => resolve(null))
      rl.question(`${question} [y/N] `).then(resolve, () => resolve(null))
    })
    rl.close()
    if (answer === 'interrupted') {
      process.stderr.write('\n')
      throw new InterruptedError('interrupted at the question; nothing was done')
    }
    if (answer === null || !/^y(es)?$/i.test(answer.trim()))
      throw new UsageError('not confirmed; nothing was done')
  }

  /**
   * For Project operations' `confirmTerminate`: names the project, the region and the instances,
   * and asks (or refuses without --yes) before anything is terminated.
   */
  protected confirmTerminate(project: Project, yes: boolean, why = '', hint?: string) {
    return async (instances: Array<{id: string; name: string | null; state: string}>) => {
      if (yes) return
      const region = (await project.region()) ?? 'the default region'
      const n = instances.length
      const names = instances.map((i) => i.name ?? i.id)
      const shown = names.slice(0, 5).join(', ') + (n > 5 ? ` and ${n - 5} more` : '')
      const question = `Terminate ${n} instance${n === 1 ? '' : 's'} of project ${project.name} in ${region}${why ? ` (${why})` : ''}: ${shown}?`
      const details = instances.map((i) => `  ${i.name ?? '-'}  ${i.id}  ${i.state}`)
      await this.confirm(question, yes, n > 5 ? details : [], hint)
    }
  }

  protected async finally(err: Error | undefined): Promise<unknown> {
    for (const [sig, h] of this.onInterrupt) process.removeListener(sig, h)
    stdoutClosed.handler = null
    if (this.finishProgress) await this.finishProgress().catch(() => {})
    // stdout failed (its line is on stderr, entry.ts) under a command that otherwise succeeded.
    if (stdoutClosed.failure && !err) this.exit(stdoutClosed.failure.exitCode)
    return super.finally(err)
  }

  protected async catch(err: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<unknown> {
    if (this.finishProgress) {
      await this.finishProgress().catch(() => {})
      this.finishProgress = null
    }
    // oclif's own exits (help, version, this.exit) pass through untouched.
    if (
      err.oclif?.exit !== undefined &&
      !(err instanceof WolphinError) &&
      err.constructor?.name === 'ExitError'
    )
      throw err
    // stdout failed while the command ran (its line already on stderr, entry.ts): exit 1.
    const code = stdoutClosed.failure
      ? stdoutClosed.failure.exitCode
      : err instanceof WolphinError
        ? err.exitCode
        : err.oclif?.exit === 2
          ? ExitCode.Usage
          : ExitCode.Failure
    const message = this.errorMessage(err)
    if (err instanceof AlreadyReported) {
      // The command wrote its own report (a streamed --json document).
    } else if (this.jsonEnabled() && stdoutClosed.failure) {
      // The document has nowhere to go; the one line on stderr says why.
    } else if (this.jsonEnabled()) {
      this.logJson(this.errorJson(err))
    } else {
      // After a failed stdout (its error line already written): what followed, as its detail.
      process.stderr.write(stdoutClosed.failure ? `  ${message}\n` : `wolphin: error: ${message}\n`)
      if (err instanceof PartialFailureError)
        for (const f of err.failures)
          process.stderr.write(`  ${f.id}${f.name ? ` (${f.name})` : ''}: ${f.reason}\n`)
      if (err instanceof InterruptedError && err.report) {
        for (const d of err.report.done) process.stderr.write(`  done: ${d}\n`)
        for (const d of err.report.notDone) process.stderr.write(`  not done: ${d}\n`)
      }
      const launched = launchedBy(err)
      if (launched.length) {
        process.stderr.write(
          `  launched ${launched.length} instance(s) that keep running, and billing, until terminated:\n`,
        )
        for (const id of launched) process.stderr.write(`    ${id}\n`)
        process.stderr.write(
          `  run \`${this.config.bin} ${this.id}\` again (same flags) to finish, or \`${this.config.bin} terminate\` to remove the project's instances\n`,
        )
      }
      if (process.env.WOLPHIN_DEBUG && !(err instanceof WolphinError)) process.stderr.write(`${err.stack}\n`)
    }
    // Exiting drops what stdout still holds: a slow reader gets all of it first.
    await drainStdout()
    this.exit(code)
  }

  /** The --json document of an error: `{error: {code, message, exitCode, ...}}` and a result. */
  /** The one line an error is reported as (a missing argument named with the usage). */
  protected errorMessage(err: Error & {oclif?: {exit?: number}}): string {
    // A message may quote a tag value, which anyone allowed to write tags chose: a terminal must
    // not obey an ESC or BEL in it.
    return printable(missingArgsMessage(err, this.id, this.ctor.args) ?? oneLine(err.message))
  }

  protected errorJson(err: Error & {oclif?: {exit?: number}}): Record<string, unknown> {
    const code =
      err instanceof WolphinError ? err.exitCode : err.oclif?.exit === 2 ? ExitCode.Usage : ExitCode.Failure
    const body: Record<string, unknown> = {
      error: {
        code: err instanceof WolphinError ? err.code : code === 2 ? 'USAGE' : 'ERROR',
        message: this.errorMessage(err),
        exitCode: code,
      },
    }
    if (err instanceof InterruptedError && err.report) Object.assign(body.error as object, err.report)
    const launched = launchedBy(err)
    if (launched.length) (body.error as Record<string, unknown>).launched = launched
    if (err instanceof PartialFailureError) {
      ;(body.error as Record<string, unknown>).failures = err.failures
      if (err.result && typeof err.result === 'object') Object.assign(body, err.result)
    }
    return body
  }
}

/** Instances a failed command launched (or that appeared while it ran): they keep running. */
function launchedBy(err: Error): string[] {
  const launched = [
    ...(err instanceof InterruptedError ? (err.report?.launched ?? []) : []),
    ...(err instanceof WolphinError ? (err.launched ?? []) : []),
  ]
  return [...new Set(launched)]
}

/** The command has written its own report (a streamed --json document); only its exit code is left. */
export class AlreadyReported extends WolphinError {
  constructor(exitCode: number) {
    super('reported', 'REPORTED', exitCode)
  }
}

/** Resolves once everything written to stdout and stderr has been handed to the OS (or failed). */
export async function drainStdout(): Promise<void> {
  await Promise.all([drained(process.stdout), drained(process.stderr)])
}

async function drained(out: NodeJS.WriteStream): Promise<void> {
  if (!out.writableLength || out.destroyed) return
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done)
      out.off('error', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('error', done)
    out.on('close', done)
  })
}

/** WOLPHIN_SELECTOR_TIMEOUT (seconds) bounds a --selector module's loading and select(). */
function selectorTimeoutMs(): number {
  const text = process.env.WOLPHIN_SELECTOR_TIMEOUT
  if (text === undefined || text === '') return SELECTOR_TIMEOUT_MS
  const s = Number(text)
  if (!Number.isFinite(s) || s <= 0 || s > 86_400)
    throw new UsageError(`WOLPHIN_SELECTOR_TIMEOUT: "${text}" is not a number of seconds (0 < s <= 86400)`)
  return s * 1000
}

const warningsToStderr: EventSink = (e) => {
  if (e.type === 'warn') process.stderr.write(`warning: ${e.message}\n`)
}

/**
 * oclif's missing-argument error lists the arguments on lines of their own, which one line would
 * drop: name them, and the command's usage, on one line.
 */
function missingArgsMessage(
  err: Error & {args?: unknown; oclif?: {exit?: number}},
  id: string | undefined,
  declared: Record<string, unknown> | undefined,
): string | null {
  if (!Array.isArray(err.args) || err.oclif?.exit !== 2 || !('parse' in err)) return null
  const missing = (err.args as Array<{name?: string; description?: string}>).filter((a) => a.name)
  if (missing.length === 0) return null
  const all = Object.keys(declared ?? {}).map((a) => a.toUpperCase())
  const usage = `wolphin ${(id ?? '').replaceAll(':', ' ')} [flags] ${all.join(' ')}`
    .replace(/\s+/g, ' ')
    .trim()
  const what = missing
    .map((a) => `${a.name!.toUpperCase()}${a.description ? ` (${a.description.replace(/\.$/, '')})` : ''}`)
    .join(', ')
  return `missing argument${missing.length > 1 ? 's' : ''} ${what}; expected: ${usage}`
}

function oneLine(s: string): string {
  const lines = s.split('\n').filter((l) => l.trim() !== '' && !/^See more help with/.test(l.trim()))
  const first = lines[0] ?? s
  // oclif heads a flag's validation error with "Parsing --flag" and puts the reason on the next
  // line: keep both, on one line. Otherwise the first meaningful line.
  if (/^Parsing --?\S+\s*$/.test(first.trim()) && lines[1])
    return `${first.trim()}: ${lines[1]}`.replace(/\s+/g, ' ').trim()
  // A heading ("The following errors occurred:") over the reasons: the reasons are the message.
  if (first.trim().endsWith(':') && lines.length > 1)
    return (
      lines
        .slice(1)
        // eslint-disable-next-line no-control-regex -- oclif dims the reasons with ANSI codes
        .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
        .join('; ')
        .replace(/\s+/g, ' ')
    )
  return first.replace(/\s+/g, ' ').trim()
}
