/**
 * The benchmark harness (`npm run bench`): wolphin against the tools a user would otherwise reach
 * for, in one run on one machine. Starts moto on loopback, seeds it, runs every benchmark after a
 * warm-up, and writes bench/results.json, bench/results.md (the table) and docs/benchmarks.md.
 *
 *   npx tsx bench/run.ts [--runs 5] [--scale 2000] [--status 200] [--skip exec,scale,...]
 *
 * Only 127.0.0.0/8 is ever dialled: moto, the counting proxy and the exec benchmark's sshds.
 */
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {EC2Client, RunInstancesCommand} from '@aws-sdk/client-ec2'

import {encodeSlots} from '../src/project/tags.js'
import {type CountingProxy, startCountingProxy} from '../test/support/counting-proxy.js'
import {TEST_AMI, testClient} from '../test/support/ec2.js'
import {type Moto, startMoto} from '../test/support/moto.js'
import {type RunOutcome, stats, type Stats, timedRun} from './measure.js'
import {seedMembers, seedNeighbourFleet} from './seed.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin/run.js')
const AWS = process.env.WOLPHIN_BENCH_AWS ?? '/usr/bin/aws'

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt
}
const RUNS = Number(arg('runs', '5'))
const STATUS_N = Number(arg('status', '200'))
const SCALE_N = Number(arg('scale', '2000'))
const SKIP = new Set(arg('skip', '').split(',').filter(Boolean))
const ECO_NS = arg('eco', '1,10,100').split(',').map(Number)

const log = (...xs: unknown[]) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...xs)
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d

/** Environment of every measured child: fake credentials, no user config, no pager. */
function childEnv(endpoint: string | null): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_PAGER: '',
    NODE_NO_WARNINGS: '1',
  }
  if (endpoint) env.AWS_ENDPOINT_URL = endpoint
  return env
}

// ---------------------------------------------------------------------------------------------
// Results

interface Side {
  command: string
  wallMs: Stats
  rssMb: Stats | null
  /** The single run against the live emulator (warm-up), when the timed runs were replayed. */
  liveWallMs?: number
  calls?: Record<string, number>
  /** TCP connections one run opened to the endpoint. */
  connections?: number
}

interface Comparison {
  id: string
  title: string
  wolphin: Side
  peer: Side
  ratio: number
  liveRatio?: number
  target: string
  met: boolean
  notes: string[]
}

interface EconomyRow {
  operation: string
  n: number
  calls: Record<string, number>
  total: number
  minimum: Record<string, number>
  minimumTotal: number
  waiterPolls: number
  /** Calls beyond the minimum that are not waiter polls. */
  excess: Record<string, number>
  ok: boolean
  note?: string
  /** TCP connections the run opened to the endpoint. */
  connections?: number
}

interface Results {
  generatedAt: string
  machine: Record<string, string | number>
  versions: Record<string, string>
  runs: number
  comparisons: Comparison[]
  economy: EconomyRow[]
  economyGrowth: Array<{operation: string; action: string; byN: Record<string, number>}>
  exec: unknown
  /** put of a 2000-file tree to 1 and 4 hosts against rsync -a over ssh (bench/put-tree.ts). */
  put?: unknown
  /** Where the time goes: `node --cpu-prof` self time by package, per profiled command. */
  profiles: Record<string, {command: string; profiledMs: number; buckets: Array<[string, number]>}>
  commands: Record<string, string>
  durationS: number
}

// ---------------------------------------------------------------------------------------------
// Machine and versions

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim()
  } catch (e) {
    const err = e as {stdout?: string; stderr?: string}
    return (err.stdout || err.stderr || '').toString().trim() || 'unavailable'
  }
}

function machine(): Record<string, string | number> {
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''
  return {
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    os: /PRETTY_NAME="([^"]+)"/.exec(osRelease)?.[1] ?? `${os.type()} ${os.release()}`,
    kernel: os.release(),
    loadAverageAtStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  }
}

function versions(): Record<string, string> {
  const pjson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}
  const motoBin = process.env.WOLPHIN_MOTO_SERVER ?? path.join(ROOT, '.cache/moto-venv/bin/moto_server')
  const motoPython = path.join(path.dirname(motoBin), 'python3')
  const psshVersion = sh('dpkg-query', ['-W', '-f=${Version}', 'pssh'])
  return {
    wolphin: pjson.version,
    node: process.version,
    'aws-cli': sh(AWS, ['--version']),
    awscliPackage: `Debian awscli ${sh('dpkg-query', ['-W', '-f=${Version}', 'awscli'])}`,
    moto: existsSync(motoPython) ? sh(motoPython, ['-c', 'import moto; print(moto.__version__)']) : 'unknown',
    pssh: `Debian pssh ${psshVersion} (${sh('parallel-ssh', ['--version']) || 'parallel-ssh'})`,
    '@oclif/core': pkgVersion('@oclif/core'),
    '@aws-sdk/client-ec2': pkgVersion('@aws-sdk/client-ec2'),
  }
}

function pkgVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string
      }
    ).version
  } catch {
    return 'unknown'
  }
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

interface Runner {
  label: string
  cmd: string
  args: string[]
  env: Record<string, string | undefined>
  cwd?: string
  /** Throws when the output is not what the command should print. */
  check?: (r: RunOutcome) => void
}

const display = (r: Runner) =>
  [r.cmd === process.execPath ? 'node' : r.cmd, ...r.args].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')

async function runChecked(r: Runner): Promise<RunOutcome> {
  const out = await timedRun(r.cmd, r.args, {env: r.env, cwd: r.cwd})
  if (out.code !== 0)
    throw new Error(`${r.label}: exit ${out.code}: ${out.stderr.slice(0, 1500) || out.stdout.slice(0, 500)}`)
  r.check?.(out)
  return out
}

/**
 * Warm-up (one run each, not counted), then `runs` rounds alternating the two commands, so a burst
 * of load on the machine hits both alike.
 */
async function compare(
  a: Runner,
  b: Runner,
  runs: number,
  hooks: {afterRun?: (label: string) => void; afterWarmup?: () => void} = {},
): Promise<{a: RunOutcome[]; b: RunOutcome[]; warm: [RunOutcome, RunOutcome]}> {
  const one = async (r: Runner) => {
    const out = await runChecked(r)
    hooks.afterRun?.(r.label)
    return out
  }
  const wa = await one(a)
  const wb = await one(b)
  hooks.afterWarmup?.()
  const ra: RunOutcome[] = []
  const rb: RunOutcome[] = []
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      ra.push(await one(a))
      rb.push(await one(b))
    } else {
      rb.push(await one(b))
      ra.push(await one(a))
    }
  }
  return {a: ra, b: rb, warm: [wa, wb]}
}

function side(r: Runner, outs: RunOutcome[]): Side {
  const rss = outs.map((o) => o.rssMb).filter((x): x is number => x !== null)
  return {
    command: display(r),
    wallMs: stats(outs.map((o) => round(o.wallMs))),
    rssMb: rss.length ? stats(rss.map((x) => round(x))) : null,
  }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

async function startupBench(results: Results): Promise<void> {
  const env = childEnv(null)
  const aws: Runner = {label: 'aws --version', cmd: AWS, args: ['--version'], env}
  for (const flag of ['--version', '--help']) {
    const w: Runner = {
      label: `wolphin ${flag}`,
      cmd: process.execPath,
      args: [BIN, flag],
      env,
      check: (o) => {
        if (flag === '--version' && !/^wolphin\/\S+ \S+ node-v/.test(o.stdout))
          throw new Error(`unexpected --version output: ${o.stdout}`)
        if (flag === '--help' && !/COMMANDS/.test(o.stdout)) throw new Error('--help printed no COMMANDS')
      },
    }
    const runs = Math.max(RUNS * 2, 10)
    log(`start-up: ${w.label} vs ${aws.label}, ${runs} runs each`)
    const r = await compare(w, aws, runs)
    const ws = side(w, r.a)
    const as = side(aws, r.b)
    const ratio = ws.wallMs.median / as.wallMs.median
    results.comparisons.push({
      id: `startup${flag}`,
      title: `start-up: \`wolphin ${flag}\` vs \`aws --version\``,
      wolphin: ws,
      peer: as,
      ratio: round(ratio, 3),
      target: '<= 0.2x',
      met: ratio <= 0.2,
      notes: [],
    })
    await profile(results, `wolphin ${flag}`, [flag], env)
  }
}

interface StatusSetup {
  moto: Moto
  proxy: CountingProxy
  dir: string
  project: string
}

async function statusLike(
  results: Results,
  s: StatusSetup,
  opts: {id: string; title: string; n: number; target: number; rssTargetMb?: number; describeCalls?: number},
): Promise<void> {
  const env = childEnv(s.proxy.endpoint)
  const count = (json: string, pick: (j: Record<string, unknown>) => number) => pick(JSON.parse(json))
  const w: Runner = {
    label: 'wolphin status --json',
    cmd: process.execPath,
    args: [BIN, 'status', '--json'],
    env,
    cwd: s.dir,
    check: (o) => {
      const n = count(o.stdout, (j) => (j.instances as unknown[]).length)
      if (n !== opts.n) throw new Error(`wolphin status listed ${n} instances, expected ${opts.n}`)
    },
  }
  const aws: Runner = {
    label: 'aws ec2 describe-instances',
    cmd: AWS,
    args: [
      'ec2',
      'describe-instances',
      '--endpoint-url',
      s.proxy.endpoint,
      '--filters',
      `Name=tag:ProjectName,Values=wolphin.${s.project}`,
    ],
    env,
    cwd: s.dir,
    check: (o) => {
      const n = count(o.stdout, (j) =>
        (j.Reservations as Array<{Instances: unknown[]}>).reduce((a, r) => a + r.Instances.length, 0),
      )
      if (n !== opts.n) throw new Error(`aws-cli listed ${n} instances, expected ${opts.n}`)
    },
  }
  // The warm-up runs go to moto itself and fill the replay store; the timed runs get moto's
  // recorded answers byte for byte (see docs/benchmarks.md: moto's own time is O(n^2) in tags).
  s.proxy.reset()
  s.proxy.setReplay((action) => action === 'DescribeInstances')
  const calls: Record<string, Record<string, number>> = {}
  const replayed: Record<string, number> = {}
  const conns: Record<string, number> = {}
  log(`${opts.id}: warm-up against live moto (${opts.n} instances), then ${RUNS} replayed runs each`)
  const r = await compare(w, aws, RUNS, {
    afterRun: (label) => {
      const c = s.proxy.calls()
      replayed[label] = c.filter((x) => x.replayed).length
      conns[label] = s.proxy.connections()
      calls[label] = s.proxy.take()
    },
  })
  await profile(
    results,
    `wolphin status --json (${opts.n} instances, replayed)`,
    ['status', '--json'],
    env,
    s.dir,
  )
  s.proxy.reset()
  s.proxy.setReplay(null)
  if (
    replayed[w.label] !== calls[w.label].DescribeInstances ||
    replayed[aws.label] !== calls[aws.label].DescribeInstances
  )
    throw new Error(`${opts.id}: timed runs were not all answered from the replay store`)
  const ws: Side = {
    ...side(w, r.a),
    liveWallMs: round(r.warm[0].wallMs),
    calls: calls[w.label],
    connections: conns[w.label],
  }
  const as: Side = {
    ...side(aws, r.b),
    liveWallMs: round(r.warm[1].wallMs),
    calls: calls[aws.label],
    connections: conns[aws.label],
  }
  const ratio = ws.wallMs.median / as.wallMs.median
  const liveRatio = r.warm[0].wallMs / r.warm[1].wallMs
  const notes: string[] = []
  let met = ratio <= opts.target
  if (opts.describeCalls !== undefined) {
    const d = calls[w.label].DescribeInstances ?? 0
    notes.push(`wolphin made ${d} DescribeInstances call(s) (target exactly ${opts.describeCalls})`)
    met &&= d === opts.describeCalls
  }
  if (opts.rssTargetMb !== undefined) {
    const rss = ws.rssMb?.max ?? Infinity
    notes.push(
      `wolphin peak RSS ${ws.rssMb ? `${ws.rssMb.max} MB (max of runs)` : 'not measured'} (target <= ${opts.rssTargetMb} MB)`,
    )
    met &&= rss <= opts.rssTargetMb
  }
  results.comparisons.push({
    id: opts.id,
    title: opts.title,
    wolphin: ws,
    peer: as,
    ratio: round(ratio, 3),
    liveRatio: round(liveRatio, 3),
    target: `<= ${opts.target}x`,
    met,
    notes,
  })
}

async function setupStatus(project: string): Promise<StatusSetup> {
  const moto = await startMoto()
  const proxy = await startCountingProxy(moto.endpoint)
  const dir = await mkdtemp(path.join(ROOT, 'bench/tmp/status-'))
  await writeFile(path.join(dir, 'wolphin.yaml'), `project: ${project}\n`)
  return {moto, proxy, dir, project}
}

async function teardown(s: {moto: Moto; proxy: CountingProxy; dir: string}) {
  await s.proxy.close()
  await s.moto.stop()
  await rm(s.dir, {recursive: true, force: true})
}

async function statusBench(results: Results): Promise<void> {
  const s = await setupStatus('bench')
  try {
    const client = testClient(s.moto.endpoint)
    log(`status: seeding ${STATUS_N} members (one reservation each) and 50 neighbours`)
    await seedNeighbourFleet(client, 'bench', 50)
    await seedMembers(client, 'bench', {from: 1, count: STATUS_N})
    await statusLike(results, s, {
      id: 'status',
      title: `status: \`wolphin status --json\` vs \`aws ec2 describe-instances --filters ...\` (${STATUS_N} instances)`,
      n: STATUS_N,
      target: 0.35,
      describeCalls: Math.max(1, Math.ceil(STATUS_N / 1000)),
    })
  } finally {
    await teardown(s)
  }
}

async function scaleBench(results: Results): Promise<void> {
  const s = await setupStatus('scale')
  try {
    const client = testClient(s.moto.endpoint)
    // moto pages DescribeInstances by reservation (real EC2 by instance): 1000 one-instance
    // reservations plus one reservation of the rest make two pages of MaxResults=1000 either way.
    const singles = Math.min(1000, SCALE_N)
    log(`scale: seeding ${SCALE_N} members (${singles} single reservations + 1 of ${SCALE_N - singles})`)
    const t0 = performance.now()
    await seedMembers(client, 'scale', {from: 1, count: singles, tagsOnly: ['ProjectName', 'wolphin:slot']})
    if (SCALE_N > singles) await seedBigReservation(client, 'scale', singles + 1, SCALE_N - singles)
    log(`scale: seeded in ${round((performance.now() - t0) / 1000)} s`)
    await statusLike(results, s, {
      id: 'scale',
      title: `scale: \`wolphin status --json\` over ${SCALE_N} instances vs the same aws-cli query`,
      n: SCALE_N,
      target: 0.5,
      rssTargetMb: 200,
      describeCalls: Math.ceil(SCALE_N / 1000),
    })
  } finally {
    await teardown(s)
  }
}

async function seedBigReservation(client: EC2Client, project: string, from: number, count: number) {
  // As wolphin writes it (src/project/tags.ts encodeSlots): ranges, within EC2's 256-character limit.
  const slots = encodeSlots(Array.from({length: count}, (_, i) => from + i))
  await client.send(
    new RunInstancesCommand({
      ImageId: TEST_AMI,
      InstanceType: 't3.micro',
      MinCount: count,
      MaxCount: count,
      TagSpecifications: [
        {
          ResourceType: 'instance',
          Tags: [
            {Key: 'ProjectName', Value: `wolphin.${project}`},
            {Key: 'wolphin:slots', Value: slots},
          ],
        },
      ],
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Profiles: measured, not guessed

async function profile(
  results: Results,
  id: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bench-prof-'))
  try {
    const out = await timedRun(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, ...args], {
      env,
      cwd,
    })
    if (out.code !== 0) throw new Error(`profiling ${id}: exit ${out.code}: ${out.stderr.slice(0, 500)}`)
    const {readdir, readFile} = await import('node:fs/promises')
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'))
    if (!file) throw new Error(`profiling ${id}: no .cpuprofile written`)
    const {summarise} = await import('./profile-summary.js')
    const {totalMs, buckets} = summarise(JSON.parse(await readFile(path.join(dir, file), 'utf8')))
    results.profiles[id] = {
      command: `node --cpu-prof bin/run.js ${args.join(' ')}`,
      profiledMs: round(totalMs),
      buckets: buckets.slice(0, 8).map(([b, t]) => [b, round(t)] as [string, number]),
    }
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

// ---------------------------------------------------------------------------------------------
// API-call economy

function economyRow(
  operation: string,
  n: number,
  calls: Record<string, number>,
  minimum: Record<string, number>,
  note?: string,
): EconomyRow {
  const describe = calls.DescribeInstances ?? 0
  const minDescribe = minimum.DescribeInstances ?? 0
  const waiterPolls = Math.max(0, describe - minDescribe)
  const excess: Record<string, number> = {}
  for (const [action, c] of Object.entries(calls)) {
    if (action === 'DescribeInstances') continue
    const extra = c - (minimum[action] ?? 0)
    if (extra > 0) excess[action] = extra
  }
  const missing = Object.entries(minimum).some(([a, m]) => a !== 'DescribeInstances' && (calls[a] ?? 0) < m)
  return {
    operation,
    n,
    calls,
    total: Object.values(calls).reduce((a, b) => a + b, 0),
    minimum,
    minimumTotal: Object.values(minimum).reduce((a, b) => a + b, 0),
    waiterPolls,
    excess,
    ok: Object.keys(excess).length === 0 && !missing && describe >= minDescribe,
    note,
  }
}

async function economyBench(results: Results): Promise<void> {
  const moto = await startMoto()
  const proxy = await startCountingProxy(moto.endpoint)
  const dir = await mkdtemp(path.join(ROOT, 'bench/tmp/economy-'))
  const hasRevert = existsSync(path.join(ROOT, 'src/commands/revert.ts'))
  try {
    await seedNeighbourFleet(testClient(moto.endpoint), 'eco', 20)
    const env = childEnv(proxy.endpoint)
    let lastConnections = 0
    const cli = async (cwd: string, ...args: string[]) => {
      proxy.reset()
      const r = await timedRun(process.execPath, [BIN, ...args], {env, cwd})
      if (r.code !== 0)
        throw new Error(`wolphin ${args.join(' ')}: exit ${r.code}: ${r.stderr.slice(0, 1500)}`)
      lastConnections = proxy.connections()
      return proxy.take()
    }
    const rows: EconomyRow[] = []
    const add = (row: EconomyRow) => rows.push({...row, connections: lastConnections})
    for (const n of ECO_NS) {
      const project = `eco${n}`
      const cwd = path.join(dir, project)
      await mkdir(cwd, {recursive: true})
      await writeFile(
        path.join(cwd, 'wolphin.yaml'),
        `project: ${project}\nami: ${TEST_AMI}\ncount: ${n}\nwait: {interval: 0.2, timeout: 120}\n`,
      )
      log(`economy: N=${n}`)
      const launchMin = {DescribeInstances: 1, RunInstances: 1}
      add(economyRow('create (from empty)', n, await cli(cwd, 'create', '--json'), launchMin))
      add(
        economyRow('create (again: converged)', n, await cli(cwd, 'create', '--json'), {
          DescribeInstances: 1,
        }),
      )
      add(economyRow('status', n, await cli(cwd, 'status', '--json'), {DescribeInstances: 1}))
      add(
        economyRow('stop', n, await cli(cwd, 'stop', '--yes', '--json'), {
          DescribeInstances: 1,
          StopInstances: 1,
        }),
      )
      add(
        economyRow('start', n, await cli(cwd, 'start', '--yes', '--json'), {
          DescribeInstances: 1,
          StartInstances: 1,
        }),
      )
      if (hasRevert)
        add(
          economyRow(
            'revert --strategy batch',
            n,
            await cli(cwd, 'revert', '--strategy', 'batch', '--yes', '--json'),
            {DescribeInstances: 1, CreateTags: 1, TerminateInstances: 1, RunInstances: 1},
            'minimum: mark the selection (one CreateTags), terminate, one launch',
          ),
        )
      add(
        economyRow('terminate', n, await cli(cwd, 'terminate', '--yes', '--json'), {
          DescribeInstances: 1,
          TerminateInstances: 1,
        }),
      )
    }
    // create with count.min < count.max: moto starts MinCount only, so wolphin asks again for the rest.
    const cwd = path.join(dir, 'ecominmax')
    await mkdir(cwd, {recursive: true})
    await writeFile(
      path.join(cwd, 'wolphin.yaml'),
      `project: ecominmax\nami: ${TEST_AMI}\ncount: {min: 5, max: 10}\nwait: {interval: 0.2, timeout: 120}\n`,
    )
    add(
      economyRow(
        'create, count {min: 5, max: 10}',
        10,
        await cli(cwd, 'create', '--json'),
        // On an endpoint that starts only MinCount, reaching max takes the launch and one follow-up
        // for the rest; real EC2 starts up to MaxCount in the first call when it has the capacity.
        {DescribeInstances: 1, RunInstances: 2},
        'moto starts MinCount instances, never more: the first RunInstances gets 5, one follow-up asks for the other 5 at once; on real EC2 with capacity the first call starts all 10',
      ),
    )
    // The opt-in per-instance Names: distinct tag values need one CreateTags each (no EC2 call
    // writes a different value to each of several resources), so this row's minimum has N of them.
    const named = path.join(dir, 'econamed')
    await mkdir(named, {recursive: true})
    const namedN = Math.max(...ECO_NS)
    await writeFile(
      path.join(named, 'wolphin.yaml'),
      `project: econamed\nami: ${TEST_AMI}\ncount: ${namedN}\nnameTags: per-instance\nwait: {interval: 0.2, timeout: 120}\n`,
    )
    add(
      economyRow(
        'create (from empty), nameTags: per-instance',
        namedN,
        await cli(named, 'create', '--json'),
        {DescribeInstances: 1, RunInstances: 1, CreateTags: namedN},
        'opt-in, not the default: the N CreateTags are the per-slot Names the setting asks for',
      ),
    )
    results.economy = rows
    // Growth with N: every non-Describe call count per operation measured at every N.
    const ops = [...new Set(rows.map((r) => r.operation))].filter((op) =>
      ECO_NS.every((n) => rows.some((r) => r.operation === op && r.n === n)),
    )
    for (const op of ops) {
      const byOp = rows.filter((r) => r.operation === op && ECO_NS.includes(r.n))
      const actions = new Set(byOp.flatMap((r) => Object.keys(r.calls)))
      for (const action of actions) {
        if (action === 'DescribeInstances') continue
        const byN = Object.fromEntries(byOp.map((r) => [String(r.n), r.calls[action] ?? 0]))
        results.economyGrowth.push({operation: op, action, byN})
      }
    }
  } finally {
    await proxy.close()
    await moto.stop()
    await rm(dir, {recursive: true, force: true})
  }
}

// ---------------------------------------------------------------------------------------------
// exec fan-out (bench/exec-fanout.ts, from the exec work)

async function execBench(results: Results): Promise<void> {
  const script = path.join(ROOT, 'bench/exec-fanout.ts')
  if (!existsSync(script)) {
    results.exec = {measured: false, reason: 'bench/exec-fanout.ts does not exist'}
    return
  }
  log('exec fan-out: bench/exec-fanout.ts --hosts 64')
  const runs = String(Math.max(3, Math.min(RUNS, 5)))
  const tsx = path.join(ROOT, 'node_modules/.bin/tsx')
  const out = await new Promise<{code: number | null; stdout: string; stderr: string}>((resolve, reject) => {
    const child = spawn(tsx, [script, '--hosts', '64', '--runs', runs], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)))
    const killer = setTimeout(() => child.kill('SIGKILL'), 300_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(killer)
      resolve({code, stdout, stderr})
    })
  })
  if (out.code !== 0) {
    results.exec = {measured: false, reason: `exec-fanout.ts exited ${out.code}: ${out.stderr.slice(-1500)}`}
    return
  }
  results.exec = {
    measured: true,
    command: `npx tsx bench/exec-fanout.ts --hosts 64 --runs ${runs}`,
    ...JSON.parse(out.stdout),
  }
}

// ---------------------------------------------------------------------------------------------
// put of a tree (bench/put-tree.ts, from the copy work)

interface PutRow {
  hosts: number
  wolphin: {command: string; wallMs: Stats; peakRssMb: number | null}
  rsync: {command: string; wallMs: Stats}
  ratio: number
  target: number
  met: boolean
}

async function putBench(results: Results): Promise<void> {
  const script = path.join(ROOT, 'bench/put-tree.ts')
  const runs = String(Math.max(3, Math.min(RUNS, 5)))
  log(`put tree: bench/put-tree.ts --files 2000 --runs ${runs} (1 and 4 hosts, against rsync -a over ssh)`)
  const out = await new Promise<{code: number | null; stdout: string; stderr: string}>((resolve, reject) => {
    const child = spawn(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [script, '--files', '2000', '--runs', runs],
      {
        cwd: ROOT,
        env: process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)))
    const killer = setTimeout(() => child.kill('SIGKILL'), 900_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(killer)
      resolve({code, stdout, stderr})
    })
  })
  results.put =
    out.code === 0
      ? {
          measured: true,
          command: `npx tsx bench/put-tree.ts --files 2000 --runs ${runs}`,
          ...JSON.parse(out.stdout),
        }
      : {measured: false, reason: `put-tree.ts exited ${out.code}: ${out.stderr.slice(-1500)}`}
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (x: number) => (x >= 10_000 ? `${round(x / 1000, 1)} s` : `${Math.round(x)} ms`)
const callList = (c: Record<string, number> | undefined) =>
  c && Object.keys(c).length
    ? Object.entries(c)
        .sort()
        .map(([a, n]) => `${a} ${n}`)
        .join(', ')
    : '-'

export function markdownTable(r: Results): string {
  const lines: string[] = []
  lines.push('| benchmark | command | median | min | max | peak RSS | ratio (median) | target | met |')
  lines.push('|---|---|---:|---:|---:|---:|---:|---|---|')
  for (const c of r.comparisons) {
    const row = (s: Side, first: boolean) =>
      `| ${first ? c.title : ''} | \`${s.command.replace(ROOT + '/', '')}\` | ${ms(s.wallMs.median)} | ${ms(s.wallMs.min)} | ${ms(s.wallMs.max)} | ${s.rssMb ? `${Math.round(s.rssMb.max)} MB` : '-'} | ${first ? `**${c.ratio}x**` : ''} | ${first ? c.target : ''} | ${first ? (c.met ? 'yes' : '**no**') : ''} |`
    lines.push(row(c.wolphin, true))
    lines.push(row(c.peer, false))
  }
  const ex = r.exec as Record<string, unknown> & {
    measured?: boolean
    wolphin?: {wallMs: number; cpuMs: number}
    pssh?: {wallMs: number; cpuMs: number}
    ratios?: {wall: number; cpu: number}
    targets?: {wall: number; cpu: number}
  }
  if (ex?.measured && ex.wolphin && ex.pssh && ex.ratios) {
    const wallMet = ex.targets ? ex.ratios.wall <= ex.targets.wall : undefined
    const cpuMet = ex.targets ? ex.ratios.cpu <= ex.targets.cpu : undefined
    lines.push(
      `| exec fan-out, 64 loopback hosts (median of ${ex.runs} runs; wall / CPU of the process tree) | \`wolphin exec -- 'sleep 1; uname -n'\` | ${ms(ex.wolphin.wallMs)} wall, ${ms(ex.wolphin.cpuMs)} CPU | | | - | **${ex.ratios.wall}x** wall, **${ex.ratios.cpu}x** CPU | ${ex.targets ? `wall <= ${ex.targets.wall}x, CPU <= ${ex.targets.cpu}x` : 'see exec issue'} | ${wallMet === undefined ? '-' : wallMet && cpuMet ? 'yes' : '**no**'} |`,
    )
    lines.push(
      `| | \`parallel-ssh -p 64 -h hosts ... 'sleep 1; uname -n'\` | ${ms(ex.pssh.wallMs)} wall, ${ms(ex.pssh.cpuMs)} CPU | | | - | | | |`,
    )
  } else {
    lines.push(`| exec fan-out, 64 loopback hosts | not measured: ${ex?.reason ?? 'skipped'} | | | | | | | |`)
  }
  const put = r.put as {measured?: boolean; reason?: string; files?: number; rows?: PutRow[]} | undefined
  if (put?.measured && put.rows) {
    for (const row of put.rows) {
      lines.push(
        `| put, ${put.files}-file tree to ${row.hosts} loopback host(s) (median of ${row.wolphin.wallMs.runs}) | \`${row.wolphin.command}\` | ${ms(row.wolphin.wallMs.median)} | ${ms(row.wolphin.wallMs.min)} | ${ms(row.wolphin.wallMs.max)} | ${row.wolphin.peakRssMb ? `${row.wolphin.peakRssMb} MB` : '-'} | **${row.ratio}x** | <= ${row.target}x | ${row.met ? 'yes' : '**no**'} |`,
      )
      lines.push(
        `| | \`${row.rsync.command}\` | ${ms(row.rsync.wallMs.median)} | ${ms(row.rsync.wallMs.min)} | ${ms(row.rsync.wallMs.max)} | - | | | |`,
      )
    }
  } else if (put) {
    lines.push(`| put, 2000-file tree | not measured: ${put.reason ?? 'skipped'} | | | | | | | |`)
  }
  return lines.join('\n') + '\n'
}

export function economyTable(r: Results): string {
  const lines: string[] = []
  lines.push(
    '| operation | N | calls made | minimum | waiter polls | beyond minimum + polls | TCP connections | ok |',
  )
  lines.push('|---|---:|---|---|---:|---|---:|---|')
  for (const e of r.economy)
    lines.push(
      `| ${e.operation} | ${e.n} | ${callList(e.calls)} (${e.total}) | ${callList(e.minimum)} (${e.minimumTotal}) | ${e.waiterPolls} | ${Object.keys(e.excess).length ? callList(e.excess) : 'none'} | ${e.connections ?? '-'} | ${e.ok ? 'yes' : '**no**'}${e.note ? ` (${e.note})` : ''} |`,
    )
  if (r.economyGrowth.length) {
    lines.push('')
    lines.push(
      `Calls other than DescribeInstances, by N (${ECO_NS.join(', ')}): a count that grows with N is per-instance.`,
    )
    lines.push('')
    lines.push(`| operation | action | ${ECO_NS.map((n) => `N=${n}`).join(' | ')} | grows with N |`)
    lines.push(`|---|---|${ECO_NS.map(() => '---:').join('|')}|---|`)
    for (const g of r.economyGrowth) {
      const vals = ECO_NS.map((n) => g.byN[String(n)] ?? 0)
      const grows = vals.some((v, i) => i > 0 && v > vals[0])
      lines.push(`| ${g.operation} | ${g.action} | ${vals.join(' | ')} | ${grows ? '**yes**' : 'no'} |`)
    }
  }
  return lines.join('\n') + '\n'
}

async function main() {
  const t0 = performance.now()
  await mkdir(path.join(ROOT, 'bench/tmp'), {recursive: true})
  const results: Results = {
    generatedAt: new Date().toISOString(),
    machine: machine(),
    versions: versions(),
    runs: RUNS,
    comparisons: [],
    economy: [],
    economyGrowth: [],
    exec: {measured: false, reason: 'skipped'},
    profiles: {},
    commands: {
      bench:
        'npm run bench   (bash bench/run.sh: installs awscli, pssh and time with apt-get when missing, then npx tsx bench/run.ts)',
      harness: `npx tsx bench/run.ts --runs ${RUNS} --status ${STATUS_N} --scale ${SCALE_N}`,
    },
    durationS: 0,
  }
  log('machine', results.machine)
  log('versions', results.versions)
  if (!SKIP.has('startup')) await startupBench(results)
  if (!SKIP.has('status')) await statusBench(results)
  if (!SKIP.has('economy')) await economyBench(results)
  if (!SKIP.has('exec')) await execBench(results)
  if (!SKIP.has('put')) await putBench(results)
  if (!SKIP.has('scale')) await scaleBench(results)
  results.durationS = round((performance.now() - t0) / 1000)
  await writeFile(path.join(ROOT, 'bench/results.json'), JSON.stringify(results, null, 2) + '\n')
  const table = markdownTable(results) + '\n' + economyTable(results)
  await writeFile(path.join(ROOT, 'bench/results.md'), table)
  const {renderDoc} = await import('./doc.js')
  await writeFile(path.join(ROOT, 'docs/benchmarks.md'), renderDoc(results, table))
  // Generated Markdown stays lint-clean (`npm run lint` runs prettier --check on the tree).
  try {
    execFileSync(
      path.join(ROOT, 'node_modules/.bin/prettier'),
      ['--write', 'bench/results.md', 'docs/benchmarks.md'],
      {cwd: ROOT, stdio: 'ignore'},
    )
  } catch {
    log('prettier failed on the generated Markdown (left as written)')
  }
  log(`done in ${results.durationS} s: bench/results.json, bench/results.md, docs/benchmarks.md`)
  process.stdout.write(table)
}

export type {Results, Comparison, EconomyRow}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
