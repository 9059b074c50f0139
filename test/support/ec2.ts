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
