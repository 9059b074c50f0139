#!/usr/bin/env node
/**
 * Writes schemas/<name>.schema.json, one JSON Schema per `--json` document, generated from the
 * types in src/json.ts (the one place the contract is written down). Usage:
 *   node scripts/schemas.mjs          # rewrite schemas/
 *   node scripts/schemas.mjs DIR      # write into DIR instead (the freshness test compares)
 */
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {createGenerator} from 'ts-json-schema-generator'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'schemas'))

/** schema file -> the type in src/json.ts. */
export const DOCUMENTS = {
  status: 'StatusDocument',
  watch: 'WatchDocument',
  operation: 'OperationDocument',
  exec: 'ExecDocument',
  ls: 'LsDocument',
  reap: 'ReapDocument',
  extend: 'ExtendDocument',
  validate: 'ValidateDocument',
  config: 'ConfigDocument',
  init: 'InitDocument',
  'ssh-config': 'SshConfigDocument',
  error: 'ErrorDocument',
}

const generator = createGenerator({
  path: path.join(ROOT, 'src/json.ts'),
  tsconfig: path.join(ROOT, 'tsconfig.json'),
  skipTypeCheck: true,
  additionalProperties: false,
  topRef: false,
  expose: 'export',
  jsDoc: 'extended',
  sortProps: true,
})
await mkdir(out, {recursive: true})
for (const [name, type] of Object.entries(DOCUMENTS)) {
  const schema = generator.createSchema(type)
  const doc = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `urn:wolphin:schema:v1:${name}`,
    title: `wolphin ${name} --json`,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  }
  await writeFile(path.join(out, `${name}.schema.json`), JSON.stringify(doc, null, 2) + '\n')
}
