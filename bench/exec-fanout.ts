/**
 * exec fan-out benchmark: `wolphin exec -- 'sleep 1; uname -n'` across N moto instances whose address
 * tags point at N loopback sshd test hosts, versus `parallel-ssh -p N` with the same key, command and
 * known_hosts. Prints JSON {hosts, wolphin:{wallMs,cpuMs}, pssh:{wallMs,cpuMs}, ratios}.
 *
 *   npx tsx bench/exec-fanout.ts [--hosts 64] [--runs 1]
 *
 * CPU is the user+system time of the whole process tree (bash's `time`, which reports the
 * children's rusage: pssh's ssh processes included). Only 127.0.0.0/8 is ever dialled.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {CreateTagsCommand, RunInstancesCommand} from '@aws-sdk/client-ec2'

import {BIN} from '../test/support/cli.js'
import {TEST_AMI, testClient} from '../test/support/ec2.js'
import {motoEnv, startMoto} from '../test/support/moto.js'
import {startSshLab} from '../test/support/sshd.js'

const ADDR_TAG = 'wolphin.test.addr'
const COMMAND = 'sleep 1; uname -n'

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}

interface Measured {
  wallMs: number
  cpuMs: number
  code: number | null
  stdout: string
  stderr: string
}

/** Runs argv under bash's `time`: wall, and user+sys of the process and all its waited-for children. */
function measure(argv: string[], env: Record<string, string | undefined>, cwd: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const script = 'TIMEFORMAT="@@TIME %3R %3U %3S"; time "$@" >"$OUT" 2>"$ERR"'
    const dir = path.join(cwd, `run-${Date.now()}-${Math.random().toString(36).slice(2)}`)
    const out = `${dir}.out`
    const err = `${dir}.err`
    const child = spawn('bash', ['-c', script, 'bench', ...argv], {
      cwd,
      env: {...env, OUT: out, ERR: err},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('error', reject)
    child.on('close', async (code) => {
      clearTimeout(killer)
      const m = /@@TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr)
      if (!m) return reject(new Error(`no timing from bash: ${stderr}`))
      const {readFile} = await import('node:fs/promises')
      resolve({
        wallMs: Math.round(Number(m[1]) * 1000),
        cpuMs: Math.round((Number(m[2]) + Number(m[3])) * 1000),
        code,
        stdout: await readFile(out, 'utf8').catch(() => ''),
        stderr: await readFile(err, 'utf8').catch(() => ''),
      })
    })
  })
}

function psshBinary(): string | null {
  for (const b of [
    '/usr/bin/parallel-ssh',
    '/usr/bin/pssh',
    '/usr/local/bin/parallel-ssh',
    '/usr/local/bin/pssh',
  ])
    if (existsSync(b)) return b
  return null
}

async function main() {
  const n = arg('hosts', 64)
  const runs = Math.max(1, arg('runs', 1))
  const pssh = psshBinary()
  if (!pssh) throw new Error('parallel-ssh not found (Debian package pssh)')
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bench-exec-'))
  const moto = await startMoto()
  const lab = await startSshLab({hosts: n, single: true, maxStartups: 4 * n})
  try {
    const client = testClient(moto.endpoint)
    const r = await client.send(
      new RunInstancesCommand({ImageId: TEST_AMI, InstanceType: 't3.micro', MinCount: n, MaxCount: n}),
    )
    const ids = r.Instances!.map((i) => i.InstanceId!)
    // Seeding only (not measured): one CreateTags per instance, since each carries its own address.
    await Promise.all(
      ids.map((id, i) =>
        client.send(
          new CreateTagsCommand({
            Resources: [id],
            Tags: [
              {Key: 'ProjectName', Value: 'wolphin.bench'},
              {Key: 'Name', Value: `wolphin.bench.${i + 1}`},
              {Key: 'wolphin:slot', Value: String(i + 1)},
              {Key: ADDR_TAG, Value: lab.hosts[i].tag},
            ],
          }),
        ),
      ),
    )
    const knownHosts = path.join(dir, 'known_hosts')
    await writeFile(knownHosts, await lab.knownHosts())
    const hostsFile = path.join(dir, 'hosts')
    await writeFile(hostsFile, lab.hosts.map((h) => `${h.addr}:${h.port}`).join('\n') + '\n')
    const cfg = path.join(dir, 'wolphin.yaml')
    await writeFile(
      cfg,
      [
        'project: bench',
        `user: ${lab.user}`,
        'ssh:',
        `  key: ${lab.key}`,
        `  address: tag:${ADDR_TAG}`,
        '  hostKeys: known-hosts',
        `  knownHostsFile: ${knownHosts}`,
        `  concurrency: ${n}`,
        '',
      ].join('\n'),
    )
    const env = {...process.env, ...motoEnv(moto.endpoint), WOLPHIN_LOOPBACK_ONLY: '1', NODE_NO_WARNINGS: '1'}
    delete env.AWS_PROFILE
    delete env.SSH_AUTH_SOCK
    const wolphinArgv = [process.execPath, BIN, 'exec', '-c', cfg, '--', COMMAND]
    const psshArgv = [
      pssh,
      '-p',
      String(n),
      '-h',
      hostsFile,
      '-l',
      lab.user,
      '-t',
      '60',
      '-i',
      '-x',
      `-i ${lab.key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes`,
      COMMAND,
    ]
    const check = (who: string, m: Measured, lines: RegExp) => {
      const got = m.stdout.split('\n').filter((l) => lines.test(l)).length
      if (m.code !== 0 || got !== n)
        throw new Error(`${who}: exit ${m.code}, ${got}/${n} hosts answered\n${m.stderr.slice(0, 2000)}`)
    }
    const host = os.hostname()
    // One warm-up each (page cache, sshd's first fork), not counted.
    await measure(wolphinArgv, env, dir)
    await measure(psshArgv, env, dir)
    type WithServer = Measured & {sshdCpuMs: number | null}
    const w: WithServer[] = []
    const p: WithServer[] = []
    const withServer = async (argv: string[]): Promise<WithServer> => {
      const before = await lab.serverCpuMs()
      const m = await measure(argv, env, dir)
      const after = await lab.serverCpuMs()
      return {...m, sshdCpuMs: before !== null && after !== null ? after - before : null}
    }
    for (let i = 0; i < runs; i++) {
      const a = await withServer(wolphinArgv)
      check('wolphin', a, new RegExp(`^wolphin\\.bench\\.\\d+ +\\| ${host}$`))
      w.push(a)
      const b = await withServer(psshArgv)
      check('parallel-ssh', b, new RegExp(`^${host}$`))
      p.push(b)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const summary = (ms: WithServer[]) => ({
      wallMs: median(ms.map((m) => m.wallMs)),
      cpuMs: median(ms.map((m) => m.cpuMs)),
      // Not part of the ratios: the servers' CPU for the same run, to tell client cost from server cost.
      sshdCpuMs: ms.every((m) => m.sshdCpuMs !== null) ? median(ms.map((m) => m.sshdCpuMs!)) : null,
    })
    const wolphin = summary(w)
    const ps = summary(p)
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000
    process.stdout.write(
      JSON.stringify(
        {
          hosts: n,
          runs,
          command: COMMAND,
          wolphin,
          pssh: ps,
          ratios: {wall: ratio(wolphin.wallMs, ps.wallMs), cpu: ratio(wolphin.cpuMs, ps.cpuMs)},
          targets: {wall: 0.8, cpu: 0.2},
          loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
          cpus: os.cpus().length,
        },
        null,
        2,
      ) + '\n',
    )
  } finally {
    await lab.stop()
    await moto.stop()
    await rm(dir, {recursive: true, force: true})
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
