/**
 * `wolphin validate`: checks a config against the account before anything is launched. The
 * checks are pure over a small port (one Describe call each, and one RunInstances DryRun), so
 * they are tested with an in-memory port; `src/aws/validate.ts` implements it with the SDK.
 */
import {isAmiAlias, type ResolvedConfig} from '../config/schema.js'
import {launchTags} from './apply.js'
import {launchSettings} from './launch-settings.js'
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

/** The request `create` would send for one instance in slot 1, used for the DryRun. */
export function sampleLaunchRequest(config: ResolvedConfig, spec: string, now = new Date()): LaunchRequest {
  const settings = launchSettings(config)
  return {
    ami: config.ami ?? '',
    instanceType: config.instanceType,
    minCount: 1,
    maxCount: 1,
    tags: launchTags(config, spec, [1], now),
    clientToken: `wolphin-validate-${spec}-${now.getTime()}`,
    keyName: config.keyName,
    securityGroups: config.securityGroups,
    subnet: config.subnets[0],
    availabilityZone: config.availabilityZones[0],
    userData: settings.userData,
    iamInstanceProfile: config.iamInstanceProfile,
    imdsv2: config.imdsv2,
    metadataTags: settings.metadataTags,
    shutdownBehavior: settings.shutdownBehavior,
    spot: config.market === 'on-demand' ? undefined : {maxPrice: config.maxPrice},
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

/** Errors of a DryRun that are about the instance profile rather than the launch as a whole. */
function blamesProfile(a: {code: string; message: string}): boolean {
  return (
    a.code === 'NoSuchEntity' ||
    /instance ?profile/i.test(a.message) ||
    (a.code === 'InvalidParameterValue' && /iamInstanceProfile/i.test(a.message))
  )
}

export async function validateLaunch(
  config: ResolvedConfig,
  port: ValidationPort,
  spec: string,
): Promise<ValidationResult> {
  const region = (await port.region()) ?? config.region ?? null
  const where = region ? ` in ${region}` : ''
  const checks: ValidationCheck[] = []

  // AMI
  if (!config.ami) {
    checks.push(
      check('ami', 'no ami configured', ['ami: not set; expected an AMI id like ami-0123456789abcdef0']),
    )
  } else if (isAmiAlias(config.ami)) {
    checks.push(
      skipped('ami', `${config.ami}: a parameter EC2 resolves at launch (the RunInstances DryRun checks it)`),
    )
  } else {
    const found = await port.findImages([config.ami])
    const img = found.find((i) => i.id === config.ami)
    if (!img)
      checks.push(
        check('ami', config.ami, [
          `ami ${config.ami}: does not exist${where} (or is not shared with this account)`,
        ]),
      )
    else if (img.state !== 'available')
      checks.push(check('ami', config.ami, [`ami ${config.ami}: is ${img.state}, expected available`]))
    else checks.push(check('ami', `${config.ami} exists and is available`))
  }

  // Key pair
  if (!config.keyName) checks.push(skipped('keyPair', 'no keyName configured'))
  else {
    const found = await port.findKeyPairs([config.keyName])
    checks.push(
      found.includes(config.keyName)
        ? check('keyPair', `${config.keyName} exists`)
        : check('keyPair', config.keyName, [`key pair "${config.keyName}": does not exist${where}`]),
    )
  }

  // Security groups
  if (!config.securityGroups.length)
    checks.push(skipped('securityGroups', 'none configured (the VPC default group applies)'))
  else {
    const notIds = config.securityGroups.filter((g) => !/^sg-[0-9a-f]+$/.test(g))
    const ids = config.securityGroups.filter((g) => !notIds.includes(g))
    const found = ids.length ? await port.findSecurityGroups(ids) : []
    const problems = [
      ...notIds.map((g) => `security group "${g}": not a group id; expected an id like sg-0123456789abcdef0`),
      ...ids.filter((g) => !found.includes(g)).map((g) => `security group ${g}: does not exist${where}`),
    ]
    checks.push(check('securityGroups', config.securityGroups.join(', '), problems))
  }

  // Subnet(s)
  if (!config.subnets.length) checks.push(skipped('subnet', 'none configured (the default subnet applies)'))
  else {
    const found = await port.findSubnets(config.subnets)
    const problems: string[] = []
    for (const s of config.subnets) {
      const f = found.find((x) => x.id === s)
      if (!f) problems.push(`subnet ${s}: does not exist${where}`)
      else if (config.availabilityZones.length && f.zone && !config.availabilityZones.includes(f.zone))
        problems.push(
          `subnet ${s}: is in ${f.zone}, but availabilityZone is ${config.availabilityZones.join(', ')}`,
        )
    }
    checks.push(check('subnet', config.subnets.join(', '), problems))
  }

  // RunInstances DryRun (also the instance profile check: EC2 resolves the profile when authorising)
  let profileProblem: string | null = null
  if (!config.ami) checks.push(skipped('runInstances', 'needs an ami'))
  else {
    const answer = await port.dryRunLaunch(sampleLaunchRequest(config, spec))
    if (answer.ok) checks.push(check('runInstances', 'RunInstances with DryRun=true is permitted'))
    else if (config.iamInstanceProfile && blamesProfile(answer)) {
      profileProblem = `instance profile "${config.iamInstanceProfile}": ${answer.message}`
      checks.push(skipped('runInstances', 'not decided: the instance profile was rejected first'))
    } else if (answer.code === 'UnauthorizedOperation')
      checks.push(
        check('runInstances', 'RunInstances DryRun', [
          `RunInstances: not permitted for these credentials (UnauthorizedOperation): ${answer.message}`,
        ]),
      )
    else
      checks.push(
        check('runInstances', 'RunInstances DryRun', [
          `RunInstances (DryRun): ${answer.code}: ${answer.message}`,
        ]),
      )
  }
  if (!config.iamInstanceProfile) checks.push(skipped('instanceProfile', 'no iamInstanceProfile configured'))
  else if (profileProblem) checks.push(check('instanceProfile', config.iamInstanceProfile, [profileProblem]))
  else if (checks.find((c) => c.check === 'runInstances')?.status === 'ok')
    checks.push(check('instanceProfile', `${config.iamInstanceProfile} accepted by the RunInstances DryRun`))
  else checks.push(skipped('instanceProfile', 'not decided: the RunInstances DryRun failed'))

  const problems = checks.flatMap((c) => c.problems)
  return {project: config.project, region, ok: problems.length === 0, checks, problems}
}
