import type {EventSink, ProjectEvent} from '../project/events.js'
import type {Action} from '../project/plan.js'

export interface Progress {
  onEvent: EventSink
  finish(): Promise<void>
}

const stamp = () => new Date().toTimeString().slice(0, 8)

/** Timestamped lines on stderr: for CI logs and pipes. */
export function plainProgress(write: (s: string) => void = (s) => process.stderr.write(s)): Progress {
  return {
    onEvent(e: ProjectEvent) {
      switch (e.type) {
        case 'action:start':
        case 'action:done':
        case 'action:failed':
        case 'action:progress': {
          const verb = {start: 'start ', done: 'done  ', failed: 'FAILED ', progress: '      '}[
            e.type.slice(7)
          ]
          const msg =
            e.type === 'action:failed' || e.type === 'action:progress'
              ? `${e.action.id} ${e.message}`
              : e.message
          write(`${stamp()} ${verb}${msg}\n`)
          break
        }
        case 'info':
          write(`${stamp()} ${e.message}\n`)
          break
        case 'warn':
          write(`${stamp()} warning: ${e.message}\n`)
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
  switch (a.kind) {
    case 'launch':
      return `Launch ${a.slots?.length} instance(s) into slot(s) ${a.slots?.join(', ')}`
    case 'wait':
      return `Wait until ${a.until}`
    default:
      return `${a.kind[0].toUpperCase()}${a.kind.slice(1)} ${a.ids.length} instance(s)`
  }
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
