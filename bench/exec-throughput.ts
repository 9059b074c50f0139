/**
 * exec throughput: `wolphin exec -- cat FILE` (50 MB of log lines) from 1 and from 4 loopback sshd
 * hosts, against plain `ssh HOST cat FILE` (one process, or four in parallel) with the same key,
 * into a pipe this process reads. Wall time and peak RSS (GNU time's %M: the largest process of
 * the tree) per side, medians of --runs, alternating sides. Prints JSON {rows: [...]}.
 *
 *   npx tsx bench/exec-throughput.ts [--runs 3] [--mb 50]
 *
 * Only 127.0.0.0/8 is ever dialled.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createWriteStream} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {BIN} from '../test/support/cli.js'
import {seedInstance, testClient} from '../test/support/ec2.js'
import {motoEnv, startMoto} from '../test/support/moto.js'
import {startSshLab} from '../test/support/sshd.js'
import {type RunOutcome, stats, timedRun} from './measure.js'

const ADDR_TAG = 'wolphin.test.addr'

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}

/** `bytes` of log-like lines (about 95 bytes each); returns the line count. */
async function writeLog(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file)
  let n = 0
  let i = 0
  while (n < bytes) {
    const lines: string[] = []
    for (let k = 0; k < 10_000 && n < bytes; k++, i++) {
      let l = `2026-12-03T09:${String(i % 60).padStart(2, '0')}:00.${String(i % 1000).padStart(3, '0')}Z INFO loadgen request id=${i} status=200 latency_ms=${(i * 7) % 997}\n`
      if (n + l.length > bytes) l = 'x'.repeat(Math.max(0, bytes - n - 1)) + '\n'
      lines.push(l)
      n += l.length
    }
    if (!out.write(lines.join(''))) await new Promise((r) => out.once('drain', r))
  }
  await new Promise((r) => out.end(r))
  return i
}

async function main() {
  const runs = Math.max(1, arg('runs', 3))
  const size = arg('mb', 50) * 1000 * 1000
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bench-tput-'))
  const moto = await startMoto()
  const lab = await startSshLab({hosts: 4})
  try {
    const file = path.join(lab.dir, 'big.log')
    const lines = await writeLog(file, size)
    const client = testClient(moto.endpoint)
    for (const [i, h] of lab.hosts.entries())
      await seedInstance(client, {
        ProjectName: 'wolphin.tput',
        Name: `wolphin.tput.${i + 1}`,
        'wolphin:slot': String(i + 1),
        [ADDR_TAG]: h.tag,
      })
    const knownHosts = path.join(dir, 'known_hosts')
    await writeFile(knownHosts, await lab.knownHosts())
    const cfg = path.join(dir, 'wolphin.yaml')
    await writeFile(
      cfg,
      [
        'project: tput',
        `user: ${lab.user}`,
        'ssh:',
        `  key: ${lab.key}`,
        `  address: tag:${ADDR_TAG}`,
        '  hostKeys: known-hosts',
        `  knownHostsFile: ${knownHosts}`,
        '',
      ].join('\n'),
    )
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...motoEnv(moto.endpoint),
      WOLPHIN_LOOPBACK_ONLY: '1',
      NODE_NO_WARNINGS: '1',
    }
    delete env.AWS_PROFILE
    delete env.SSH_AUTH_SOCK
    const ssh = (h: (typeof lab.hosts)[number]) => [
      'ssh',
      '-i',
      lab.key,
      '-p',
      String(h.port),
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      `${lab.user}@${h.addr}`,
      `cat ${file}`,
    ]
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`
    const prefixLen = (n: number) => `wolphin.tput.${n} | `.length
    type Side = {command: string; argv: [string, string[]]; bytes: number}
    const cases: Array<{id: string; title: string; wolphin: Side; peer: Side}> = [
      {
        id: 'exec-throughput-1',
        title: 'exec 50 MB of log lines from 1 host, into a pipe',
        wolphin: {
          command: `wolphin exec -i 1 -- cat big.log`,
          argv: [process.execPath, [BIN, 'exec', '-c', cfg, '-i', '1', '--', `cat ${file}`]],
          bytes: size + lines * prefixLen(1),
        },
        peer: {
          command: 'ssh host cat big.log',
          argv: [ssh(lab.hosts[0])[0], ssh(lab.hosts[0]).slice(1)],
          bytes: size,
        },
      },
      {
        id: 'exec-throughput-4',
        title: 'exec 50 MB of log lines from each of 4 hosts, into one pipe',
        wolphin: {
          command: `wolphin exec -- cat big.log`,
          argv: [process.execPath, [BIN, 'exec', '-c', cfg, '--', `cat ${file}`]],
          bytes: 4 * size + lines * [1, 2, 3, 4].reduce((a, n) => a + prefixLen(n), 0),
        },
        peer: {
          command: '4 x (ssh host cat big.log) in parallel',
          argv: [
            'bash',
            ['-c', lab.hosts.map((h) => `${ssh(h).map(quote).join(' ')} &`).join(' ') + ' wait'],
          ],
          bytes: 4 * size,
        },
      },
    ]
    const once = async (s: Side): Promise<RunOutcome> => {
      const r = await timedRun(s.argv[0], s.argv[1], {env, cwd: dir, keepStdout: false, timeoutMs: 600_000})
      if (r.code !== 0 || r.stdoutBytes !== s.bytes)
        throw new Error(`${s.command}: exit ${r.code}, ${r.stdoutBytes}/${s.bytes} bytes\n${r.stderr}`)
      return r
    }
    const rows = []
    for (const c of cases) {
      // One warm-up each (page cache, sshd's first fork), not counted.
      await once(c.wolphin)
      await once(c.peer)
      const w: RunOutcome[] = []
      const p: RunOutcome[] = []
      for (let i = 0; i < runs; i++) {
        w.push(await once(c.wolphin))
        p.push(await once(c.peer))
      }
      const side = (s: Side, outs: RunOutcome[]) => ({
        command: s.command,
        wallMs: stats(outs.map((o) => Math.round(o.wallMs))),
        rssMb: outs.every((o) => o.rssMb !== null) ? stats(outs.map((o) => Math.round(o.rssMb!))) : null,
      })
      const ws = side(c.wolphin, w)
      const ps = side(c.peer, p)
      const ratio = Math.round((ws.wallMs.median / ps.wallMs.median) * 100) / 100
      rows.push({
        id: c.id,
        title: c.title,
        wolphin: ws,
        peer: ps,
        ratio,
        target: '<= 1.5x wall; peak RSS <= 150 MB',
        met: ratio <= 1.5 && (ws.rssMb === null || ws.rssMb.max <= 150),
      })
    }
    process.stdout.write(
      JSON.stringify(
        {
          runs,
          bytesPerHost: size,
          lines,
          rows,
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
