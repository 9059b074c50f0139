/**
 * The import-boundary rules of eslint.config.js (docs/architecture.md, "Layers") catch what they
 * forbid: each forbidden import, in each form, written into a file of each layer, is an error.
 */
import path from 'node:path'

import {expect} from 'chai'
import {ESLint} from 'eslint'

import {ROOT} from '../support/moto.js'

const eslint = new ESLint({cwd: ROOT})
async function problems(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, {filePath: path.join(ROOT, file)})
  return r.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message)
}

describe('import boundaries (eslint.config.js)', function () {
  this.timeout(60_000)

  const forbidden: Array<[file: string, code: string, reason: RegExp]> = [
    ['src/project/x.ts', "import {Listr} from 'listr2'\nexport const l = Listr", /CLI front end/],
    ['src/config/x.ts', "export const t = await import('cli-table3')", /CLI front end/],
    [
      'src/exec/x.ts',
      "import {Command} from '@oclif/core/command'\nexport const c = Command",
      /CLI front end/,
    ],
    ['src/selectors/x.ts', "export {EC2Client} from '@aws-sdk/client-ec2'", /only src\/aws/],
    ['src/exec/x.ts', "export const m = await import('@aws-sdk/client-ssm')", /only src\/aws/],
    ['src/project/x.ts', "export type C = import('ssh2').Client", /only src\/exec/],
    ['src/aws/x.ts', "import type {Client} from 'ssh2'\nexport type C = Client", /only src\/exec/],
    [
      'src/project/x.ts',
      "import {statusTable} from '../ui/render.js'\nexport const s = statusTable",
      /upward/,
    ],
    ['src/aws/x.ts', "export const b = await import('../base-command.js')", /upward/],
    ['src/index.ts', "export {default} from './commands/status.js'", /upward/],
    [
      'src/ui/x.ts',
      "import {globalFlags} from '../base-command.js'\nexport const g = globalFlags",
      /src\/ui renders/,
    ],
    [
      'src/commands/x.ts',
      "import {EC2Client} from '@aws-sdk/client-ec2'\nexport const e = EC2Client",
      /only src\/aws/,
    ],
  ]
  for (const [file, code, reason] of forbidden)
    it(`${file}: ${code.split('\n')[0]} is refused`, async () => {
      const found = await problems(file, code)
      expect(found, code).to.have.length.greaterThan(0)
      expect(found.join('\n')).to.match(reason)
    })

  const allowed: Array<[file: string, code: string]> = [
    ['src/aws/x.ts', "import {EC2Client} from '@aws-sdk/client-ec2'\nexport const e = EC2Client"],
    ['src/exec/x.ts', "import type {Client} from 'ssh2'\nexport type C = Client"],
    ['src/ui/x.ts', "import {Listr} from 'listr2'\nexport const l = Listr"],
    ['src/commands/x.ts', "import {statusTable} from '../ui/render.js'\nexport const s = statusTable"],
    ['src/project/x.ts', "import {Tag} from './tags.js'\nexport const t = Tag"],
  ]
  for (const [file, code] of allowed)
    it(`${file}: ${code.split('\n')[0]} is allowed`, async () => {
      expect(await problems(file, code)).to.deep.equal([])
    })
})
