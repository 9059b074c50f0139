import {createHash, createHmac} from 'node:crypto'

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  marker: '' | '@revoked' | '@cert-authority'
  patterns: string[]
  keyType: string
  key: Buffer
  line: number
}

/** Parses known_hosts text: plain, `[host]:port`, wildcard, negated and hashed (`|1|salt|hash`) entries. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const f = line.split(/\s+/)
    let marker: KnownHostEntry['marker'] = ''
    if (f[0] === '@revoked' || f[0] === '@cert-authority') marker = f.shift() as KnownHostEntry['marker']
    if (f.length < 3) return
    const [hosts, keyType, b64] = f
    if (!/^[A-Za-z0-9+/=]+$/.test(b64)) return
    out.push({marker, patterns: hosts.split(','), keyType, key: Buffer.from(b64, 'base64'), line: i + 1})
  })
  return out
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

function glob(pattern: string, name: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('') +
      '$',
    'i',
  )
  return re.test(name)
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|')
    if (!salt || !hash) return false
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64')
    return h === hash
  }
  return glob(pattern, name)
}

/** Whether an entry's host patterns match: any positive match and no negated one. */
export function entryMatches(e: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostName(host, port)
  let hit = false
  for (const p of e.patterns) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false
    } else if (patternMatches(p, name)) hit = true
  }
  return hit
}

export type KnownHostsVerdict = 'match' | 'mismatch' | 'revoked' | 'unknown'

export function checkKnownHosts(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): KnownHostsVerdict {
  const mine = entries.filter((e) => e.marker !== '@cert-authority' && entryMatches(e, host, port))
  if (mine.some((e) => e.marker === '@revoked' && e.key.equals(key))) return 'revoked'
  const plain = mine.filter((e) => e.marker === '')
  if (plain.some((e) => e.key.equals(key))) return 'match'
  return plain.length ? 'mismatch' : 'unknown'
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown'
  const n = blob.readUInt32BE(0)
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown'
}

/** OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The server host key algorithms ssh2 may negotiate for a key of this type. */
export function algorithmsFor(keyType: string): string[] | undefined {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']
  if (/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521))$/.test(keyType)) return [keyType]
  return undefined
}
