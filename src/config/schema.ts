// The namespace import, not {z}: a bundler can then drop the parts of zod not used here, such as
// its ~60 locales (scripts/bundle.mjs; measured: ~370 KB of the CLI's bundle).
import * as z from 'zod'

import {isReservedTagKey} from '../project/tags.js'
import {parseDuration} from './duration.js'

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
  nameTags: 'launch',
  // Seconds. Every AWS call: a connection within `connect`, an answer within `request`, and the
  // call with all its retries within `total` (the aws-cli waits 60 s to connect and 60 s to read).
  timeouts: {connect: 10, request: 60, total: 180},
} as const

/** Time limits of every AWS call, in seconds (see DEFAULTS.timeouts). */
export interface AwsTimeouts {
  connect: number
  request: number
  total: number
}

const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== null, {message: 'expected a duration like 30s, 15m, 8h or 3d'})

const seconds = z
  .union([z.number().positive(), z.string()])
  .refine((v) => parseDuration(v) !== null && parseDuration(v)! > 0, {
    message: 'expected a positive number of seconds or a duration like 90s, 10m',
  })
  .transform((v) => parseDuration(v)! / 1000)

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)])

const addressSpec = z
  .string()
  .refine((v) => ['public-ip', 'private-ip', 'public-dns', 'private-dns'].includes(v) || /^tag:.+/.test(v), {
    message: 'expected public-ip, private-ip, public-dns, private-dns or tag:KEY',
  })

const bastion = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
})

const ssh = z.strictObject({
  key: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  address: addressSpec.optional(),
  hostKeys: z.enum(['known-hosts', 'tofu', 'off']).optional(),
  knownHostsFile: z.string().min(1).optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
  connectTimeout: seconds.optional(),
  bastion: bastion.optional(),
})

const count = z.union([
  z.number().int().min(1, 'expected at least 1'),
  z.strictObject({
    min: z.number().int().min(1, 'expected min >= 1'),
    max: z.number().int().min(1, 'expected max >= 1'),
  }),
])

const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((t) => Object.keys(t).every((k) => !isReservedTagKey(k)), {
    message: 'ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
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
  email: z.string().min(1).optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected a region like eu-west-1')
    .optional(),
  ami: z
    .string()
    .regex(/^ami-[0-9a-zA-Z]+$/, 'expected an AMI id like ami-0123456789abcdef0')
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
  user: z.string().min(1).optional(),
  ssh: ssh.optional(),
  wait: z.strictObject({timeout: seconds.optional(), interval: seconds.optional()}).optional(),
  tags: tags.optional(),
  userData: z.string().optional(),
  iamInstanceProfile: z.string().min(1).optional(),
  imdsv2: z.boolean().optional(),
  lease: duration.optional(),
  maxLease: duration.optional(),
  market: z.enum(['on-demand', 'spot', 'spot-then-on-demand']).optional(),
  maxPrice: z.union([z.string().regex(/^\d+(\.\d+)?$/), z.number().positive()]).optional(),
  maxAttempts: z.number().int().min(1).max(20).optional(),
  nameTags: z.enum(['launch', 'per-instance']).optional(),
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
  maxLease?: number
  market: 'on-demand' | 'spot' | 'spot-then-on-demand'
  maxPrice?: string
  maxAttempts: number
  /**
   * How the EC2 `Name` tag is written. `launch`: only in RunInstances (a one-instance launch gets
   * `wolphin.<p>.<n>`, the instances of a multi-instance launch share `wolphin.<p>`), no extra
   * calls. `per-instance`: also one CreateTags per instance of a multi-instance launch.
   */
  nameTags: 'launch' | 'per-instance'
  /** Time limits of every AWS call, in seconds. */
  timeouts: AwsTimeouts
}
