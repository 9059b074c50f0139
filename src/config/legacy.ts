import path from 'node:path'

import {ConfigError} from '../errors.js'
import type {ConfigFile} from './schema.js'

/** Field names of the original Python wolphin's `key = value` config. */
export const LEGACY_FIELDS = [
  'project',
  'ami_id',
  'instance_type',
  'min_instance_count',
  'max_instance_count',
  'amazon_keypair_name',
  'pem_file',
  'pem_path',
  'instance_securitygroup',
  'instance_availabilityzone',
  'user',
  'email',
  'region',
  'max_wait_tries',
  'max_wait_duration',
  'aws_access_key_id',
  'aws_secret_key',
  'aws_secret_access_key',
] as const

/** Static AWS credentials, as the original library read them from its config. */
export interface StaticCredentials {
  accessKeyId: string
  secretAccessKey: string
}

/**
 * Where parseLegacy puts a legacy config's credentials: a symbol key, so no field listing, merge,
 * schema check, `wolphin config` or JSON output ever sees (or prints) them.
 */
export const LEGACY_CREDENTIALS: unique symbol = Symbol('wolphin.legacyCredentials')

/** The one-line warning a config with credentials in it gets. */
export function credentialsWarning(file: string): string {
  return `${file}: uses the AWS keys written in it (aws_access_key_id, aws_secret_key); move them to a profile (aws configure --profile NAME, then --profile NAME or AWS_PROFILE) and delete them from the file`
}

const LINE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/

/** True when every meaningful line is `key = value` (or a `[section]` header). */
export function looksLegacy(text: string): boolean {
  const lines = meaningfulLines(text)
  return lines.length > 0 && lines.every((l) => LINE.test(l) || /^\s*\[[^\]]+\]\s*$/.test(l))
}

function meaningfulLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !/^\s*[#;]/.test(l))
}

function unquote(v: string): string {
  return /^(['"]).*\1$/.test(v) ? v.slice(1, -1) : v
}

/**
 * Converts the original library's config to wolphin's field names; unknown keys are errors. Its
 * AWS keys, when present, ride along under LEGACY_CREDENTIALS.
 */
export function parseLegacy(
  text: string,
  file: string,
): ConfigFile & {[LEGACY_CREDENTIALS]?: StaticCredentials} {
  const raw: Record<string, string> = {}
  for (const line of meaningfulLines(text)) {
    if (/^\s*\[/.test(line)) continue
    const m = LINE.exec(line)!
    const key = m[1].toLowerCase()
    if (!(LEGACY_FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError(`${file}: unknown field "${m[1]}" (expected one of ${LEGACY_FIELDS.join(', ')})`)
    }
    raw[key] = unquote(m[2])
  }
  const int = (key: string): number => {
    const v = raw[key]
    if (!/^\d+$/.test(v))
      throw new ConfigError(`${file}: field "${key}": expected a whole number, got "${v}"`)
    return Number(v)
  }
  const out: Record<string, unknown> = {}
  if (raw.project !== undefined) out.project = raw.project
  if (raw.ami_id !== undefined) out.ami = raw.ami_id
  if (raw.instance_type !== undefined) out.instanceType = raw.instance_type
  if (raw.min_instance_count !== undefined || raw.max_instance_count !== undefined) {
    const min = raw.min_instance_count !== undefined ? int('min_instance_count') : undefined
    const max = raw.max_instance_count !== undefined ? int('max_instance_count') : undefined
    out.count = {min: min ?? max, max: max ?? min}
  }
  if (raw.amazon_keypair_name !== undefined) out.keyName = raw.amazon_keypair_name
  if (raw.pem_file !== undefined) {
    out.ssh = {key: raw.pem_path !== undefined ? path.join(raw.pem_path, raw.pem_file) : raw.pem_file}
  }
  if (raw.instance_securitygroup !== undefined) {
    out.securityGroups = raw.instance_securitygroup
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  }
  if (raw.instance_availabilityzone !== undefined) out.availabilityZone = raw.instance_availabilityzone
  if (raw.user !== undefined) out.user = raw.user
  if (raw.email !== undefined) out.email = raw.email
  if (raw.region !== undefined) out.region = raw.region
  if (raw.max_wait_tries !== undefined || raw.max_wait_duration !== undefined) {
    // The original polled max_wait_tries times, max_wait_duration seconds apart.
    const interval = raw.max_wait_duration !== undefined ? int('max_wait_duration') : 10
    const tries = raw.max_wait_tries !== undefined ? int('max_wait_tries') : 60
    out.wait = {interval: Math.max(1, interval), timeout: Math.max(1, interval * tries)}
  }
  const result = out as ConfigFile & {[LEGACY_CREDENTIALS]?: StaticCredentials}
  const accessKeyId = raw.aws_access_key_id
  const secretAccessKey = raw.aws_secret_key ?? raw.aws_secret_access_key
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    // Names only in messages: the values are secrets.
    if (!accessKeyId)
      throw new ConfigError(
        `${file}: field "aws_secret_key" needs "aws_access_key_id" next to it (or use a profile)`,
      )
    if (!secretAccessKey)
      throw new ConfigError(
        `${file}: field "aws_access_key_id" needs "aws_secret_key" next to it (or use a profile)`,
      )
    result[LEGACY_CREDENTIALS] = {accessKeyId, secretAccessKey}
  }
  return result
}
