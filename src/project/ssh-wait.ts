/**
 * The hook between revert's `wait until ssh` action and an SSH reachability check. The core stays
 * free of SSH: the waiter is injected (library users, tests) or loaded from src/exec on first use.
 */
import type {ResolvedConfig} from '../config/schema.js'
import {UsageError} from '../errors.js'
import type {Instance} from './types.js'

/** Resolves once every instance answers over SSH; rejects (WaitTimeoutError...) otherwise. */
export type SshWaiter = (instances: Instance[], config: ResolvedConfig, signal?: AbortSignal) => Promise<void>

/** The SSH waiter of src/exec. */
async function defaultWaiter(): Promise<SshWaiter> {
  throw new UsageError(
    '--wait-ssh: this build has no SSH reachability check (src/exec waitForSsh); run without --wait-ssh',
  )
}

/**
 * An `ApplyContext.waitSsh` for a project: looks the ids up in a fresh observation (addresses are
 * known only once an instance runs) and hands them to the waiter.
 */
export function revertSshWaiter(
  project: {observe(): Promise<Instance[]>; config: ResolvedConfig},
  waiter?: SshWaiter,
  signal?: AbortSignal,
): (ids: string[]) => Promise<void> {
  return async (ids) => {
    if (!ids.length) return
    const wait = waiter ?? (await defaultWaiter())
    const want = new Set(ids)
    const instances = (await project.observe()).filter((i) => want.has(i.id))
    await wait(instances, project.config, signal)
  }
}
