/**
 * The public API is chosen, not accumulated (docs/api.md): the names src/index.ts exports are
 * pinned here. Adding, removing or renaming one fails this test until the list below (and
 * docs/api.md) say so: a change of the public API is a decision, made in review.
 */
import path from 'node:path'

import {expect} from 'chai'
import ts from 'typescript'

import {ROOT} from '../support/moto.js'

const VALUES = [
  'aggregateExitCode',
  'AllOfSelector',
  'applySelector',
  'AwsError',
  'checkLaunchSettings',
  'ConfigError',
  'CopyError',
  'CredentialsError',
  'DEFAULTS',
  'EventCode',
  'ExitCode',
  'formatDuration',
  'HEALTHY_STATES',
  'HostKeyError',
  'instanceJson',
  'instanceName',
  'InterruptedError',
  'isAmiAlias',
  'KnownHostsVerifier',
  'launchSettings',
  'launchSettingsProblem',
  'listProjects',
  'loadConfig',
  'loadSelectorModule',
  'LoginError',
  'metadataTagKeyProblem',
  'NetworkError',
  'NoVerifier',
  'OutdatedSelector',
  'parseConfigText',
  'parseDuration',
  'parseSlots',
  'parseStates',
  'parseTagFilter',
  'PartialFailureError',
  'prepareLogin',
  'Project',
  'projectTagValue',
  'reap',
  'REVERT_STRATEGIES',
  'runningInstances',
  'SelectorError',
  'selectorFromFlags',
  'SlotSelector',
  'sshConfigForProject',
  'stateReason',
  'StateSelector',
  'summaryLine',
  'Tag',
  'TagSelector',
  'TofuVerifier',
  'TRANSITIONAL_STATES',
  'UsageError',
  'USER_DATA_MAX',
  'waitForSsh',
  'WaitTimeoutError',
  'watchdogInstaller',
  'watchdogScript',
  'withWatchdog',
  'WolphinError',
  'writeKnownHosts',
  'MemoryCapture',
  'teeSinks',
  'MAX_CAPTURE',
  'OutputFiles',
  'PinRecord',
  'defaultPinRecordFile',
  'SCHEMA_VERSION',
  'versioned',
]

const TYPES = [
  'Action',
  'AwsConnection',
  'AwsOptions',
  'AwsTimeouts',
  'CheckName',
  'ConfigFile',
  'ConfigProblem',
  'Connector',
  'CopyFailure',
  'DryRunAnswer',
  'Ec2Port',
  'EventSink',
  'ExecEvent',
  'ExecEventSink',
  'ExecOptions',
  'ExecResult',
  'ExecSummary',
  'ExtendRequest',
  'ExtendResult',
  'ExtendTarget',
  'FleetOptions',
  'FleetPort',
  'GetOptions',
  'HostKeyVerifier',
  'Instance',
  'InstanceJson',
  'InstanceState',
  'InterruptionReport',
  'LaunchRequest',
  'LaunchSettings',
  'LaunchSettingsProblem',
  'LeasePolicy',
  'LoadConfigOptions',
  'LoadedConfig',
  'LsResult',
  'NoticeCode',
  'NoticeData',
  'OperationOptions',
  'OperationResult',
  'Plan',
  'PlanJson',
  'PreparedLogin',
  'ProjectEvent',
  'ProjectLike',
  'ProjectOptions',
  'ProjectReapPlan',
  'ProjectSummary',
  'PutOptions',
  'RawInstance',
  'ReapAction',
  'ReapOptions',
  'ReapResult',
  'ResolvedConfig',
  'RevertOperationOptions',
  'RevertStrategy',
  'RunningHost',
  'SelectionFlags',
  'Selector',
  'SshConfigOptions',
  'SshConfigResult',
  'SshHostEntry',
  'SshSession',
  'SshWaiter',
  'StateReason',
  'StateView',
  'StatusResult',
  'TargetFailure',
  'TargetResult',
  'TimedTransition',
  'TimeoutOverrides',
  'Transition',
  'ValidationCheck',
  'ValidationPort',
  'ValidationResult',
  'WaitForSshOptions',
  'WatchOptions',
  'WatchResult',
  'Delivery',
  'OutputSink',
  'Versioned',
  'StatusDocument',
  'WatchDocument',
  'OperationDocument',
  'ExecDocument',
  'LsDocument',
  'ReapDocument',
  'ExtendDocument',
  'ValidateDocument',
  'ConfigDocument',
  'InitDocument',
  'ErrorDocument',
]

/** The names src/index.ts exports, as the compiler resolves them: values (runtime) and types only. */
function exportsOfIndex(): {values: string[]; types: string[]} {
  const file = path.join(ROOT, 'src/index.ts')
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const values: string[] = []
  const types: string[] = []
  for (const s of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!)) {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
    ;(target.flags & ts.SymbolFlags.Value ? values : types).push(s.name)
  }
  return {values: values.sort(), types: types.sort()}
}

describe('the public API (src/index.ts) is the pinned list', function () {
  this.timeout(120_000)

  it('exports exactly the values and types of docs/api.md', () => {
    const {values, types} = exportsOfIndex()
    expect(values, 'runtime exports').to.deep.equal([...VALUES].sort())
    expect(types, 'type-only exports').to.deep.equal([...TYPES].sort())
  })
})
