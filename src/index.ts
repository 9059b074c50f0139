/**
 * wolphin's programmatic API. Nothing here loads oclif, listr2 or cli-table3; the AWS SDK is loaded
 * on the first call that needs it.
 */
export {Project} from './project/project.js'
export type {
  OperationOptions,
  OperationResult,
  PlanJson,
  ProjectOptions,
  StatusResult,
} from './project/project.js'
export {loadConfig, parseConfigText} from './config/load.js'
export type {LoadConfigOptions, LoadedConfig} from './config/load.js'
export type {ResolvedConfig, ConfigFile} from './config/schema.js'
export {DEFAULTS} from './config/schema.js'
export {parseDuration, formatDuration} from './config/duration.js'
export * from './errors.js'
export * from './selectors/index.js'
export type {Instance, InstanceJson, InstanceState} from './project/types.js'
export {instanceJson, HEALTHY_STATES, TRANSITIONAL_STATES} from './project/types.js'
export type {ProjectEvent, EventSink} from './project/events.js'
export type {Ec2Port, LaunchRequest} from './project/ports.js'
export type {RawInstance} from './project/observe.js'
export type {Action, Plan} from './project/plan.js'
export {planCreate, planStart, planStop, planReboot, planTerminate, describeAction} from './project/plan.js'
export {Tag, projectTagValue, instanceName} from './project/tags.js'
export {specHash} from './project/spec.js'
export {
  checkLaunchSettings,
  launchSettings,
  launchSettingsProblem,
  metadataTagKeyProblem,
  withWatchdog,
  USER_DATA_MAX,
  type LaunchSettings,
  type LaunchSettingsProblem,
} from './project/launch-settings.js'
export {watchdogScript, watchdogInstaller} from './project/watchdog.js'
export {stateReason} from './project/state-reason.js'
export type {StateReason} from './project/types.js'
export {isAmiAlias, type LeasePolicy} from './config/schema.js'
export type {ExtendResult} from './project/project.js'
export {
  leaseState,
  leaseText,
  parseExpiry,
  expiredInstances,
  planExtend,
  type ExtendRequest,
  type ExtendPlan,
} from './project/lease.js'
export {listProjects, reap, summarizeProjects} from './project/fleet.js'
export type {FleetOptions, LsResult, ProjectSummary, ReapOptions, ReapResult} from './project/fleet.js'
export {planReap, type ProjectReapPlan, type ReapAction} from './project/reap.js'
export {launchAttempts, type LaunchAttempt} from './project/launch-order.js'
export type {FleetPort} from './project/ports.js'
export {validateLaunch, sampleLaunchRequest} from './project/validate.js'
export type {
  CheckName,
  DryRunAnswer,
  ValidationCheck,
  ValidationPort,
  ValidationResult,
} from './project/validate.js'
export {starterConfig, writeStarterConfig, parseCount} from './config/init.js'
export type {InitAnswers} from './config/init.js'
export {describeConfig} from './config/describe.js'
export type {ConfigResult} from './config/describe.js'
export {planRevert, analyseRevert, REVERT_STRATEGIES} from './project/revert.js'
export type {RevertOptions, RevertStrategy, SlotUnit, SlotAnalysis} from './project/revert.js'
export type {RevertOperationOptions} from './project/project.js'
export type {SshWaiter} from './project/ssh-wait.js'
export {diffStates, isStable, watchProject} from './project/watch.js'
export type {Transition, TimedTransition, WatchOptions, WatchResult, StateView} from './project/watch.js'
export {isReplaced} from './project/tags.js'
// exec and put: runners over SSH (ssh2, loaded on first connection) and SSM (loaded on first use).
export {
  execOnProject,
  putOnProject,
  getFromProject,
  CopyError,
  sshConfigForProject,
  prepareLogin,
  writeKnownHosts,
  LoginError,
  runningInstances,
  waitForSsh,
  waitForProjectSsh,
  waitForSshAfter,
  summaryLine,
  aggregateExitCode,
  KnownHostsVerifier,
  TofuVerifier,
  NoVerifier,
  parseKnownHosts,
  fingerprint,
} from './exec/index.js'
export type {
  ExecEvent,
  ExecEventSink,
  ExecOptions,
  ExecResult,
  ExecSummary,
  PutOptions,
  GetOptions,
  CopyFailure,
  SshConfigResult,
  SshConfigOptions,
  SshHostEntry,
  PreparedLogin,
  RunningHost,
  TargetResult,
  WaitForSshOptions,
  HostKeyVerifier,
} from './exec/index.js'
// The --json contract: one document type per command (schemas/*.json are generated from these).
export {SCHEMA_VERSION, versioned} from './json.js'
export type {
  Versioned,
  StatusDocument,
  WatchDocument,
  OperationDocument,
  ExecDocument,
  LsDocument,
  ReapDocument,
  ExtendDocument,
  ValidateDocument,
  ConfigDocument,
  InitDocument,
  ErrorDocument,
} from './json.js'
