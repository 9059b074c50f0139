/**
 * What a launch asks EC2 for beyond the image and the tags: user data (with the lease watchdog),
 * instance metadata options, the shutdown behaviour, and the checks EC2's limits put on them. Pure
 * and deterministic: the same config always gives the same request, so a retried launch with the
 * same ClientToken asks for the same thing.
 */
import {createHash} from 'node:crypto'

import {DEFAULTS, type LeasePolicy, type ResolvedConfig} from '../config/schema.js'
import {ConfigError} from '../errors.js'
import type {LaunchAttempt} from './launch-order.js'
import type {LaunchRequest} from './ports.js'
import {watchdogInstaller} from './watchdog.js'

/** EC2's limit on user data, in bytes before base64. */
export const USER_DATA_MAX = 16384

export interface LaunchSettings {
  /** The user data EC2 gets: the user's own, or a MIME multipart with the watchdog and it. */
  userData?: string
  /** Instance tags readable from the instance metadata (the watchdog reads its lease there). */
  metadataTags: boolean
  /** What an OS-initiated shutdown does; unset is EC2's default, stop. */
  shutdownBehavior?: 'terminate'
}

/** The config's lease policy, with the defaults for a config made without loadConfig. */
export function leasePolicy(c: Pick<ResolvedConfig, 'leasePolicy'>): LeasePolicy {
  return c.leasePolicy ?? {...DEFAULTS.lease, graceMs: DEFAULTS.lease.grace}
}

/** True when the instances enforce their own lease: a lease, and not `enforce: reaper`. */
export function watchdogEnabled(c: Pick<ResolvedConfig, 'lease' | 'leasePolicy'>): boolean {
  return c.lease !== undefined && leasePolicy(c).enforce === 'watchdog'
}

/** What a RunInstances call of one launch attempt asks for beyond its counts, tags, token and root volume. */
export type AttemptRequest = Omit<
  LaunchRequest,
  'minCount' | 'maxCount' | 'tags' | 'clientToken' | 'rootVolume'
>

/**
 * The one place a launch request is made from the config, for `create` and for validate's DryRun
 * alike: the image, type, access and settings, with the attempt's market and placement.
 */
export function attemptRequest(
  c: ResolvedConfig,
  attempt: LaunchAttempt,
  settings: LaunchSettings = launchSettings(c),
): AttemptRequest {
  const spot = attempt.market === 'spot'
  return {
    ami: c.ami ?? '',
    instanceType: c.instanceType,
    keyName: c.keyName,
    securityGroups: c.securityGroups,
    subnet: attempt.subnet,
    availabilityZone: attempt.availabilityZone,
    userData: settings.userData,
    iamInstanceProfile: c.iamInstanceProfile,
    imdsv2: c.imdsv2,
    metadataTags: settings.metadataTags,
    // EC2 cannot stop a one-time spot instance: a leased one that powers off is terminated.
    shutdownBehavior: spot && c.lease !== undefined ? 'terminate' : settings.shutdownBehavior,
    spot: spot ? {maxPrice: c.maxPrice} : undefined,
  }
}

export function launchSettings(c: ResolvedConfig): LaunchSettings {
  const watchdog = watchdogEnabled(c)
  const policy = leasePolicy(c)
  return {
    userData: watchdog ? withWatchdog(c.userData, policy.graceMs / 1000) : c.userData,
    metadataTags: watchdog,
    shutdownBehavior: c.lease !== undefined && policy.action === 'terminate' ? 'terminate' : undefined,
  }
}

/** Text cloud-init would read as MIME itself: it is nested as a part, headers and all. */
const looksMime = (text: string) => /^(content-type|mime-version)\s*:/i.test(text)
/** Printable ASCII lines: safe verbatim in a MIME part, whatever parser reads it. */
const plainAscii = (text: string) => /^[\t\n\x20-\x7e]*$/.test(text)

/**
 * A cloud-init MIME multipart: the watchdog's installer, then the user's own user data as a part of
 * its own, byte for byte. The user's part is `text/plain`, which cloud-init types from its content
 * (`#!`, `#cloud-config`, ...) exactly as it types user data that is not multipart. Printable
 * ASCII goes in verbatim; anything else (UTF-8, CR, control bytes) in base64, which cloud-init
 * decodes to the same bytes. User data that is MIME already is nested as it is.
 */
export function withWatchdog(userData: string | undefined, graceSeconds: number): string {
  const parts: string[] = [
    'Content-Type: text/x-shellscript; charset="us-ascii"\n' +
      // cloud-init runs scripts in file-name order: this one before the user's (part-NNN).
      'Content-Disposition: attachment; filename="00-wolphin-lease-watchdog"\n\n' +
      watchdogInstaller(graceSeconds),
  ]
  if (userData !== undefined && userData !== '') {
    if (looksMime(userData) || plainAscii(userData)) {
      parts.push(
        looksMime(userData) ? userData : `Content-Type: text/plain; charset="us-ascii"\n\n${userData}`,
      )
    } else {
      const b64 = Buffer.from(userData, 'utf8').toString('base64')
      parts.push(
        'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: base64\n\n' +
          (b64.match(/.{1,76}/g) ?? []).join('\n'),
      )
    }
  }
  const boundary = boundaryFor(parts)
  return (
    `Content-Type: multipart/mixed; boundary="${boundary}"\nMIME-Version: 1.0\n\n` +
    parts.map((p) => `--${boundary}\n${p}\n`).join('') +
    `--${boundary}--\n`
  )
}

/** A boundary found in no part: derived from the content, so the same config gives the same bytes. */
function boundaryFor(parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex')
  for (let n = 0; ; n++) {
    const b = `wolphin-${h.slice(0, 24)}${n ? `-${n}` : ''}`
    if (!parts.some((p) => p.includes(b))) return b
  }
}

/**
 * EC2's rule for tag keys once tags are readable from the instance metadata: letters, digits and
 * `+ - = . , _ : @` only (no spaces, no `/`), and not `.`, `..` or `_index`. A launch that breaks
 * it fails; so does tagging such an instance later.
 */
export function metadataTagKeyProblem(key: string): string | null {
  if (!/^[A-Za-z0-9+\-=.,_:@]+$/.test(key))
    return 'only letters, digits and + - = . , _ : @ are allowed (no spaces, no "/")'
  if (key === '.' || key === '..' || key === '_index') return `"${key}" is not allowed`
  return null
}

/** A launch setting EC2 would refuse: the config field and one line about it. */
export interface LaunchSettingsProblem {
  field: 'tags' | 'userData'
  message: string
}

/**
 * What EC2 would refuse in the launch settings, found before any AWS call: a tag key the
 * metadata-tags rule forbids (named), or user data over 16 KB once the watchdog is added (with the
 * sizes). Null when there is nothing.
 */
export function launchSettingsProblem(c: ResolvedConfig): LaunchSettingsProblem | null {
  const watchdog = watchdogEnabled(c)
  if (watchdog) {
    for (const key of Object.keys(c.tags)) {
      const problem = metadataTagKeyProblem(key)
      if (problem)
        return {
          field: 'tags',
          message:
            `key "${key}" cannot be used with the lease watchdog, which makes tags readable from the instance ` +
            `metadata, where EC2 restricts tag keys: ${problem}; rename the tag, or set lease: {duration: ..., enforce: reaper}`,
        }
    }
  }
  const {userData} = launchSettings(c)
  const size = userData === undefined ? 0 : Buffer.byteLength(userData)
  if (size <= USER_DATA_MAX) return null
  const own = c.userData === undefined ? 0 : Buffer.byteLength(c.userData)
  return {
    field: 'userData',
    message: watchdog
      ? `${own} bytes, and ${size} with the lease watchdog wolphin adds; EC2 accepts at most ${USER_DATA_MAX} bytes ` +
        `in all (shorten it, or set lease: {duration: ..., enforce: reaper})`
      : `${size} bytes; EC2 accepts at most ${USER_DATA_MAX} bytes`,
  }
}

/** Throws a ConfigError (exit 2) for what launchSettingsProblem finds. */
export function checkLaunchSettings(c: ResolvedConfig): void {
  const p = launchSettingsProblem(c)
  if (p) throw new ConfigError(`field "${p.field}": ${p.message}`)
}
