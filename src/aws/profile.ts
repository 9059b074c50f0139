/**
 * Whether a named AWS profile exists, read from the shared config and credentials files the way
 * the SDK finds them (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/). No AWS call: a
 * misspelt --profile is bad input (exit 2), not "no credentials found" after a network round.
 */
import os from 'node:os'
import path from 'node:path'

import {UsageError} from '../errors.js'
import {readRegularFile} from '../util/read-file.js'

/** The AWS config and credentials files are small; a bigger one is read as none. */
const MAX_AWS_FILE_BYTES = 16 * 1024 * 1024

/** The profile names in a config file (`[profile x]`, `[default]`) or a credentials file (`[x]`). */
export function profileNames(text: string, kind: 'config' | 'credentials'): string[] {
  const names: string[] = []
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$/.exec(line)
    if (!m) continue
    const section = m[1]
    if (kind === 'credentials') names.push(section)
    else if (section === 'default') names.push(section)
    else {
      const p = /^profile\s+(.+)$/.exec(section)
      if (p) names.push(p[1].trim())
    }
  }
  return names
}

export async function checkProfile(name: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const home = os.homedir()
  const files = [
    {file: env.AWS_CONFIG_FILE || path.join(home, '.aws', 'config'), kind: 'config' as const},
    {
      file: env.AWS_SHARED_CREDENTIALS_FILE || path.join(home, '.aws', 'credentials'),
      kind: 'credentials' as const,
    },
  ]
  const known = new Set<string>()
  for (const f of files) {
    // A FIFO or device (AWS_CONFIG_FILE=/dev/null) counts as no file: reading it could block.
    const text = await readRegularFile(f.file, MAX_AWS_FILE_BYTES).then(
      ({data}) => data.toString('utf8'),
      () => '',
    )
    for (const n of profileNames(text, f.kind)) known.add(n)
  }
  if (known.has(name)) return
  const list = [...known].sort()
  throw new UsageError(
    `profile "${name}" (--profile or AWS_PROFILE) does not exist in ${files.map((f) => f.file).join(' or ')}; ${list.length ? `profiles there: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}` : 'no profiles are defined there'}`,
  )
}
