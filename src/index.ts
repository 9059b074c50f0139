/**
 * wolphin's programmatic API: the supported surface, chosen (docs/api.md) and pinned by
 * test/unit/api-surface.test.ts, so that adding or removing a name is a decision. Nothing here
 * loads oclif, listr2 or cli-table3; the AWS SDK and ssh2 are loaded on the first call that needs
 * them. Planners, renderers and the CLI's helpers are internal: use the Project methods.
 */

// A project and its operations: every method returns what the CLI prints under --json.
export {Project} from './project/project.js'
export type {
  AwsConnection,
  ExtendResult,
  OperationOptions,
  OperationResult,
  PlanJson,
  ProjectOptions,
  RevertOperationOptions,
  StatusResult,
} from './project/project.js'
export type {ExtendRequest, ExtendTarget} from './project/lease.js'
export {REVERT_STRATEGIES} from './project/revert.js'
export type {RevertStrategy} from './project/revert.js'
export type {SshWaiter} from './project/ssh-wait.js'
export type {StateView, TimedTransition, Transition, WatchOptions, WatchResult} from './project/watch.js'
export type {
  CheckName,
  DryRunAnswer,
  ValidationCheck,
  ValidationPort,
  ValidationResult,
} from './project/validate.js'

// What a launch sends (user data with the lease watchdog, metadata tags, the root disk) and why an
// instance stopped: for tools that launch or inspect wolphin instances themselves.
export {
  checkLaunchSettings,
  launchSettings,
  launchSettingsProblem,
  metadataTagKeyProblem,
  USER_DATA_MAX,
  withWatchdog,
} from './project/launch-settings.js'
export type {LaunchSettings, LaunchSettingsProblem} from './project/launch-settings.js'
export {watchdogInstaller, watchdogScript} from './project/watchdog.js'
export {stateReason} from './project/state-reason.js'
export type {StateReason} from './project/types.js'

// Config: discovery, layering, validation, defaults and durations.
export {loadConfig, parseConfigText} from './config/load.js'
export type {LoadConfigOptions, LoadedConfig, TimeoutOverrides} from './config/load.js'
export {DEFAULTS} from './config/schema.js'
export {isAmiAlias} from './config/schema.js'
export type {AwsTimeouts, ConfigFile, LeasePolicy, ResolvedConfig} from './config/schema.js'
export {formatDuration, parseDuration} from './config/duration.js'

// Errors: every error wolphin throws is a WolphinError with a stable code and an exit code.
export * from './errors.js'

// Instances, tags and the plan an operation reports.
export {HEALTHY_STATES, instanceJson, TRANSITIONAL_STATES} from './project/types.js'
export type {Instance, InstanceJson, InstanceState} from './project/types.js'
export {instanceName, projectTagValue, Tag} from './project/tags.js'
export type {Action, Plan} from './project/plan.js'

// Progress events: react to `code` and its data, never to `message`.
export {EventCode} from './project/events.js'
export type {EventSink, NoticeCode, NoticeData, ProjectEvent} from './project/events.js'

// Selectors: narrow an operation to some instances; they never widen it.
export {
  AllOfSelector,
  applySelector,
  loadSelectorModule,
  OutdatedSelector,
  parseSlots,
  parseStates,
  parseTagFilter,
  selectorFromFlags,
  SlotSelector,
  StateSelector,
  TagSelector,
} from './selectors/index.js'
export type {SelectionFlags, Selector} from './selectors/index.js'

// Ports: bring your own EC2 client (tests, proxies) through these SDK-free interfaces.
export type {AwsOptions, Ec2Port, FleetPort, LaunchRequest} from './project/ports.js'
export type {RawInstance} from './project/observe.js'

// Fleets: every wolphin project of some regions at once (ls, reap).
export {listProjects, reap} from './project/fleet.js'
export type {FleetOptions, LsResult, ProjectSummary, ReapOptions, ReapResult} from './project/fleet.js'
export type {ProjectReapPlan, ReapAction} from './project/reap.js'

// exec and put beyond Project#exec and Project#put: one host at a time, SSH waits, host keys.
export {runningInstances} from './exec/run.js'
export type {ExecOptions, ProjectLike, PutOptions, RunningHost} from './exec/run.js'
export {aggregateExitCode, summaryLine} from './exec/types.js'
export type {ExecEvent, ExecEventSink, ExecResult, ExecSummary, TargetResult} from './exec/types.js'
export {waitForSsh} from './exec/wait.js'
export type {WaitForSshOptions} from './exec/wait.js'
export {KnownHostsVerifier, NoVerifier, TofuVerifier} from './exec/host-keys.js'
// The host keys this machine has accepted, so a pin rewritten in the tags is refused (docs/exec.md).
export {defaultPinRecordFile, PinRecord} from './exec/pin-record.js'
export type {HostKeyVerifier} from './exec/host-keys.js'
export type {Connector, SshSession} from './exec/ssh.js'
export {CopyError} from './exec/put.js'
// Where exec output goes (docs/exec.md): a sink that can make the command wait (backpressure).
export {MemoryCapture, teeSinks, MAX_CAPTURE} from './exec/output.js'
export type {Delivery, OutputSink} from './exec/output.js'
export {OutputFiles} from './exec/output-files.js'
export type {CopyFailure} from './exec/put.js'
export type {GetOptions} from './exec/run.js'
// ssh-config and ssh (docs/exec.md): Host entries with verified pinned keys, a login's ssh arguments.
export {LoginError, prepareLogin, sshConfigForProject, writeKnownHosts} from './exec/ssh-config.js'
export type {PreparedLogin, SshConfigOptions, SshConfigResult, SshHostEntry} from './exec/ssh-config.js'

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
