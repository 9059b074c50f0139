/**
 * A table of named bad inputs (config files, flags, selectors, selector modules that throw, SSH key
 * files that are missing or too open) with their exact one-line messages. Every row runs the real
 * CLI as a child process with AWS_ENDPOINT_URL pointing at a local server that counts requests:
 * each must exit 2, print exactly `wolphin: error: <message>` and make no AWS request at all.
 */
import {chmod, mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {SelectorError} from '../../src/errors.js'
import {applySelector} from '../../src/selectors/index.js'
import {type CliResult, runCli} from '../support/cli.js'
import {motoEnv} from '../support/moto.js'

interface Row {
  name: string
  args: string[]
  /** The exact message after "wolphin: error: ". */
  message: string
  /** Content of the file the row's `-c` points at. */
  file?: string
}

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
    message: 'c.yaml: field "wait.timeout": Too small: expected number to be >0',
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
    message: 'c.yaml: field "lease": expected a duration like 30s, 15m, 8h or 3d',
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
      'legacy.cfg: unknown field "foo" (expected one of project, ami_id, instance_type, min_instance_count, max_instance_count, amazon_keypair_name, pem_file, pem_path, instance_securitygroup, instance_availabilityzone, user, email, region, max_wait_tries, max_wait_duration)',
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
    message: 'missing argument REMOTE (Remote path); usage: wolphin put LOCAL REMOTE',
  },
  {
    name: 'put: no argument',
    args: ['put', '-c', 'ok.yaml'],
    message:
      'missing arguments LOCAL (Local file or directory), REMOTE (Remote path); usage: wolphin put LOCAL REMOTE',
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
      '--selector: ./empty.mjs: does not export a selector; expected a default export with a select(instances) method or a function',
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
]

/** The files every row's directory holds. */
async function fixture(dir: string, row: Row) {
  await writeFile(path.join(dir, 'ok.yaml'), 'project: p\nregion: us-east-1\nami: ami-12345678\n')
  await mkdir(path.join(dir, 'adir'))
  await writeFile(path.join(dir, 'throws.mjs'), 'throw new Error("boom at load")\n')
  await writeFile(path.join(dir, 'empty.mjs'), 'export const x = 1\n')
  await writeFile(
    path.join(dir, 'ctor.mjs'),
    'export default class S { constructor() { throw new Error("no") } select(x) { return x } }\n',
  )
  await writeFile(path.join(dir, 'syntax.mjs'), 'export default (\n')
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

describe('bad input: a table of named inputs, exact messages, exit 2, no AWS request', function () {
  this.timeout(180_000)
  let server: http.Server
  let endpoint: string
  const requests: string[] = []
  const results = new Map<string, {r: CliResult; dir: string}>()

  before(async () => {
    expect(BAD_INPUTS.length).to.be.at.least(40)
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`)
      res.writeHead(500)
      res.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    // The same fake credentials as a moto run, pointed at the counting server instead.
    const env = motoEnv(endpoint)
    // Child processes, a few at a time.
    const queue = [...BAD_INPUTS]
    await Promise.all(
      Array.from({length: 6}, async () => {
        for (let row = queue.shift(); row; row = queue.shift()) {
          const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bad-'))
          await fixture(dir, row)
          results.set(row.name, {r: await runCli(row.args, {cwd: dir, env}), dir})
        }
      }),
    )
  })
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()))
    console.log(`    bad inputs: ${BAD_INPUTS.length} rows, ${requests.length} AWS requests`)
  })

  for (const row of BAD_INPUTS) {
    it(`${row.name}: ${row.message}`, () => {
      const {r, dir} = results.get(row.name)!
      const message = row.message.replace('<dir>', dir)
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.equal(message.startsWith(' ›') ? `${message}\n` : `wolphin: error: ${message}\n`)
      expect(r.stdout).to.equal('')
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

  it('no row made an AWS request', () => {
    expect(requests).to.deep.equal([])
  })

  it('with --json the error is one JSON document on stdout and stderr stays empty', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-bad-'))
    await fixture(dir, {name: 'json', args: [], message: ''})
    const r = await runCli(['status', '-c', 'ok.yaml', '-i', '0', '--json'], {
      cwd: dir,
      env: {AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1'},
    })
    expect(r.code).to.equal(2)
    expect(r.json()).to.deep.equal({
      schemaVersion: 1,
      error: {code: 'SELECTOR_INVALID', message: '--instances: "0": slot numbers start at 1', exitCode: 2},
    })
    expect(r.stderr).to.equal('')
    expect(requests).to.deep.equal([])
  })
})
