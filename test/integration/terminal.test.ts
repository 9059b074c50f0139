/**
 * Output for people and programs, through the real CLI against moto: tables that fit 80 and 120
 * columns, colour only on a terminal (and never under NO_COLOR or --no-color), CI progress without
 * plan notation, and the question before `create` terminates what a lowered count leaves over,
 * asked on a pseudo-terminal and refused without one.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {expect} from 'chai'

import {runCli} from '../support/cli.js'
import {describeAll, TEST_AMI, testClient} from '../support/ec2.js'
import {motoEnv, useMoto} from '../support/moto.js'
import {runOnPty} from '../support/pty.js'

// eslint-disable-next-line no-control-regex -- matching the escape sequences is the point
const ANSI = /\x1b\[[0-9;]*m/
const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length))

describe('integration: a terminal and a CI log both read well', function () {
  this.timeout(180_000)
  const moto = useMoto()
  let dir: string
  let env: Record<string, string>
  const project = 'terminal-output-check'
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    runCli(args, {cwd: dir, env: {...env, ...extra}})
  const live = async () =>
    (await describeAll(testClient(moto().endpoint)))
      .filter((i) => i.tags.ProjectName === `wolphin.${project}` && i.state !== 'terminated')
      .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0))

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wolphin-term-'))
    env = motoEnv(moto().endpoint)
    await writeFile(
      path.join(dir, 'wolphin.yaml'),
      `project: ${project}\nemail: ops@example.com\nami: ${TEST_AMI}\ncount: 12\nlease: 8h\nwait: {interval: 0.2, timeout: 30}\n`,
    )
    await writeFile(path.join(dir, 'three.yaml'), 'count: 3\n')
  })

  it('create without a terminal: progress lines without plan notation, one launched id per line', async () => {
    const r = await cli(['create'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.not.match(/\d+ \[[\d,]*\] /)
    expect(r.stderr).to.match(/^\d\d:\d\d:\d\d launch 12 instances into slots 1-12$/m)
    const ids = (await live()).map((i) => i.id)
    expect(ids).to.have.length(12)
    for (const id of ids) expect(r.stderr).to.match(new RegExp(`^ +${id}$`, 'm'))
    expect(r.stderr).to.match(/^\d\d:\d\d:\d\d 12\/12 running, \d+ s$/m)
    // The summary: one short line, then one line per instance.
    expect(widest(r.stdout)).to.be.at.most(80)
    expect(r.stdout.split('\n')[0]).to.equal('create: launch 12 instances into slots 1-12')
  })

  it('status at COLUMNS=80: the default columns fit, id gives way; no colour in a pipe', async () => {
    const r = await cli(['status'], {COLUMNS: '80'})
    expect(r.code, r.stderr).to.equal(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).to.have.length(13)
    expect(lines[0].split(/\s+/)).to.deep.equal(['name', 'state', 'address', 'age', 'lease'])
    expect(widest(r.stdout)).to.be.at.most(80)
    expect(r.stdout).to.not.match(ANSI)
  })

  it('status at COLUMNS=120 keeps the id; --wide shows every column; --columns picks', async () => {
    let r = await cli(['status'], {COLUMNS: '120'})
    expect(r.stdout.split('\n')[0].split(/\s+/)).to.deep.equal([
      'name',
      'id',
      'state',
      'address',
      'age',
      'lease',
    ])
    expect(widest(r.stdout)).to.be.at.most(120)
    r = await cli(['status', '--wide'], {COLUMNS: '80'})
    expect(r.stdout.split('\n')[0]).to.match(
      /^slot +name +id +state +public ip +private ip +type +zone +market +age +lease +spec$/,
    )
    r = await cli(['status', '--columns', 'name,zone,state'])
    expect(r.stdout.split('\n')[0].split(/\s+/)).to.deep.equal(['name', 'zone', 'state'])
    expect(r.stdout.split('\n')[1]).to.match(/^wolphin\.terminal-output-check\.1 +us-east-1\w +running$/)
  })

  it('ls fits 80 columns', async () => {
    const r = await cli(['ls', '--region', 'us-east-1'], {COLUMNS: '80'})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.include(project)
    expect(widest(r.stdout)).to.be.at.most(80)
  })

  it('on a terminal states are coloured; NO_COLOR and --no-color turn colour off, tables included', async () => {
    let t = await runOnPty(['status'], {cwd: dir, env: {...env, NO_COLOR: ''}, columns: 80})
    expect(t.code, t.screen).to.equal(0)
    expect(t.screen).to.include('\x1b[32mrunning\x1b[39m')
    // The terminal's width, not COLUMNS, is what the table fits.
    expect(widest(t.screen.replace(new RegExp(ANSI.source, 'g'), ''))).to.be.at.most(80)
    t = await runOnPty(['status'], {cwd: dir, env: {...env, NO_COLOR: '1'}})
    expect(t.screen).to.include('running').and.not.match(ANSI)
    t = await runOnPty(['status', '--no-color'], {cwd: dir, env: {...env, NO_COLOR: ''}})
    expect(t.screen).to.include('running').and.not.match(ANSI)
  })

  it('count lowered, no terminal, no --yes: exit 2 naming what would go, before any change', async () => {
    const before = (await live()).map((i) => i.id)
    const r = await cli(['create', '-c', 'wolphin.yaml', '-c', 'three.yaml'])
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.equal(
      `wolphin: error: Terminate 9 instances of project ${project} in us-east-1 (above count.max 3): wolphin.${project}.4, wolphin.${project}.5, wolphin.${project}.6, wolphin.${project}.7, wolphin.${project}.8 and 4 more? Refusing without confirmation: pass --yes to terminate them (or raise count).\n`,
    )
    const j = await cli(['create', '-c', 'wolphin.yaml', '-c', 'three.yaml', '--json'])
    expect(j.code).to.equal(2)
    expect(j.json().error.code).to.equal('USAGE')
    expect((await live()).map((i) => i.id)).to.deep.equal(before)
  })

  it('count lowered on a terminal: names them and asks; "n" changes nothing', async () => {
    const before = (await live()).map((i) => i.id)
    const t = await runOnPty(['create', '-c', 'wolphin.yaml', '-c', 'three.yaml'], {
      cwd: dir,
      env: {...env, NO_COLOR: '1'},
      prompt: /\[y\/N\] /,
      answer: 'n\r',
    })
    expect(t.code, t.screen).to.equal(2)
    expect(t.screen).to.include(
      `Terminate 9 instances of project ${project} in us-east-1 (above count.max 3): wolphin.${project}.4,`,
    )
    // More than five: every one on its own line before the question.
    for (const i of before.slice(3))
      expect(t.screen).to.match(new RegExp(`^ +wolphin\\.${project}\\.\\d+ +${i} +running$`, 'm'))
    expect(t.screen).to.include('wolphin: error: not confirmed; nothing was done')
    expect((await live()).map((i) => i.id)).to.deep.equal(before)
  })

  it('Ctrl-C at the question ends the command (exit 130) and changes nothing', async () => {
    const before = (await live()).map((i) => i.id)
    const t = await runOnPty(['create', '-c', 'wolphin.yaml', '-c', 'three.yaml'], {
      cwd: dir,
      env: {...env, NO_COLOR: '1'},
      prompt: /\[y\/N\] /,
      answer: '\x03',
      timeoutMs: 30_000,
    })
    expect(t.code, t.screen).to.equal(130)
    expect(t.screen).to.include('wolphin: error: interrupted at the question; nothing was done')
    expect((await live()).map((i) => i.id)).to.deep.equal(before)
  })

  it('count lowered on a terminal, "y": terminates them and shows their real final state', async () => {
    const before = await live()
    const t = await runOnPty(['create', '-c', 'wolphin.yaml', '-c', 'three.yaml'], {
      cwd: dir,
      env: {...env, NO_COLOR: '1'},
      prompt: /\[y\/N\] /,
      answer: 'y\r',
    })
    expect(t.code, t.screen).to.equal(0)
    expect((await live()).map((i) => i.id)).to.deep.equal(before.slice(0, 3).map((i) => i.id))
    for (const i of before.slice(3))
      expect(t.screen).to.match(new RegExp(`^ +\\S+ +${i.id} +terminated( \\(.+\\))?$`, 'm'))
    for (const i of before.slice(0, 3))
      expect(t.screen).to.match(new RegExp(`^ +\\S+ +${i.id} +running$`, 'm'))
  })

  it('terminate on a terminal names the project, the region and how many', async () => {
    const t = await runOnPty(['terminate'], {
      cwd: dir,
      env: {...env, NO_COLOR: '1'},
      prompt: /\[y\/N\] /,
      answer: 'y\r',
    })
    expect(t.code, t.screen).to.equal(0)
    expect(t.screen).to.include(
      `Terminate 3 instances of project ${project} in us-east-1: wolphin.${project}.1, wolphin.${project}.2, wolphin.${project}.3? [y/N]`,
    )
    expect(await live()).to.deep.equal([])
  })
})
