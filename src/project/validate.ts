/**
 * `wolphin validate`: checks a config against the account before anything is launched. The
 * checks are pure over a small port (one Describe call each, and one RunInstances DryRun), so
 * they are tested with an in-memory port; `src/aws/validate.ts` implements it with the SDK.
 */
import {isAmiAlias, type ResolvedConfig} from '../config/schema.js'
import {launchTags} from './apply.js'
import {launchAttempts} from './launch-order.js'
import {attemptRequest} from './launch-settings.js'
import type {LaunchRequest} from './ports.js'

export type CheckName = 'ami' | 'keyPair' | 'securityGroups' | 'subnet' | 'instanceProfile' | 'runInstances'

export interface ValidationCheck {
  check: CheckName
  status: 'ok' | 'problem' | 'skipped'
  /** What was checked, or why it was skipped. */
  detail: string
  /** One line per problem found by this check. */
  problems: string[]
}

export interface ValidationResult {
  project: string
  region: string | null
  ok: boolean
  checks: ValidationCheck[]
  /** Every problem of every check, one line each. */
  problems: string[]
}

/** The answer to a RunInstances DryRun: `ok` when EC2 said DryRunOperation. */
export type DryRunAnswer = {ok: true} | {ok: false; code: string; message: string}

export interface ValidationPort {
  region(): Promise<string | null>
  /** The images among `ids` that exist, with their state. */
  findImages(ids: string[]): Promise<Array<{id: string; state: string}>>
  /** The key pairs among `names` that exist. */
  findKeyPairs(names: string[]): Promise<string[]>
  /** The security group ids among `ids` that exist. */
  findSecurityGroups(ids: string[]): Promise<string[]>
  /** The subnets among `ids` that exist, with their zone. */
  findSubnets(ids: string[]): Promise<Array<{id: string; zone: string | null}>>
  dryRunLaunch(req: LaunchRequest): Promise<DryRunAnswer>
}

/**
 * The request `create` would send first for one instance in slot 1 (its first market and
 * placement), used for the DryRun. No root volume: the DryRun does not describe the image.
 */
export function sampleLaunchRequest(config: ResolvedConfig, spec: string, now = new Date()): LaunchRequest {
  return {
    ...attemptRequest(config, launchAttempts(config)[0]),
    minCount: 1,
    maxCount: 1,
    tags: launchTags(config, spec, [1], now),
    clientToken: `wolphin-validate-${spec}-${now.getTime()}`,
  }
}

const check = (c: CheckName, detail: string, problems: string[] = []): ValidationCheck => ({
  check: c,
  status: problems.length ? 'problem' : 'ok',
  detail,
  problems,
})
const skipped = (c: CheckName, detail: string): ValidationCheck => ({
  check: c,
  status: 'skipped',
  detail,
  problems: [],
})

/**
 * Whether a failed DryRun is about the instance profile rather than the launch as a whole: IAM's
 * own NoSuchEntity, or a DryRun of the same request without the profile that EC2 answers otherwise
 * (permitted, or refused for another reason). Decided by EC2's answers, never by their wording;
 * the second DryRun is sent only when the first failed and a profile is configured.
 */
async function blamesProfile(
  answer: {code: string},
  port: ValidationPort,
  req: LaunchRequest,
): Promise<boolean> {
  if (answer.code === 'NoSuchEntity') return true
  const without = await port.dryRunLaunch({...req, iamInstanceProfile: undefined})
  return without.ok || without.code !== answer.code
}

/** ` in REGION`, for "does not exist in REGION". */
type Where = string

async function checkAmi(
  config: ResolvedConfig,
  port: ValidationPort,
  where: Where,
): Promise<ValidationCheck> {
  const ami = config.ami
  if (!ami)
    return check('ami', 'no ami configured', ['ami: not set; expected an AMI id like ami-0123456789abcdef0'])
  if (isAmiAlias(ami))
    return skipped('ami', `${ami}: a parameter EC2 resolves at launch (the RunInstances DryRun checks it)`)
  const img = (await port.findImages([ami])).find((i) => i.id === ami)
  if (!img)
    return check('ami', ami, [`ami ${ami}: does not exist${where} (or is not shared with this account)`])
  if (img.state !== 'available') return check('ami', ami, [`ami ${ami}: is ${img.state}, expected available`])
  return check('ami', `${ami} exists and is available`)
}

async function checkKeyPair(
  config: ResolvedConfig,
  port: ValidationPort,
  where: Where,
): Promise<ValidationCheck> {
  const name = config.keyName
  if (!name) return skipped('keyPair', 'no keyName configured')
  const found = await port.findKeyPairs([name])
  return found.includes(name)
    ? check('keyPair', `${name} exists`)
    : check('keyPair', name, [`key pair "${name}": does not exist${where}`])
}

async function checkSecurityGroups(
  config: ResolvedConfig,
  port: ValidationPort,
  where: Where,
): Promise<ValidationCheck> {
  const groups = config.securityGroups
  if (!groups.length) return skipped('securityGroups', 'none configured (the VPC default group applies)')
  const notIds = groups.filter((g) => !/^sg-[0-9a-f]+$/.test(g))
  const ids = groups.filter((g) => !notIds.includes(g))
  const found = ids.length ? await port.findSecurityGroups(ids) : []
  const problems = [
    ...notIds.map((g) => `security group "${g}": not a group id; expected an id like sg-0123456789abcdef0`),
    ...ids.filter((g) => !found.includes(g)).map((g) => `security group ${g}: does not exist${where}`),
  ]
  return check('securityGroups', groups.join(', '), problems)
}

async function checkSubnets(
  config: ResolvedConfig,
  port: ValidationPort,
  where: Where,
): Promise<ValidationCheck> {
  if (!config.subnets.length) return skipped('subnet', 'none configured (the default subnet applies)')
  const found = await port.findSubnets(config.subnets)
  const zones = config.availabilityZones
  const problems = config.subnets.flatMap((s) => {
    const f = found.find((x) => x.id === s)
    if (!f) return [`subnet ${s}: does not exist${where}`]
    if (zones.length && f.zone && !zones.includes(f.zone))
      return [`subnet ${s}: is in ${f.zone}, but availabilityZone is ${zones.join(', ')}`]
    return []
  })
  return check('subnet', config.subnets.join(', '), problems)
}

/**
 * The RunInstances DryRun, which is also the instance profile check (EC2 resolves the profile when
 * authorising): the runInstances check and the instanceProfile check, in that order.
 */
async function checkDryRun(
  config: ResolvedConfig,
  port: ValidationPort,
  spec: string,
): Promise<ValidationCheck[]> {
  const profile = config.iamInstanceProfile
  const noProfile = skipped('instanceProfile', 'no iamInstanceProfile configured')
  if (!config.ami)
    return [
      skipped('runInstances', 'needs an ami'),
      profile ? skipped('instanceProfile', 'not decided: the RunInstances DryRun failed') : noProfile,
    ]
  const request = sampleLaunchRequest(config, spec)
  const answer = await port.dryRunLaunch(request)
  if (answer.ok)
    return [
      check('runInstances', 'RunInstances with DryRun=true is permitted'),
      profile ? check('instanceProfile', `${profile} accepted by the RunInstances DryRun`) : noProfile,
    ]
  if (profile && (await blamesProfile(answer, port, request)))
    return [
      skipped('runInstances', 'not decided: the instance profile was rejected first'),
      check('instanceProfile', profile, [`instance profile "${profile}": ${answer.message}`]),
    ]
  const problem =
    answer.code === 'UnauthorizedOperation'
      ? `RunInstances: not permitted for these credentials (UnauthorizedOperation): ${answer.message}`
      : `RunInstances (DryRun): ${answer.code}: ${answer.message}`
  return [
    check('runInstances', 'RunInstances DryRun', [problem]),
    profile ? skipped('instanceProfile', 'not decided: the RunInstances DryRun failed') : noProfile,
  ]
}

export async function validateLaunch(
  config: ResolvedConfig,
  port: ValidationPort,
  spec: string,
): Promise<ValidationResult> {
  const region = (await port.region()) ?? config.region ?? null
  const where = region ? ` in ${region}` : ''
  // One after the other, in the order the report lists them.
  const checks: ValidationCheck[] = [
    await checkAmi(config, port, where),
    await checkKeyPair(config, port, where),
    await checkSecurityGroups(config, port, where),
    await checkSubnets(config, port, where),
    ...(await checkDryRun(config, port, spec)),
  ]
  const problems = checks.flatMap((c) => c.problems)
  return {project: config.project, region, ok: problems.length === 0, checks, problems}
}
