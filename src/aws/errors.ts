import {AwsError, ConfigError, CredentialsError, WolphinError} from '../errors.js'

const MESSAGES: Record<string, (m: string) => string> = {
  UnauthorizedOperation: (m) => `not authorised by IAM for this EC2 action: ${m}`,
  AuthFailure: (m) => `AWS rejected the credentials: ${m}`,
  InstanceLimitExceeded: (m) =>
    `the account's instance limit is reached (${m}); terminate instances or ask AWS for a higher limit`,
  VcpuLimitExceeded: (m) => `the account's vCPU limit is reached (${m}); ask AWS for a higher limit`,
  InsufficientInstanceCapacity: (m) =>
    `AWS has not enough capacity for this instance type in this zone right now (${m}); try another zone or type, or retry later`,
  'InvalidAMIID.NotFound': (m) => `the AMI does not exist in this region: ${m}`,
  'InvalidAMIID.Malformed': (m) => `the AMI id is malformed: ${m}`,
  'InvalidAMIID.Unavailable': (m) => `the AMI is not available: ${m}`,
  'InvalidKeyPair.NotFound': (m) => `the key pair does not exist in this region: ${m}`,
  'InvalidGroup.NotFound': (m) => `a security group does not exist: ${m}`,
  'InvalidSubnetID.NotFound': (m) => `the subnet does not exist: ${m}`,
  RequestLimitExceeded: (m) => `EC2 throttled the requests and retries ran out: ${m}`,
}

export function noCredentials(reason: string): CredentialsError {
  return new CredentialsError(
    `no AWS credentials found (${reason}); set AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run "aws sso login"`,
  )
}

export function noRegion(): ConfigError {
  return new ConfigError('no AWS region: set "region" in the config, pass --region, or set AWS_REGION')
}

/** The error names of the SDK's credential providers (@smithy/property-provider). */
const CREDENTIAL_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError', 'ProviderError'])

/** Maps an SDK error to a typed domain error with a message a user can act on. */
export function mapAwsError(err: unknown, action: string): WolphinError {
  if (err instanceof WolphinError) return err
  const e = err as {name?: string; Code?: string; message?: string}
  const name = e.Code ?? e.name ?? 'Error'
  const message = (e.message ?? String(err)).split('\n')[0]
  // The SDK's credential chain names its errors; a client without credentials or region is told
  // apart before this, by asking its providers (client.ts settingsError).
  if (CREDENTIAL_ERRORS.has(name)) return noCredentials(message)
  const render = MESSAGES[name]
  const code = name.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()
  return new AwsError(`${action}: ${render ? render(message) : `${name}: ${message}`}`, code, name)
}
