import type {Instance} from '../project/types.js'

export type OutputStream = 'stdout' | 'stderr'

/** Where and how to reach one instance. */
export interface Target {
  id: string
  name: string
  slot: number | null
  host: string
  port: number
  /** The observed instance (its tags carry the pinned host key under tofu). */
  instance: Instance
}

/** The `--json` shape of one target's outcome. */
export interface TargetResult {
  id: string
  name: string
  slot: number | null
  /** ok: exit 0 or copied; failed: non-zero exit, signal, timeout or copy error; unreachable: no session. */
  status: 'ok' | 'failed' | 'unreachable' | 'skipped'
  exitCode: number | null
  signal: string | null
  stdout: string
  stderr: string
  durationMs: number
  error: string | null
}

export interface ExecSummary {
  ok: number
  failed: number
  unreachable: number
  skipped: number
}

/** What `exec --json`, `put --json` and `get --json` print, and what Project#exec / put / get return. */
export interface ExecResult {
  project: string
  via: 'ssh' | 'ssm'
  operation: 'exec' | 'put' | 'get'
  /** Nothing running was selected, so nothing was done. */
  emptySelection: boolean
  /** Stopped by its signal (Ctrl-C): what ran was stopped, the rest not started; exit code 130. */
  interrupted: boolean
  results: TargetResult[]
  summary: ExecSummary
  /** The process exit code the CLI uses: 0, the remote code of a single target, 3, or 130 (interrupted). */
  exitCode: number
}

/** Progress of a fan-out; front ends render these (the runners never print). */
export type ExecEvent =
  | {type: 'targets'; targets: TargetRef[]}
  | {type: 'start'; target: TargetRef}
  | {type: 'line'; target: TargetRef; stream: OutputStream; line: string}
  | {type: 'done'; target: TargetRef; result: TargetResult}
  | {type: 'info'; message: string}
  | {type: 'warn'; message: string}

export interface TargetRef {
  id: string
  name: string
  slot: number | null
}

export type ExecEventSink = (e: ExecEvent) => void

export function refOf(t: {id: string; name: string; slot: number | null}): TargetRef {
  return {id: t.id, name: t.name, slot: t.slot}
}

export function summarize(results: TargetResult[]): ExecSummary {
  const s: ExecSummary = {ok: 0, failed: 0, unreachable: 0, skipped: 0}
  for (const r of results) s[r.status]++
  return s
}

export function summaryLine(s: ExecSummary): string {
  return `${s.ok} ok, ${s.failed} failed, ${s.unreachable} unreachable${s.skipped ? `, ${s.skipped} skipped` : ''}`
}

/** 0 if every target succeeded; the remote exit code when there is one target; 3 otherwise. */
export function aggregateExitCode(results: TargetResult[]): number {
  if (results.every((r) => r.status === 'ok')) return 0
  if (results.length === 1 && results[0].status === 'failed' && results[0].exitCode !== null)
    return results[0].exitCode
  return 3
}
