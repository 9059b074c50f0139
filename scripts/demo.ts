/**
 * `npm run demo` (scripts/demo.sh installs and builds what is missing, then runs this): a project's
 * whole life on a local EC2 emulator (moto), no AWS account needed. It creates, inspects, stops
 * and starts a project, then runs the load-test loop on it: `put` a script on every instance, `exec`
 * it, `get` each instance's result file, total the results; then it terminates the project.
 *
 * An emulated instance has no sshd behind its address, so the demo gives each one a throw-away
 * OpenSSH sshd on its own loopback address (test/support/sshd.ts, as the e2e tests do: own host
 * keys, own user key, unprivileged ports) and points the instance at it through a tag
 * (`ssh.address: tag:demo.ssh-address`). Without sshd, that part is skipped with one line that
 * says how to get it. Everything listens on and dials 127.0.0.0/8 only (WOLPHIN_LOOPBACK_ONLY).
 * Every server it starts is stopped when it ends, also on Ctrl-C, SIGTERM and errors.
 *
 * WOLPHIN_DEMO_DIR=DIR: work in DIR (kept afterwards, with results/) instead of a temp directory
 * removed at the end. WOLPHIN_SSHD=PATH: the sshd to use (a path that does not exist: none).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {CreateTagsCommand} from '@aws-sdk/client-ec2'

import {BIN} from '../test/support/cli.js'
import {describeAll, testClient} from '../test/support/ec2.js'
import {type Moto, motoEnv, startMoto} from '../test/support/moto.js'
import {type SshLab, sshdPath, startSshLab} from '../test/support/sshd.js'

const PROJECT = 'demo'
/** The tag that maps each demo instance to its local sshd; a real fleet uses `public-ip`. */
const ADDRESS_TAG = 'demo.ssh-address'
/** count.max: the demo launches this many instances and starts this many sshd servers. */
const INSTANCES = 3
const REQUESTS = 200
const RESULT_FILE = 'loadtest.out'

const LOAD_TEST = `#!/bin/sh
# A stand-in load test: N "requests" (each one a little local work, so the demo needs no target),
# progress on stdout, the result in ${RESULT_FILE} next to this script.
set -eu
cd "$(dirname "$0")"
n=\${1:-100}
# Milliseconds; a date(1) without %N (macOS) gives whole seconds.
now_ms() { t=$(date +%s%N); case $t in *N) echo $((\${t%N} * 1000)) ;; *) echo $((t / 1000000)) ;; esac; }
t0=$(now_ms)
i=0 ok=0
while [ "$i" -lt "$n" ]; do
  i=$((i + 1))
  echo "request $i" | cksum >/dev/null && ok=$((ok + 1))
  [ $((i % 100)) -ne 0 ] || echo "$i/$n requests sent"
done
ms=$(($(now_ms) - t0))
echo "requests=$n ok=$ok errors=$((n - ok)) ms=$ms" >${RESULT_FILE}
echo "done: $ok/$n ok in $ms ms"
`

const useColour = process.stdout.isTTY && !process.env.NO_COLOR
const bold = (s: string) => (useColour ? `\x1b[1m${s}\x1b[0m` : s)
const say = (s: string) => process.stdout.write(`${s}\n`)

class StepFailed extends Error {}
class BadInput extends Error {}

// --- servers, and stopping them whatever happens ---------------------------------------------

/** The servers, as soon as they are being started, so that an early Ctrl-C stops them too. */
let motoStarting: Promise<Moto> | undefined
let labStarting: Promise<SshLab | undefined> | undefined
let running: ChildProcess | undefined
let work: string | undefined
const keepWork = Boolean(process.env.WOLPHIN_DEMO_DIR)

let stopping: Promise<void> | undefined
/** Stops the running step, the sshd servers and moto (by their pids), once. */
function cleanup(): Promise<void> {
  stopping ??= (async () => {
    running?.kill('SIGTERM')
    const servers = await Promise.allSettled([labStarting, motoStarting])
    await Promise.allSettled(servers.map((s) => (s.status === 'fulfilled' ? s.value?.stop() : null)))
    if (work && !keepWork) await rm(work, {recursive: true, force: true})
  })()
  return stopping
}

/** 128 + the signal's number once the demo was interrupted (or its reader left): its exit code. */
let interrupted: number | undefined
const SIGNALS = {SIGINT: 2, SIGTERM: 15, SIGHUP: 1} as const
for (const [signal, n] of Object.entries(SIGNALS)) {
  process.once(signal, () => {
    interrupted = 128 + n
    process.stderr.write(`\ndemo: ${signal}: stopping the emulator and the local sshd servers\n`)
    void cleanup().finally(() => process.exit(interrupted))
  })
}

// A reader that went away (`npm run demo | head`) or an unexpected error: the same clean-up.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', () => {
    interrupted ??= 141 // 128 + SIGPIPE, as a shell reports a writer whose reader left
    void cleanup().finally(() => process.exit(interrupted))
  })
process.on('uncaughtException', (e) => {
  process.stderr.write(`demo: ${e.stack}\n`)
  void cleanup().finally(() => process.exit(1))
})

// --- steps ----------------------------------------------------------------------------------

/** The CLI's environment: the emulator's endpoint, fake credentials, loopback only, no agent. */
function cliEnv(endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  // None of the user's AWS settings (profile, session token...) reaches the demo.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v
  return {
    ...env,
    ...motoEnv(endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: '', NODE_NO_WARNINGS: '1'}),
  }
}

const quote = (a: string) => (/^[\w./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)

/** Runs `wolphin ARGS` as a user would type it, output straight to the terminal. */
function wolphin(env: NodeJS.ProcessEnv, ...args: string[]): Promise<void> {
  say(`\n${bold(`$ wolphin ${args.map(quote).join(' ')}`)}`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd: work, env, stdio: 'inherit'})
    running = child
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      running = undefined
      if (code === 0) resolve()
      else reject(new StepFailed(`wolphin ${args.join(' ')} failed (exit ${code ?? signal})`))
    })
  })
}

/**
 * Writes each running demo instance's local sshd address into its tag: an emulated instance has no
 * sshd behind its address, so each slot gets its own throw-away one on loopback.
 */
async function pointInstancesAtLab(endpoint: string, sshLab: SshLab): Promise<void> {
  const client = testClient(endpoint)
  const ours = (await describeAll(client))
    .filter((i) => i.tags.ProjectName === `wolphin.${PROJECT}` && i.state === 'running' && i.slot)
    .sort((a, b) => a.slot! - b.slot!)
  say(
    `\n# demo only: emulated instances run no sshd; each gets a throw-away one on loopback,` +
      ` named by its tag ${ADDRESS_TAG}:`,
  )
  for (const i of ours) {
    const host = sshLab.hosts[i.slot! - 1]
    if (!host) throw new StepFailed(`no local sshd for slot ${i.slot}`)
    await client.send(new CreateTagsCommand({Resources: [i.id], Tags: [{Key: ADDRESS_TAG, Value: host.tag}]}))
    say(`#   wolphin.${PROJECT}.${i.slot}  ${ADDRESS_TAG}=${host.tag}`)
  }
}

/** The one-line total of the collected result files, results/<instance name>/loadtest.out. */
async function total(results: string): Promise<string> {
  const sum = {instances: 0, requests: 0, ok: 0, errors: 0, slowestMs: 0}
  for (const name of (await readdir(results)).sort()) {
    const text = await readFile(path.join(results, name, RESULT_FILE), 'utf8')
    const fields = Object.fromEntries(
      text
        .trim()
        .split(/\s+/)
        .map((kv) => kv.split('=')),
    )
    sum.instances += 1
    sum.requests += Number(fields.requests)
    sum.ok += Number(fields.ok)
    sum.errors += Number(fields.errors)
    sum.slowestMs = Math.max(sum.slowestMs, Number(fields.ms))
  }
  return (
    `total from results/*/${RESULT_FILE}: ${sum.requests} requests on ${sum.instances} instances, ` +
    `${sum.ok} ok, ${sum.errors} errors, slowest instance ${(sum.slowestMs / 1000).toFixed(1)} s`
  )
}

async function main(): Promise<void> {
  if (keepWork) {
    const dir = path.resolve(process.env.WOLPHIN_DEMO_DIR!)
    // Its files are the demo's own: an earlier run's results would be totalled with this one's.
    const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return []
      throw new BadInput(`WOLPHIN_DEMO_DIR=${dir}: not a directory the demo can use (${e.code})`)
    })
    if (entries.length)
      throw new BadInput(`WOLPHIN_DEMO_DIR=${dir} is not empty; name a new or empty directory`)
    await mkdir(dir, {recursive: true})
    work = dir
  } else work = await mkdtemp(path.join(os.tmpdir(), 'wolphin-demo-'))
  const configFile = path.join(work, 'wolphin.yaml')
  // Why the load-test loop is skipped, when it is, and what to do about it.
  let noSsh =
    'no OpenSSH sshd on this machine; install it to see them (Debian/Ubuntu: apt-get install openssh-server)'
  say(`starting moto (local EC2 emulator)${sshdPath() ? ` and ${INSTANCES} throw-away sshd servers` : ''}...`)
  // moto sets up its EC2 backend on the first call (seconds): done here, while the sshd servers start.
  motoStarting = startMoto().then(async (m) => (await describeAll(testClient(m.endpoint)), m))
  labStarting = sshdPath()
    ? startSshLab({hosts: INSTANCES}).catch((e: Error) => {
        noSsh = `the local sshd did not start: ${e.message.split('\n')[0]}`
        return undefined
      })
    : Promise.resolve(undefined)
  const [moto, lab] = await Promise.all([motoStarting, labStarting])
  const env = cliEnv(moto.endpoint)
  const config = [
    `project: ${PROJECT}`,
    'email: you@example.com',
    'ami: ami-12c6146b',
    'instanceType: t3.micro',
    `count: {min: 2, max: ${INSTANCES}}`,
    'tags: {team: load-testing}',
    'wait: {interval: 0.5, timeout: 60}',
    '',
  ].join('\n')
  await writeFile(configFile, config)
  say(`moto (local EC2 emulator) on ${moto.endpoint.replace('http://', '')}; wolphin.yaml:`)
  process.stdout.write(config)

  await wolphin(env, 'create')
  await wolphin(env, 'status')
  await wolphin(env, 'create')
  await wolphin(env, 'stop', '-i', '2')
  await wolphin(env, 'start')

  if (lab) {
    const ssh = [
      `user: ${lab.user}`,
      'ssh:',
      `  key: ${lab.key}`,
      `  address: tag:${ADDRESS_TAG}   # on AWS: public-ip (the default)`,
      `  knownHostsFile: ${path.join(work, 'known_hosts')}`,
      '',
    ].join('\n')
    await appendFile(configFile, ssh)
    say('\n# the load-test loop runs over SSH; added to wolphin.yaml:')
    process.stdout.write(ssh)
    await pointInstancesAtLab(moto.endpoint, lab)
    const script = path.join(work, 'loadtest.sh')
    await writeFile(script, LOAD_TEST)
    await chmod(script, 0o755)
    await wolphin(env, 'put', 'loadtest.sh', 'loadtest.sh')
    await wolphin(env, 'exec', '--', `~/loadtest.sh ${REQUESTS}`)
    await wolphin(env, 'get', RESULT_FILE, 'results')
    say(`\n${await total(path.join(work, 'results'))}`)
  } else {
    say(`\ndemo: skipped put/exec/get (deploy, run, collect): ${noSsh}`)
  }

  await wolphin(env, 'terminate', '--dry-run')
  await wolphin(env, 'terminate', '--yes')
  await wolphin(env, 'status')
  say(
    `\ndemo done: project "${PROJECT}" created, stopped, started, ` +
      (lab ? 'load-tested (put, exec, get), ' : '') +
      'terminated, on a local emulator' +
      (keepWork ? `; files in ${work}` : ''),
  )
}

let exitCode = 0
try {
  await main()
} catch (e) {
  const known = e instanceof StepFailed || e instanceof BadInput
  if (!interrupted) process.stderr.write(`demo: ${known ? e.message : (e as Error).stack}\n`)
  exitCode = e instanceof BadInput ? 2 : 1
} finally {
  await cleanup()
}
process.exit(interrupted ?? exitCode)
