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
