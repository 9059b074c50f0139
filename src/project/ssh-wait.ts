/**
 * The hook between revert's `wait until ssh` action and an SSH reachability check. The core stays
 * free of SSH: the waiter is injected (library users, tests) or src/exec's, loaded on first use.
 */
import type {ResolvedConfig} from '../config/schema.js'
import type {Ec2Port} from './ports.js'
import type {Instance} from './types.js'

/**
 * Resolves once every instance answers over SSH; rejects (WaitTimeoutError...) otherwise. `opts.ec2`
 * is the project's EC2 port (its region, profile and time limits), for pinning host keys:
 * `waitForSsh` of src/exec fits, and uses it.
 */
export type SshWaiter = (
  instances: Instance[],
  config: ResolvedConfig,
  signal?: AbortSignal,
  opts?: {ec2?: () => Promise<Ec2Port>},
) => Promise<void>

/**
 * An `ApplyContext.waitSsh` for a project: looks the ids up in a fresh observation (addresses are
 * known only once an instance runs) and hands the running ones to the waiter, by default
 * `waitForSsh` of src/exec (loaded on first use, pinning host keys through the project's port).
 */
export function revertSshWaiter(
  project: {observe(): Promise<Instance[]>; config: ResolvedConfig; port(): Promise<Ec2Port>},
  waiter?: SshWaiter,
  signal?: AbortSignal,
): (ids: string[]) => Promise<void> {
  return async (ids) => {
    if (!ids.length) return
    const want = new Set(ids)
    const instances = (await project.observe()).filter((i) => want.has(i.id) && i.state === 'running')
    const ec2 = () => project.port()
    if (waiter) return waiter(instances, project.config, signal, {ec2})
    const {waitForSsh} = await import('../exec/wait.js')
    await waitForSsh(instances, project.config, signal, {ec2})
  }
}
