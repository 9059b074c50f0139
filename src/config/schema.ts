// The namespace import, not {z}: a bundler can then drop the parts of zod not used here, such as
// its ~60 locales (scripts/bundle.mjs; measured: ~370 KB of the CLI's bundle).
import * as z from 'zod'

import {
  isReservedTagKey,
  MAX_SLOT,
  TAG_KEY_MAX,
  TAG_VALUE_MAX,
  TAGS_PER_INSTANCE_MAX,
  USER_TAGS_MAX,
  WOLPHIN_TAGS_MAX,
} from '../project/tags.js'
import {
  HOST_EXPECTED,
  isHostName,
  isLoginName,
  isSshConfigPath,
  LOGIN_EXPECTED,
  PATH_EXPECTED,
} from '../util/ssh-words.js'
import {MAX_DURATION_TEXT, MAX_TIMER_MS, MAX_TIMER_TEXT, parseDuration} from './duration.js'

/** Defaults live here and nowhere else. */
export const DEFAULTS = {
  instanceType: 't3.micro',
  count: 1,
  user: 'ec2-user',
  ssh: {port: 22, address: 'public-ip', hostKeys: 'tofu', concurrency: 32, connectTimeout: 20},
  wait: {timeout: 600, interval: 5},
  imdsv2: true,
  market: 'on-demand',
  maxAttempts: 8,
  nameTags: 'per-instance',
  lease: {action: 'stop', grace: 0, enforce: 'watchdog'},
  // Seconds. Every AWS call: a connection within `connect`, an answer within `request`, and the
  // call with all its retries within `total` (the aws-cli waits 60 s to connect and 60 s to read).
  timeouts: {connect: 10, request: 60, total: 180},
  /** The most instances `count` may ask for unless the config raises `countLimit` on purpose. */
  countLimit: 1000,
} as const

/** Time limits of every AWS call, in seconds (see DEFAULTS.timeouts). */
export interface AwsTimeouts {
  connect: number
  request: number
  total: number
}

/** EC2's limit on user data, in bytes before base64. */
export const USER_DATA_MAX_BYTES = 16 * 1024

/**
 * `ami: resolve:ssm:NAME` (EC2 resolves the Systems Manager parameter at launch): a parameter path
 * like /aws/service/..., a name, or a parameter ARN, optionally with `:version` or `:label`.
 */
export const AMI_ALIAS_RE =
  /^resolve:ssm:(?:\/?[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_./-]+)(?::[A-Za-z0-9_.-]+)?$/
const AMI_ID_RE = /^ami-[0-9a-zA-Z]+$/

/** True for `resolve:ssm:...`: the image is the parameter's value at launch time. */
export function isAmiAlias(ami: string | undefined): ami is string {
  return ami !== undefined && ami.startsWith('resolve:ssm:')
}

/** EBS volume types and the root volume sizes (GiB) EC2 accepts for each. */
export const VOLUME_SIZES: Record<string, {min: number; max: number}> = {
  gp3: {min: 1, max: 16384},
  gp2: {min: 1, max: 16384},
  io1: {min: 4, max: 16384},
  io2: {min: 4, max: 65536},
  st1: {min: 125, max: 16384},
  sc1: {min: 125, max: 16384},
  standard: {min: 1, max: 1024},
}

/** Length as EC2 counts it for tags: Unicode characters. */
const chars = (s: string) => [...s].length
const shown = (s: string) => JSON.stringify(chars(s) > 40 ? `${[...s].slice(0, 40).join('')}...` : s)

/** A number or a string, validated below: one message for every wrong value (no union to explain). */
const numberOrString = (message: string) =>
  z.custom<string | number>((v) => typeof v === 'string' || typeof v === 'number', {message})

const LEASE_MESSAGE = `expected a duration like 30s, 15m, 8h or 3d (more than 0, at most ${MAX_DURATION_TEXT})`
/** A lease: a positive duration; a lease of 0 would end as it starts (and `extend 0s` is refused too). */
const duration = numberOrString(LEASE_MESSAGE).refine((v) => (parseDuration(v) ?? 0) > 0, {
  message: LEASE_MESSAGE,
})

// Timeouts and intervals: what a timer waits for, so at most MAX_TIMER_TEXT.
const SECONDS_MESSAGE = `expected a positive number of seconds or a duration like 90s, 10m (at most ${MAX_TIMER_TEXT})`
const seconds = numberOrString(SECONDS_MESSAGE)
  .refine((v) => (parseDuration(v, MAX_TIMER_MS) ?? 0) > 0, {message: SECONDS_MESSAGE})
  .transform((v) => parseDuration(v, MAX_TIMER_MS)! / 1000)

const leaseObject = z.strictObject({
  duration,
  /** What the lease's end does: the watchdog powers off, EC2 then stops or terminates. */
  action: z.enum(['stop', 'terminate']).optional(),
  /** The watchdog waits this long past the lease end, like `reap --grace`. */
  // Zero is a grace too (the watchdog acts at the lease end).
  grace: numberOrString('expected a grace of at most 366d, like 10m')
    .refine((v) => (parseDuration(v) ?? Infinity) <= 366 * 86_400_000, {
      message: 'expected a grace of at most 366d, like 10m',
    })
    .optional(),
  /** `watchdog`: the instance enforces its own lease; `reaper`: only `wolphin reap` does. */
  enforce: z.enum(['watchdog', 'reaper']).optional(),
})

const disk = z
  .strictObject({
    size: z.number().int('expected a whole number of GiB').positive('expected a size in GiB >= 1').optional(),
    type: z
      .enum(Object.keys(VOLUME_SIZES) as [string, ...string[]], {
        message: `expected one of ${Object.keys(VOLUME_SIZES).join(', ')}`,
      })
      .optional(),
  })
  .refine((d) => d.size !== undefined || d.type !== undefined, {message: 'expected size (GiB) and/or type'})
  .refine(
    (d) => {
      if (d.size === undefined) return true
      const r = VOLUME_SIZES[d.type ?? 'gp3']
      return d.size >= r.min && d.size <= r.max
    },
    {
      message: `size out of range for the volume type (GiB: ${Object.entries(VOLUME_SIZES)
        .map(([t, r]) => `${t} ${r.min}..${r.max}`)
        .join(', ')}; without type, gp3's)`,
    },
  )

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])

const addressSpec = z
  .string()
  .refine((v) => ['public-ip', 'private-ip', 'public-dns', 'private-dns'].includes(v) || /^tag:.+/.test(v), {
    message: 'expected public-ip, private-ip, public-dns, private-dns or tag:KEY',
  })

// Hosts, login names and paths reach the system ssh's command line and generated ssh_config
// (wolphin ssh, ssh-config): one value must stay one word there (src/util/ssh-words.ts).
const hostName = z.string().refine(isHostName, {message: HOST_EXPECTED})
const loginName = z.string().refine(isLoginName, {message: LOGIN_EXPECTED})
const filePath = z.string().refine(isSshConfigPath, {message: PATH_EXPECTED})

const bastion = z.strictObject({
  host: hostName,
  port: z.number().int().min(1).max(65535).optional(),
  user: loginName.optional(),
  key: filePath.optional(),
})

const ssh = z.strictObject({
  key: filePath.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  address: addressSpec.optional(),
  hostKeys: z.enum(['known-hosts', 'tofu', 'off']).optional(),
  knownHostsFile: filePath.optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  connectTimeout: seconds.optional(),
  bastion: bastion.optional(),
})

const MAX_SLOT_TEXT = `${MAX_SLOT} (the highest slot number)`
const count = z.union([
  z.number().int().min(1, 'expected at least 1').max(MAX_SLOT, `expected at most ${MAX_SLOT_TEXT}`),
  z.strictObject({
    min: z.number().int().min(1, 'expected min >= 1').max(MAX_SLOT, `expected min <= ${MAX_SLOT_TEXT}`),
    max: z.number().int().min(1, 'expected max >= 1').max(MAX_SLOT, `expected max <= ${MAX_SLOT_TEXT}`),
  }),
])

/** EC2's tag rules, checked before any call (one message per rule, naming the offending tag). */
const tags = z.record(z.string(), z.string()).superRefine((t, ctx) => {
  const fail = (message: string) => ctx.addIssue({code: 'custom', message})
  const keys = Object.keys(t)
  if (keys.some((k) => isReservedTagKey(k)))
    return fail(
      'ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
    )
  if (keys.length > USER_TAGS_MAX)
    return fail(
      `${keys.length} tags; at most ${USER_TAGS_MAX} (EC2 allows ${TAGS_PER_INSTANCE_MAX} per instance and wolphin sets up to ${WOLPHIN_TAGS_MAX} of its own)`,
    )
  for (const k of keys) {
    if (k.trim() === '') return fail('a tag key is empty')
    if (/^aws:/i.test(k)) return fail(`tag key ${shown(k)}: the "aws:" prefix is reserved by AWS`)
    if (chars(k) > TAG_KEY_MAX)
      return fail(`tag key ${shown(k)} is ${chars(k)} characters; EC2 allows at most ${TAG_KEY_MAX}`)
    if (chars(t[k]) > TAG_VALUE_MAX)
      return fail(`tag ${shown(k)}: value is ${chars(t[k])} characters; EC2 allows at most ${TAG_VALUE_MAX}`)
  }
})

/** The shape of one config file: every field optional, unknown fields rejected. */
export const fileSchema = z.strictObject({
  project: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
      'expected letters, digits, "-" and "_" (no dots), starting with a letter or digit',
    )
    .max(100)
    .optional(),
  // Written as the OwnerEmail tag: a tag value's limit applies.
  email: z
    .string()
    .min(1)
    .refine((v) => chars(v) <= TAG_VALUE_MAX, {
      message: `expected at most ${TAG_VALUE_MAX} characters (it is the OwnerEmail tag's value)`,
    })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected a region like eu-west-1')
    .optional(),
  ami: z
    .string()
    .refine((v) => AMI_ID_RE.test(v) || AMI_ALIAS_RE.test(v), {
      message: 'expected an AMI id like ami-0123456789abcdef0, or resolve:ssm:/aws/service/... (a parameter)',
    })
    .optional(),
  instanceType: z
    .string()
    .regex(/^[a-z0-9-]+\.[a-z0-9-]+$/, 'expected an instance type like t3.micro')
    .optional(),
  keyName: z.string().min(1).optional(),
  securityGroups: z.array(z.string().min(1)).optional(),
  subnet: stringOrList.optional(),
  availabilityZone: stringOrList.optional(),
  count: count.optional(),
  user: loginName.optional(),
  ssh: ssh.optional(),
  wait: z.strictObject({timeout: seconds.optional(), interval: seconds.optional()}).optional(),
  tags: tags.optional(),
  userData: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') <= USER_DATA_MAX_BYTES, {
      message: `expected at most 16 KB (${USER_DATA_MAX_BYTES} bytes, EC2's limit before base64)`,
    })
    .optional(),
  iamInstanceProfile: z.string().min(1).optional(),
  imdsv2: z.boolean().optional(),
  lease: z.union([duration, leaseObject]).optional(),
  maxLease: duration.optional(),
  market: z.enum(['on-demand', 'spot', 'spot-then-on-demand']).optional(),
  maxPrice: z.union([z.string().regex(/^\d+(\.\d+)?$/), z.number().positive()]).optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  nameTags: z.enum(['launch', 'per-instance']).optional(),
  countLimit: z
    .number()
    .int()
    .min(1)
    .max(MAX_SLOT, `expected at most ${MAX_SLOT} (the highest slot number)`)
    .optional(),
  disk: disk.optional(),
  timeouts: z
    .strictObject({connect: seconds.optional(), request: seconds.optional(), total: seconds.optional()})
    .optional(),
})
export type ConfigFile = z.input<typeof fileSchema>

/** The resolved config every operation works from. */
export interface ResolvedConfig {
  project: string
  email?: string
  region?: string
  ami?: string
  instanceType: string
  keyName?: string
  securityGroups: string[]
  subnets: string[]
  availabilityZones: string[]
  count: {min: number; max: number}
  user: string
  ssh?: {
    key?: string
    port: number
    address: string
    hostKeys: 'known-hosts' | 'tofu' | 'off'
    knownHostsFile?: string
    concurrency: number
    connectTimeout: number
    bastion?: {host: string; port?: number; user?: string; key?: string}
  }
  wait: {timeout: number; interval: number}
  tags: Record<string, string>
  userData?: string
  iamInstanceProfile?: string
  imdsv2: boolean
  /** Lease length in milliseconds. */
  lease?: number
  /** How a lease is enforced (meaningful only with `lease`; loadConfig always sets it); docs/leases.md. */
  leasePolicy?: LeasePolicy
  maxLease?: number
  market: 'on-demand' | 'spot' | 'spot-then-on-demand'
  maxPrice?: string
  maxAttempts: number
  /**
   * How the EC2 `Name` tag is written. `per-instance` (the default): identity comes in the
   * launch's TagSpecifications, and each instance of a multi-instance launch then gets its own
   * `wolphin.<p>.<n>` in a CreateTags call (one per instance, in a bounded parallel pool). `launch`:
   * only in RunInstances (the instances of a multi-instance launch share `wolphin.<p>`), no extra
   * calls, for very large launches.
   */
  nameTags: 'launch' | 'per-instance'
  /** Time limits of every AWS call, in seconds. */
  timeouts: AwsTimeouts
  /**
   * Static AWS keys from a config of the original library (aws_access_key_id, aws_secret_key);
   * a non-enumerable property, so it is never listed or printed. A profile is the better place.
   */
  readonly credentials?: {accessKeyId: string; secretAccessKey: string}
  /** The root volume: size in GiB and/or EBS type, on the AMI's root device. */
  disk?: {size?: number; type?: string}
}

export interface LeasePolicy {
  /** What EC2 does when the watchdog powers the instance off (InstanceInitiatedShutdownBehavior). */
  action: 'stop' | 'terminate'
  /** Milliseconds past the lease end before the watchdog acts. */
  graceMs: number
  /** `watchdog`: on the instance (and `reap` from outside); `reaper`: `reap` only. */
  enforce: 'watchdog' | 'reaper'
}
