import type {EventSink, ProjectEvent} from '../project/events.js'
import type {Action} from '../project/plan.js'
import {actionSummary} from './render.js'

export interface Progress {
  onEvent: EventSink
  finish(): Promise<void>
}

const stamp = () => new Date().toTimeString().slice(0, 8)

/** Up to three ids on the line itself; more, one per line below it. */
function idList(ids: string[]): string {
  if (!ids.length) return ''
  if (ids.length <= 3) return `: ${ids.join(', ')}`
  return ':' + ids.map((id) => `\n           ${id}`).join('')
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`

/**
 * Timestamped lines on stderr, for CI logs and pipes: what each action starts and ends, and for a
 * wait one line per change of its count (`3/5 running, 12 s`), not one per poll. No plan notation.
 */
export function plainProgress(
  write: (s: string) => void = (s) => process.stderr.write(s),
  now: () => number = Date.now,
): Progress {
  const started = new Map<number, number>()
  const lastCount = new Map<number, number>()
  const line = (s: string) => write(`${stamp()} ${s}\n`)
  return {
    onEvent(e: ProjectEvent) {
      switch (e.type) {
        case 'action:start': {
          const a = e.action
          started.set(a.id, now())
          if (a.kind === 'wait') line(`waiting until ${a.until === 'ssh' ? 'reachable over ssh' : a.until}`)
          else if (a.kind === 'launch') line(`${actionSummary(a)}`)
          else line(`${actionSummary(a)}${idList(a.ids)}`)
          break
        }
        case 'action:progress': {
          const a = e.action
          if (!e.counts) {
            line(e.message)
            break
          }
          if (lastCount.get(a.id) === e.counts.reached) break
          lastCount.set(a.id, e.counts.reached)
          line(
            `${e.counts.reached}/${e.counts.total} ${a.until}, ${seconds(now() - (started.get(a.id) ?? now()))}`,
          )
          break
        }
        case 'action:done': {
          const a = e.action
          const took = seconds(now() - (started.get(a.id) ?? now()))
          if (a.kind === 'wait')
            line(e.ids ? `${e.ids.length}/${e.ids.length} ${a.until}, ${took}` : `${a.until}, ${took}`)
          else if (a.kind === 'launch') {
            const ids = e.ids ?? []
            line(`launched ${ids.length} instance${ids.length === 1 ? '' : 's'}${idList(ids)}`)
          } else line(`done: ${actionSummary(a)}, ${took}`)
          break
        }
        case 'action:failed':
          line(
            `FAILED: ${e.action.kind === 'wait' ? `waiting until ${e.action.until}` : actionSummary(e.action)}: ${e.message}`,
          )
          break
        case 'info':
          line(e.message)
          break
        case 'warn':
          line(`warning: ${e.message}`)
          break
        default:
      }
    },
    finish: async () => {},
  }
}

interface Deferred {
  promise: Promise<void>
  resolve(): void
  reject(e: Error): void
}
function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (e: Error) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return {promise, resolve, reject}
}

/** listr2 tasks, one per plan action, driven by the core's events. */
async function listrProgress(): Promise<Progress> {
  const {Listr} = await import('listr2')
  const waits = new Map<number, Deferred>()
  const outputs = new Map<number, (s: string) => void>()
  let running: Promise<unknown> | null = null
  const warnings: string[] = []
  return {
    onEvent(e) {
      if (e.type === 'plan') {
        if (!e.plan.actions.length) return
        for (const a of e.plan.actions) waits.set(a.id, deferred())
        const list = new Listr(
          e.plan.actions.map((a: Action) => ({
            title: describeShort(a),
            task: async (_ctx: unknown, task: {output: string}) => {
              outputs.set(a.id, (s) => (task.output = s))
              await waits.get(a.id)!.promise
            },
          })),
          {
            concurrent: true,
            exitOnError: false,
            rendererOptions: {collapseErrors: false},
            // Ctrl-C is the command's to handle (it reports what was done and exits 130).
            registerSignalListeners: false,
          },
        )
        running = list.run().catch(() => {})
      } else if (e.type === 'action:done') waits.get(e.action.id)?.resolve()
      else if (e.type === 'action:failed') waits.get(e.action.id)?.reject(new Error(e.message))
      else if (e.type === 'action:progress') outputs.get(e.action.id)?.(e.message)
      else if (e.type === 'warn') warnings.push(e.message)
      else if (e.type === 'info') process.stderr.write(`${e.message}\n`)
    },
    async finish() {
      // Actions never reached (an earlier one failed, or a dry run) are closed as skipped.
      for (const d of waits.values()) d.reject(new Error('not run'))
      if (running) await running
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`)
    },
  }
}

function describeShort(a: Action): string {
  if (a.kind === 'wait') return `Wait until ${a.until === 'ssh' ? 'reachable over ssh' : a.until}`
  const what = actionSummary(a)
  return what[0].toUpperCase() + what.slice(1)
}

export async function createProgress(opts: {json: boolean; tty: boolean}): Promise<Progress> {
  if (opts.json) {
    // stdout carries the JSON document alone; warnings still reach stderr.
    return {
      onEvent: (e) => {
        if (e.type === 'warn') process.stderr.write(`warning: ${e.message}\n`)
      },
      finish: async () => {},
    }
  }
  return opts.tty && !process.env.CI ? listrProgress() : plainProgress()
}
