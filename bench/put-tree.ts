/**
 * put tree benchmark: `wolphin put TREE DEST` of a 2000-file tree to 1 and to 4 loopback sshd hosts
 * (moto instances whose address tags name them), against `rsync -a` over ssh with the same key and
 * known_hosts (one rsync for 1 host, four in parallel for 4 hosts), into empty destinations each
 * run. Every copy is checked byte for byte, modes included. Prints JSON
 * {files, bytes, rows: [{hosts, wolphin, rsync, ratio, target, met}]}.
 *
 *   npx tsx bench/put-tree.ts [--runs 3] [--files 2000]
 *
 * Only 127.0.0.0/8 is ever dialled.
 */
import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {BIN} from '../test/support/cli.js'
import {seedInstance, testClient} from '../test/support/ec2.js'
import {motoEnv, startMoto} from '../test/support/moto.js'
import {startSshLab} from '../test/support/sshd.js'
import {stats, timedRun} from './measure.js'

const ADDR_TAG = 'wolphin.test.addr'
const TARGET = 2

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}

/** A tree like a deployed app: `files` files of 100 B to 16 KB in 100 directories, mixed modes. */
async function makeTree(root: string, files: number): Promise<{bytes: number}> {
  let bytes = 0
  const modes = [0o644, 0o644, 0o644, 0o755, 0o600, 0o640]
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${i % 10}`, `s${Math.floor(i / 10) % 10}`)
    await mkdir(dir, {recursive: true})
    const size = 100 + ((i * 7919) % 16_284)
    const p = path.join(dir, `f${i}.dat`)
    await writeFile(p, randomBytes(size))
    await chmod(p, modes[i % modes.length])
    bytes += size
  }
  return {bytes}
}

/** path -> mode and sha256, for every file under root. */
async function digest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, {withFileTypes: true})) {
      const p = path.join(dir, e.name)
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(p, r)
      else
        out.set(
          r,
          `${((await stat(p)).mode & 0o7777).toString(8)} ${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')}`,
        )
    }
  }
  await walk(root, '')
  return out
}

async function main() {
  const runs = Math.max(1, arg('runs', 3))
  const nFiles = arg('files', 2000)
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bench-put-'))
  const moto = await startMoto()
  const lab = await startSshLab({hosts: 4})
  try {
    const tree = path.join(dir, 'tree')
    const {bytes} = await makeTree(tree, nFiles)
    const want = await digest(tree)
    const client = testClient(moto.endpoint)
    for (const [i, h] of lab.hosts.entries())
      await seedInstance(client, {
        ProjectName: 'wolphin.bench',
        Name: `wolphin.bench.${i + 1}`,
        'wolphin:slot': String(i + 1),
        [ADDR_TAG]: h.tag,
      })
    const knownHosts = path.join(dir, 'known_hosts')
    await writeFile(knownHosts, await lab.knownHosts())
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
        '',
      ].join('\n'),
    )
    const env = {...process.env, ...motoEnv(moto.endpoint), WOLPHIN_LOOPBACK_ONLY: '1', NODE_NO_WARNINGS: '1'}
    delete env.AWS_PROFILE
    delete env.SSH_AUTH_SOCK
    const ssh = `ssh -i ${lab.key} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes`
    const rsyncTo = (h: (typeof lab.hosts)[number]) =>
      `rsync -a -e '${ssh} -p ${h.port}' ${tree}/ ${lab.user}@${h.addr}:${h.home}/rsync-dst/`
    const clean = async (n: number) => {
      for (const h of lab.hosts.slice(0, n)) {
        await rm(path.join(h.home, 'put-dst'), {recursive: true, force: true})
        await rm(path.join(h.home, 'rsync-dst'), {recursive: true, force: true})
      }
    }
    const check = async (who: string, n: number, sub: string) => {
      for (const h of lab.hosts.slice(0, n)) {
        const got = await digest(path.join(h.home, sub))
        const bad = [...want].filter(([k, v]) => got.get(k) !== v).length
        if (bad || got.size !== want.size)
          throw new Error(`${who}: ${h.tag}: ${bad} file(s) differ, ${got.size}/${want.size} present`)
      }
    }
    const rows = []
    for (const n of [1, 4]) {
      // WOLPHIN_BENCH_NODE_ARGS: e.g. --cpu-prof, to see where wolphin's time goes;
      // WOLPHIN_BENCH_BIN: another build's bin/run.js, for a before/after in the same conditions.
      const nodeArgs = (process.env.WOLPHIN_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
      const wolphinArgs = [
        ...nodeArgs,
        process.env.WOLPHIN_BENCH_BIN ?? BIN,
        'put',
        '-c',
        cfg,
        '-i',
        `1-${n}`,
        tree,
        'put-dst',
      ]
      const rsyncScript = lab.hosts
        .slice(0, n)
        .map((h) => `${rsyncTo(h)} &`)
        .join('\n')
      const rsyncArgs = ['-c', `set -e\n${rsyncScript}\nfor j in $(jobs -p); do wait $j; done`]
      const w: number[] = []
      const r: number[] = []
      const wRss: number[] = []
      // One warm-up each (page cache, sshd's first fork), checked, not counted.
      for (let i = 0; i <= runs; i++) {
        await clean(n)
        const a = await timedRun(process.execPath, wolphinArgs, {env, cwd: dir})
        if (a.code !== 0) throw new Error(`wolphin put: exit ${a.code}: ${a.stderr.slice(-2000)}`)
        await check('wolphin put', n, 'put-dst')
        const b = await timedRun('bash', rsyncArgs, {env, cwd: dir})
        if (b.code !== 0) throw new Error(`rsync: exit ${b.code}: ${b.stderr.slice(-2000)}`)
        await check('rsync', n, 'rsync-dst')
        if (i === 0) continue
        w.push(Math.round(a.wallMs))
        r.push(Math.round(b.wallMs))
        if (a.rssMb) wRss.push(Math.round(a.rssMb))
      }
      const ws = stats(w)
      const rs = stats(r)
      const ratio = Math.round((ws.median / rs.median) * 100) / 100
      rows.push({
        hosts: n,
        wolphin: {
          command: `wolphin put -i 1-${n} TREE put-dst`,
          wallMs: ws,
          peakRssMb: wRss.length ? Math.max(...wRss) : null,
        },
        rsync: {
          command: n === 1 ? 'rsync -a -e ssh TREE/ host:rsync-dst/' : `${n} x rsync -a -e ssh in parallel`,
          wallMs: rs,
        },
        ratio,
        target: TARGET,
        met: ratio <= TARGET,
      })
    }
    process.stdout.write(
      JSON.stringify(
        {files: nFiles, bytes, runs, rows, loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100)},
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
