import {createHash} from 'node:crypto'

import type {ResolvedConfig} from '../config/schema.js'

/** The launch-relevant part of the config: what makes two instances "the same". */
export function launchSpec(c: ResolvedConfig) {
  return {
    ami: c.ami ?? null,
    instanceType: c.instanceType,
    keyName: c.keyName ?? null,
    securityGroups: [...c.securityGroups].sort(),
    subnets: c.subnets,
    userData: c.userData ?? null,
    iamInstanceProfile: c.iamInstanceProfile ?? null,
    imdsv2: c.imdsv2,
    market: c.market,
    tags: Object.fromEntries(Object.entries(c.tags).sort(([a], [b]) => a.localeCompare(b))),
  }
}

/** A short, stable hash of the launch spec (stored in the `wolphin:spec` tag). */
export function specHash(c: ResolvedConfig): string {
  return createHash('sha256')
    .update(JSON.stringify(launchSpec(c)))
    .digest('hex')
    .slice(0, 12)
}
