/**
 * The launch settings of issue 17 against moto, read back with the SDK independently of wolphin:
 * the lease watchdog (metadata tags, shutdown behaviour, a cloud-init multipart user data that keeps
 * the user's script byte for byte), the checks made before any AWS call, `disk`, `ami:
 * resolve:ssm:` with drift by the parameter's current image, and why an instance stopped.
 */
import {mkdir, mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2'
import {PutParameterCommand, SSMClient} from '@aws-sdk/client-ssm'
import {expect} from 'chai'

import {cloudInitParts} from '../support/cloud-init.js'
import {startCapacityProxy, type CapacityProxy} from '../support/capacity-proxy.js'
import {runCli} from '../support/cli.js'
import {TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'

const WAIT = 'wait: {interval: 0.2, timeout: 30}'

interface StatusJson {
  instances: Array<{
    id: string
    slot: number
    state: string
    imageId: string
    outdated: boolean
    stateReason: {code: string | null; message: string | null; summary: string} | null
  }>
}

describe('integration: the lease watchdog and launch settings (moto)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let root: string
  let env: Record<string, string>
  let counter: CapacityProxy
  const ec2 = () => testClient(moto().endpoint)

  async function project(name: string, yaml: string): Promise<string> {
    const dir = path.join(root, name)
    await mkdir(dir)
    await writeFile(path.join(dir, 'wolphin.yaml'), `project: ${name}\nregion: us-east-1\n${WAIT}\n${yaml}`)
    return dir
  }
  const cli = (cwd: string, ...args: string[]) => runCli(args, {cwd, env})
  async function instancesOf(name: string) {
    const r = await ec2().send(
      new DescribeInstancesCommand({Filters: [{Name: 'tag:ProjectName', Values: [`wolphin.${name}`]}]}),
    )
    return (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])
  }

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'wolphin-watchdog-'))
    env = motoEnv(moto().endpoint)
    counter = await startCapacityProxy(moto().endpoint)
  })
  after(async () => {
    await counter?.close()
  })

  it("create with a lease: metadata tags, terminate on shutdown, the watchdog and the user's script byte for byte", async () => {
    const script = '#!/bin/sh\r\necho "grüße" > /tmp/hello\n'
    const dir = await project(
      'watched',
      `ami: ${TEST_AMI}\nlease: {duration: 8h, action: terminate, grace: 5m}\ntags: {team: perf}\n` +
        `userData: ${JSON.stringify(script)}\n`,
    )
    const r = await cli(dir, 'create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.not.include('no lease')
    const [i] = await instancesOf('watched')
    expect(i.MetadataOptions).to.include({InstanceMetadataTags: 'enabled', HttpTokens: 'required'})
    const shutdown = await ec2().send(
      new DescribeInstanceAttributeCommand({
        InstanceId: i.InstanceId,
        Attribute: 'instanceInitiatedShutdownBehavior',
      }),
    )
    expect(shutdown.InstanceInitiatedShutdownBehavior?.Value).to.equal('terminate')
    const ud = await ec2().send(
      new DescribeInstanceAttributeCommand({InstanceId: i.InstanceId, Attribute: 'userData'}),
    )
    const text = Buffer.from(ud.UserData!.Value!, 'base64').toString('utf8')
    const parts = cloudInitParts(text)
    expect(parts.map((p) => p.ctype)).to.deep.equal(['text/x-shellscript', 'text/plain'])
    expect(parts[0].payload.toString()).to.include('GRACE=300\n').and.to.include('wolphin:expires-at')
    expect(parts[1].payload.equals(Buffer.from(script, 'utf8'))).to.equal(true)
    // A second create changes nothing.
    const again = await cli(dir, 'create', '--json')
    expect(again.code, again.stderr).to.equal(0)
    expect(again.json<{launched: string[]}>().launched).to.deep.equal([])
  })

  it('create without a lease says so once on stderr; --json stdout stays one document', async () => {
    const dir = await project('unleased', `ami: ${TEST_AMI}\nuserData: "abc"\n`)
    const r = await cli(dir, 'create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const notes = r.stderr.split('\n').filter((l) => l.includes('no lease'))
    expect(notes, r.stderr).to.have.length(1)
    expect(notes[0]).to.include('lease: 8h')
    expect(r.json<{launched: string[]}>().launched).to.have.length(1)
    expect(r.stdout).to.not.include('no lease')
    const [i] = await instancesOf('unleased')
    expect(i.MetadataOptions?.InstanceMetadataTags).to.not.equal('enabled')
    const ud = await ec2().send(
      new DescribeInstanceAttributeCommand({InstanceId: i.InstanceId, Attribute: 'userData'}),
    )
    expect(Buffer.from(ud.UserData!.Value!, 'base64').toString()).to.equal('abc')
  })

  it('a tag key EC2 refuses with metadata tags, or user data over 16 KB: exit 2, one line, no AWS call', async () => {
    const tagDir = await project('badkey', `ami: ${TEST_AMI}\nlease: 8h\ntags: {"cost center": x}\n`)
    const bigDir = await project(
      'bigdata',
      `ami: ${TEST_AMI}\nlease: 8h\nuserData: "${'x'.repeat(15_000)}"\n`,
    )
    for (const [dir, re] of [
      [tagDir, /wolphin\.yaml: field "tags": key "cost center" cannot be used with the lease watchdog/],
      [bigDir, /wolphin\.yaml: field "userData": 15000 bytes, and \d+ with the lease watchdog/],
    ] as const) {
      counter.calls = []
      const r = await runCli(['create'], {cwd: dir, env: {...env, AWS_ENDPOINT_URL: counter.endpoint}})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1)
      expect(r.stderr).to.match(re)
      expect(counter.calls).to.deep.equal([])
    }
  })

  it('disk: the root volume of the AMI gets the size and type asked for', async () => {
    const dir = await project('disked', `ami: ${TEST_AMI}\nlease: 8h\ndisk: {size: 50, type: gp3}\n`)
    const r = await cli(dir, 'create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const [i] = await instancesOf('disked')
    const vols = await ec2().send(
      new DescribeVolumesCommand({Filters: [{Name: 'attachment.instance-id', Values: [i.InstanceId!]}]}),
    )
    const root = vols.Volumes!.find((v) => v.Attachments?.[0]?.Device === i.RootDeviceName)
    expect(root, JSON.stringify(vols.Volumes)).to.not.equal(undefined)
    expect(root).to.include({Size: 50, VolumeType: 'gp3'})
  })

  it('ami: resolve:ssm: goes to EC2 as it is; drift compares each instance with the image the parameter names now', async () => {
    const ssm = new SSMClient({
      endpoint: moto().endpoint,
      region: 'us-east-1',
      credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
    })
    await ssm.send(new PutParameterCommand({Name: '/wolphin-test/golden', Value: TEST_AMI, Type: 'String'}))
    const dir = await project('aliased', `ami: resolve:ssm:/wolphin-test/golden\nlease: 8h\ncount: 1\n`)
    const r = await cli(dir, 'create', '--json')
    expect(r.code, r.stderr).to.equal(0)
    const [launched] = await instancesOf('aliased')
    // moto keeps the alias as the image id (EC2 would show the image it resolved to).
    expect(launched.ImageId).to.equal('resolve:ssm:/wolphin-test/golden')
    // Two members as EC2 leaves them: launched from the image the parameter named then.
    const tags = Object.fromEntries((launched.Tags ?? []).map((t) => [t.Key!, t.Value!]))
    await ec2().send(new DescribeInstancesCommand({InstanceIds: [launched.InstanceId!]}))
    const seed = async (slot: number, image: string) =>
      ec2().send(
        new RunInstancesCommand({
          ImageId: image,
          InstanceType: 't3.micro',
          MinCount: 1,
          MaxCount: 1,
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                {Key: 'ProjectName', Value: 'wolphin.aliased'},
                {Key: 'Name', Value: `wolphin.aliased.${slot}`},
                {Key: 'wolphin:slot', Value: String(slot)},
                {Key: 'wolphin:spec', Value: tags['wolphin:spec']},
              ],
            },
          ],
        }),
      )
    await seed(2, TEST_AMI)
    await seed(3, 'ami-0000000000000beef')
    const outdated = async () => {
      const s = await cli(dir, 'status', '--json')
      expect(s.code, s.stderr).to.equal(0)
      expect(s.stderr).to.not.include('cannot read the image')
      return Object.fromEntries(
        s
          .json<StatusJson>()
          .instances.filter((x) => x.slot !== 1)
          .map((x) => [x.slot, x.outdated]),
      )
    }
    expect(await outdated()).to.deep.equal({2: false, 3: true})
    // A new image is published under the parameter: the other instance is now the outdated one.
    await ssm.send(
      new PutParameterCommand({
        Name: '/wolphin-test/golden',
        Value: 'ami-0000000000000beef',
        Type: 'String',
        Overwrite: true,
      }),
    )
    expect(await outdated()).to.deep.equal({2: true, 3: false})
    ssm.destroy()
  })

  it('status shows why an instance stopped (EC2 StateReason), in the table and in --json', async () => {
    const dir = await project('stopper', `ami: ${TEST_AMI}\nlease: 8h\n`)
    expect((await cli(dir, 'create', '--json')).code).to.equal(0)
    const stop = await cli(dir, 'stop', '-i', '1', '--yes')
    expect(stop.code, stop.stderr).to.equal(0)
    const s = await cli(dir, 'status', '--json')
    const [i] = s.json<StatusJson>().instances
    expect(i.state).to.equal('stopped')
    expect(i.stateReason).to.include({code: 'Client.UserInitiatedShutdown', summary: 'user shutdown'})
    const table = await cli(dir, 'status')
    expect(table.stdout).to.include('stopped (user shutdown)')
  })
})
