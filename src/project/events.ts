import type {Action, Plan} from './plan.js'

/** Progress of an operation. The core never prints; front ends render these. */
export type ProjectEvent =
  | {type: 'observed'; count: number}
  | {type: 'plan'; plan: Plan}
  | {type: 'action:start'; action: Action; message: string}
  /** `counts`: a wait's progress (how many of the instances waited for reached the state). */
  | {
      type: 'action:progress'
      action: Action
      message: string
      counts?: {reached: number; total: number}
    }
  /** `ids`: the instances a launch started, or a wait waited for. */
  | {type: 'action:done'; action: Action; message: string; ids?: string[]}
  | {type: 'action:failed'; action: Action; message: string}
  | {type: 'info'; message: string}
  | {type: 'warn'; message: string}

export type EventSink = (event: ProjectEvent) => void
export const ignoreEvents: EventSink = () => {}
