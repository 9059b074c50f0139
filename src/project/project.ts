import {loadConfig, type LoadConfigOptions} from '../config/load.js'
import {isAmiAlias, type ResolvedConfig} from '../config/schema.js'
import {ConfigError, InterruptedError, PartialFailureError, WolphinError} from '../errors.js'
import {applySelector, type Selector} from '../selectors/index.js'
import {type ApplyContext, applyPlan, type ApplyResult, NAME_POOL, retryThrottled} from './apply.js'
import {pool} from '../util/async.js'
import {type EmitSink, EventCode, type EventSink, ignoreEvents, withCodes} from './events.js'
import {bySlot, isMember, type RawInstance, resolveSlot, toInstance} from './observe.js'
import {
  type Action,
  describeAction,
  isMutating,
  type MarkKind,
  type Plan,
  planCreate,
  planReboot,
  planStart,
  planStop,
  planTerminate,
  resolveSlotClaims,
} from './plan.js'
import {type AwsOptions, awsOptionsOf, type Ec2Port} from './ports.js'
import {planRevert, type RevertStrategy} from './revert.js'
import {revertSshWaiter, type SshWaiter} from './ssh-wait.js'
// Types only: src/exec itself is loaded on first use (import() below).
import type {ExecOptions, GetOptions, PutOptions} from '../exec/run.js'
import {specHash} from './spec.js'
import {checkLaunchSettings} from './launch-settings.js'
import {type WatchOptions, watchProject, type WatchResult} from './watch.js'
import {instanceName, projectTagValue, Tag} from './tags.js'
import {
  checkExtendRequest,
  expiredWarning,
  type ExtendPlan,
  type ExtendRequest,
  type ExtendTarget,
  planExtend,
} from './lease.js'
import {type Instance, instanceJson, type InstanceJson, isHealthy} from './types.js'

export interface AwsConnection {
  region?: string
  profile?: string
}

export interface ProjectOptions {
  /** An EC2 port to use instead of the SDK (tests, or a caller's own client). */
  port?: Ec2Port
  aws?: AwsConnection
  onEvent?: EventSink
  /** Aborting (Ctrl-C) stops waiting and starts nothing new: an InterruptedError says what was done. */
  signal?: AbortSignal
}

export interface OperationOptions {
  dryRun?: boolean
  wait?: boolean
  /** Overrides the project's signal for this operation. */
  signal?: AbortSignal
  /**
   * Called before any change with the instances the plan would terminate (create: those above
   * count.max; duplicate slot claims are not asked about), when there are any. Throwing stops
   * the operation with nothing changed: the CLI asks here, or refuses without --yes.
   */
  confirmTerminate?: (instances: InstanceJson[]) => Promise<void> | void
}

export interface RevertOperationOptions extends OperationOptions {
  strategy?: RevertStrategy
  /** rolling: slots replaced at a time. */
  surge?: number
  /** rolling: wait until each replacement answers over SSH before terminating the old one. */
  waitSsh?: boolean
  /** How to wait for SSH; defaults to wolphin's own SSH runner. */
  waitForSsh?: SshWaiter
}

export interface PlanJson {
  actions: Array<{
    id: number
    deps: number[]
    kind: string
    ids: string[]
    slots?: number[]
    /** Why, in words ("above count.max (3)"), when the planner gave a reason. */
    reason?: string
    /** A mark or unmark: `replaced` (by a revert) or `rebooting` (a hard reboot in progress). */
    mark?: MarkKind
    description: string
  }>
  skipped: Plan['skipped']
}

export interface OperationResult {
  project: string
  operation: string
  dryRun: boolean
  /** Nothing was selected, so nothing was done. */
  emptySelection: boolean
  plan: PlanJson
  launched: string[]
  instances: InstanceJson[]
}

export interface ExtendResult {
  project: string
  dryRun: boolean
  emptySelection: boolean
  extended: ExtendTarget[]
  skipped: ExtendPlan['skipped']
}

export interface StatusResult {
  project: string
  /** The region observed; null when the port cannot tell (a caller's own port without region()). */
  region: string | null
  instances: InstanceJson[]
}

export function planJson(plan: Plan, names: Map<string, string | null> = new Map()): PlanJson {
  return {
    actions: plan.actions.map((a: Action) => ({
      id: a.id,
      deps: a.deps,
      kind: a.kind,
      ids: a.ids,
      ...(a.slots ? {slots: a.slots} : {}),
      ...(a.reason ? {reason: a.reason} : {}),
      ...(a.mark ? {mark: a.mark} : {}),
      description: describeAction(a, names),
    })),
    skipped: plan.skipped,
  }
}

/** A project: the instances whose ProjectName tag is `wolphin.<project>`. */
export class Project {
  readonly config: ResolvedConfig
  private portPromise: Promise<Ec2Port> | null
  private readonly onEvent: EmitSink
  private readonly aws: AwsConnection
  private readonly signal: AbortSignal | undefined
  /** The newest raw observation an operation's waiter made (create repairs names from it). */
  private lastRaw: RawInstance[] | null = null
  private warnedExpired = false
  /** The image behind an `ami: resolve:ssm:` alias, read once per Project. */
  private currentImage: Promise<string | null> | null = null
  private resolvedImage: string | null = null

  constructor(config: ResolvedConfig, opts: ProjectOptions = {}) {
    this.config = config
    this.portPromise = opts.port ? Promise.resolve(opts.port) : null
    this.onEvent = withCodes(opts.onEvent ?? ignoreEvents)
    this.aws = opts.aws ?? {}
    this.signal = opts.signal
  }

  /** Loads and validates the config (files, discovery or inline), then makes the project. */
  static async fromConfig(opts: LoadConfigOptions & ProjectOptions = {}): Promise<Project> {
    const {config, warnings} = await loadConfig(opts)
    for (const message of warnings) opts.onEvent?.({type: 'warn', code: EventCode.Warn, message})
    return new Project(config, {...opts, aws: {region: opts.region, ...opts.aws}})
  }

  get name(): string {
    return this.config.project
  }

  get spec(): string {
    return specHash(this.config)
  }

  /** The EC2 port; the SDK is loaded on first use only. */
  port(): Promise<Ec2Port> {
    this.portPromise ??= import('../aws/ec2.js').then((m) => m.createEc2Port(this.awsOptions()))
    return this.portPromise
  }

  /** Region, profile, retry settings and time limits of every AWS client of the project. */
  awsOptions(): AwsOptions {
    return awsOptionsOf(this.config, this.aws)
  }

  /** Runs a command on the running instances of the selection, over SSH or SSM (src/exec). */
  async exec(selector: Selector | null, command: string, opts: ExecOptions = {}) {
    const {execOnProject} = await import('../exec/run.js')
    return execOnProject(this, selector, command, this.withSignal(opts))
  }

  /** Copies a file or directory tree to the running instances of the selection over SFTP. */
  async put(selector: Selector | null, local: string, remote: string, opts: PutOptions = {}) {
    const {putOnProject} = await import('../exec/run.js')
    return putOnProject(this, selector, local, remote, this.withSignal(opts))
  }

  /** Copies a remote file or tree from the running instances of the selection into LOCAL/<Name>/. */
  async get(selector: Selector | null, remote: string, local: string, opts: GetOptions = {}) {
    const {getFromProject} = await import('../exec/run.js')
    return getFromProject(this, selector, remote, local, this.withSignal(opts))
  }

  /** The project's signal (Ctrl-C) unless the call brings its own. */
  private withSignal<O extends {signal?: AbortSignal}>(opts: O): O {
    return {signal: this.signal, ...opts}
  }

  /**
   * Checks the config against the account before anything is launched: AMI, key pair, security
   * groups, subnet and instance profile exist, and RunInstances with DryRun=true is permitted.
   */
  async validate(opts: {port?: import('./validate.js').ValidationPort} = {}) {
    checkLaunchSettings(this.config)
    const {validateLaunch} = await import('./validate.js')
    const port = opts.port ?? (await import('../aws/validate.js')).createValidationPort(this.awsOptions())
    return validateLaunch(this.config, port, this.spec)
  }

  /**
   * For `ami: resolve:ssm:NAME`, the image the parameter names now (one SSM GetParameter, made
   * alongside the DescribeInstances): drift compares the instances' images with it. Null for a
   * plain AMI id, or when it cannot be read (a warning says drift then compares the spec only).
   */
  private async resolveCurrentImage(port: Ec2Port): Promise<string | null> {
    const ami = this.config.ami
    if (!isAmiAlias(ami)) return null
    this.currentImage ??= (async () => {
      if (!port.resolveImageAlias) return null
      try {
        return (this.resolvedImage = await port.resolveImageAlias(ami))
      } catch (e) {
        this.onEvent({
          type: 'warn',
          code: EventCode.ImageUnreadable,
          message: `cannot read the image behind ${ami} (${(e as Error).message}); drift compares the launch spec only`,
        })
        return null
      }
    })()
    return this.currentImage
  }

  private async observeRaw(): Promise<RawInstance[]> {
    const port = await this.port()
    const [raw] = await Promise.all([
      port.describeProject(projectTagValue(this.name)),
      this.resolveCurrentImage(port),
    ])
    // EC2's tag filter is trusted only as far as the exact tag value we re-check here.
    const mine = raw.filter((r) => isMember(r, this.name))
    this.onEvent({type: 'observed', count: mine.length})
    // Every command that observes the project says so when some of it outlived its lease.
    const expired = this.warnedExpired ? null : expiredWarning(this.name, mine, Date.now())
    if (expired) {
      this.warnedExpired = true
      this.onEvent({type: 'warn', code: EventCode.LeaseExpired, message: expired})
    }
    return mine
  }

  private toInstances(raw: RawInstance[]): Instance[] {
    const spec = this.config.ami ? this.spec : null
    return raw.map((r) => toInstance(r, this.name, spec, this.resolvedImage)).sort(bySlot)
  }

  /** Every instance EC2 still reports for the project, terminated included. */
  async observe(): Promise<Instance[]> {
    return this.toInstances(await this.observeRaw())
  }

  async status(selector: Selector | null = null): Promise<StatusResult> {
    const instances = await applySelector(selector, await this.observe())
    return {project: this.name, region: await this.region(), instances: instances.map(instanceJson)}
  }

  /** The region this project's port talks to (the resolved one, not only the configured one). */
  async region(): Promise<string | null> {
    const port = await this.port()
    return port.region ? await port.region() : (this.aws.region ?? this.config.region ?? null)
  }

  /** Moves the lease (`wolphin:expires-at`) of the live selection: one CreateTags per new value. */
  async extend(
    selector: Selector | null,
    req: ExtendRequest,
    opts: {dryRun?: boolean} = {},
  ): Promise<ExtendResult> {
    const now = Date.now()
    checkExtendRequest(req, {now, maxLease: this.config.maxLease})
    const selection = await applySelector(selector, await this.observe())
    const plan = planExtend(selection, req, {now, maxLease: this.config.maxLease})
    const result: ExtendResult = {
      project: this.name,
      dryRun: Boolean(opts.dryRun),
      emptySelection: selection.length === 0,
      extended: plan.targets,
      skipped: plan.skipped,
    }
    if (opts.dryRun || !plan.groups.length) return result
    const port = await this.port()
    for (const g of plan.groups) await port.createTags(g.ids, {[Tag.ExpiresAt]: g.expiresAt})
    return result
  }

  async create(opts: OperationOptions = {}): Promise<OperationResult> {
    if (!this.config.ami)
      throw new ConfigError(
        'field "ami" is required to launch instances (expected an AMI id like ami-0123456789abcdef0)',
      )
    checkLaunchSettings(this.config)
    if (this.config.lease === undefined)
      this.onEvent({
        type: 'warn',
        code: EventCode.NoLease,
        message: `project ${this.name} has no lease: its instances run until someone stops them; add "lease: 8h" to the config (see docs/leases.md)`,
      })
    const raw = await this.observeRaw()
    const observed = this.toInstances(raw)
    const plan = planCreate(observed, {count: this.config.count, wait: opts.wait ?? true})
    const result = await this.execute(plan, raw, observed, null, opts)
    if (!result.dryRun) await this.repairNames(this.lastRaw ?? raw, result)
    return result
  }

  /**
   * With `nameTags: per-instance`, members whose Name or wolphin:slot tag is missing or wrong get it
   * back: an interrupted multi-instance launch (its slots came with wolphin:slots), the survivor of
   * a duplicate launch whose answer was lost, or a fleet launched before the setting. One
   * CreateTags per such instance (16 at a time, retried when throttled); none when all is well.
   * With `launch` identity is complete from the launch and nothing is written.
   */
  private async repairNames(raw: RawInstance[], result: OperationResult): Promise<void> {
    if (this.config.nameTags !== 'per-instance') return
    const gone = new Set(result.instances.filter((i) => !isHealthy(i)).map((i) => i.id))
    const todo = raw.flatMap((r) => {
      if (!isHealthy(r) || gone.has(r.id)) return []
      const slot = resolveSlot(r, this.name)
      if (slot === null) return []
      const name = instanceName(this.name, slot)
      return r.tags[Tag.Name] === name && r.tags[Tag.Slot] === String(slot) ? [] : [{id: r.id, slot, name}]
    })
    if (!todo.length) return
    const port = await this.port()
    await pool(todo, NAME_POOL, async (t) => {
      try {
        await retryThrottled(() => port.createTags([t.id], {[Tag.Name]: t.name, [Tag.Slot]: String(t.slot)}))
        this.onEvent({
          type: 'info',
          code: EventCode.InstanceNamed,
          message: `named ${t.id} ${t.name}`,
          data: t,
        })
      } catch (e) {
        // Identity is complete without it; the next create tries again.
        this.onEvent({
          type: 'warn',
          code: EventCode.NameFailed,
          data: t,
          message: `could not name ${t.id} ${t.name}: ${(e as Error).message}`,
        })
      }
    })
  }

  /**
   * Every command that launched observes once more after its launches (the last waiter poll when
   * it made one then, else one DescribeInstances) and settles duplicate slot claims by the one rule
   * (slots.ts): two creates racing, a create beside a revert, or a launch whose answer was lost and
   * retried (EC2 honours ClientToken; an endpoint that ignores it launches twice). Returns the
   * final observation; the result then lists every instance that holds a touched slot. Throws a
   * PartialFailureError naming the duplicates when they cannot be terminated.
   */
  private async settle(
    result: OperationResult,
    applied: ApplyResult,
    selection: Instance[] | null,
  ): Promise<RawInstance[]> {
    const raw =
      applied.observedAfterLaunches && applied.lastObservation
        ? applied.lastObservation
        : await this.observeRaw()
    // EC2 is eventually consistent: an instance just launched may not be listed yet. It is ours
    // all the same (RunInstances answered with it), so it counts, and the result shows it.
    const listed = new Set(raw.map((r) => r.id))
    const final = this.toInstances([...raw, ...applied.launchedRaw.filter((r) => !listed.has(r.id))])
    const {duplicates} = resolveSlotClaims(final)
    const gone = new Set(duplicates.map((d) => d.id))
    if (duplicates.length) {
      const list = duplicates.map((d) => `${d.id} (${d.name ?? 'no name'})`).join(', ')
      this.onEvent({
        type: 'warn',
        code: EventCode.DuplicatesTerminated,
        data: {ids: [...gone]},
        message: `terminating ${duplicates.length} duplicate slot claim(s), the earliest launched keeps each slot: ${list}`,
      })
      try {
        await (await this.port()).terminateInstances([...gone])
      } catch (e) {
        const failures =
          e instanceof PartialFailureError
            ? e.failures
            : duplicates.map((d) => ({id: d.id, name: d.name ?? undefined, reason: (e as Error).message}))
        throw new PartialFailureError(
          `${result.operation}: duplicate slot claim(s) left running: ${failures.map((f) => f.id).join(', ')}`,
          failures,
          result,
        )
      }
    }
    const launched = new Set(applied.launched)
    const touchedSlots = new Set(
      [...(selection ?? final), ...final.filter((i) => launched.has(i.id))].flatMap((i) =>
        i.slot === null ? [] : [i.slot],
      ),
    )
    const touched = new Set([...(selection ?? final).map((i) => i.id), ...launched])
    result.instances = final
      .filter(
        (i) =>
          selection === null ||
          touched.has(i.id) ||
          (i.slot !== null && touchedSlots.has(i.slot) && isHealthy(i)),
      )
      .map((i) => instanceJson(gone.has(i.id) ? {...i, state: 'shutting-down'} : i))
    return raw
  }

  /**
   * A launching command failed: a launch whose answer was lost (a reset connection, a timeout) may
   * have gone through, and nothing would then say that instances run and bill. Observes once more
   * and adds to the error's `launched` every live instance that was not there before the run. An
   * interruption reports its own launches (and stops at once).
   */
  private async reportAppeared(e: unknown, before: RawInstance[]): Promise<void> {
    if (!(e instanceof WolphinError) || e instanceof InterruptedError) return
    const seen = new Set(before.map((r) => r.id))
    try {
      const appeared = (await this.observeRaw())
        .filter((r) => !seen.has(r.id) && r.state !== 'terminated' && r.state !== 'shutting-down')
        .map((r) => r.id)
      if (appeared.length) e.launched = [...new Set([...(e.launched ?? []), ...appeared])]
    } catch {
      this.onEvent({
        type: 'warn',
        code: EventCode.LaunchUnknown,
        message: `could not observe project ${this.name} again to tell whether the launch went through: run \`wolphin status\``,
      })
    }
  }

  async start(selector: Selector | null, opts: OperationOptions = {}) {
    return this.selectionOperation(selector, opts, (sel) => planStart(sel, {wait: opts.wait ?? true}))
  }

  async stop(selector: Selector | null, opts: OperationOptions = {}) {
    return this.selectionOperation(selector, opts, (sel) => planStop(sel, {wait: opts.wait ?? true}))
  }

  async reboot(selector: Selector | null, opts: OperationOptions & {hard?: boolean} = {}) {
    return this.selectionOperation(selector, opts, (sel) =>
      planReboot(sel, {wait: opts.wait ?? true, hard: opts.hard ?? false}),
    )
  }

  /**
   * Replaces the selection with fresh instances from the configured spec, keeping slots and Names
   * (see revert.ts for the strategies and how a re-run completes an interrupted revert).
   */
  async revert(selector: Selector | null, opts: RevertOperationOptions = {}): Promise<OperationResult> {
    if (!this.config.ami)
      throw new ConfigError(
        'field "ami" is required to launch instances (expected an AMI id like ami-0123456789abcdef0)',
      )
    checkLaunchSettings(this.config)
    const strategy = opts.strategy ?? 'sequential'
    const raw = await this.observeRaw()
    const observed = this.toInstances(raw)
    const selection = await applySelector(selector, observed)
    const plan = planRevert(observed, selection, {
      strategy,
      surge: opts.surge,
      wait: opts.wait ?? true,
      waitSsh: Boolean(opts.waitSsh),
      runId: new Date().toISOString(),
    })
    const waitSsh = opts.waitSsh
      ? revertSshWaiter(this, opts.waitForSsh, opts.signal ?? this.signal)
      : undefined
    return this.execute(plan, raw, observed, selection, opts, {waitSsh})
  }

  /** Re-observes at an interval and reports each state transition (see watch.ts). */
  watch(selector: Selector | null, opts: WatchOptions<InstanceJson>): Promise<WatchResult<InstanceJson>> {
    return watchProject(this, selector, {signal: this.signal, ...opts})
  }

  async terminate(selector: Selector | null, opts: OperationOptions = {}) {
    return this.selectionOperation(selector, opts, (sel) => planTerminate(sel, {wait: opts.wait ?? true}))
  }

  private async selectionOperation(
    selector: Selector | null,
    opts: OperationOptions,
    planner: (selection: Instance[]) => Plan,
  ): Promise<OperationResult> {
    const raw = await this.observeRaw()
    const observed = this.toInstances(raw)
    const selection = await applySelector(selector, observed)
    const plan = planner(selection)
    return this.execute(plan, raw, observed, selection, opts)
  }

  private async execute(
    plan: Plan,
    raw: RawInstance[],
    observed: Instance[],
    selection: Instance[] | null,
    opts: OperationOptions,
    extra: Pick<ApplyContext, 'waitSsh'> = {},
  ): Promise<OperationResult> {
    const names = new Map(observed.map((i) => [i.id, i.name]))
    const result: OperationResult = {
      project: this.name,
      operation: plan.operation,
      dryRun: Boolean(opts.dryRun),
      emptySelection: selection !== null && selection.length === 0,
      plan: planJson(plan, names),
      launched: [],
      instances: (selection ?? observed).map(instanceJson),
    }
    if (opts.confirmTerminate && !opts.dryRun && !result.emptySelection) {
      // Asked before the plan is announced, so no progress display runs under the question.
      const doomed = new Set(
        plan.actions.filter((a) => a.kind === 'terminate' && !a.converges).flatMap((a) => a.ids),
      )
      if (doomed.size) await opts.confirmTerminate(observed.filter((i) => doomed.has(i.id)).map(instanceJson))
    }
    this.onEvent({type: 'plan', plan})
    if (result.emptySelection) {
      this.onEvent({
        type: 'info',
        code: EventCode.EmptySelection,
        message: 'no instance matches the selection; nothing to do',
      })
      return result
    }
    if (opts.dryRun || (!isMutating(plan) && plan.actions.length === 0)) return result
    const signal = opts.signal ?? this.signal
    if (signal?.aborted) {
      throw new InterruptedError(
        `interrupted before any change: 0 of ${plan.actions.length} action(s) done`,
        {
          done: [],
          notDone: result.plan.actions.map((a) => a.description),
        },
      )
    }
    const applied = await applyPlan(plan, {
      port: await this.port(),
      config: this.config,
      spec: this.spec,
      onEvent: this.onEvent,
      observed: raw,
      signal,
      ...extra,
    }).catch(async (e: unknown) => {
      if (plan.actions.some((a) => a.kind === 'launch')) await this.reportAppeared(e, raw)
      throw e
    })
    result.launched = applied.launched
    this.lastRaw = applied.lastObservation
    if (applied.launched.length) {
      this.lastRaw = await this.settle(result, applied, selection)
    } else if (applied.lastObservation) {
      // The last waiter poll already holds the final state: no extra DescribeInstances.
      const final = this.toInstances(applied.lastObservation)
      const touched = new Set([...(selection ?? observed).map((i) => i.id), ...applied.launched])
      result.instances = (selection === null ? final : final.filter((i) => touched.has(i.id))).map(
        instanceJson,
      )
    } else {
      // Not waited for (--no-wait): the state each call put its instances in, as EC2 answers it.
      const failed = new Set(applied.failures.map((f) => f.id))
      const after = new Map<string, InstanceJson['state']>()
      const NEXT = {terminate: 'shutting-down', stop: 'stopping', start: 'pending'} as const
      for (const a of plan.actions)
        if (a.kind in NEXT) for (const id of a.ids) after.set(id, NEXT[a.kind as keyof typeof NEXT])
      result.instances = result.instances.map((i) =>
        after.has(i.id) && !failed.has(i.id) ? {...i, state: after.get(i.id)!} : i,
      )
    }
    if (applied.failures.length) {
      const failures = applied.failures.map((f) => ({...f, name: f.name ?? names.get(f.id) ?? undefined}))
      throw new PartialFailureError(
        `${plan.operation}: ${failures.length} instance(s) failed, the rest was done: ${failures.map((f) => f.id).join(', ')}`,
        failures,
        result,
      )
    }
    return result
  }
}
