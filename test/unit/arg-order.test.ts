/**
 * Flags and arguments parse the way users type them: every command takes `-c FILE` (repeatable)
 * before or after its arguments, a repeatable flag never swallows a positional argument, and a
 * missing argument is named. Parsing is oclif's own parser with each command's real flags and
 * arguments; the last cases run the command classes themselves (mocked SDK).
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {DescribeInstancesCommand} from '@aws-sdk/client-ec2'
import {parse} from '@oclif/core/parser'
import {expect} from 'chai'

import {remoteCommandWords, splitAtDashDash} from '../../src/flags.js'
import {runSourceCommand} from '../support/run-source.js'
import {useEc2ClassMock} from '../support/sdk-mock.js'

interface CommandClass {
  flags?: Record<string, unknown>
  baseFlags?: Record<string, unknown>
  args?: Record<string, unknown>
  strict?: boolean
}

/** Each command with arguments (or, without any, a typical flag) as a user would type them. */
const CASES: Record<string, {args: string[]; expectArgs?: Record<string, string>; argv?: string[]}> = {
  put: {args: ['./dist', '/opt/app'], expectArgs: {local: './dist', remote: '/opt/app'}},
  get: {args: ['/var/log/app', './logs'], expectArgs: {remote: '/var/log/app', local: './logs'}},
  extend: {args: ['5d'], expectArgs: {duration: '5d'}},
  exec: {args: ['uptime'], argv: ['uptime']},
  status: {args: ['-i', '1-3', '--tag', 'role=web']},
  create: {args: ['--dry-run']},
  start: {args: ['-i', '2']},
  stop: {args: ['-i', '2', '--tag', 'a=b']},
  reboot: {args: ['--hard']},
  terminate: {args: ['-i', '4']},
  revert: {args: ['--strategy', 'rolling']},
  config: {args: []},
  validate: {args: []},
  init: {args: ['--ami', 'ami-12345678']},
  ls: {args: ['--region', 'eu-west-1', '--region', 'us-east-1']},
  reap: {args: ['--region', 'eu-west-1']},
}

async function parseAs(id: string, argv: string[]) {
  const {default: C} = (await import(`../../src/commands/${id}.js`)) as {default: CommandClass}
  return parse(argv, {
    flags: {...(C.baseFlags ?? {}), ...(C.flags ?? {})},
    args: C.args ?? {},
    strict: C.strict ?? true,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parser's generic input type
  } as any)
}

describe('flags and arguments in any order', () => {
  for (const [id, c] of Object.entries(CASES)) {
    const configs = id === 'init' ? ['-c', 'a.yaml'] : ['-c', 'a.yaml', '-c', 'b.yaml']
    const want = id === 'init' ? ['a.yaml'] : ['a.yaml', 'b.yaml']
    const orders: Record<string, string[]> = {
      '-c before': [...configs, ...c.args],
      '-c after': [...c.args, ...configs],
      '-c on both sides': [configs[0], configs[1], ...c.args, ...configs.slice(2)],
    }
    if (c.args.length === 2 && c.expectArgs) orders['-c between'] = [c.args[0], ...configs, c.args[1]]
    for (const [order, argv] of Object.entries(orders)) {
      it(`${id}: ${order} (${argv.join(' ')})`, async () => {
        const full = id === 'exec' ? [...argv.filter((a) => a !== 'uptime'), '--', 'uptime'] : argv
        const out = await parseAs(id, full)
        expect((out.flags as {config?: string[]}).config).to.deep.equal(want)
        if (c.expectArgs) expect(out.args).to.include(c.expectArgs)
        if (c.argv) expect(out.argv).to.deep.equal(c.argv)
      })
    }
  }

  it('exec: the command may also come before -c (no --)', async () => {
    const out = await parseAs('exec', ['uptime', '-c', 'a.yaml'])
    expect(out.argv).to.deep.equal(['uptime'])
    expect((out.flags as {config?: string[]}).config).to.deep.equal(['a.yaml'])
  })

  describe('the remote command after the first "--" is kept word for word', () => {
    const CASES: Array<[string[], string[]]> = [
      [
        ['-i', '1', '--', 'grep', '-i', 'error', 'app.log'],
        ['grep', '-i', 'error', 'app.log'],
      ],
      [
        ['--', 'echo', 'a', '--', 'b'],
        ['echo', 'a', '--', 'b'],
      ],
      [
        ['--env', 'A=1', '--', 'echo $A', '--env', 'B=2'],
        ['echo $A', '--env', 'B=2'],
      ],
      [
        ['-c', 'a.yaml', '--', 'x', '-c', 'a.yaml', 'x', '--json'],
        ['x', '-c', 'a.yaml', 'x', '--json'],
      ],
    ]
    for (const [argv, command] of CASES)
      it(`exec ${argv.join(' ')}`, async () => {
        const split = splitAtDashDash(argv)
        expect(split.command).to.deep.equal(command)
        expect(split.own).to.deep.equal(argv.slice(0, argv.indexOf('--')))
      })
    it('without "--" there is no remote command part', () => {
      expect(splitAtDashDash(['-i', '1', 'uptime'])).to.deep.equal({
        own: ['-i', '1', 'uptime'],
        command: null,
      })
    })
    const wordsOf = async (id: string, argv: string[]) => {
      const split = splitAtDashDash(argv)
      return remoteCommandWords(split, await parseAs(id, split.own))
    }
    it('exec and ssh run exactly the words after "--"', async () => {
      for (const id of ['exec', 'ssh'])
        expect(await wordsOf(id, ['-i', '1', '--', 'echo', '-i', '--', '-i']), id).to.deep.equal([
          'echo',
          '-i',
          '--',
          '-i',
        ])
    })
    it('exec without "--": the words in order, and a misspelled flag refused rather than run', async () => {
      expect(await wordsOf('exec', ['echo', 'a', 'echo', '-c', 'a.yaml'])).to.deep.equal([
        'echo',
        'a',
        'echo',
      ])
      let err: Error | undefined
      await wordsOf('exec', ['--concurency', '2', 'uptime']).catch((e: Error) => (err = e))
      expect(err?.message).to.match(/^Nonexistent flag: --concurency/)
    })
  })

  it('--tag is repeatable and leaves the arguments alone', async () => {
    const out = await parseAs('put', ['--tag', 'a=b', 'L', '--tag', 'c=d', 'R'])
    expect(out.args).to.include({local: 'L', remote: 'R'})
    expect((out.flags as {tag?: string[]}).tag).to.deep.equal(['a=b', 'c=d'])
  })

  describe('the command classes', () => {
    const ec2 = useEc2ClassMock()
    let dir: string
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-args-'))
      await writeFile(path.join(dir, 'b.yaml'), 'project: p\nregion: us-east-1\n')
      process.env.AWS_ACCESS_KEY_ID = 'testing'
      process.env.AWS_SECRET_ACCESS_KEY = 'testing'
    })

    it('extend -c b.yaml 5d runs with the duration', async () => {
      ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
      const {error, stdout} = await runSourceCommand([
        'extend',
        '-c',
        path.join(dir, 'b.yaml'),
        '5d',
        '--dry-run',
        '--json',
      ])
      expect(error).to.equal(undefined)
      expect(JSON.parse(stdout).project).to.equal('p')
    })

    it('put with a missing argument names it and the usage', async () => {
      const {error, stderr} = await runSourceCommand(['put', 'LOCAL', '-c', path.join(dir, 'b.yaml')])
      expect(error?.message).to.match(/EEXIT: 2/)
      expect(stderr).to.equal(
        'wolphin: error: missing argument REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE\n',
      )
    })
  })
})
