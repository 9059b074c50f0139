/**
 * A project in moto whose instances are the sshd test hosts on loopback (their address tag names
 * the host), with a config in a temp directory: what the exec/put/get/ssh e2e tests run against.
 * Only 127.0.0.0/8 is ever dialled (WOLPHIN_LOOPBACK_ONLY).
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {type CliResult, runCli} from './cli.js'
import {seedInstance, testClient} from './ec2.js'
import {motoEnv, type Moto, useMoto} from './moto.js'
import {type SshLab, useSshLab} from './sshd.js'

export const ADDR_TAG = 'wolphin.test.addr'

export interface Fleet {
  project: string
  dir: string
  env: Record<string, string>
  /** Instance ids, slot order (slot i+1 is lab host i). */
  ids: string[]
  moto: Moto
  lab: SshLab
  /** The config's lines, to write variants of it. */
  configLines: string[]
  cli(...args: string[]): Promise<CliResult>
  /** The CLI with its stdout on a file (/dev/full: every write fails). */
  cliTo(stdoutTo: string, ...args: string[]): Promise<CliResult>
}

export function useFleet(opts: {hosts: number; project?: string}): () => Fleet {
  const moto = useMoto()
  const lab = useSshLab({hosts: opts.hosts})
  let fleet: Fleet | undefined
  before(async () => {
    const project = opts.project ?? 'fleet'
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-e2e-fleet-'))
    const env = motoEnv(moto().endpoint, {WOLPHIN_LOOPBACK_ONLY: '1', SSH_AUTH_SOCK: '', HOME: dir})
    const configLines = [
      `project: ${project}`,
      `user: ${lab().user}`,
      'ssh:',
      `  key: ${lab().key}`,
      `  address: tag:${ADDR_TAG}`,
      '  hostKeys: tofu',
      `  knownHostsFile: ${path.join(dir, 'known_hosts')}`,
      '  connectTimeout: 3',
      '',
    ]
    await writeFile(path.join(dir, 'wolphin.yaml'), configLines.join('\n'))
    const client = testClient(moto().endpoint)
    const ids: string[] = []
    for (const [i, h] of lab().hosts.entries())
      ids.push(
        await seedInstance(client, {
          ProjectName: `wolphin.${project}`,
          Name: `wolphin.${project}.${i + 1}`,
          'wolphin:slot': String(i + 1),
          [ADDR_TAG]: h.tag,
        }),
      )
    // A neighbour of another project on the same host must never be touched.
    await seedInstance(client, {
      ProjectName: 'wolphin.other',
      Name: 'wolphin.other.1',
      [ADDR_TAG]: lab().hosts[0].tag,
    })
    fleet = {
      project,
      dir,
      env,
      ids,
      moto: moto(),
      lab: lab(),
      configLines,
      cli: (...args) => runCli(args, {cwd: dir, env}),
      cliTo: (stdoutTo, ...args) => runCli(args, {cwd: dir, env, stdoutTo}),
    }
  })
  after(async () => {
    if (fleet) await rm(fleet.dir, {recursive: true, force: true})
  })
  return () => fleet!
}
