import type {Action, Plan} from './plan.js'

/**
 * Stable codes of the events an operation reports (modelled on aws-cdk toolkit-lib's IoHost
 * messages): a library user reacts to `code` and its `data`, never to `message`, which is for
 * people and may change. A code once published keeps its meaning; a new one may be added.
 */
export const EventCode = {
  /** The project was observed: `count` members. */
  Observed: 'OBSERVED',
  /** The plan an operation will apply (or, with dryRun, would). */
  Plan: 'PLAN',
  ActionStart: 'ACTION_START',
  /** A wait's progress: `message` says how many reached the state. */
  ActionProgress: 'ACTION_PROGRESS',
  ActionDone: 'ACTION_DONE',
  ActionFailed: 'ACTION_FAILED',
  /** Nothing was selected: nothing is done. */
  EmptySelection: 'EMPTY_SELECTION',
  /** Some instances outlived their lease (`data.ids`). */
  LeaseExpired: 'LEASE_EXPIRED',
  /** An instance's Name and wolphin:slot tags were written or repaired (`data.id`, `data.name`). */
  InstanceNamed: 'INSTANCE_NAMED',
  /** A Name could not be written; cosmetic, the next create writes it (`data.id`). */
  NameFailed: 'NAME_FAILED',
  /** Duplicate claims on slots were terminated, the earliest launched kept each (`data.ids`). */
  DuplicatesTerminated: 'DUPLICATES_TERMINATED',
  /** A waited-for instance was terminated by another run as a duplicate claim (`data.id`). */
  LostToDuplicate: 'LOST_TO_DUPLICATE',
  /** A batch call failed for some of its instances; the others were done (`data.ids`). */
  ActionPartial: 'ACTION_PARTIAL',
  /** A launch found no capacity and tries the next zone or market. */
  LaunchRetry: 'LAUNCH_RETRY',
  /** A launch met count.min but not the whole request. */
  LaunchShort: 'LAUNCH_SHORT',
  /** The project has no lease: its instances run until someone stops them. */
  NoLease: 'NO_LEASE',
  /** The image behind an ami alias could not be read; drift compares the launch spec only. */
  ImageUnreadable: 'IMAGE_UNREADABLE',
  /**
   * A launching command failed and the project could not be observed again to tell whether its
   * launch went through (an answer may have been lost): `wolphin status` tells.
   */
  LaunchUnknown: 'LAUNCH_UNKNOWN',
  /** reap acts on a region (`data.region`, `data.ids`). */
  ReapRegion: 'REAP_REGION',
  /** Any other note or warning. */
  Info: 'INFO',
  Warn: 'WARN',
} as const
export type EventCode = (typeof EventCode)[keyof typeof EventCode]
/** The codes of notes and warnings (every code but the lifecycle ones, which name their type). */
export type NoticeCode = Exclude<
  EventCode,
  'OBSERVED' | 'PLAN' | 'ACTION_START' | 'ACTION_PROGRESS' | 'ACTION_DONE' | 'ACTION_FAILED'
>

/** Data of the notes and warnings that carry any, by code. */
export interface NoticeData {
  ids?: string[]
  id?: string
  name?: string
  region?: string
}

/**
 * Progress of an operation. The core never prints; front ends render these. Every event has a
 * stable `code` (EventCode) and typed fields; `type` and `message` are kept for renderers.
 */
export type ProjectEvent =
  | {type: 'observed'; code: 'OBSERVED'; count: number}
  | {type: 'plan'; code: 'PLAN'; plan: Plan}
  | {type: 'action:start'; code: 'ACTION_START'; action: Action; message: string}
  /** `counts`: a wait's progress (how many of the instances waited for reached the state). */
  | {
      type: 'action:progress'
      code: 'ACTION_PROGRESS'
      action: Action
      message: string
      counts?: {reached: number; total: number}
    }
  /** `ids`: the instances a launch started, or a wait waited for. */
  | {type: 'action:done'; code: 'ACTION_DONE'; action: Action; message: string; ids?: string[]}
  | {type: 'action:failed'; code: 'ACTION_FAILED'; action: Action; message: string}
  | {type: 'info'; code: NoticeCode; message: string; data?: NoticeData}
  | {type: 'warn'; code: NoticeCode; message: string; data?: NoticeData}

export type EventSink = (event: ProjectEvent) => void
export const ignoreEvents: EventSink = () => {}

/** An event as the core emits it: `code` may be left out where the type's own code is meant. */
type Emitted<E> = E extends ProjectEvent ? Omit<E, 'code'> & {code?: E['code']} : never
export type EmittedEvent = Emitted<ProjectEvent>
export type EmitSink = (event: EmittedEvent) => void

const CODE_OF_TYPE: Record<ProjectEvent['type'], EventCode> = {
  observed: EventCode.Observed,
  plan: EventCode.Plan,
  'action:start': EventCode.ActionStart,
  'action:progress': EventCode.ActionProgress,
  'action:done': EventCode.ActionDone,
  'action:failed': EventCode.ActionFailed,
  info: EventCode.Info,
  warn: EventCode.Warn,
}

/** The one place an event gets its code: the one its emitter named, else its type's. */
export function withCodes(sink: EventSink): EmitSink {
  return (e) => sink({...e, code: e.code ?? CODE_OF_TYPE[e.type]} as ProjectEvent)
}
