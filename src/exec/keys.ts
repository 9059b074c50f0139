import {readFile, stat} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {loadSsh2} from './ssh2-module.js'

export function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p
}

/**
 * Reads a private key file. Like OpenSSH, refuses one that group or others can read or write, and
 * one that is not an unencrypted private key ssh2 understands (use ssh-agent for a passphrase).
 */
export async function readPrivateKey(file: string, field = 'ssh.key', cwd = process.cwd()): Promise<Buffer> {
  const abs = path.resolve(cwd, expandHome(file))
  let st
  try {
    st = await stat(abs)
  } catch {
    throw new ConfigError(`${field}: ${file}: no such file (expected the path of a private key)`)
  }
  if (!st.isFile())
    throw new ConfigError(`${field}: ${file}: not a file (expected the path of a private key)`)
  const mode = st.mode & 0o777
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${field}: ${file} has permissions 0${mode.toString(8)}; a private key must not be accessible by group or others (run: chmod 600 ${file})`,
    )
  }
  const data = await readFile(abs)
  const {utils} = await loadSsh2()
  const parsed = utils.parseKey(data)
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message)
    throw new ConfigError(
      encrypted
        ? `${field}: ${file} is protected by a passphrase; load it into ssh-agent (SSH_AUTH_SOCK) and leave ${field} unset`
        : `${field}: ${file} is not a private key ssh2 can read (${parsed.message})`,
    )
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key?.isPrivateKey())
    throw new ConfigError(`${field}: ${file} holds a public key; expected the private key`)
  return data
}
