export * from './types.js'
export {execOnProject, putOnProject, getFromProject, runningInstances} from './run.js'
export type {ExecOptions, PutOptions, GetOptions, ProjectLike, RunningHost} from './run.js'
export {waitForSsh, waitForProjectSsh, waitForSshAfter} from './wait.js'
export type {WaitForSshOptions} from './wait.js'
export {resolveTarget, parseHostPort} from './address.js'
export {parseKnownHosts, checkKnownHosts, fingerprint, knownHostName} from './known-hosts.js'
export {KnownHostsVerifier, TofuVerifier, NoVerifier, pinValue} from './host-keys.js'
export type {HostKeyVerifier, HostKeySubject} from './host-keys.js'
export {createSshConnector, UnreachableError} from './ssh.js'
export type {Connector, SshSession, SshSettings} from './ssh.js'
export {runSsh, fanOut} from './ssh-runner.js'
export {runSsm, NOT_MANAGED} from './ssm-runner.js'
export {planPut, CopyError} from './put.js'
export type {CopyFailure, CopyOutcome, PutPlan} from './put.js'
export {planGet, instanceFolder} from './get.js'
export type {GetPlan} from './get.js'
export {
  sshConfigForProject,
  prepareLogin,
  pickLogin,
  writeKnownHosts,
  bastionAlias,
  LoginError,
} from './ssh-config.js'
export type {SshConfigResult, SshConfigOptions, SshHostEntry, PreparedLogin} from './ssh-config.js'
