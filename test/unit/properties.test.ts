/**
 * Property-based tests (fast-check) of everything that reads user input: the config loader, the
 * selector parsers and the CLI flag parser. Any input either works or fails with a one-line
 * WolphinError that maps to exit 2, before any AWS call; never a crash or a stack trace.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {DescribeImagesCommand, DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {mockClient} from 'aws-sdk-client-mock'
import {expect} from 'chai'
import fc from 'fast-check'
import {stringify} from 'yaml'

import {loadConfig, parseConfigText} from '../../src/config/load.js'
import {ConfigError, SelectorError, WolphinError} from '../../src/errors.js'
import {parseSlots, parseStates, parseTagFilter} from '../../src/selectors/index.js'
import {runSourceCommand} from '../support/run-source.js'

/** Inputs tried by this file, printed at the end (the issue's closing note). */
const tried: Record<string, number> = {}
const count = (what: string) => (tried[what] = (tried[what] ?? 0) + 1)

/** A bad-input error: a WolphinError, exit 2, one line, no stack frames in its message. */
function expectUsageError(e: unknown, kind: new (...a: never[]) => WolphinError) {
  expect(e, String((e as Error)?.stack)).to.be.instanceOf(kind)
  const err = e as WolphinError
  expect(err.exitCode).to.equal(2)
  expect(err.message).to.not.include('\n')
  expect(err.message).to.not.match(/\bat .+:\d+:\d+/)
  expect(err.message.length).to.be.greaterThan(10)
}

const FIELDS = [
  'project',
  'email',
  'region',
  'ami',
  'instanceType',
  'keyName',
  'securityGroups',
  'subnet',
  'availabilityZone',
  'count',
  'user',
  'ssh',
  'wait',
  'tags',
  'userData',
  'iamInstanceProfile',
  'imdsv2',
  'lease',
  'maxLease',
  'market',
  'maxPrice',
  'maxAttempts',
]
const LEGACY = [
  'project',
  'ami_id',
  'instance_type',
  'min_instance_count',
  'max_instance_count',
  'pem_file',
  'region',
]

/** Values of every shape, biased to the near-misses that config files really contain. */
const value = fc.oneof(
  fc.anything({maxDepth: 2}),
  fc.constantFrom(
    'loadgen',
    'ami-12345678',
    't3.micro',
    'eu-west-1',
    '10m',
    '0',
    '-1',
    '',
    'true',
    'on-demand',
  ),
  fc.integer({min: -5, max: 70000}),
  fc.record({min: fc.integer({min: -2, max: 5}), max: fc.integer({min: -2, max: 5})}),
  fc.dictionary(
    fc.constantFrom('port', 'address', 'key', 'timeout', 'interval', 'Name', 'team'),
    fc.anything({maxDepth: 1}),
  ),
)
const configObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({maxLength: 12})), value, {
  maxKeys: 6,
})
const configText = fc.oneof(
  fc.string({maxLength: 200}),
  configObject.map((o) => stringify(o)),
  configObject.map((o) => JSON.stringify(o)),
  fc
    .array(
      fc.tuple(fc.oneof(fc.constantFrom(...LEGACY), fc.string({maxLength: 8})), fc.string({maxLength: 12})),
      {
        maxLength: 6,
      },
    )
    .map((kv) => kv.map(([k, v]) => `${k} = ${v}`).join('\n')),
)

describe('properties (fast-check)', function () {
  this.timeout(120_000)

  after(() => {
    const total = Object.values(tried).reduce((a, b) => a + b, 0)
    console.log(
      `    property inputs tried: ${total} (${Object.entries(tried)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
    )
  })

  describe('config loader', () => {
    it('parseConfigText: any text is a config or a one-line ConfigError naming the file', async () => {
      await fc.assert(
        fc.asyncProperty(
          configText,
          fc.constantFrom('wolphin.yaml', 'wolphin.json', '.wolphinrc', 'package.json'),
          async (text, file) => {
            count('config text')
            try {
              const c = await parseConfigText(text, file)
              expect(c).to.be.an('object')
            } catch (e) {
              expectUsageError(e, ConfigError)
              expect((e as Error).message.startsWith(`${file}: `)).to.equal(true)
            }
          },
        ),
        {numRuns: 400},
      )
    })

    it('loadConfig: any inline config resolves or fails with a one-line ConfigError', async () => {
      await fc.assert(
        fc.asyncProperty(configObject, fc.option(fc.string({maxLength: 20})), async (inline, project) => {
          count('inline config')
          try {
            const {config} = await loadConfig({inline: inline as never, project: project ?? undefined})
            // What resolves is usable: a project name and a sane count.
            expect(config.project).to.match(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)
            expect(config.count.min).to.be.at.least(1)
            expect(config.count.max).to.be.at.least(config.count.min)
            expect(config.wait.interval).to.be.greaterThan(0)
          } catch (e) {
            expectUsageError(e, ConfigError)
          }
        }),
        {numRuns: 400},
      )
    })
  })

  describe('selector parsers', () => {
    it('parseSlots: sorted unique slots >= 1, or a one-line SelectorError', () => {
      const slotish = fc.oneof(
        fc.string({maxLength: 20}),
        fc
          .array(
            fc.oneof(
              fc.nat(20).map(String),
              fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]) => `${a}-${b}`),
              fc.constantFrom('', ' ', '-', 'x', '1e3', '0x1', '99999999'),
            ),
            {maxLength: 5},
          )
          .map((p) => p.join(',')),
      )
      fc.assert(
        fc.property(slotish, (text) => {
          count('slots')
          try {
            const slots = parseSlots(text)
            expect(slots.length).to.be.greaterThan(0)
            for (let k = 0; k < slots.length; k++) {
              expect(Number.isInteger(slots[k]) && slots[k] >= 1).to.equal(true)
              if (k) expect(slots[k]).to.be.greaterThan(slots[k - 1])
            }
          } catch (e) {
            expectUsageError(e, SelectorError)
          }
        }),
        {numRuns: 1000},
      )
    })

    it('parseSlots round-trips any set of slots written as a list', () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({min: 1, max: 500}), {minLength: 1, maxLength: 12}), (xs) => {
          count('slots round-trip')
          expect(parseSlots(xs.join(','))).to.deep.equal([...xs].sort((a, b) => a - b))
        }),
        {numRuns: 300},
      )
    })

    it('parseStates and parseTagFilter: a value or a one-line SelectorError', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({maxLength: 30}),
            fc
              .array(fc.constantFrom('running', 'stopped', 'Running', 'runing', '', ' pending '), {
                maxLength: 4,
              })
              .map((x) => x.join(',')),
          ),
          (text) => {
            count('states / tag filters')
            try {
              const states = parseStates(text)
              expect(states.length).to.be.greaterThan(0)
            } catch (e) {
              expectUsageError(e, SelectorError)
            }
            try {
              const {key, value} = parseTagFilter(text)
              expect(key.length).to.be.greaterThan(0)
              expect(`${key}=${value}`).to.equal(text)
            } catch (e) {
              expectUsageError(e, SelectorError)
            }
          },
        ),
        {numRuns: 600},
      )
    })
  })

  describe('CLI flag parser (the command classes, in process)', () => {
    let client: ReturnType<typeof mockClient>
    let cfg: string
    before(async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-prop-'))
      cfg = path.join(dir, 'wolphin.yaml')
      await writeFile(
        cfg,
        'project: p\nregion: us-east-1\nami: ami-12345678\nwait: {interval: 0.01, timeout: 1}\n',
      )
      process.env.AWS_ACCESS_KEY_ID ??= 'testing'
      process.env.AWS_SECRET_ACCESS_KEY ??= 'testing'
      client = mockClient(EC2Client)
    })
    after(() => client.restore())

    const flagValue = fc.oneof(
      fc.string({maxLength: 12}),
      fc.constantFrom(
        '1',
        '1,3',
        '5-7',
        '0',
        '3-1',
        'running',
        'runing',
        'Name=x',
        '=x',
        'x',
        'us-east-1',
        'moon',
        'bad.name',
        'p',
        '--json',
        '-i',
        '',
      ),
    )
    const flag = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(
            '-i',
            '--instances',
            '--state',
            '--tag',
            '-p',
            '--project',
            '--region',
            '--strategy',
            '--surge',
            '--selector',
            '--bogus',
            '-z',
          ),
          flagValue,
        )
        .map(([f, v]) => [f, v]),
      fc.constantFrom(
        ['--json'],
        ['--dry-run'],
        ['--no-wait'],
        ['--wait'],
        ['--yes'],
        ['-y'],
        ['--hard'],
        ['--'],
        ['extra'],
      ),
      flagValue.map((v) => [v]),
    )
    const argv = fc.tuple(
      // (create --dry-run also validates the launch against the account: not a parser matter)
      fc.constantFrom('status', 'stop', 'start', 'reboot', 'terminate', 'revert', 'extend'),
      fc.array(flag, {maxLength: 4}),
    )

    it('any argv works, or exits 2 with one line on stderr and no AWS call, never a stack trace', async () => {
      await fc.assert(
        fc.asyncProperty(argv, async ([command, flags]) => {
          count('argv')
          client.reset()
          client.on(DescribeInstancesCommand).resolves({Reservations: []})
          client.on(DescribeImagesCommand).resolves({Images: [{ImageId: 'ami-12345678', State: 'available'}]})
          // Mutating commands run as dry runs so "works" needs no more than a DescribeInstances.
          const args = [command, '-c', cfg, ...flags.flat(), ...(command === 'status' ? [] : ['--dry-run'])]
          // From src/, so that the mocked EC2Client is the one the command uses (runSourceCommand).
          const {stderr, stdout, error} = await runSourceCommand(args)
          const out = `${stdout}\n${stderr}\n${error?.message ?? ''}`
          expect(out, args.join(' ')).to.not.match(/\n\s+at .+[:(].+:\d+:\d+/)
          if (!error) return
          const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
          expect(exit, `${args.join(' ')}: ${error.message}`).to.equal(2)
          expect(
            client.calls(),
            `${args.join(' ')} made an AWS call before failing: ${stderr}`,
          ).to.have.length(0)
          // (oclif's own notice about running from compiled sources is not ours)
          const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !/^\s*›/.test(l))
          // One error line (the JSON form prints a document on stdout instead).
          if (!flags.flat().includes('--json')) {
            expect(lines, `${args.join(' ')}: ${JSON.stringify(lines)}`).to.have.length(1)
            expect(lines[0]).to.match(/^wolphin: error: /)
          }
        }),
        {numRuns: 250},
      )
    })
  })
})
