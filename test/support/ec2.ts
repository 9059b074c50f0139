/** Direct SDK access to moto for seeding and inspecting, independent of wolphin's own port. */
import {DescribeInstancesCommand, EC2Client, RunInstancesCommand} from '@aws-sdk/client-ec2'

export const TEST_AMI = 'ami-12c6146b'

export function testClient(endpoint: string, region = 'us-east-1'): EC2Client {
  return new EC2Client({endpoint, region, credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'}})
}

export interface Seen {
  id: string
  state: string
  tags: Record<string, string>
  launchTime?: string
  /**
   * The slot as the tag schema defines it, decoded here independently of wolphin's code: the
   * `wolphin:slot` tag, else the `wolphin:slots` list ("1-3,5") indexed by the AMI launch index.
   */
  slot: number | null
}

function slotFromTags(tags: Record<string, string>, launchIndex: number | undefined): number | null {
  if (tags['wolphin:slot'] !== undefined) return Number(tags['wolphin:slot'])
  if (tags['wolphin:slots'] === undefined || launchIndex === undefined) return null
  const list = tags['wolphin:slots'].split(',').flatMap((part) => {
    const [a, b = a] = part.split('-').map(Number)
    return Array.from({length: b - a + 1}, (_, k) => a + k)
  })
  return list[launchIndex] ?? null
}

/**
 * The Name tag an instance of `project` may carry: its own `wolphin.<p>.<slot>`, or `wolphin.<p>`,
 * shared by the instances of one multi-instance launch with the opt-in `nameTags: launch`.
 */
export function hasProjectName(i: Seen, project: string): boolean {
  const shared = i.tags['wolphin:slot'] === undefined && i.tags['wolphin:slots'] !== undefined
  return i.tags.Name === `wolphin.${project}.${i.slot}` || (shared && i.tags.Name === `wolphin.${project}`)
}

export async function describeAll(client: EC2Client): Promise<Seen[]> {
  const out: Seen[] = []
  let NextToken: string | undefined
  do {
    const r = await client.send(new DescribeInstancesCommand({NextToken, MaxResults: 1000}))
    for (const res of r.Reservations ?? [])
      for (const i of res.Instances ?? [])
        out.push({
          id: i.InstanceId!,
          state: i.State!.Name!,
          tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
          launchTime: i.LaunchTime?.toISOString(),
          slot: slotFromTags(
            Object.fromEntries((i.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
            i.AmiLaunchIndex,
          ),
        })
    NextToken = r.NextToken
  } while (NextToken)
  return out
}

/** Launches one instance with exactly these tags (none when empty), bypassing wolphin. */
export async function seedInstance(client: EC2Client, tags: Record<string, string>): Promise<string> {
  const r = await client.send(
    new RunInstancesCommand({
      ImageId: TEST_AMI,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: Object.keys(tags).length
        ? [{ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({Key, Value}))}]
        : undefined,
    }),
  )
  return r.Instances![0].InstanceId!
}

/** The neighbours every integration test surrounds its project with. */
export async function seedNeighbours(client: EC2Client, project: string): Promise<Map<string, string>> {
  const specs: Record<string, Record<string, string>> = {
    'other project': {ProjectName: 'wolphin.other', Name: 'wolphin.other.1', 'wolphin:slot': '1'},
    'prefix x': {ProjectName: `wolphin.${project}x`, Name: `wolphin.${project}x.1`, 'wolphin:slot': '1'},
    'prefix -2': {ProjectName: `wolphin.${project}-2`, Name: `wolphin.${project}-2.2`, 'wolphin:slot': '2'},
    'our Name, other ProjectName': {
      ProjectName: 'wolphin.someone-else',
      Name: `wolphin.${project}.2`,
      'wolphin:slot': '2',
    },
    'Name only': {Name: `wolphin.${project}.3`},
    untagged: {},
    'letter case': {
      ProjectName: `wolphin.${project.toUpperCase()}`,
      Name: `wolphin.${project.toUpperCase()}.1`,
    },
  }
  const ids = new Map<string, string>()
  for (const [label, tags] of Object.entries(specs)) ids.set(await seedInstance(client, tags), label)
  return ids
}
