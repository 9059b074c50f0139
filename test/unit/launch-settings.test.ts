/**
 * What a launch asks EC2 for (src/project/launch-settings.ts, src/aws/ec2.ts): the lease watchdog
 * in a cloud-init multipart that keeps the user's own user data byte for byte, metadata tags and
 * the shutdown behaviour, EC2's limits checked before any call, `disk` and `ami: resolve:ssm:`.
 * The multipart is read back the way cloud-init reads it (Python's email parser).
 */

import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2'
import {GetParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {expect} from 'chai'

import {SdkEc2Port} from '../../src/aws/ec2.js'
import type {ResolvedConfig} from '../../src/config/schema.js'
import {ConfigError} from '../../src/errors.js'
import type {ProjectEvent} from '../../src/project/events.js'
import {
  launchSettings,
  metadataTagKeyProblem,
  USER_DATA_MAX,
  withWatchdog,
} from '../../src/project/launch-settings.js'
import {Project} from '../../src/project/project.js'
import {specHash} from '../../src/project/spec.js'
import {watchdogInstaller} from '../../src/project/watchdog.js'
import {testConfig} from '../support/fixtures.js'
import {cloudInitParts} from '../support/cloud-init.js'
import {useClassMock, useEc2ClassMock} from '../support/sdk-mock.js'

const HOUR = 3_600_000
const leased = (over: Partial<ResolvedConfig> = {}) =>
  testConfig({lease: HOUR, leasePolicy: {action: 'stop', graceMs: 0, enforce: 'watchdog'}, ...over})

describe('launch settings: the lease watchdog in the user data', () => {
  const cases: Array<[string, string]> = [
    ['a shell script without a trailing newline', '#!/bin/sh\necho hello > /tmp/x'],
    ['a shell script ending in blank lines', '#!/bin/bash\nset -e\nyum install -y nginx\n\n\n'],
    ['cloud-config', '#cloud-config\npackages: [htop]\nruncmd:\n  - [sh, -c, "echo --x-- >> /tmp/y"]\n'],
    ['CR LF, UTF-8 and control bytes', '#!/bin/sh\r\necho "grüße 🐬" \x01\x7f\r\n'],
    ['a line that looks like a MIME boundary', '#!/bin/sh\necho "--wolphin-boundary--"\n--\n'],
  ]
  for (const [what, userData] of cases) {
    it(`keeps the user's own user data byte for byte as its own part: ${what}`, () => {
      const text = withWatchdog(userData, 0)
      const parts = cloudInitParts(text)
      expect(parts.map((p) => p.ctype)).to.deep.equal(['text/x-shellscript', 'text/plain'])
      // The watchdog first: cloud-init runs scripts in file-name order.
      expect(parts[0].filename).to.equal('00-wolphin-lease-watchdog')
      expect(parts[0].payload.toString()).to.equal(watchdogInstaller(0))
      expect(parts[1].payload.equals(Buffer.from(userData, 'utf8')), parts[1].payload.toString()).to.equal(
        true,
      )
    })
  }

  it('nests user data that is MIME already, as it is', () => {
    const own =
      'Content-Type: multipart/mixed; boundary="XYZ"\nMIME-Version: 1.0\n\n--XYZ\n' +
      'Content-Type: text/cloud-config\n\n#cloud-config\npackages: [jq]\n--XYZ\n' +
      'Content-Type: text/x-shellscript\n\n#!/bin/sh\necho two\n--XYZ--\n'
    const parts = cloudInitParts(withWatchdog(own, 0))
    expect(parts.map((p) => p.ctype)).to.deep.equal([
      'text/x-shellscript',
      'text/cloud-config',
      'text/x-shellscript',
    ])
    expect(parts[1].payload.toString()).to.equal('#cloud-config\npackages: [jq]')
    expect(parts[2].payload.toString()).to.equal('#!/bin/sh\necho two')
  })

  it('without user data: the watchdog alone; the same config always gives the same bytes', () => {
    const parts = cloudInitParts(withWatchdog(undefined, 60))
    expect(parts).to.have.length(1)
    expect(withWatchdog('#!/bin/sh\n', 60)).to.equal(withWatchdog('#!/bin/sh\n', 60))
    expect(withWatchdog('#!/bin/sh\n', 60)).to.not.equal(withWatchdog('#!/bin/sh\n', 61))
  })

  it('lease settings: watchdog, metadata tags, shutdown behaviour; none without a lease or with enforce: reaper', () => {
    expect(launchSettings(testConfig({userData: 'x'}))).to.deep.equal({
      userData: 'x',
      metadataTags: false,
      shutdownBehavior: undefined,
    })
    const w = launchSettings(leased({userData: 'x'}))
    expect(w.metadataTags).to.equal(true)
    expect(w.shutdownBehavior).to.equal(undefined)
    expect(w.userData).to.match(/^Content-Type: multipart\/mixed; boundary=/)
    const t = launchSettings(leased({leasePolicy: {action: 'terminate', graceMs: 0, enforce: 'watchdog'}}))
    expect(t.shutdownBehavior).to.equal('terminate')
    expect(
      launchSettings(
        leased({userData: 'x', leasePolicy: {action: 'terminate', graceMs: 0, enforce: 'reaper'}}),
      ),
    ).to.deep.equal({
      userData: 'x',
      metadataTags: false,
      shutdownBehavior: 'terminate',
    })
  })

  it("EC2's rule for tag keys readable from the instance metadata", () => {
    for (const ok of [
      'team',
      'cost-center',
      'a.b',
      'a,b',
      'a=b',
      'x@y',
      'wolphin:expires-at',
      'A+B_c',
      '...',
    ])
      expect(metadataTagKeyProblem(ok), ok).to.equal(null)
    for (const bad of ['team name', 'a/b', '.', '..', '_index', 'grüße', 'a#b', 'tab\there'])
      expect(metadataTagKeyProblem(bad), bad).to.be.a('string')
  })

  it('spec hash: a config without disk or a watchdog keeps the hash it had before them', () => {
    // Measured on main before this change (src/project/spec.ts there), for the same configs.
    expect(specHash(testConfig())).to.equal('6715c0afdb2b')
    expect(
      specHash(
        testConfig({
          lease: HOUR,
          leasePolicy: {action: 'stop', graceMs: 0, enforce: 'reaper'},
          userData: '#!/bin/sh\necho hi\n',
          tags: {a: 'b'},
        }),
      ),
    ).to.equal('cd8a14198277')
    // The watchdog, its grace, the shutdown behaviour and the disk change what is launched.
    const base = specHash(leased())
    expect(
      specHash(leased({leasePolicy: {action: 'stop', graceMs: 60_000, enforce: 'watchdog'}})),
    ).to.not.equal(base)
    expect(
      specHash(leased({leasePolicy: {action: 'terminate', graceMs: 0, enforce: 'watchdog'}})),
    ).to.not.equal(base)
    expect(specHash(leased({disk: {size: 50}}))).to.not.equal(base)
    // The lease's length does not: it lives in each instance's tag.
    expect(specHash(leased({lease: 2 * HOUR}))).to.equal(base)
  })
})

function sdkInstance(id: string, state: string, tags: Record<string, string>, imageId = 'ami-12345678') {
  return {
    InstanceId: id,
    ImageId: imageId,
    State: {Name: state as 'running'},
    AmiLaunchIndex: 0,
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value})),
  }
}
const ours = (slot: number) => ({
  ProjectName: 'wolphin.p',
  Name: `wolphin.p.${slot}`,
  'wolphin:slot': String(slot),
})

describe('launch settings: the RunInstances request (aws-sdk-client-mock)', () => {
  const ec2 = useEc2ClassMock()
  const ssm = useClassMock(SSMClient)

  function project(config: ResolvedConfig, events: ProjectEvent[] = []) {
    return new Project(config, {
      port: new SdkEc2Port(new EC2Client({region: 'us-east-1'}), {aws: {region: 'us-east-1'}}),
      onEvent: (e) => events.push(e),
    })
  }

  async function createOne(
    config: ResolvedConfig,
    events: ProjectEvent[] = [],
  ): Promise<RunInstancesCommandInput> {
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({Reservations: []})
      .resolves({Reservations: [{Instances: [sdkInstance('i-new', 'running', ours(1))]}]})
    ec2.on(RunInstancesCommand).resolves({Instances: [sdkInstance('i-new', 'pending', ours(1))]})
    await project(config, events).create()
    const run = ec2.commandCalls(RunInstancesCommand)
    expect(run).to.have.length(1)
    return run[0].args[0].input
  }

  const userData = (input: RunInstancesCommandInput) =>
    Buffer.from(input.UserData!, 'base64').toString('utf8')

  it('with a lease: metadata tags on, the watchdog and the user script byte for byte in the user data', async () => {
    const script = '#!/bin/sh\r\necho "grüße" > /tmp/hello\n'
    const input = await createOne(leased({userData: script}))
    expect(input.MetadataOptions).to.deep.equal({
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      InstanceMetadataTags: 'enabled',
    })
    // action stop: EC2's default shutdown behaviour, not asked for.
    expect(input.InstanceInitiatedShutdownBehavior).to.equal(undefined)
    const parts = cloudInitParts(userData(input))
    expect(parts[0].payload.toString()).to.equal(watchdogInstaller(0))
    expect(parts[1].payload.equals(Buffer.from(script))).to.equal(true)
  })

  it('lease action terminate: InstanceInitiatedShutdownBehavior=terminate; the grace is in the watchdog', async () => {
    const input = await createOne(
      leased({leasePolicy: {action: 'terminate', graceMs: 600_000, enforce: 'watchdog'}}),
    )
    expect(input.InstanceInitiatedShutdownBehavior).to.equal('terminate')
    expect(userData(input)).to.include('GRACE=600\n')
  })

  it('a leased spot launch terminates on power-off (EC2 cannot stop a one-time spot instance)', async () => {
    const input = await createOne(leased({market: 'spot'}))
    expect(input.InstanceMarketOptions?.MarketType).to.equal('spot')
    expect(input.InstanceInitiatedShutdownBehavior).to.equal('terminate')
  })

  it('enforce: reaper: the user data as it is, no metadata tags', async () => {
    const input = await createOne(
      leased({userData: 'abc', leasePolicy: {action: 'stop', graceMs: 0, enforce: 'reaper'}}),
    )
    expect(userData(input)).to.equal('abc')
    expect(input.MetadataOptions).to.deep.equal({HttpEndpoint: 'enabled', HttpTokens: 'required'})
  })

  it('without a lease: says so once, on the event stream (stderr), and launches as before', async () => {
    const events: ProjectEvent[] = []
    const input = await createOne(testConfig({userData: 'abc'}), events)
    expect(userData(input)).to.equal('abc')
    const notes = events.filter((e) => e.type === 'warn' && /no lease/.test(e.message))
    expect(notes).to.have.length(1)
    expect((notes[0] as {message: string}).message).to.include('lease: 8h')
  })

  it('a tag key EC2 refuses with metadata tags: exit 2 naming the key, no AWS call', async () => {
    let err: unknown
    try {
      await project(leased({tags: {'cost center': 'x'}})).create()
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(ConfigError)
    expect((err as Error).message)
      .to.include('"cost center"')
      .and.to.include('enforce: reaper')
    expect(ec2.calls()).to.have.length(0)
    // The same tag is fine when the lease is enforced from outside only.
    await createOne(
      leased({tags: {'cost center': 'x'}, leasePolicy: {action: 'stop', graceMs: 0, enforce: 'reaper'}}),
    )
  })

  it('user data over 16 KB with the watchdog: exit 2 with the sizes, no AWS call', async () => {
    const big = '#!/bin/sh\n' + 'x'.repeat(USER_DATA_MAX - 1000)
    let err: unknown
    try {
      await project(leased({userData: big})).create()
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(ConfigError)
    const total = Buffer.byteLength(launchSettings(leased({userData: big})).userData!)
    expect(total).to.be.greaterThan(USER_DATA_MAX)
    expect((err as Error).message).to.include(
      `${Buffer.byteLength(big)} bytes, and ${total} with the lease watchdog`,
    )
    expect(ec2.calls()).to.have.length(0)
    // Without the watchdog the same user data fits.
    await createOne(testConfig({userData: big}))
  })

  it('disk: the root device from DescribeImages, size and type on it, deleted with the instance', async () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: 'ami-12345678',
          RootDeviceName: '/dev/sda1',
          BlockDeviceMappings: [{DeviceName: '/dev/sda1', Ebs: {VolumeSize: 8, SnapshotId: 'snap-1'}}],
        },
      ],
    })
    const input = await createOne(testConfig({disk: {size: 50, type: 'gp3'}}))
    expect(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input).to.deep.equal({
      ImageIds: ['ami-12345678'],
    })
    expect(input.BlockDeviceMappings).to.deep.equal([
      {DeviceName: '/dev/sda1', Ebs: {VolumeSize: 50, VolumeType: 'gp3', DeleteOnTermination: true}},
    ])
  })

  it('disk smaller than the image root snapshot: exit 2 before RunInstances', async () => {
    ec2.on(DescribeInstancesCommand).resolves({Reservations: []})
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: 'ami-12345678',
          RootDeviceName: '/dev/xvda',
          BlockDeviceMappings: [{DeviceName: '/dev/xvda', Ebs: {VolumeSize: 30}}],
        },
      ],
    })
    let err: unknown
    try {
      await project(testConfig({disk: {size: 20}})).create()
    } catch (e) {
      err = e
    }
    expect(err).to.be.instanceOf(ConfigError)
    expect((err as Error).message)
      .to.include('disk.size')
      .and.to.include('30 GiB')
    expect(ec2.commandCalls(RunInstancesCommand)).to.have.length(0)
  })

  describe('ami: resolve:ssm:', () => {
    const alias = 'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'

    it('with disk: the root device of the image the parameter names (GetParameter, then DescribeImages)', async () => {
      ssm.on(GetParameterCommand).resolves({Parameter: {Value: 'ami-resolved'}})
      ec2.on(DescribeImagesCommand).resolves({
        Images: [
          {
            ImageId: 'ami-resolved',
            RootDeviceName: '/dev/xvda',
            BlockDeviceMappings: [{DeviceName: '/dev/xvda', Ebs: {VolumeSize: 8}}],
          },
        ],
      })
      const input = await createOne(testConfig({ami: alias, disk: {type: 'gp3'}}))
      expect(ec2.commandCalls(DescribeImagesCommand)[0].args[0].input).to.deep.equal({
        ImageIds: ['ami-resolved'],
      })
      expect(input.ImageId).to.equal(alias)
      expect(input.BlockDeviceMappings).to.deep.equal([
        {DeviceName: '/dev/xvda', Ebs: {VolumeSize: undefined, VolumeType: 'gp3', DeleteOnTermination: true}},
      ])
    })

    it('is passed to EC2 as it is (EC2 resolves it at launch)', async () => {
      ssm.on(GetParameterCommand).resolves({Parameter: {Value: 'ami-12345678'}})
      const input = await createOne(testConfig({ami: alias}))
      expect(input.ImageId).to.equal(alias)
    })

    it('drift compares each instance with the image the parameter names now', async () => {
      ssm.on(GetParameterCommand).resolves({Parameter: {Value: 'ami-new'}})
      const config = testConfig({ami: alias})
      const spec = specHash(config)
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: [
              sdkInstance('i-old', 'running', {...ours(1), 'wolphin:spec': spec}, 'ami-old'),
              sdkInstance('i-new', 'running', {...ours(2), 'wolphin:spec': spec}, 'ami-new'),
            ],
          },
        ],
      })
      const s = await project(config).status()
      expect(s.instances.map((i) => [i.id, i.outdated])).to.deep.equal([
        ['i-old', true],
        ['i-new', false],
      ])
      expect(ssm.commandCalls(GetParameterCommand)[0].args[0].input).to.deep.equal({
        Name: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      })
    })

    it('a parameter that cannot be read: a warning, and drift by the spec only', async () => {
      ssm.on(GetParameterCommand).rejects(Object.assign(new Error('denied'), {name: 'AccessDeniedException'}))
      const config = testConfig({ami: alias})
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: [
              sdkInstance('i-old', 'running', {...ours(1), 'wolphin:spec': specHash(config)}, 'ami-old'),
            ],
          },
        ],
      })
      const events: ProjectEvent[] = []
      const s = await project(config, events).status()
      expect(s.instances[0].outdated).to.equal(false)
      expect(
        events.some((e) => e.type === 'warn' && e.message.includes('cannot read the image behind')),
      ).to.equal(true)
    })
  })
})
