import path from 'node:path'

import * as Flags from '@oclif/core/flags'

import {BaseCommand} from '../base-command.js'
import {
  checkAnswer,
  INIT_QUESTIONS,
  type InitAnswers,
  parseCount,
  projectFromDir,
  writeStarterConfig,
} from '../config/init.js'
import {UsageError} from '../errors.js'

const FLAG_OF: Partial<Record<keyof InitAnswers, string>> = {
  project: '--project',
  region: '--region',
  ami: '--ami',
  instanceType: '--instance-type',
  keyName: '--key-name',
  count: '--count',
  user: '--user',
  sshKey: '--ssh-key',
  email: '--email',
}

export default class Init extends BaseCommand {
  static summary = 'Write a commented starter wolphin.yaml.'
  static description = `Takes the answers from flags or, on a terminal, asks for what the flags leave out (project, region,
AMI, instance type, key pair, count, ssh user and key). Never overwrites an existing file without
--force. Writes wolphin.yaml in the working directory, or the file given with -c.`
  static examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --project loadgen --region eu-west-1 --ami ami-0123456789abcdef0 --count 2-4',
    '<%= config.bin %> init -c ci.yaml --project ci-smoke --instance-type t3.small --yes',
    '<%= config.bin %> init --force --project loadgen --key-name perf --user ubuntu --ssh-key ~/.ssh/perf.pem',
  ]
  static flags = {
    ami: Flags.string({summary: 'AMI id to launch, like ami-0123456789abcdef0.'}),
    'instance-type': Flags.string({summary: 'Instance type, like t3.micro.'}),
    'key-name': Flags.string({summary: 'EC2 key pair name.'}),
    count: Flags.string({summary: 'How many instances: N, or MIN-MAX.'}),
    user: Flags.string({summary: 'SSH user for exec and put.'}),
    'ssh-key': Flags.string({summary: 'SSH private key file for exec and put.'}),
    email: Flags.string({summary: 'Owner email (the OwnerEmail tag).'}),
    force: Flags.boolean({summary: 'Overwrite an existing file.', default: false}),
  }

  async run(): Promise<{file: string; project: string; asked: boolean}> {
    const {flags} = await this.parse(Init)
    if ((flags.config?.length ?? 0) > 1) throw new UsageError('init writes one file; pass -c at most once')
    const file = path.resolve(flags.config?.[0] ?? 'wolphin.yaml')
    const given: Partial<Record<keyof InitAnswers, string>> = {
      project: flags.project,
      region: flags.region,
      ami: flags.ami,
      instanceType: flags['instance-type'],
      keyName: flags['key-name'],
      count: flags.count,
      user: flags.user,
      sshKey: flags['ssh-key'],
      email: flags.email,
    }
    // Bad flags are usage errors before anything is asked or written.
    for (const [k, v] of Object.entries(given) as Array<[keyof InitAnswers, string | undefined]>) {
      if (v === undefined) continue
      const why = checkAnswer(k, v)
      if (why) throw new UsageError(`${FLAG_OF[k]}: ${why}`)
    }
    const interactive =
      !flags.yes && !this.jsonEnabled() && Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY)
    if (interactive) await this.ask(given, file)
    const answers: InitAnswers = {
      project: given.project || projectFromDir(path.dirname(file)),
      region: given.region || undefined,
      ami: given.ami || undefined,
      instanceType: given.instanceType || undefined,
      keyName: given.keyName || undefined,
      count: given.count ? parseCount(given.count) : undefined,
      user: given.user || undefined,
      sshKey: given.sshKey || undefined,
      email: given.email || undefined,
    }
    await writeStarterConfig(file, answers, {force: flags.force})
    const rel = path.relative(process.cwd(), file) || file
    if (!this.jsonEnabled()) {
      this.log(`wrote ${rel} for project ${answers.project}`)
      this.log(
        `next: ${answers.ami ? '' : `set "ami" in ${rel}, then `}wolphin validate, then wolphin create`,
      )
    }
    return {file, project: answers.project, asked: interactive}
  }

  /** Asks for each answer the flags left out; a bad answer is asked again (bounded). */
  private async ask(given: Partial<Record<keyof InitAnswers, string>>, file: string): Promise<void> {
    const {createInterface} = await import('node:readline')
    const rl = createInterface({input: process.stdin, output: process.stderr})
    // The iterator buffers lines, so answers typed (or pasted) ahead of a question are not lost.
    const lines = rl[Symbol.asyncIterator]()
    const question = async (text: string): Promise<string> => {
      rl.setPrompt(text)
      rl.prompt()
      const next = await lines.next()
      if (next.done) throw new UsageError('init: input ended before every question was answered')
      return String(next.value)
    }
    try {
      for (const q of INIT_QUESTIONS) {
        if (given[q.key] !== undefined) continue
        const def = q.key === 'project' ? projectFromDir(path.dirname(file)) : q.default
        for (let attempt = 0; ; attempt++) {
          const answer = (await question(`${q.question}${def ? ` [${def}]` : ''}: `)).trim() || def || ''
          const why = answer === '' ? null : checkAnswer(q.key, answer)
          if (!why) {
            given[q.key] = answer
            break
          }
          if (attempt >= 2) throw new UsageError(`${FLAG_OF[q.key]}: ${why}`)
          process.stderr.write(`  ${why}\n`)
        }
      }
    } finally {
      rl.close()
    }
  }
}
