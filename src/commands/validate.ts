import {BaseCommand} from '../base-command.js'
import {ExitCode} from '../errors.js'
import {versioned} from '../json.js'
import type {ValidationResult} from '../project/validate.js'
import {validationText} from '../ui/validate.js'

export default class Validate extends BaseCommand {
  static summary = 'Check the config against the account before anything is launched.'
  static description = `Checks that the AMI, key pair, security groups, subnet and instance profile exist in the region
(one Describe call each) and that RunInstances with DryRun=true is permitted. Prints each problem
on its own line. Exits 0 when everything checks out, 2 when something does not.`
  static examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate -c wolphin.yaml -c prod.yaml --region eu-west-1',
    '<%= config.bin %> validate --json | jq -r ".problems[]"',
  ]

  async run(): Promise<ValidationResult> {
    const {flags} = await this.parse(Validate)
    const project = await this.openProject(flags)
    const result = await project.validate()
    await reportValidation(this, result)
    return result
  }
}

/** Prints the result (text), and exits 2 after printing it when there is a problem. */
export async function reportValidation(
  cmd: BaseCommand,
  result: ValidationResult,
  jsonBody: unknown = result,
): Promise<void> {
  const json = cmd.jsonEnabled()
  if (!json) process.stdout.write(validationText(result))
  if (result.ok) return
  if (json) process.stdout.write(JSON.stringify(versioned(jsonBody), null, 2) + '\n')
  else
    process.stderr.write(
      `wolphin: error: validation found ${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}\n`,
    )
  cmd.exit(ExitCode.Usage)
}
