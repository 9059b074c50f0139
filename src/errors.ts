/**
 * Typed errors of wolphin. Every error the core raises is a WolphinError with a stable `code`
 * and the exit code the CLI maps it to; the CLI has one catch that relies on nothing else.
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  Partial: 3,
  Interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export class WolphinError extends Error {
  readonly code: string
  readonly exitCode: number
  /**
   * Set by the core when a command that launches fails: the instances it launched, or that
   * appeared in the project while it ran (a launch whose answer was lost may have gone through).
   * They keep running, and billing: front ends list them.
   */
  launched?: string[]
  constructor(message: string, code = 'WOLPHIN_ERROR', exitCode: number = ExitCode.Failure) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
  }
}

/**
 * A kind of error with its code and exit code fixed: `class ConfigError extends errorKind(...)`.
 * `code` is typed as its literal, so a library user can switch on it.
 */
function errorKind<C extends string>(code: C, exitCode: number) {
  return class extends WolphinError {
    declare readonly code: C
    constructor(message: string) {
      super(message, code, exitCode)
    }
  }
}

/** What is wrong with the config, for code that acts on it (never on the message). */
export type ConfigProblem = 'not-found' | 'missing-field' | 'invalid'

/** Bad config: a file that cannot be read or parsed, or a field that fails validation. */
export class ConfigError extends errorKind('CONFIG_INVALID', ExitCode.Usage) {
  /** No config at all, a required field missing (`field` names it), or anything else. */
  readonly problem: ConfigProblem
  readonly field: string | undefined
  constructor(message: string, detail: {problem?: ConfigProblem; field?: string} = {}) {
    super(message)
    this.problem = detail.problem ?? 'invalid'
    this.field = detail.field
  }
}

/** Bad flags or arguments. */
export class UsageError extends errorKind('USAGE', ExitCode.Usage) {}

/** A selector that cannot be parsed or a selector module that cannot be loaded. */
export class SelectorError extends errorKind('SELECTOR_INVALID', ExitCode.Usage) {}

/** An AWS call failed in a way the user has to act on; `awsCode` is EC2's own error code. */
export class AwsError extends WolphinError {
  readonly awsCode: string
  constructor(message: string, code: string, awsCode: string) {
    super(message, code, ExitCode.Failure)
    this.awsCode = awsCode
  }
}

/**
 * No answer from an AWS endpoint: refused, reset, unreachable (`NETWORK_ERROR`), or silent past a
 * connect, request or per-call timeout (`NETWORK_TIMEOUT`). The message names the endpoint.
 */
export class NetworkError extends WolphinError {
  constructor(message: string, code: 'NETWORK_TIMEOUT' | 'NETWORK_ERROR') {
    super(message, code, ExitCode.Failure)
  }
}

/** No AWS credentials could be found or loaded. */
export class CredentialsError extends errorKind('CREDENTIALS_MISSING', ExitCode.Failure) {}

/** Instances did not reach the state (or answer over SSH) within the wait's time limit. */
export class WaitTimeoutError extends errorKind('WAIT_TIMEOUT', ExitCode.Failure) {}

export interface TargetFailure {
  id: string
  name?: string
  reason: string
}

/** Some targets failed, the rest were done. */
export class PartialFailureError extends WolphinError {
  readonly failures: TargetFailure[]
  readonly result: unknown
  /** `exitCode` is 3 unless a caller passes another (exec on one target exits with its code). */
  constructor(
    message: string,
    failures: TargetFailure[],
    result?: unknown,
    exitCode: number = ExitCode.Partial,
  ) {
    super(message, 'PARTIAL_FAILURE', exitCode)
    this.failures = failures
    this.result = result
  }
}

/** A host key that does not match what is known or pinned for the host: the connection is refused. */
export class HostKeyError extends errorKind('HOST_KEY_REJECTED', ExitCode.Failure) {}

/** What an interrupted operation had done and had not done yet. */
export interface InterruptionReport {
  done: string[]
  notDone: string[]
  launched?: string[]
}

/** Ctrl-C (SIGINT): waiting stopped and nothing new was started; exit 130. */
export class InterruptedError extends WolphinError {
  readonly report: InterruptionReport | undefined
  constructor(message: string, report?: InterruptionReport) {
    super(message, 'INTERRUPTED', ExitCode.Interrupted)
    this.report = report
  }
}
