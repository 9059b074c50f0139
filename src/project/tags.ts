/** The tag schema: the only state wolphin keeps. One place for every key. */
export const Tag = {
  Project: 'ProjectName',
  Name: 'Name',
  Owner: 'OwnerEmail',
  Slot: 'wolphin:slot',
  /** Set at launch on a multi-instance launch: the slots it fills, in AmiLaunchIndex order. */
  Slots: 'wolphin:slots',
  Spec: 'wolphin:spec',
  ExpiresAt: 'wolphin:expires-at',
  Replaced: 'wolphin:replaced',
  /**
   * Set by `reboot --hard` before it stops an instance, removed once it is started again: a hard
   * reboot cut off in between (Ctrl-C, a crash) leaves a stopped instance that a re-run starts.
   */
  Rebooting: 'wolphin:rebooting',
  HostKey: 'wolphin:host-key',
} as const

export const PROJECT_PREFIX = 'wolphin.'

/**
 * True when a revert marked the instance as being replaced (`wolphin:replaced`): it no longer holds
 * its slot, even while it still runs.
 */
export function isReplaced(i: {tags?: Record<string, string>}): boolean {
  return i.tags?.[Tag.Replaced] !== undefined
}

/** True when a hard reboot stopped the instance and has not yet seen it started again. */
export function isRebooting(i: {tags?: Record<string, string>}): boolean {
  return i.tags?.[Tag.Rebooting] !== undefined
}

export function projectTagValue(project: string): string {
  return `${PROJECT_PREFIX}${project}`
}

export function instanceName(project: string, slot: number): string {
  return `${PROJECT_PREFIX}${project}.${slot}`
}

/** Keys the user may not set in `tags:` because wolphin owns them. */
export const RESERVED_TAG_KEYS: readonly string[] = [Tag.Project, Tag.Name, Tag.Owner]
export function isReservedTagKey(key: string): boolean {
  return RESERVED_TAG_KEYS.includes(key) || key.startsWith('wolphin:')
}

/** EC2's limits on tags: per resource, key length, value length; `aws:` (any case) is EC2's own. */
export const TAGS_PER_INSTANCE_MAX = 50
export const TAG_KEY_MAX = 128
export const TAG_VALUE_MAX = 256
/** The most tags wolphin itself sets on one instance (every key of Tag). */
export const WOLPHIN_TAGS_MAX = Object.keys(Tag).length
/** What is left of EC2's 50 for the config's `tags`. */
export const USER_TAGS_MAX = TAGS_PER_INSTANCE_MAX - WOLPHIN_TAGS_MAX

/** The highest slot number (and so the most instances a project can have). */
export const MAX_SLOT = 100_000

/** Slots as compact ranges for the `wolphin:slots` tag: [1,2,3,5,7,8] -> "1-3,5,7-8". */
export function encodeSlots(slots: readonly number[]): string {
  const parts: string[] = []
  for (let i = 0; i < slots.length;) {
    let j = i
    while (j + 1 < slots.length && slots[j + 1] === slots[j] + 1) j++
    parts.push(j > i ? `${slots[i]}-${slots[j]}` : String(slots[i]))
    i = j + 1
  }
  return parts.join(',')
}

/** The ranges of a `wolphin:slots` tag, [first, last] in launch-index order; null when malformed. */
function slotRanges(text: string): Array<[number, number]> | null {
  const out: Array<[number, number]> = []
  let total = 0
  for (const part of text.split(',')) {
    const m = /^([1-9]\d{0,5})(?:-([1-9]\d{0,5}))?$/.exec(part.trim())
    if (!m) return null
    const a = Number(m[1])
    const b = m[2] !== undefined ? Number(m[2]) : a
    total += b - a + 1
    if (b < a || total > 100_001) return null
    out.push([a, b])
  }
  return out
}

/** The slots of a `wolphin:slots` tag in launch-index order, or null when it is malformed. */
export function decodeSlots(text: string): number[] | null {
  const ranges = slotRanges(text)
  if (!ranges) return null
  const out: number[] = []
  for (const [a, b] of ranges) for (let s = a; s <= b; s++) out.push(s)
  return out
}

/** The last tag value read and its ranges: the instances of one launch come one after another. */
let lastSlots: {text: string; ranges: Array<[number, number]> | null} = {text: '', ranges: null}

/**
 * The slot at one launch index of a `wolphin:slots` tag, without expanding the list. Every
 * instance of a launch carries the same tag, so the last value's ranges are reused: read afresh
 * for each of 1000 instances, a long list cost time quadratic in the launch (docs/benchmarks.md).
 * Null when malformed or out of range.
 */
export function slotAtLaunchIndex(text: string, index: number): number | null {
  if (lastSlots.text !== text) lastSlots = {text, ranges: slotRanges(text)}
  const {ranges} = lastSlots
  if (!ranges || !Number.isInteger(index) || index < 0) return null
  let k = index
  for (const [a, b] of ranges) {
    if (k <= b - a) return a + k
    k -= b - a + 1
  }
  return null
}

/** The longest prefix of `slots` whose encoding fits in one tag value. */
export function slotsThatFit(slots: readonly number[]): number[] {
  if (encodeSlots(slots).length <= TAG_VALUE_MAX) return [...slots]
  let lo = 1
  let hi = slots.length
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (encodeSlots(slots.slice(0, mid)).length <= TAG_VALUE_MAX) lo = mid
    else hi = mid - 1
  }
  return slots.slice(0, lo)
}
