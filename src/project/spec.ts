import {createHash} from 'node:crypto'

import type {ResolvedConfig} from '../config/schema.js'
import {leasePolicy, watchdogEnabled} from './launch-settings.js'

/**
 * The launch-relevant part of the config: what makes two instances "the same". Settings added
 * later (disk, the lease watchdog) appear only when set, so a config without them keeps its hash
 * and its fleet stays current. `ami: resolve:ssm:NAME` is hashed as written: the image behind it
 * is compared with each instance's image separately (observe.ts toInstance), since the parameter
 * changes without the config changing. The lease's length is not in it: it lives in each
 * instance's tag, and `extend` moves it.
 */
export function launchSpec(c: ResolvedConfig) {
  const watchdog = watchdogEnabled(c)
  const {action, graceMs} = leasePolicy(c)
  // What the lease changes in the launch: the watchdog (and its grace), the shutdown behaviour.
  const leaseLaunch = watchdog || (c.lease !== undefined && action === 'terminate')
  return {
    ...launchSpecBase(c),
    ...(c.disk ? {disk: {size: c.disk.size ?? null, type: c.disk.type ?? null}} : {}),
    ...(leaseLaunch ? {lease: {watchdog, action, graceMs: watchdog ? graceMs : null}} : {}),
  }
}

function launchSpecBase(c: ResolvedConfig) {
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
