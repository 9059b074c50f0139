import {DEFAULTS, type ResolvedConfig} from '../../src/config/schema.js'
import type {Instance} from '../../src/project/types.js'

/** A resolved config for unit tests: short waits, one attempt, no AWS specifics. */
export function testConfig(over: Partial<ResolvedConfig> = {}): ResolvedConfig {
  return {
    project: 'p',
    ami: 'ami-12345678',
    instanceType: 't3.micro',
    securityGroups: [],
    subnets: [],
    availabilityZones: [],
    count: {min: 1, max: 1},
    user: 'ec2-user',
    wait: {timeout: 5, interval: 0.01},
    tags: {},
    imdsv2: true,
    market: 'on-demand',
    maxAttempts: 1,
    nameTags: 'launch',
    timeouts: {...DEFAULTS.timeouts},
    ...over,
  }
}

/** An observed instance for unit tests: every field unknown (null) unless given. */
export function testInstance(over: Partial<Instance> & Pick<Instance, 'id' | 'state'>): Instance {
  return {
    name: null,
    slot: null,
    publicIp: null,
    privateIp: null,
    publicDns: null,
    privateDns: null,
    imageId: null,
    instanceType: null,
    zone: null,
    launchTime: null,
    owner: null,
    expiresAt: null,
    outdated: false,
    market: 'on-demand',
    tags: {},
    ...over,
  }
}
