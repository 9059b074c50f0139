/**
 * Validates a `--json` document against its committed schema in schemas/ (ajv, every error
 * reported with its path).
 */
import {readFileSync} from 'node:fs'
import path from 'node:path'

import {Ajv} from 'ajv'
import {expect} from 'chai'

import {ROOT} from './moto.js'

const ajv = new Ajv({allErrors: true, strict: false})
const compiled = new Map<string, ReturnType<typeof ajv.compile>>()

export function schemaFor(name: string) {
  let v = compiled.get(name)
  if (!v) {
    const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas', `${name}.schema.json`), 'utf8'))
    v = ajv.compile(schema)
    compiled.set(name, v)
  }
  return v
}

export function expectMatchesSchema(name: string, doc: unknown, what = name): void {
  const validate = schemaFor(name)
  const ok = validate(doc)
  expect(
    ok,
    `${what} does not match schemas/${name}.schema.json: ${JSON.stringify(validate.errors, null, 2)}\n${JSON.stringify(doc).slice(0, 2000)}`,
  ).to.equal(true)
}
