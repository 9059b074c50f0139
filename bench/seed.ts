/**
 * Seeding moto for the benchmarks: project members tagged as wolphin tags them, plus neighbours
 * (other projects, untagged instances) that the server-side tag filter has to skip.
 */
import {type EC2Client, RunInstancesCommand, type Tag as SdkTag} from '@aws-sdk/client-ec2'

import {TEST_AMI} from '../test/support/ec2.js'

const tagList = (t: Record<string, string>): SdkTag[] =>
  Object.entries(t).map(([Key, Value]) => ({Key, Value}))

async function mapLimit<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(limit, items.length)}, async () => {
      while (next < items.length) await fn(items[next++])
    }),
  )
}

/**
 * Launches `count` members of `project` into slots from..from+count-1, one reservation per instance
 * (as a fleet grown over time looks). moto pages DescribeInstances by reservation, real EC2 by
 * instance: one instance per reservation makes both count pages alike.
 */
export async function seedMembers(
  client: EC2Client,
  project: string,
  opts: {
    from: number
    count: number
    email?: string
    spec?: string
    concurrency?: number
    /** Only these tag keys (fewer tags: moto's tag lookups are linear in all tags it holds). */
    tagsOnly?: string[]
  },
): Promise<void> {
  const slots = Array.from({length: opts.count}, (_, i) => opts.from + i)
  await mapLimit(slots, opts.concurrency ?? 4, async (slot) => {
    const tags: Record<string, string> = {
      ProjectName: `wolphin.${project}`,
      Name: `wolphin.${project}.${slot}`,
      'wolphin:slot': String(slot),
      OwnerEmail: opts.email ?? 'bench@example.com',
    }
    if (opts.spec) tags['wolphin:spec'] = opts.spec
    if (opts.tagsOnly) for (const k of Object.keys(tags)) if (!opts.tagsOnly.includes(k)) delete tags[k]
    await client.send(
      new RunInstancesCommand({
        ImageId: TEST_AMI,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ResourceType: 'instance', Tags: tagList(tags)}],
      }),
    )
  })
}

/** Instances of other projects and untagged ones, in a few multi-instance reservations. */
export async function seedNeighbourFleet(client: EC2Client, project: string, count: number): Promise<void> {
  const groups: Array<Record<string, string>> = [
    {ProjectName: 'wolphin.other', Name: 'wolphin.other.1'},
    {ProjectName: `wolphin.${project}x`},
    {ProjectName: `wolphin.${project}-2`},
    {Name: `wolphin.${project}.1`},
    {},
  ]
  const per = Math.max(1, Math.floor(count / groups.length))
  for (const tags of groups) {
    await client.send(
      new RunInstancesCommand({
        ImageId: TEST_AMI,
        InstanceType: 't3.micro',
        MinCount: per,
        MaxCount: per,
        TagSpecifications: Object.keys(tags).length
          ? [{ResourceType: 'instance', Tags: tagList(tags)}]
          : undefined,
      }),
    )
  }
}
