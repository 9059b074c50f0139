import {stat} from 'node:fs/promises'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {SelectorError} from '../errors.js'
import {MAX_SLOT, Tag} from '../project/tags.js'
import type {Instance, InstanceState} from '../project/types.js'
import {probeMessage, probeModuleLoad} from './load-probe.js'

/** Narrows an operation to some of a project's instances. It never widens. */
export interface Selector {
  select(instances: Instance[]): Instance[] | Promise<Instance[]>
  /** A few words for messages: "slots 1,3", "state running". */
  readonly description?: string
}

const STATES: readonly InstanceState[] = [
  'pending',
  'running',
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
]

/** Parses `1,3,5-7` into sorted unique slot numbers. */
export function parseSlots(text: string): number[] {
  const out = new Set<number>()
  const t = text.trim()
  if (t === '') throw new SelectorError('--instances: empty list; expected slot numbers like 1,3,5-7')
  for (const part of t.split(',')) {
    const p = part.trim()
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(p)
    if (!m)
      throw new SelectorError(
        `--instances: "${p}" is not a slot number or range; expected slot numbers like 1,3,5-7`,
      )
    const a = Number(m[1])
    const b = m[2] !== undefined ? Number(m[2]) : a
    if (a < 1 || b < 1) throw new SelectorError(`--instances: "${p}": slot numbers start at 1`)
    if (b < a)
      throw new SelectorError(`--instances: "${p}": range runs backwards; expected low-high like 5-7`)
    if (b > MAX_SLOT) throw new SelectorError(`--instances: "${p}": slot numbers go up to ${MAX_SLOT}`)
    for (let s = a; s <= b; s++) out.add(s)
  }
  return [...out].sort((x, y) => x - y)
}

export function parseStates(text: string): InstanceState[] {
  const parts = text.split(',').map((s) => s.trim().toLowerCase())
  for (const p of parts) {
    if (!(STATES as readonly string[]).includes(p)) {
      throw new SelectorError(
        `--state: "${p}" is not an instance state; expected one or more of ${STATES.join(', ')}`,
      )
    }
  }
  return [...new Set(parts)] as InstanceState[]
}

export function parseTagFilter(text: string): {key: string; value: string} {
  const i = text.indexOf('=')
  if (i <= 0)
    throw new SelectorError(`--tag: "${text}" is not KEY=VALUE; expected something like --tag role=loadgen`)
  return {key: text.slice(0, i), value: text.slice(i + 1)}
}

export class SlotSelector implements Selector {
  readonly description: string
  private readonly slots: Set<number>
  constructor(slots: number[]) {
    this.slots = new Set(slots)
    this.description = `slots ${slots.join(',')}`
  }
  select(instances: Instance[]) {
    return instances.filter((i) => i.slot !== null && this.slots.has(i.slot))
  }
}

export class StateSelector implements Selector {
  readonly description: string
  constructor(private readonly states: InstanceState[]) {
    this.description = `state ${states.join(',')}`
  }
  select(instances: Instance[]) {
    return instances.filter((i) => this.states.includes(i.state))
  }
}

export class TagSelector implements Selector {
  readonly description: string
  constructor(
    private readonly key: string,
    private readonly value: string,
  ) {
    this.description = `tag ${key}=${value}`
  }
  select(instances: Instance[]) {
    // `Name=wolphin.<p>.<n>` also finds slot n among instances that share their launch's Name tag.
    const logical = this.key === Tag.Name
    return instances.filter((i) => i.tags[this.key] === this.value || (logical && i.name === this.value))
  }
}

export class OutdatedSelector implements Selector {
  readonly description = 'outdated'
  select(instances: Instance[]) {
    return instances.filter((i) => i.outdated)
  }
}

/** How long a user selector may take to load or to answer before it is an error (exit 2). */
export const SELECTOR_TIMEOUT_MS = 30_000

/** Raised by process.exit while a user module runs under `guarded`. */
class ExitAttempt extends Error {
  constructor(readonly exitCode: unknown) {
    super(`called process.exit(${String(exitCode ?? '')})`)
  }
}

/**
 * Runs a user module's code (its loading, its select) with process.exit turned into an exception,
 * so it cannot end wolphin (with exit 0, as if all went well), and with a bound on its time: once
 * `ms` have passed it is a SelectorError. process.exit is restored when this settles, whether or
 * not the module's promise ever does.
 */
async function guarded<T>(work: () => Promise<T> | T, ms: number, what: string): Promise<T> {
  const exit = process.exit
  process.exit = ((code?: unknown) => {
    throw new ExitAttempt(code)
  }) as typeof process.exit
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SelectorError(`${what} did not finish within ${ms / 1000}s`)), ms)
  })
  try {
    return await Promise.race([Promise.resolve().then(work), timeout])
  } finally {
    clearTimeout(timer)
    process.exit = exit
  }
}

/** A frozen copy of an instance (tags included): what a selector is given, never our own object. */
function frozenCopy(i: Instance): Instance {
  return Object.freeze({...i, tags: Object.freeze({...i.tags})})
}

/** The id of a value a selector returned, or undefined when it is not an instance-like object. */
function idOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined
  const id = (v as {id?: unknown}).id
  return typeof id === 'string' ? id : undefined
}

/**
 * All of the selectors, applied in turn: a combination only ever narrows. Each selector gets
 * frozen copies in a fresh array; the ids it was given are recorded before it runs; what it returns
 * is mapped back, by id, to our own instances, and anything it was not given, or gave back twice,
 * is dropped. A selector that does not answer within `timeoutMs` is an error.
 */
export class AllOfSelector implements Selector {
  readonly description: string
  constructor(
    private readonly selectors: Selector[],
    private readonly timeoutMs = SELECTOR_TIMEOUT_MS,
  ) {
    this.description = selectors.map((s) => s.description ?? 'custom selector').join(' and ')
  }
  async select(instances: Instance[]) {
    let out = instances
    for (const s of this.selectors) {
      const given = new Map(out.map((i) => [i.id, i] as const))
      const name = s.description ?? 'custom'
      const copies = out.map(frozenCopy)
      const picked: unknown = await guarded(() => s.select(copies), this.timeoutMs, `selector "${name}"`)
      if (!Array.isArray(picked))
        throw new SelectorError(`selector "${name}" did not return an array of instances`)
      const kept = new Set<string>()
      const next: Instance[] = []
      for (const p of picked as unknown[]) {
        const id = idOf(p)
        if (id === undefined || kept.has(id)) continue
        const mine = given.get(id)
        if (!mine) continue
        kept.add(id)
        next.push(mine)
      }
      out = next
    }
    return out
  }
}

function isSelector(v: unknown): v is Selector {
  return typeof v === 'object' && v !== null && typeof (v as Selector).select === 'function'
}

/**
 * Loads a user selector module. It may export (default or as `selector`) a Selector object, a class
 * with a no-argument constructor, or a function `(instances) => instances`; or a named
 * `select(instances)` function.
 */
export async function loadSelectorModule(
  file: string,
  cwd = process.cwd(),
  timeoutMs = SELECTOR_TIMEOUT_MS,
): Promise<Selector> {
  const abs = path.resolve(cwd, file)
  let isDirectory: boolean
  try {
    isDirectory = (await stat(abs)).isDirectory()
  } catch {
    throw new SelectorError(`--selector: ${file}: no such file`)
  }
  if (isDirectory) throw new SelectorError(`--selector: ${file}: is a directory; expected a module file`)
  const url = pathToFileURL(abs).href
  const probe = await probeModuleLoad(url, timeoutMs)
  if (probe) throw new SelectorError(`--selector: ${file}: ${probeMessage(probe)}`)
  let mod: Record<string, unknown>
  try {
    // Bounded: a top-level await that never settles is an error, not a hang. (A synchronous
    // endless loop is caught earlier, by the probe in a worker.)
    mod = await guarded(
      () => import(url) as Promise<Record<string, unknown>>,
      timeoutMs,
      `--selector: ${file}: loading`,
    )
  } catch (e) {
    if (e instanceof SelectorError) throw e
    if (e instanceof ExitAttempt)
      throw new SelectorError(`--selector: ${file}: ${e.message} while loading; a selector may not exit`)
    throw new SelectorError(
      `--selector: ${file}: failed to load: ${String((e as Error)?.message ?? e).split('\n')[0]}`,
    )
  }
  const candidate = mod.default ?? mod.selector
  if (isSelector(candidate)) return candidate
  // No default: a module whose own export is `select(instances)` is the selector (the README's form).
  if (candidate === undefined && typeof mod.select === 'function') {
    const select = mod.select as Selector['select']
    return {description: path.basename(file), select: (xs) => select(xs)}
  }
  if (typeof candidate === 'function') {
    const fn = candidate as (...args: unknown[]) => unknown
    if (isSelector(fn.prototype)) {
      try {
        const inst = await guarded(
          () => new (fn as unknown as new () => Selector)(),
          timeoutMs,
          `--selector: ${file}: its constructor`,
        )
        if (isSelector(inst)) return inst
      } catch (e) {
        if (e instanceof SelectorError) throw e
        throw new SelectorError(
          `--selector: ${file}: constructor threw: ${(e as Error)?.message ?? String(e)}`,
        )
      }
    }
    return {description: path.basename(file), select: (xs) => fn(xs) as Instance[] | Promise<Instance[]>}
  }
  throw new SelectorError(
    `--selector: ${file}: does not export a selector; expected a default export with a select(instances) method or a function, or a named select(instances) function`,
  )
}

export interface SelectionFlags {
  instances?: string
  state?: string
  tag?: string[]
  selector?: string
  outdated?: boolean
}

/** Builds the selection from flags; null when no flag narrows (the whole project). */
export async function selectorFromFlags(
  flags: SelectionFlags,
  cwd = process.cwd(),
  timeoutMs = SELECTOR_TIMEOUT_MS,
): Promise<Selector | null> {
  const parts: Selector[] = []
  if (flags.instances !== undefined) parts.push(new SlotSelector(parseSlots(flags.instances)))
  if (flags.state !== undefined) parts.push(new StateSelector(parseStates(flags.state)))
  for (const t of flags.tag ?? []) {
    const {key, value} = parseTagFilter(t)
    parts.push(new TagSelector(key, value))
  }
  if (flags.outdated) parts.push(new OutdatedSelector())
  if (flags.selector !== undefined) parts.push(await loadSelectorModule(flags.selector, cwd, timeoutMs))
  if (parts.length === 0) return null
  return new AllOfSelector(parts, timeoutMs)
}

/**
 * Applies a selector defensively (see AllOfSelector): it can only narrow `instances`, and one that
 * throws, exits, answers with something else than an array, or never answers, is a selector error.
 */
export async function applySelector(selector: Selector | null, instances: Instance[]): Promise<Instance[]> {
  if (!selector) return instances
  const all = selector instanceof AllOfSelector ? selector : new AllOfSelector([selector])
  try {
    return await all.select(instances)
  } catch (e) {
    if (e instanceof SelectorError) throw e
    const why = e instanceof ExitAttempt ? `${e.message}; a selector may not exit` : (e as Error)?.message
    throw new SelectorError(`selector "${selector.description ?? 'custom'}" failed: ${String(why ?? e)}`)
  }
}
