import type {Instance} from '../project/types.js'
import {isHostName} from '../util/ssh-words.js'
import type {Target} from './types.js'

/** Parses `host`, `host:port`, `[v6]` or `[v6]:port`. */
export function parseHostPort(text: string, defaultPort: number): {host: string; port: number} | null {
  const t = text.trim()
  if (t === '') return null
  let host: string
  let port = defaultPort
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t)
  if (v6) {
    host = v6[1]
    if (v6[2] !== undefined) port = Number(v6[2])
  } else if ((t.match(/:/g) ?? []).length === 1) {
    const [h, p] = t.split(':')
    if (!/^\d+$/.test(p)) return null
    host = h
    port = Number(p)
  } else host = t
  if (!isHostName(host) || !Number.isInteger(port) || port < 1 || port > 65535) return null
  return {host, port}
}

/**
 * The address of an instance per `ssh.address`: public-ip, private-ip, public-dns, private-dns, or
 * `tag:KEY` whose value is `host[:port]`. Returns a reason string (one line) when the instance has
 * none, or when what it has is not a host name or IP address (isHostName): anyone who can write
 * tags sets them, and the host goes on to ssh_config lines and ssh's command line.
 */
export function resolveTarget(instance: Instance, address: string, defaultPort: number): Target | string {
  const name = instance.name ?? instance.id
  const base = {id: instance.id, name, slot: instance.slot, instance}
  const pick = (v: string | null, what: string) =>
    !v
      ? `no ${what} (ssh.address is ${address})`
      : isHostName(v)
        ? {...base, host: v, port: defaultPort}
        : `${what} ${JSON.stringify(v)} is not a host name or IP address`
  switch (address) {
    case 'public-ip':
      return pick(instance.publicIp, 'public IP')
    case 'private-ip':
      return pick(instance.privateIp, 'private IP')
    case 'public-dns':
      return pick(instance.publicDns, 'public DNS name')
    case 'private-dns':
      return pick(instance.privateDns, 'private DNS name')
  }
  if (address.startsWith('tag:')) {
    const key = address.slice(4)
    const v = instance.tags[key]
    if (v === undefined || v === '') return `no tag ${key} (ssh.address is ${address})`
    const hp = parseHostPort(v, defaultPort)
    if (!hp) return `tag ${key} is ${JSON.stringify(v)}, expected host or host:port`
    return {...base, ...hp}
  }
  return `ssh.address "${address}" is not understood`
}

/** True for 127.0.0.0/8, ::1 and localhost: what the test guard WOLPHIN_LOOPBACK_ONLY allows. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost'
}
