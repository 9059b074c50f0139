/**
 * Runs a wolphin command class from src/ in process, as oclif runs it, and captures its output,
 * like @oclif/test's runCommand. Tests that mock the installed SDK's client classes
 * (aws-sdk-client-mock) use this: dist/commands are bundles with their own copy of the SDK
 * (scripts/bundle.mjs), which such a mock cannot reach. The built CLI is what test/integration runs.
 */
import {captureOutput} from '@oclif/test'

import {ROOT} from './moto.js'

export async function runSourceCommand([id, ...argv]: string[]) {
  const {default: C} = (await import(`../../src/commands/${id}.js`)) as {
    default: {run(argv: string[], root: string): Promise<unknown>}
  }
  return captureOutput(() => C.run(argv, ROOT))
}
