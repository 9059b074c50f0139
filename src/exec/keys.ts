import os from 'node:os'
import path from 'node:path'

import {ConfigError} from '../errors.js'
import {readRegularFile, UnreadableFileError} from '../util/read-file.js'
import {loadSsh2} from './ssh2-module.js'

/** Far more than any private key (an RSA 16384-bit PEM is ~13 KB). */
const MAX_KEY_BYTES = 1024 * 1024

export function expandHome(p: string): string {
  return p === '~' ? os.homedir() : p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p
}

/**
 * Reads a private key file. Like OpenSSH, refuses one that group or others can read or write, and
 * one that is not an unencrypted private key ssh2 understands (use ssh-agent for a passphrase).
 */
export async function readPrivateKey(file: string, field = 'ssh.key', cwd = process.cwd()): Promise<Buffer> {
  const abs = path.resolve(cwd, expandHome(file))
  let data: Buffer
  let mode: number
  try {
    ;({data, mode} = await readRegularFile(abs, MAX_KEY_BYTES))
  } catch (e) {
    if (!(e instanceof UnreadableFileError)) throw e
    throw new ConfigError(
      e.reason === 'missing'
        ? `${field}: ${file}: no such file (expected the path of a private key)`
        : e.reason === 'directory' || e.reason === 'not-a-file'
          ? `${field}: ${file}: not a file (expected the path of a private key)`
          : `${field}: ${file}: cannot read it (${e.why})`,
    )
  }
  mode &= 0o777
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${field}: ${file} has permissions 0${mode.toString(8)}; a private key must not be accessible by group or others (run: chmod 600 ${file})`,
    )
  }
  const {utils} = await loadSsh2()
  const parsed = utils.parseKey(data)
  if (parsed instanceof Error) {
    const encrypted = isEncryptedKey(data)
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

/**
 * Whether a private key file is protected by a passphrase, read from the key's own format (not
 * from a parser's error text): PEM's `Proc-Type: 4,ENCRYPTED` header, PKCS#8's `ENCRYPTED PRIVATE
 * KEY`, or an OpenSSH key whose cipher is not `none`.
 */
export function isEncryptedKey(data: Buffer): boolean {
  const text = data.toString('latin1')
  if (/^Proc-Type: *4, *ENCRYPTED/m.test(text) || text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----'))
    return true
  const body = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text)
  if (!body) return false
  // "openssh-key-v1\0", then the cipher name as an SSH string (uint32 length, bytes).
  const raw = Buffer.from(body[1].replace(/\s+/g, ''), 'base64')
  const magic = 'openssh-key-v1\0'.length
  if (raw.length < magic + 4) return false
  const len = raw.readUInt32BE(magic)
  return raw.subarray(magic + 4, magic + 4 + len).toString('latin1') !== 'none'
}
