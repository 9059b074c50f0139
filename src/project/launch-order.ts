/**
 * The order in which a launch tries markets and placements when EC2 has no capacity. Pure.
 */
import type {ResolvedConfig} from '../config/schema.js'

export interface LaunchAttempt {
  market: 'spot' | 'on-demand'
  subnet?: string
  availabilityZone?: string
}

/** EC2 codes that mean "not here, not now": the launch moves on to the next attempt. */
export const CAPACITY_CODES: readonly string[] = [
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientHostCapacity',
  'InsufficientCapacityOnHost',
  'InsufficientFreeAddressesInSubnet',
]

/** Spot-only refusals: on a spot attempt they move on too. */
export const SPOT_CODES: readonly string[] = [
  'SpotMaxPriceTooLow',
  'MaxSpotInstanceCountExceeded',
  'InsufficientSpotCapacity',
  'SpotCapacityNotAvailable',
]

/** Spot refusals that no other placement can fix: skip straight to on-demand. */
const ACCOUNT_WIDE_SPOT_CODES: readonly string[] = ['MaxSpotInstanceCountExceeded']

/**
 * Placements in config order: each subnet (a subnet lies in one zone, so no zone is passed with
 * it), else each availability zone, else one attempt where EC2 chooses.
 */
function placements(
  c: Pick<ResolvedConfig, 'subnets' | 'availabilityZones'>,
): Array<Omit<LaunchAttempt, 'market'>> {
  if (c.subnets.length) return c.subnets.map((subnet) => ({subnet}))
  if (c.availabilityZones.length) return c.availabilityZones.map((availabilityZone) => ({availabilityZone}))
  return [{}]
}

/**
 * Every attempt a launch may make, in order: for `spot-then-on-demand` every placement as spot,
 * then every placement on demand; otherwise every placement in the one market.
 */
export function launchAttempts(
  c: Pick<ResolvedConfig, 'market' | 'subnets' | 'availabilityZones'>,
): LaunchAttempt[] {
  const markets: Array<LaunchAttempt['market']> =
    c.market === 'spot-then-on-demand' ? ['spot', 'on-demand'] : [c.market === 'spot' ? 'spot' : 'on-demand']
  return markets.flatMap((market) => placements(c).map((p) => ({market, ...p})))
}

/** The index of the attempt to make after `current` failed with `code`, or null to give up. */
export function nextAttempt(
  attempts: LaunchAttempt[],
  current: number,
  code: string | undefined,
): number | null {
  const here = attempts[current]
  if (!here || code === undefined) return null
  const spotRefusal = here.market === 'spot' && SPOT_CODES.includes(code)
  if (!CAPACITY_CODES.includes(code) && !spotRefusal) return null
  if (here.market === 'spot' && ACCOUNT_WIDE_SPOT_CODES.includes(code)) {
    const od = attempts.findIndex((a, i) => i > current && a.market === 'on-demand')
    return od === -1 ? null : od
  }
  return current + 1 < attempts.length ? current + 1 : null
}

export function describeAttempt(a: LaunchAttempt): string {
  const where = a.subnet ? ` in ${a.subnet}` : a.availabilityZone ? ` in ${a.availabilityZone}` : ''
  return `${a.market}${where}`
}
