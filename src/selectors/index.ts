import {stat} from 'node:fs/promises'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {SelectorError} from '../errors.js'
import {MAX_SLOT, Tag} from '../project/tags.js'
import type {Instance, InstanceState} from '../project/types.js'
import {probeMessage, probeModuleLoad, withoutProcessExit} from './load-probe.js'

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

/** All of the selectors, applied in turn: a combination only ever narrows. */
export class AllOfSelector implements Selector {
  readonly description: string
  constructor(private readonly selectors: Selector[]) {
    this.description = selectors.map((s) => s.description ?? 'custom selector').join(' and ')
  }
  async select(instances: Instance[]) {
    let out = instances
    for (const s of this.selectors) {
      const picked = await s.select(out)
      if (!Array.isArray(picked))
        throw new SelectorError(
          `selector "${s.description ?? 'custom'}" did not return an array of instances`,
        )
      // A selector may only narrow: anything it returns that it was not given is dropped.
      const given = new Set(out.map((i) => i.id))
      out = picked.filter((i) => i && given.has(i.id))
    }
    return out
  }
}

function isSelector(v: unknown): v is Selector {
  return typeof v === 'object' && v !== null && typeof (v as Selector).select === 'function'
}

/**
 * Loads a user selector module. It may export (default or as `selector`) a Selector object, a class
 * with a no-argument constructor, or a function `(instances) => instances`.
 */
export async function loadSelectorModule(file: string, cwd = process.cwd()): Promise<Selector> {
  const abs = path.resolve(cwd, file)
  let isDirectory: boolean
  try {
    isDirectory = (await stat(abs)).isDirectory()
  } catch {
    throw new SelectorError(`--selector: ${file}: no such file`)
  }
  if (isDirectory) throw new SelectorError(`--selector: ${file}: is a directory; expected a module file`)
  const url = pathToFileURL(abs).href
  const probe = await probeModuleLoad(url)
  if (probe) throw new SelectorError(`--selector: ${file}: ${probeMessage(probe)}`)
  let mod: Record<string, unknown>
  try {
    mod = (await withoutProcessExit(() => import(url))) as Record<string, unknown>
  } catch (e) {
    throw new SelectorError(
      `--selector: ${file}: failed to load: ${String((e as Error).message ?? e).split('\n')[0]}`,
    )
  }
  const candidate = mod.default ?? mod.selector
  if (isSelector(candidate)) return candidate
  if (typeof candidate === 'function') {
    const fn = candidate as (...args: unknown[]) => unknown
    if (isSelector(fn.prototype)) {
      try {
        const inst = new (fn as unknown as new () => Selector)()
        if (isSelector(inst)) return inst
      } catch (e) {
        throw new SelectorError(`--selector: ${file}: constructor threw: ${(e as Error).message}`)
      }
    }
    return {description: path.basename(file), select: (xs) => fn(xs) as Instance[] | Promise<Instance[]>}
  }
  throw new SelectorError(
    `--selector: ${file}: does not export a selector; expected a default export with a select(instances) method or a function`,
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
): Promise<Selector | null> {
  const parts: Selector[] = []
  if (flags.instances !== undefined) parts.push(new SlotSelector(parseSlots(flags.instances)))
  if (flags.state !== undefined) parts.push(new StateSelector(parseStates(flags.state)))
  for (const t of flags.tag ?? []) {
    const {key, value} = parseTagFilter(t)
    parts.push(new TagSelector(key, value))
  }
  if (flags.outdated) parts.push(new OutdatedSelector())
  if (flags.selector !== undefined) parts.push(await loadSelectorModule(flags.selector, cwd))
  if (parts.length === 0) return null
  return new AllOfSelector(parts)
}

/** Applies a selector defensively: a user selector that throws is a selector error. */
export async function applySelector(selector: Selector | null, instances: Instance[]): Promise<Instance[]> {
  if (!selector) return instances
  const all = selector instanceof AllOfSelector ? selector : new AllOfSelector([selector])
  try {
    return await all.select(instances)
  } catch (e) {
    if (e instanceof SelectorError) throw e
    throw new SelectorError(`selector "${selector.description ?? 'custom'}" failed: ${(e as Error).message}`)
  }
}
