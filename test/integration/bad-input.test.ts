/**
 * A table of named bad inputs (config files, flags, selectors, selector modules that throw, SSH key
 * files that are missing or too open) with their exact one-line messages. Every row runs the real
 * CLI as a child process with AWS_ENDPOINT_URL pointing at a local server that counts requests:
 * each must exit 2, print exactly `wolphin: error: <message>` and make no AWS request at all.
 */
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {SelectorError} from '../../src/errors.js'
import {applySelector} from '../../src/selectors/index.js'
import {type CliResult, runCli} from '../support/cli.js'
import {type CountingProxy, startCountingProxy} from '../support/counting-proxy.js'
import {motoEnv} from '../support/moto.js'

interface Row {
  name: string
  args: string[]
  /** The exact message after "wolphin: error: ". */
  message: string
  /** Content of the file the row's `-c` points at. */
  file?: string
  /** More files in the row's directory. */
  files?: Record<string, string>
  /** A FIFO (named pipe) at this path in the row's directory. */
  fifo?: string
}

const OK = 'project: p\nregion: us-east-1\nami: ami-12345678\n'
const cfg = (
  extra: string,
  name: string,
  message: string,
  args: string[] = ['status', '-c', 'c.yaml'],
): Row => ({
  name,
  args,
  message,
  file: OK + extra,
})
const DIGITS_400 = '9'.repeat(400)
const SSH_JSON =
  'ssh: --json is not available: ssh prints what the remote command prints; for a JSON result use wolphin exec -i SLOT --json -- COMMAND'
const manyTags = (n: number) => `tags:\n${Array.from({length: n}, (_, i) => `  k${i}: v\n`).join('')}`
// A lease (compared with dates) up to 10 years; timeouts and intervals, what a timer waits for,
// up to 24d (Node's timers hold 24.8 days at most).
const LEASE_RANGE = '(more than 0, at most 3650d)'
const DURATION_RANGE = '(more than 0, at most 24d)'
const LEASE_MSG = `expected a duration like 30s, 15m, 8h or 3d ${LEASE_RANGE}`
const SECONDS_MSG = 'expected a positive number of seconds or a duration like 90s, 10m (at most 24d)'

/** Every command, with what it needs besides -c to get past its own arguments. */
const COMMANDS: Array<[string, string[]]> = [
  ['status', []],
  ['create', []],
  ['start', []],
  ['stop', ['--yes']],
  ['reboot', ['--yes']],
  ['terminate', ['--yes']],
  ['revert', ['--yes']],
  ['extend', ['1h']],
  ['exec', ['--', 'true']],
  ['put', ['ok.yaml', 'remote/']],
  ['config', []],
  ['validate', []],
]

/** Limits (counts, durations, EC2's tag and user-data rules), code and devices, argument order. */
const LIMIT_ROWS: Row[] = [
  // count: bounded by countLimit (default 1000), itself at most 100000 (the highest slot)
  cfg(
    'count: 1000000000\n',
    'count: a billion',
    'c.yaml: field "count": expected at most 100000 (the highest slot number)',
  ),
  cfg(
    'count: {min: 1, max: 100001}\n',
    'count: max above the highest slot',
    'c.yaml: field "count.max": expected max <= 100000 (the highest slot number)',
  ),
  cfg(
    'count: 1001\n',
    'count: above the default countLimit',
    'c.yaml: field "count": 1001 instances is above countLimit (1000); set countLimit: 1001 in the config to launch that many on purpose',
  ),
  cfg(
    'count: {min: 2, max: 5000}\n',
    'count: max above the default countLimit',
    'c.yaml: field "count": 5000 instances is above countLimit (1000); set countLimit: 5000 in the config to launch that many on purpose',
  ),
  cfg(
    'count: 600\ncountLimit: 500\n',
    'count: above a lowered countLimit',
    'c.yaml: field "count": 600 instances is above countLimit (500); set countLimit: 600 in the config to launch that many on purpose',
  ),
  cfg(
    'countLimit: 100001\n',
    'countLimit: above the highest slot',
    'c.yaml: field "countLimit": expected at most 100000 (the highest slot number)',
  ),
  cfg('countLimit: 0\n', 'countLimit: 0', 'c.yaml: field "countLimit": Too small: expected number to be >=1'),
  cfg(
    'countLimit: lots\n',
    'countLimit: a word',
    'c.yaml: field "countLimit": Invalid input: expected number, received string',
  ),
  cfg(
    'count: 1.5\n',
    'count: a fraction',
    'c.yaml: field "count": expected a whole number >= 1 or {min, max}',
  ),
  cfg('count: -3\n', 'count: negative', 'c.yaml: field "count": expected at least 1'),
  cfg(
    'count: 1e400\n',
    'count: infinite',
    'c.yaml: field "count": expected a whole number >= 1 or {min, max}',
  ),
  cfg('count: .nan\n', 'count: NaN', 'c.yaml: field "count": expected a whole number >= 1 or {min, max}'),
  cfg(
    'count: 1000000000\n',
    'create: count a billion',
    'c.yaml: field "count": expected at most 100000 (the highest slot number)',
    ['create', '-c', 'c.yaml', '--dry-run'],
  ),
  cfg(
    'count: {min: 1, max: 100001}\n',
    'create: max 100001',
    'c.yaml: field "count.max": expected max <= 100000 (the highest slot number)',
    ['create', '-c', 'c.yaml', '--dry-run'],
  ),
  cfg(
    'count: 5000\n',
    'create --dry-run: count above countLimit',
    'c.yaml: field "count": 5000 instances is above countLimit (1000); set countLimit: 5000 in the config to launch that many on purpose',
    ['create', '-c', 'c.yaml', '--dry-run'],
  ),
  // durations: finite, more than 0, at most 3650d (a lease), 24d (what a timer waits for)
  cfg('lease: 1e99\n', 'lease: 1e99', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: "1e99"\n', 'lease: "1e99" (a string)', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: 99999999999d\n', 'lease: 99999999999d', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg(`lease: ${DIGITS_400}\n`, 'lease: 400 digits', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg(`lease: "${DIGITS_400}s"\n`, 'lease: 400 digits of seconds', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: 0s\n', 'lease: 0s', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: 0\n', 'lease: 0', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: -1h\n', 'lease: negative', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: 3651d\n', 'lease: just over 10 years', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('lease: .inf\n', 'lease: infinity', `c.yaml: field "lease": ${LEASE_MSG}`),
  cfg('maxLease: 0s\n', 'maxLease: 0s', `c.yaml: field "maxLease": ${LEASE_MSG}`),
  cfg('maxLease: 99999999999d\n', 'maxLease: 99999999999d', `c.yaml: field "maxLease": ${LEASE_MSG}`),
  cfg('wait: {timeout: 1e99}\n', 'wait.timeout: 1e99', `c.yaml: field "wait.timeout": ${SECONDS_MSG}`),
  cfg('wait: {interval: 0s}\n', 'wait.interval: 0s', `c.yaml: field "wait.interval": ${SECONDS_MSG}`),
  cfg(
    'ssh: {connectTimeout: 30d}\n',
    'ssh.connectTimeout: 30d',
    `c.yaml: field "ssh.connectTimeout": ${SECONDS_MSG}`,
  ),
  cfg('wait: {timeout: 25d}\n', 'wait.timeout: 25d', `c.yaml: field "wait.timeout": ${SECONDS_MSG}`),
  cfg(
    'wait: {timeout: 99999999999d}\n',
    'wait.timeout: 99999999999d',
    `c.yaml: field "wait.timeout": ${SECONDS_MSG}`,
  ),
  cfg(
    'ssh: {connectTimeout: 1e99}\n',
    'ssh.connectTimeout: 1e99',
    `c.yaml: field "ssh.connectTimeout": ${SECONDS_MSG}`,
  ),
  {
    name: 'extend 0s',
    args: ['extend', '-c', 'ok.yaml', '0s'],
    message: `DURATION "0s": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend 99999999999d',
    args: ['extend', '-c', 'ok.yaml', '99999999999d'],
    message: `DURATION "99999999999d": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend 400 digits',
    args: ['extend', '-c', 'ok.yaml', DIGITS_400],
    message: `DURATION "${DIGITS_400}": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend 400 digits of hours',
    args: ['extend', '-c', 'ok.yaml', `${DIGITS_400}h`],
    message: `DURATION "${DIGITS_400}h": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend 1e99',
    args: ['extend', '-c', 'ok.yaml', '1e99'],
    message: `DURATION "1e99": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend 3651d',
    args: ['extend', '-c', 'ok.yaml', '3651d'],
    message: `DURATION "3651d": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend Infinity',
    args: ['extend', '-c', 'ok.yaml', 'Infinity'],
    message: `DURATION "Infinity": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend with a space',
    args: ['extend', '-c', 'ok.yaml', '5 d'],
    message: `DURATION "5 d": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend negative',
    args: ['extend', '-c', 'ok.yaml', '--', '-5m'],
    message: `DURATION "-5m": expected a duration like 30m, 8h or 3d ${LEASE_RANGE}`,
  },
  {
    name: 'extend --until year 10000',
    args: ['extend', '-c', 'ok.yaml', '--until', '10000-01-01T00:00:00Z'],
    message: '--until "10000-01-01T00:00:00Z" is not an ISO-8601 instant; expected like 2026-05-01T18:00:00Z',
  },
  {
    name: 'extend --until a word',
    args: ['extend', '-c', 'ok.yaml', '--until', 'tomorrow'],
    message: '--until "tomorrow" is not an ISO-8601 instant; expected like 2026-05-01T18:00:00Z',
  },
  {
    name: 'extend: DURATION and --until',
    args: ['extend', '-c', 'ok.yaml', '1h', '--until', '2030-01-01T00:00:00Z'],
    message: 'give either DURATION or --until, not both',
  },
  {
    name: 'extend: no DURATION',
    args: ['extend', '-c', 'ok.yaml'],
    message: 'missing DURATION (like 8h) or --until ISO-8601 instant',
  },
  {
    name: 'status --watch --interval 0',
    args: ['status', '-c', 'ok.yaml', '--watch', '--interval', '0'],
    message: `Parsing --interval: "0" is not a duration; expected seconds or a duration like 90s, 10m ${DURATION_RANGE}`,
  },
  {
    name: 'status --watch --interval 400 digits',
    args: ['status', '-c', 'ok.yaml', '--watch', '--interval', DIGITS_400],
    message: `Parsing --interval: "${DIGITS_400}" is not a duration; expected seconds or a duration like 90s, 10m ${DURATION_RANGE}`,
  },
  {
    name: 'status --watch --timeout 99999999999d',
    args: ['status', '-c', 'ok.yaml', '--watch', '--timeout', '99999999999d'],
    message: `Parsing --timeout: "99999999999d" is not a duration; expected seconds or a duration like 90s, 10m ${DURATION_RANGE}`,
  },
  {
    name: 'exec --timeout 0s',
    args: ['exec', '-c', 'ok.yaml', '--timeout', '0s', '--', 'true'],
    message: `Parsing --timeout: "0s" is not a duration; expected seconds or a duration like 90s, 5m ${DURATION_RANGE}`,
  },
  {
    name: 'exec --timeout 1e99',
    args: ['exec', '-c', 'ok.yaml', '--timeout', '1e99', '--', 'true'],
    message: `Parsing --timeout: "1e99" is not a duration; expected seconds or a duration like 90s, 5m ${DURATION_RANGE}`,
  },
  {
    name: 'put --timeout 400 digits',
    args: ['put', '-c', 'ok.yaml', '--timeout', DIGITS_400, 'ok.yaml', 'r/'],
    message: `Parsing --timeout: "${DIGITS_400}" is not a duration; expected seconds or a duration like 90s, 5m ${DURATION_RANGE}`,
  },
  {
    name: 'reap --grace 99999999999d',
    args: ['reap', '-c', 'ok.yaml', '--grace', '99999999999d'],
    message:
      'Parsing --grace: "99999999999d" is not a duration; expected seconds or a duration like 10m (at most 3650d)',
  },
  // status: the watch flags need --watch
  {
    name: 'exec --timeout 30d (past what a timer can wait)',
    args: ['exec', '-c', 'ok.yaml', '--timeout', '30d', '--', 'true'],
    message: 'Parsing --timeout: "30d" is longer than 24d, the longest wolphin waits for',
  },
  {
    name: 'status --watch --interval 25d',
    args: ['status', '-c', 'ok.yaml', '--watch', '--interval', '25d'],
    message: 'Parsing --interval: "25d" is longer than 24d, the longest wolphin waits for',
  },
  {
    name: '--request-timeout 30d',
    args: ['status', '-c', 'ok.yaml', '--request-timeout', '30d'],
    message: `--request-timeout: field "timeouts.request": ${SECONDS_MSG}`,
  },
  {
    name: '--total-timeout 30d',
    args: ['status', '-c', 'ok.yaml', '--total-timeout', '30d'],
    message: `--total-timeout: field "timeouts.total": ${SECONDS_MSG}`,
  },
  {
    name: 'status --interval without --watch',
    args: ['status', '-c', 'ok.yaml', '--interval', '5'],
    message: 'All of the following must be provided when using --interval: --watch',
  },
  {
    name: 'status --timeout without --watch',
    args: ['status', '-c', 'ok.yaml', '--timeout', '5m'],
    message: 'All of the following must be provided when using --timeout: --watch',
  },
  {
    name: 'status --until-stable without --watch',
    args: ['status', '-c', 'ok.yaml', '--until-stable'],
    message: 'All of the following must be provided when using --until-stable: --watch',
  },
  // EC2's tag limits: 50 per instance counting wolphin's own (9), keys <= 128, values <= 256, no aws:
  cfg(
    manyTags(42),
    "tags: 42 (50 with wolphin's own exceeded)",
    'c.yaml: field "tags": 42 tags; at most 40 (EC2 allows 50 per instance and wolphin sets up to 10 of its own)',
  ),
  cfg(
    manyTags(50),
    'tags: 50',
    'c.yaml: field "tags": 50 tags; at most 40 (EC2 allows 50 per instance and wolphin sets up to 10 of its own)',
  ),
  cfg(
    manyTags(51),
    'tags: 51',
    'c.yaml: field "tags": 51 tags; at most 40 (EC2 allows 50 per instance and wolphin sets up to 10 of its own)',
  ),
  cfg(
    `tags: {${'k'.repeat(129)}: v}\n`,
    'tags: key of 129 characters',
    `c.yaml: field "tags": tag key "${'k'.repeat(40)}..." is 129 characters; EC2 allows at most 128`,
  ),
  cfg(
    `tags: {${'é'.repeat(129)}: v}\n`,
    'tags: key of 129 accented characters',
    `c.yaml: field "tags": tag key "${'é'.repeat(40)}..." is 129 characters; EC2 allows at most 128`,
  ),
  cfg(
    `tags: {k: ${'v'.repeat(257)}}\n`,
    'tags: value of 257 characters',
    'c.yaml: field "tags": tag "k": value is 257 characters; EC2 allows at most 256',
  ),
  cfg(
    `tags: {k: "${'😀'.repeat(257)}"}\n`,
    'tags: value of 257 emoji',
    'c.yaml: field "tags": tag "k": value is 257 characters; EC2 allows at most 256',
  ),
  cfg(
    'tags: {"aws:foo": x}\n',
    'tags: aws: prefix',
    'c.yaml: field "tags": tag key "aws:foo": the "aws:" prefix is reserved by AWS',
  ),
  cfg(
    'tags: {"AWS:Foo": x}\n',
    'tags: AWS: prefix',
    'c.yaml: field "tags": tag key "AWS:Foo": the "aws:" prefix is reserved by AWS',
  ),
  cfg(
    'tags: {"Aws:cloudformation:x": x}\n',
    'tags: Aws: prefix',
    'c.yaml: field "tags": tag key "Aws:cloudformation:x": the "aws:" prefix is reserved by AWS',
  ),
  cfg('tags: {"": x}\n', 'tags: empty key', 'c.yaml: field "tags": a tag key is empty'),
  cfg('tags: {"  ": x}\n', 'tags: blank key', 'c.yaml: field "tags": a tag key is empty'),
  cfg(
    'tags: {Name: x}\n',
    'tags: Name',
    'c.yaml: field "tags": ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
  ),
  cfg(
    'tags: {OwnerEmail: x}\n',
    'tags: OwnerEmail',
    'c.yaml: field "tags": ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
  ),
  cfg(
    'tags: {"wolphin:slot": "1"}\n',
    'tags: wolphin:slot',
    'c.yaml: field "tags": ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
  ),
  cfg(
    'tags: {k: 5}\n',
    'tags: a number value',
    'c.yaml: field "tags.k": Invalid input: expected string, received number',
  ),
  cfg(
    'tags: [a, b]\n',
    'tags: a list',
    'c.yaml: field "tags": Invalid input: expected record, received array',
  ),
  cfg(
    `email: ${'a'.repeat(251)}@x.com\n`,
    'email: 256+ characters (the OwnerEmail tag)',
    'c.yaml: field "email": expected at most 256 characters (it is the OwnerEmail tag\'s value)',
  ),
  cfg(
    `email: "${'é'.repeat(257)}"\n`,
    'email: 257 accented characters',
    'c.yaml: field "email": expected at most 256 characters (it is the OwnerEmail tag\'s value)',
  ),
  cfg(
    'email: ""\n',
    'email: empty',
    'c.yaml: field "email": Too small: expected string to have >=1 characters',
  ),
  cfg(
    `userData: "${'x'.repeat(16 * 1024 + 1)}"\n`,
    'userData: 16 KB + 1 byte',
    'c.yaml: field "userData": expected at most 16 KB (16384 bytes, EC2\'s limit before base64)',
  ),
  cfg(
    `userData: "${'€'.repeat(6000)}"\n`,
    'userData: 6000 characters of 3 bytes',
    'c.yaml: field "userData": expected at most 16 KB (16384 bytes, EC2\'s limit before base64)',
  ),
  cfg(
    `userData: "${'x'.repeat(16 * 1024 + 1)}"\n`,
    'create --dry-run: userData over 16 KB',
    'c.yaml: field "userData": expected at most 16 KB (16384 bytes, EC2\'s limit before base64)',
    ['create', '-c', 'c.yaml', '--dry-run'],
  ),
  {
    name: 'create --dry-run: a 2 MB config (a huge userData)',
    args: ['create', '-c', 'c.yaml', '--dry-run'],
    message: 'c.yaml: cannot read config file (2097212 bytes; a config is at most 1 MiB)',
    file: `${OK}userData: "${'x'.repeat(2 * 1024 * 1024)}"\n`,
  },
  cfg(
    'ssh: {address: "tag:"}\n',
    'ssh.address: tag: without a key',
    'c.yaml: field "ssh.address": expected public-ip, private-ip, public-dns, private-dns or tag:KEY',
  ),
  // -c that is not a regular file: no read, no hang
  {
    name: 'config: a FIFO',
    args: ['status', '-c', 'pipe.yaml'],
    message: 'pipe.yaml: cannot read config file (not a regular file)',
    fifo: 'pipe.yaml',
  },
  {
    name: 'config: a FIFO, second of two',
    args: ['status', '-c', 'ok.yaml', '-c', 'pipe.yaml'],
    message: 'pipe.yaml: cannot read config file (not a regular file)',
    fifo: 'pipe.yaml',
  },
  {
    name: 'config: /dev/zero',
    args: ['status', '-c', '/dev/zero'],
    message: '/dev/zero: cannot read config file (not a regular file)',
  },
  {
    name: 'config: /dev/null',
    args: ['status', '-c', '/dev/null'],
    message: '/dev/null: cannot read config file (not a regular file)',
  },
  {
    name: 'config: /dev/urandom',
    args: ['status', '-c', '/dev/urandom'],
    message: '/dev/urandom: cannot read config file (not a regular file)',
  },
  {
    name: 'config: /dev/stdin',
    args: ['status', '-c', '/dev/stdin'],
    message: '/dev/stdin: cannot read config file (not a regular file)',
  },
  {
    name: 'config: discovered wolphin.yaml is a FIFO',
    args: ['status'],
    message: 'wolphin.yaml: cannot read config file (not a regular file)',
    fifo: 'wolphin.yaml',
  },
  {
    name: 'config: discovered .wolphinrc is a FIFO',
    args: ['status'],
    message: '.wolphinrc: cannot read config file (not a regular file)',
    fifo: '.wolphinrc',
  },
  // config is data: code named with -c is refused, nothing runs
  ...['js', 'mjs', 'cjs', 'ts', 'mts', 'cts'].map((ext): Row => ({
    name: `config: -c wolphin.config.${ext}`,
    args: ['status', '-c', `wolphin.config.${ext}`],
    message: `wolphin.config.${ext}: is JavaScript or TypeScript; wolphin reads config as data only (YAML, JSON, package.json#wolphin); for config in code use the library (loadConfig({inline}))`,
    files: {[`wolphin.config.${ext}`]: 'require("node:fs").writeFileSync("PWNED", "")\n'},
  })),
  {
    name: 'config: $import in package.json#wolphin',
    args: ['status'],
    message: 'package.json: unknown field "$import"',
    files: {'package.json': JSON.stringify({wolphin: {$import: './x.mjs', project: 'p'}})},
  },
  {
    name: 'config: $import in a -c file',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: unknown field "$import"',
    file: '$import: ./x.mjs\nproject: p\n',
  },
  // selector modules that misbehave while loading: bounded time, exit 2
  {
    name: 'selector: loops at import',
    args: ['status', '-c', 'ok.yaml', '--selector', './loop.mjs'],
    message:
      '--selector: ./loop.mjs: did not finish loading within 3s (does its top-level code loop or wait?)',
  },
  {
    name: 'selector: loops at import (CommonJS)',
    args: ['status', '-c', 'ok.yaml', '--selector', './loop.cjs'],
    message:
      '--selector: ./loop.cjs: did not finish loading within 3s (does its top-level code loop or wait?)',
  },
  {
    name: 'selector: process.exit(0) at import',
    args: ['status', '-c', 'ok.yaml', '--selector', './exit0.mjs'],
    message:
      '--selector: ./exit0.mjs: exited (code 0) while loading: a selector module must not call process.exit() or leave a top-level await unsettled',
  },
  {
    name: 'selector: process.exit(3) at import',
    args: ['status', '-c', 'ok.yaml', '--selector', './exit3.mjs'],
    message:
      '--selector: ./exit3.mjs: exited (code 3) while loading: a selector module must not call process.exit() or leave a top-level await unsettled',
  },
  {
    name: 'selector: top-level await never settles',
    args: ['status', '-c', 'ok.yaml', '--selector', './never.mjs'],
    message:
      '--selector: ./never.mjs: exited (code 0) while loading: a selector module must not call process.exit() or leave a top-level await unsettled',
  },
  {
    name: 'selector: waits on a timer for ever',
    args: ['status', '-c', 'ok.yaml', '--selector', './forever.mjs'],
    message:
      '--selector: ./forever.mjs: did not finish loading within 3s (does its top-level code loop or wait?)',
  },
  {
    name: 'selector: loops, with stop',
    args: ['stop', '-c', 'ok.yaml', '--selector', './loop.mjs', '--yes'],
    message:
      '--selector: ./loop.mjs: did not finish loading within 3s (does its top-level code loop or wait?)',
  },
  {
    name: 'selector: exits, with terminate',
    args: ['terminate', '-c', 'ok.yaml', '--selector', './exit0.mjs', '--yes'],
    message:
      '--selector: ./exit0.mjs: exited (code 0) while loading: a selector module must not call process.exit() or leave a top-level await unsettled',
  },
  {
    name: 'selector: a directory',
    args: ['status', '-c', 'ok.yaml', '--selector', './adir'],
    message: '--selector: ./adir: is a directory; expected a module file',
  },
  // arguments: -c on either side, missing ones named, strays refused
  {
    name: 'put: no arguments',
    args: ['put', '-c', 'ok.yaml'],
    message:
      'missing arguments LOCAL (Local file or directory), REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE',
  },
  {
    name: 'put: REMOTE missing, -c after',
    args: ['put', 'ok.yaml', '-c', 'ok.yaml'],
    message: 'missing argument REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE',
  },
  {
    name: 'put: REMOTE missing, -c before',
    args: ['put', '-c', 'ok.yaml', 'ok.yaml'],
    message: 'missing argument REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE',
  },
  {
    name: 'put: a third argument',
    args: ['put', '-c', 'ok.yaml', 'a', 'b', 'c'],
    message: 'Unexpected argument: c',
  },
  {
    name: 'extend: a second argument',
    args: ['extend', '-c', 'ok.yaml', '1h', '2h'],
    message: 'Unexpected argument: 2h',
  },
  {
    name: 'unknown command',
    args: ['bogus'],
    message: 'unknown command "bogus" (`wolphin --help` lists the commands)',
  },
  {
    name: 'unknown command, capitalised',
    args: ['Status'],
    message: 'unknown command "Status"; did you mean "wolphin status"? (`wolphin --help` lists the commands)',
  },
  {
    name: 'status: a stray word',
    args: ['status', 'extra', '-c', 'ok.yaml'],
    message: 'Unexpected argument: extra',
  },
  {
    name: 'config: a stray word',
    args: ['config', 'extra', '-c', 'ok.yaml'],
    message: 'Unexpected argument: extra',
  },
  {name: 'ls: a stray word', args: ['ls', 'extra', '-c', 'ok.yaml'], message: 'Unexpected argument: extra'},
  {
    name: 'terminate: a stray word',
    args: ['terminate', '-c', 'ok.yaml', 'all'],
    message: 'Unexpected argument: all',
  },
  // every command refuses a bad config or selection before any call
  ...COMMANDS.flatMap(([cmd, rest]): Row[] => [
    {
      name: `${cmd}: -c missing file`,
      args: [cmd, '-c', 'nope.yaml', ...rest],
      message: 'nope.yaml: cannot read config file (no such file)',
    },
    {
      name: `${cmd}: -c a FIFO`,
      args: [
        cmd,
        ...rest.filter((a) => a !== '--' && a !== 'true'),
        '-c',
        'pipe.yaml',
        ...(rest.includes('--') ? ['--', 'true'] : []),
      ],
      message: 'pipe.yaml: cannot read config file (not a regular file)',
      fifo: 'pipe.yaml',
    },
  ]),
  ...COMMANDS.filter(([cmd]) => !['create', 'config', 'validate'].includes(cmd)).map(([cmd, rest]): Row => ({
    name: `${cmd}: --instances 0`,
    args: [cmd, '-c', 'ok.yaml', '-i', '0', ...rest],
    message: '--instances: "0": slot numbers start at 1',
  })),
]

export const BAD_INPUTS: Row[] = [
  {
    name: 'config: missing file',
    args: ['status', '-c', 'nope.yaml'],
    message: 'nope.yaml: cannot read config file (no such file)',
  },
  {
    name: 'config: a directory',
    args: ['status', '-c', 'adir'],
    message: 'adir: cannot read config file (is a directory)',
  },
  {
    name: 'config: malformed YAML',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: malformed YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    file: 'project: [a\n',
  },
  {
    name: 'config: a list',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: expected a mapping of fields (like "project: loadgen"), got a list',
    file: '- a\n- b\n',
  },
  {
    name: 'config: a scalar',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: expected a mapping of fields (like "project: loadgen"), got string',
    file: 'just text\n',
  },
  {
    name: 'config: unknown field',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: unknown field "image"',
    file: 'project: p\nimage: ami-1\n',
  },
  {
    name: 'config: project with a dot',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: field "project": expected letters, digits, "-" and "_" (no dots), starting with a letter or digit',
    file: 'project: a.b\n',
  },
  {
    name: 'config: project missing',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "project" is required (expected a name like "loadgen"; or pass --project)',
    file: 'region: us-east-1\n',
  },
  {
    name: 'config: count 0',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "count": expected at least 1',
    file: 'project: p\ncount: 0\n',
  },
  {
    name: 'config: count min > max',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "count": min (3) is greater than max (2); expected min <= max',
    file: 'project: p\ncount: {min: 3, max: 2}\n',
  },
  {
    name: 'config: count a string',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "count": expected a whole number >= 1 or {min, max}',
    file: 'project: p\ncount: many\n',
  },
  {
    name: 'config: count with an extra key',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: unknown field "avg" in "count"',
    file: 'project: p\ncount: {min: 1, max: 2, avg: 1}\n',
  },
  {
    name: 'config: bad region',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "region": expected a region like eu-west-1',
    file: 'project: p\nregion: moon\n',
  },
  {
    name: 'config: bad ami',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: field "ami": expected an AMI id like ami-0123456789abcdef0, or resolve:ssm:/aws/service/... (a parameter)',
    file: 'project: p\nami: ubuntu\n',
  },
  {
    name: 'config: bad instance type',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "instanceType": expected an instance type like t3.micro',
    file: 'project: p\ninstanceType: big\n',
  },
  {
    name: 'config: ssh port out of range',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "ssh.port": Too big: expected number to be <=65535',
    file: 'project: p\nssh: {port: 70000}\n',
  },
  {
    name: 'config: ssh address unknown',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: field "ssh.address": expected public-ip, private-ip, public-dns, private-dns or tag:KEY',
    file: 'project: p\nssh: {address: ipv9}\n',
  },
  {
    name: 'config: negative wait timeout',
    args: ['status', '-c', 'c.yaml'],
    message: `c.yaml: field "wait.timeout": ${SECONDS_MSG}`,
    file: 'project: p\nwait: {timeout: -5}\n',
  },
  {
    name: 'config: reserved tag',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: field "tags": ProjectName, Name, OwnerEmail and wolphin:* tags are set by wolphin and cannot be configured',
    file: 'project: p\ntags: {ProjectName: x}\n',
  },
  {
    name: 'config: bad lease',
    args: ['status', '-c', 'c.yaml'],
    message: `c.yaml: field "lease": ${LEASE_MSG}`,
    file: 'project: p\nlease: soon\n',
  },
  {
    name: 'config: unknown market',
    args: ['status', '-c', 'c.yaml'],
    message:
      'c.yaml: field "market": Invalid option: expected one of "on-demand"|"spot"|"spot-then-on-demand"',
    file: 'project: p\nmarket: cheap\n',
  },
  {
    name: 'config: maxAttempts 0',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "maxAttempts": Too small: expected number to be >=1',
    file: 'project: p\nmaxAttempts: 0\n',
  },
  {
    name: 'config: imdsv2 not a boolean',
    args: ['status', '-c', 'c.yaml'],
    message: 'c.yaml: field "imdsv2": Invalid input: expected boolean, received string',
    file: 'project: p\nimdsv2: maybe\n',
  },
  {
    name: 'legacy: unknown key',
    args: ['status', '-c', 'legacy.cfg'],
    message:
      'legacy.cfg: unknown field "foo" (expected one of project, ami_id, instance_type, min_instance_count, max_instance_count, amazon_keypair_name, pem_file, pem_path, instance_securitygroup, instance_availabilityzone, user, email, region, max_wait_tries, max_wait_duration, aws_access_key_id, aws_secret_key, aws_secret_access_key)',
    file: 'project = p\nfoo = bar\n',
  },
  {
    name: 'legacy: count not a number',
    args: ['status', '-c', 'legacy.cfg'],
    message: 'legacy.cfg: field "min_instance_count": expected a whole number, got "two"',
    file: 'project = p\nmin_instance_count = two\n',
  },
  {
    name: 'package.json: malformed',
    args: ['status', '-c', 'package.json'],
    message: 'package.json: malformed JSON: Unexpected end of JSON input',
    file: '{"wolphin": ',
  },
  {
    name: 'create without ami',
    args: ['create', '-c', 'c.yaml'],
    message:
      'c.yaml: field "ami" is required to launch instances (expected an AMI id like ami-0123456789abcdef0)',
    file: 'project: p\n',
  },
  {
    name: 'no config found',
    args: ['status'],
    message:
      'no config found in <dir> (looked for wolphin.yaml, .wolphinrc*, package.json#wolphin); pass -c FILE or run "wolphin init"',
  },
  {name: 'flag: unknown', args: ['status', '-c', 'ok.yaml', '--bogus'], message: 'Nonexistent flag: --bogus'},
  {
    name: 'flag: unexpected argument',
    args: ['status', '-i', '1', 'extra', '-c', 'ok.yaml'],
    message: 'Unexpected argument: extra',
  },
  {
    name: 'flag: missing value',
    args: ['status', '-c', 'ok.yaml', '-i'],
    message: 'Flag --instances expects a value',
  },
  {
    name: 'flag: --instances 0',
    args: ['status', '-c', 'ok.yaml', '-i', '0'],
    message: '--instances: "0": slot numbers start at 1',
  },
  {
    name: 'flag: --instances backwards',
    args: ['status', '-c', 'ok.yaml', '-i', '3-1'],
    message: '--instances: "3-1": range runs backwards; expected low-high like 5-7',
  },
  {
    name: 'flag: --instances word',
    args: ['status', '-c', 'ok.yaml', '-i', 'all'],
    message: '--instances: "all" is not a slot number or range; expected slot numbers like 1,3,5-7',
  },
  {
    name: 'flag: --instances empty',
    args: ['status', '-c', 'ok.yaml', '-i', ''],
    message: '--instances: empty list; expected slot numbers like 1,3,5-7',
  },
  {
    name: 'flag: --instances huge',
    args: ['status', '-c', 'ok.yaml', '-i', '1-999999'],
    message: '--instances: "1-999999": slot numbers go up to 100000',
  },
  {
    name: 'flag: --state misspelt',
    args: ['status', '-c', 'ok.yaml', '--state', 'runing'],
    message:
      '--state: "runing" is not an instance state; expected one or more of pending, running, stopping, stopped, shutting-down, terminated',
  },
  {
    name: 'flag: --tag without =',
    args: ['status', '-c', 'ok.yaml', '--tag', 'role'],
    message: '--tag: "role" is not KEY=VALUE; expected something like --tag role=loadgen',
  },
  {
    name: 'flag: --tag without key',
    args: ['status', '-c', 'ok.yaml', '--tag', '=x'],
    message: '--tag: "=x" is not KEY=VALUE; expected something like --tag role=loadgen',
  },
  {
    name: 'flag: --project with a dot',
    args: ['status', '-c', 'ok.yaml', '-p', 'a.b'],
    message:
      '--project: field "project": expected letters, digits, "-" and "_" (no dots), starting with a letter or digit',
  },
  {
    name: 'flag: --region bad',
    args: ['status', '-c', 'ok.yaml', '--region', 'moon'],
    message: '--region: field "region": expected a region like eu-west-1',
  },
  {
    name: 'flag: --strategy unknown',
    args: ['revert', '-c', 'ok.yaml', '--strategy', 'yolo', '--yes'],
    message: 'Expected --strategy=yolo to be one of: batch, sequential, rolling',
  },
  {
    name: 'flag: --surge without rolling',
    args: ['revert', '-c', 'ok.yaml', '--surge', '2', '--yes'],
    message: '--surge applies to --strategy rolling only (got --strategy sequential)',
  },
  {
    name: 'flag: --surge 0',
    args: ['revert', '-c', 'ok.yaml', '--strategy', 'rolling', '--surge', '0', '--yes'],
    message: 'Parsing --surge: Expected an integer greater than or equal to 1 but received: 0',
  },
  {
    name: 'terminate all without --yes',
    args: ['terminate', '-c', 'ok.yaml'],
    message:
      'Terminate every instance of project p in us-east-1? Refusing without confirmation: pass --yes (or narrow the selection).',
  },
  {
    name: 'command: unknown, near a command',
    args: ['statu'],
    message: 'unknown command "statu"; did you mean "wolphin status"? (`wolphin --help` lists the commands)',
  },
  {
    name: 'command: unknown, near nothing',
    args: ['frobnicate', '-c', 'ok.yaml'],
    message: 'unknown command "frobnicate" (`wolphin --help` lists the commands)',
  },
  {
    name: 'put: one argument',
    args: ['put', 'onlyone', '-c', 'ok.yaml'],
    message: 'missing argument REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE',
  },
  {
    name: 'put: no argument',
    args: ['put', '-c', 'ok.yaml'],
    message:
      'missing arguments LOCAL (Local file or directory), REMOTE (Remote path); expected: wolphin put [flags] LOCAL REMOTE',
  },
  {
    name: 'flag: --profile that does not exist',
    args: ['status', '-c', 'ok.yaml', '--profile', 'nope'],
    message:
      'profile "nope" (--profile or AWS_PROFILE) does not exist in /dev/null or /dev/null; no profiles are defined there',
  },
  {
    name: 'flag: --profile that does not exist (ls)',
    args: ['ls', '--region', 'us-east-1', '--profile', 'nope'],
    message:
      'profile "nope" (--profile or AWS_PROFILE) does not exist in /dev/null or /dev/null; no profiles are defined there',
  },
  {
    name: 'flag: --columns unknown',
    args: ['status', '-c', 'ok.yaml', '--columns', 'name,bogus'],
    message:
      '--columns: unknown column "bogus"; expected a comma-separated list of: slot, name, id, state, address, public-ip, private-ip, public-dns, private-dns, type, zone, market, age, lease, spec',
  },
  {
    name: 'flag: --columns with --wide',
    args: ['ls', '--region', 'us-east-1', '--wide', '--columns', 'project'],
    message: 'give either --wide or --columns, not both',
  },
  {
    name: 'selector: missing module',
    args: ['status', '-c', 'ok.yaml', '--selector', './nope.mjs'],
    message: '--selector: ./nope.mjs: no such file',
  },
  {
    name: 'selector: module throws on load',
    args: ['status', '-c', 'ok.yaml', '--selector', './throws.mjs'],
    message: '--selector: ./throws.mjs: failed to load: boom at load',
  },
  {
    name: 'selector: module exports nothing usable',
    args: ['status', '-c', 'ok.yaml', '--selector', './empty.mjs'],
    message:
      '--selector: ./empty.mjs: does not export a selector; expected a default export with a select(instances) method or a function, or a named select(instances) function',
  },
  {
    name: 'selector: constructor throws',
    args: ['status', '-c', 'ok.yaml', '--selector', './ctor.mjs'],
    message: '--selector: ./ctor.mjs: constructor threw: no',
  },
  {
    name: 'selector: syntax error',
    args: ['status', '-c', 'ok.yaml', '--selector', './syntax.mjs'],
    message: '--selector: ./syntax.mjs: failed to load: Unexpected end of input',
  },
  {
    name: 'exec: key file missing',
    args: ['exec', '-c', 'ok.yaml', '-c', 'nokey.yaml', '--', 'true'],
    message: 'ssh.key: ./missing_key: no such file (expected the path of a private key)',
  },
  {
    name: 'exec: key file too open',
    args: ['exec', '-c', 'ok.yaml', '-c', 'openkey.yaml', '--', 'true'],
    message:
      'ssh.key: ./open_key has permissions 0644; a private key must not be accessible by group or others (run: chmod 600 ./open_key)',
  },
  {
    name: 'exec: key file not a key',
    args: ['exec', '-c', 'ok.yaml', '-c', 'notkey.yaml', '--', 'true'],
    message: 'ssh.key: ./not_key is not a private key ssh2 can read (Unsupported key format)',
  },
  {
    name: 'exec: no command',
    args: ['exec', '-c', 'ok.yaml'],
    message: 'exec: no command given; expected: wolphin exec [flags] -- COMMAND...',
  },
  ...LIMIT_ROWS,
]

/** The files every row's directory holds. */
export async function fixture(dir: string, row: Row) {
  await writeFile(path.join(dir, 'ok.yaml'), 'project: p\nregion: us-east-1\nami: ami-12345678\n')
  await mkdir(path.join(dir, 'adir'))
  await writeFile(path.join(dir, 'throws.mjs'), 'throw new Error("boom at load")\n')
  await writeFile(path.join(dir, 'empty.mjs'), 'export const x = 1\n')
  await writeFile(
    path.join(dir, 'ctor.mjs'),
    'export default class S { constructor() { throw new Error("no") } select(x) { return x } }\n',
  )
  await writeFile(path.join(dir, 'syntax.mjs'), 'export default (\n')
  await writeFile(path.join(dir, 'loop.mjs'), 'for (;;) {}\nexport default (x) => x\n')
  await writeFile(path.join(dir, 'loop.cjs'), 'while (true) {}\nmodule.exports = (x) => x\n')
  await writeFile(path.join(dir, 'exit0.mjs'), 'process.exit(0)\nexport default (x) => x\n')
  await writeFile(path.join(dir, 'exit3.mjs'), 'process.exit(3)\n')
  await writeFile(path.join(dir, 'never.mjs'), 'await new Promise(() => {})\nexport default (x) => x\n')
  await writeFile(path.join(dir, 'forever.mjs'), 'await new Promise((r) => setTimeout(r, 3_600_000))\n')
  for (const [name, text] of Object.entries(row.files ?? {})) await writeFile(path.join(dir, name), text)
  if (row.fifo) execFileSync('mkfifo', [path.join(dir, row.fifo)])
  await writeFile(path.join(dir, 'nokey.yaml'), 'ssh: {key: ./missing_key}\n')
  await writeFile(path.join(dir, 'openkey.yaml'), 'ssh: {key: ./open_key}\n')
  await writeFile(
    path.join(dir, 'open_key'),
    '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n',
  )
  await chmod(path.join(dir, 'open_key'), 0o644)
  await writeFile(path.join(dir, 'notkey.yaml'), 'ssh: {key: ./not_key}\n')
  await writeFile(path.join(dir, 'not_key'), 'hello\n')
  await chmod(path.join(dir, 'not_key'), 0o600)
  if (row.file !== undefined) await writeFile(path.join(dir, row.args[row.args.indexOf('-c') + 1]), row.file)
}

/** The row's arguments with --json added as a flag (before any `--`). */
function withJson(args: string[]): string[] {
  return [args[0], '--json', ...args.slice(1)]
}

interface RowResult {
  plain: CliResult
  json: CliResult
  dir: string
  /** AWS requests the counting proxy saw during the row's two runs. */
  calls: string[]
  ms: number
}

describe('bad input: a table of named inputs, exact messages, exit 2, no AWS request', function () {
  this.timeout(600_000)
  const proxies: CountingProxy[] = []
  const results = new Map<string, RowResult>()
  let endpoint: string

  before(async () => {
    expect(BAD_INPUTS.length).to.be.at.least(150)
    expect(new Set(BAD_INPUTS.map((r) => r.name)).size, 'row names are unique').to.equal(BAD_INPUTS.length)
    // Child processes, a few at a time; each worker has its own counting proxy, so every request is
    // counted against the row that made it. Nothing is behind the proxies: a request would fail,
    // and be counted.
    const WORKERS = 6
    for (let i = 0; i < WORKERS; i++) proxies.push(await startCountingProxy('http://127.0.0.1:9'))
    endpoint = proxies[0].endpoint
    const queue = [...BAD_INPUTS]
    await Promise.all(
      proxies.map(async (proxy) => {
        // The same fake credentials as a moto run, pointed at this worker's proxy.
        const env = motoEnv(proxy.endpoint, {WOLPHIN_SELECTOR_TIMEOUT: '3'})
        for (let row = queue.shift(); row; row = queue.shift()) {
          const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bad-'))
          await fixture(dir, row)
          proxy.reset()
          const t0 = Date.now()
          const plain = await runCli(row.args, {cwd: dir, env, timeoutMs: 20_000})
          const json = await runCli(withJson(row.args), {cwd: dir, env, timeoutMs: 20_000})
          const calls = proxy.calls().map((c) => c.action)
          results.set(row.name, {plain, json, dir, calls, ms: Date.now() - t0})
        }
      }),
    )
  })
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()))
    const slowest = [...results.entries()].sort((a, b) => b[1].ms - a[1].ms)[0]
    console.log(
      `    bad inputs: ${BAD_INPUTS.length} rows, ${[...results.values()].reduce((n, r) => n + r.calls.length, 0)} AWS requests; slowest ${slowest?.[0]} (${slowest?.[1].ms} ms for both runs)`,
    )
  })

  for (const row of BAD_INPUTS) {
    it(`${row.name}: ${row.message.length > 160 ? row.message.slice(0, 160) + '...' : row.message}`, () => {
      const {plain, json, dir, calls} = results.get(row.name)!
      const message = row.message.replaceAll('<dir>', dir)
      expect(plain.code, plain.stderr).to.equal(2)
      expect(plain.stderr).to.equal(`wolphin: error: ${message}\n`)
      expect(plain.stdout).to.equal('')
      // --json: one JSON document on stdout, the same message, nothing on stderr.
      expect(json.code, json.stderr).to.equal(2)
      expect(json.stderr).to.equal('')
      const doc = json.json()
      expect(doc.error.message).to.equal(message)
      expect(doc.error.exitCode).to.equal(2)
      expect(Object.keys(doc)).to.deep.equal(['schemaVersion', 'error'])
      expect(calls, 'AWS requests').to.deep.equal([])
      expect(existsSync(path.join(dir, 'PWNED')), 'code in the directory ran').to.equal(false)
    })
  }

  it('a selector whose select() throws is a one-line SelectorError (exit 2)', async () => {
    const err = await applySelector(
      {
        description: 'flaky',
        select: () => {
          throw new Error('select exploded')
        },
      },
      [],
    ).catch((e: unknown) => e)
    expect(err).to.be.instanceOf(SelectorError)
    expect((err as SelectorError).exitCode).to.equal(2)
    expect((err as Error).message).to.equal('selector "flaky" failed: select exploded')
  })

  it('ssh --json is refused: one JSON document, exit 2, no AWS request', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-ssh-json-'))
    await writeFile(path.join(dir, 'ok.yaml'), OK)
    const before = proxies[0].calls().length
    for (const args of [
      ['ssh', '-c', 'ok.yaml', '--json', '1', '--', 'echo', 'hello'],
      ['ssh', '-c', 'ok.yaml', '1', '--json'],
    ]) {
      const r = await runCli(args, {cwd: dir, env: motoEnv(endpoint)})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.json()).to.deep.equal({
        schemaVersion: 1,
        error: {code: 'USAGE', message: SSH_JSON, exitCode: 2},
      })
      expect(r.stderr).to.equal('')
    }
    expect(proxies[0].calls().length).to.equal(before)
  })

  it('--json with no command is one JSON document too, exit 2', async () => {
    const r = await runCli(['--json'], {env: motoEnv(endpoint)})
    expect(r.code).to.equal(2)
    expect(r.json()).to.deep.equal({
      schemaVersion: 1,
      error: {
        code: 'USAGE',
        message: 'no command given (got --json); `wolphin --help` lists the commands',
        exitCode: 2,
      },
    })
    expect(r.stderr).to.equal('')
  })

  it('with --json the error is one JSON document on stdout and stderr stays empty', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bad-'))
    await fixture(dir, {name: 'json', args: [], message: ''})
    const r = await runCli(['status', '-c', 'ok.yaml', '-i', '0', '--json'], {
      cwd: dir,
      env: motoEnv(endpoint),
    })
    expect(r.code).to.equal(2)
    expect(r.json()).to.deep.equal({
      schemaVersion: 1,
      error: {code: 'SELECTOR_INVALID', message: '--instances: "0": slot numbers start at 1', exitCode: 2},
    })
    expect(r.stderr).to.equal('')
  })
})
