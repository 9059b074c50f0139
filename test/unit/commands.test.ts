import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {DescribeInstancesCommand, StopInstancesCommand} from '@aws-sdk/client-ec2'
import {expect} from 'chai'

import {runSourceCommand} from '../support/run-source.js'
import {useEc2ClassMock} from '../support/sdk-mock.js'

describe('commands (the command classes, mocked SDK)', () => {
  const ec2 = useEc2ClassMock()
  let dir: string
  let cfg: string
  const cwd = process.cwd()
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-cmd-'))
    cfg = path.join(dir, 'wolphin.yaml')
    await writeFile(
      cfg,
      'project: p\nregion: us-east-1\nami: ami-12345678\nwait: {interval: 0.01, timeout: 2}\n',
    )
    process.env.AWS_ACCESS_KEY_ID = 'testing'
    process.env.AWS_SECRET_ACCESS_KEY = 'testing'
  })
  after(() => process.chdir(cwd))

  // From src/: see runSourceCommand.
  const run = runSourceCommand
  const tag = (slot: number) => [
    {Key: 'ProjectName', Value: 'wolphin.p'},
    {Key: 'Name', Value: `wolphin.p.${slot}`},
    {Key: 'wolphin:slot', Value: String(slot)},
  ]

  it('status --json prints the DESIGN.md shape', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {InstanceId: 'i-1', State: {Name: 'running'}, Tags: tag(1), PublicIpAddress: '203.0.113.9'},
          ],
        },
      ],
    })
    const {stdout, error} = await run(['status', '-c', cfg, '--json'])
    expect(error).to.equal(undefined)
    const doc = JSON.parse(stdout)
    expect(doc.project).to.equal('p')
    expect(Object.keys(doc.instances[0])).to.include.members([
      'id',
      'name',
      'slot',
      'state',
      'publicIp',
      'privateIp',
      'publicDns',
      'privateDns',
      'imageId',
      'instanceType',
      'zone',
      'launchTime',
      'owner',
      'expiresAt',
      'outdated',
    ])
    expect(doc.instances[0]).to.include({
      id: 'i-1',
      name: 'wolphin.p.1',
      slot: 1,
      state: 'running',
      publicIp: '203.0.113.9',
    })
  })

  it('stop -i 1 --json stops slot 1 only and returns the operation result', async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          {
            Instances: [
              {InstanceId: 'i-1', State: {Name: 'running'}, Tags: tag(1)},
              {InstanceId: 'i-2', State: {Name: 'running'}, Tags: tag(2)},
            ],
          },
        ],
      })
      .resolves({
        Reservations: [
          {
            Instances: [
              {InstanceId: 'i-1', State: {Name: 'stopped'}, Tags: tag(1)},
              {InstanceId: 'i-2', State: {Name: 'running'}, Tags: tag(2)},
            ],
          },
        ],
      })
    ec2.on(StopInstancesCommand).resolves({})
    const {stdout, error} = await run(['stop', '-c', cfg, '-i', '1', '--json'])
    expect(error).to.equal(undefined)
    expect(ec2.commandCalls(StopInstancesCommand)[0].args[0].input.InstanceIds).to.deep.equal(['i-1'])
    expect(JSON.parse(stdout).instances).to.have.length(1)
  })

  const usage: Array<[string, string[], RegExp]> = [
    ['a bad slot list', ['stop', '-i', 'x'], /--instances: "x" is not a slot number or range/],
    ['a bad state', ['status', '--state', 'up'], /--state: "up" is not an instance state/],
    [
      'a missing selector module',
      ['stop', '--selector', './nope.js'],
      /--selector: \.\/nope\.js: no such file/,
    ],
    [
      'a missing config file',
      ['status', '-c', '/nonexistent/w.yaml'],
      /cannot read config file \(no such file\)/,
    ],
    ['an unknown flag', ['status', '--frobnicate'], /Nonexistent flag: --frobnicate/],
    ['terminate of the whole project without --yes', ['terminate'], /pass --yes/],
  ]
  for (const [name, args, re] of usage) {
    it(`${name}: exit 2, one-line message, no AWS call`, async () => {
      const full = args.includes('-c') ? args : [...args, '-c', cfg]
      const {error, stderr} = await run(full)
      expect(error?.oclif?.exit).to.equal(2)
      expect(stderr + (error?.message ?? '')).to.match(re)
      expect(ec2.calls()).to.have.length(0)
    })
  }

  it('--json errors are a JSON document with the exit code', async () => {
    const {stdout, error} = await run(['stop', '-i', '0', '-c', cfg, '--json'])
    expect(error?.oclif?.exit).to.equal(2)
    expect(JSON.parse(stdout)).to.deep.equal({
      schemaVersion: 1,
      error: {code: 'SELECTOR_INVALID', message: '--instances: "0": slot numbers start at 1', exitCode: 2},
    })
  })
})
