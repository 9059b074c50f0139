/**
 * The words wolphin hands to OpenSSH: hosts, login names, Host aliases and file paths. Every one of
 * them ends up on a line of a generated ssh_config or known_hosts, or on ssh's command line, so a
 * value holding a newline would add a line of its own (a `ProxyCommand` that the system ssh runs
 * locally), a leading "-" would be an option, and "%" or "${" would be expanded by ssh. The config
 * schema, the address resolution and the ssh_config writer all check with these functions: one rule
 * in one place.
 */
import {isIPv6} from 'node:net'

import {ConfigError} from '../errors.js'

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
/** A DNS label (RFC 1123; "_" too, as resolvers accept it): no leading or trailing "-". */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

/** What a host must be, for messages. */
export const HOST_EXPECTED =
  'expected a host name or an IP address (like bastion.example.com, 10.0.0.5 or ::1)'

/**
 * True for a DNS name (labels of letters, digits, "-" and "_", at most 253 characters, an optional
 * final dot), an IPv4 address (dotted quad) or an IPv6 address (without a zone: "%" is a token to
 * OpenSSH). Nothing else: no whitespace, control characters, quotes, "%", "/" or leading "-".
 */
export function isHostName(host: string): boolean {
  if (IPV4.test(host)) return true
  if (host.includes(':')) return !host.includes('%') && isIPv6(host)
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  if (name.length === 0 || name.length > 253) return false
  const labels = name.split('.')
  // An all-digit last label is an IPv4 address gone wrong (127.0.0.999), not a name.
  if (/^\d+$/.test(labels[labels.length - 1])) return false
  return labels.every((l) => LABEL.test(l))
}

/** What a login name must be, for messages. */
export const LOGIN_EXPECTED =
  'expected a login name (letters, digits, ".", "_", "-" and "@", not starting with "-" or "@")'

/** A login name as OpenSSH and useradd take it (plus "@" for directory users); no "-" first. */
export function isLoginName(user: string): boolean {
  return /^[A-Za-z0-9_.][A-Za-z0-9_.@-]{0,255}\$?$/.test(user)
}

/** A Host alias that ssh_config, known_hosts and ssh's command line all take as one plain word. */
export function isHostAlias(alias: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/.test(alias)
}

/** What a path must be, for messages. */
export const PATH_EXPECTED =
  'expected a file path without control characters (such as a newline) or double quotes'

/** A path that can be written as one quoted ssh_config argument: no control character, no `"`. */
export function isSshConfigPath(p: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  return p.length > 0 && !/[\x00-\x1f\x7f"]/.test(p)
}

/**
 * One argument of an ssh_config line (ssh_config(5)): `"`-quoted when it holds a space, "#", "'",
 * "\\" or "=" (a backslash then doubled, as ssh reads it back); with `tokens` (the keywords where ssh
 * expands `%h`-style tokens and `${VAR}`: IdentityFile, UserKnownHostsFile) "%" is doubled, and
 * `${` refused since ssh has no way to write it literally. A value no quoting can carry (a control
 * character, a double quote) is refused: a ConfigError naming `field`.
 */
export function sshConfigArg(field: string, value: string, opts: {tokens?: boolean} = {}): string {
  if (!isSshConfigPath(value)) throw new ConfigError(`${field}: ${JSON.stringify(value)}: ${PATH_EXPECTED}`)
  if (opts.tokens && value.includes('${'))
    throw new ConfigError(
      `${field}: ${JSON.stringify(value)}: ssh would expand "\${...}" in it as an environment variable`,
    )
  let v = opts.tokens ? value.replace(/%/g, '%%') : value
  if (/[\s#'\\=]/.test(v)) v = `"${v.replace(/\\/g, '\\\\')}"`
  return v
}
