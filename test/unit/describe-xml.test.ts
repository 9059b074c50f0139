/**
 * The lean DescribeInstances reader (src/aws/describe-xml.ts, wired in by src/aws/ec2.ts) against
 * the SDK's own: the same answer bytes go through a real EC2Client (signing, retries, the SDK's
 * deserializer) with and without it, and wolphin must see the same instances.
 */
import {Readable} from 'node:stream'

import {DescribeInstancesCommand, EC2Client} from '@aws-sdk/client-ec2'
import {expect} from 'chai'
import fc from 'fast-check'

import {parseDescribeInstances} from '../../src/aws/describe-xml.js'
import {SdkEc2Port, toRaw} from '../../src/aws/ec2.js'
import {AwsError} from '../../src/errors.js'

interface Answer {
  status?: number
  body: string
}

/** An EC2Client whose HTTP handler answers from `answers` in order; counts the requests. */
function clientAnswering(answers: Answer[]) {
  const sent: string[] = []
  const client = new EC2Client({
    region: 'us-east-1',
    credentials: {accessKeyId: 'testing', secretAccessKey: 'testing'},
    retryMode: 'adaptive',
    maxAttempts: 3,
    requestHandler: {
      handle: async (request: {body?: string}) => {
        sent.push(String(request.body ?? ''))
        const a = answers[Math.min(sent.length - 1, answers.length - 1)]
        return {
          response: {
            statusCode: a.status ?? 200,
            headers: {'content-type': 'text/xml'},
            // Two chunks, split mid-document, as a socket may deliver it.
            body: Readable.from([
              Buffer.from(a.body.slice(0, a.body.length >> 1)),
              Buffer.from(a.body.slice(a.body.length >> 1)),
            ]),
          },
        }
      },
    },
  })
  client.middlewareStack.remove('loggerMiddleware')
  return {client, sent}
}

/** What the SDK alone makes of one answer, mapped as wolphin maps it. */
async function viaSdk(body: string) {
  const {client} = clientAnswering([{body}])
  const r = await client.send(new DescribeInstancesCommand({}))
  return {
    instances: (r.Reservations ?? []).flatMap((res) => (res.Instances ?? []).map(toRaw)),
    nextToken: r.NextToken,
  }
}

/** What the lean reader makes of it. */
function viaLean(body: string) {
  const page = parseDescribeInstances(body)
  return {instances: page.instances.map(toRaw), nextToken: page.nextToken}
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function instanceXml(n: number, tags: Array<[string, string]>, extra = ''): string {
  return (
    `<item><instanceId>i-${n}</instanceId><imageId>ami-1</imageId>` +
    `<instanceState><code>16</code><name>running</name></instanceState>` +
    `<privateDnsName>ip-10-0-0-${n}.ec2.internal</privateDnsName><dnsName/>` +
    `<amiLaunchIndex>${n % 3}</amiLaunchIndex><instanceType>t3.micro</instanceType>` +
    `<launchTime>2026-01-0${(n % 9) + 1}T10:00:00.000Z</launchTime>` +
    `<placement><groupName/><tenancy>default</tenancy><availabilityZone>us-east-1b</availabilityZone></placement>` +
    // Nested elements with the names of the fields read, which must not be taken for them.
    `<networkInterfaceSet><item><privateIpAddress>192.0.2.99</privateIpAddress>` +
    `<association><publicIp>203.0.113.${n}</publicIp></association>` +
    `<tagSet><item><key>nested</key><value>no</value></item></tagSet></item></networkInterfaceSet>` +
    `<privateIpAddress>192.0.2.${n}</privateIpAddress><ipAddress>203.0.113.${n}</ipAddress>` +
    `<tagSet>${tags.map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`).join('')}</tagSet>` +
    `${extra}</item>`
  )
}

function answer(
  reservations: string[][],
  nextToken?: string,
  head = '<?xml version="1.0" encoding="UTF-8"?>\n',
) {
  return (
    `${head}<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15">\n` +
    `  <requestId>req-1</requestId>\n` +
    (nextToken !== undefined ? `<nextToken>${nextToken}</nextToken>` : '') +
    `<reservationSet>${reservations
      .map(
        (r, i) =>
          `<item><reservationId>r-${i}</reservationId><groupSet/><instancesSet>${r.join('')}</instancesSet></item>`,
      )
      .join('')}</reservationSet></DescribeInstancesResponse>`
  )
}

describe('lean DescribeInstances reader', () => {
  it('reads what the SDK reads, field by field, across reservations', async () => {
    const body = answer(
      [
        [
          instanceXml(1, [
            ['ProjectName', 'wolphin.p'],
            ['Name', 'wolphin.p.1'],
          ]),
        ],
        [
          instanceXml(
            2,
            [
              ['ProjectName', 'wolphin.p'],
              ['wolphin:slots', '2,3'],
            ],
            '<instanceLifecycle>spot</instanceLifecycle>',
          ),
          instanceXml(3, [
            ['ProjectName', 'wolphin.p'],
            ['empty', ''],
          ]),
        ],
      ],
      'tok-2',
    )
    const lean = viaLean(body)
    expect(lean.instances).to.have.length(3)
    expect(lean).to.deep.equal(await viaSdk(body))
    expect(lean.instances[1]).to.include({
      spot: true,
      publicIp: '203.0.113.2',
      privateIp: '192.0.2.2',
      publicDns: null,
    })
    expect(lean.instances[0].tags).to.deep.equal({ProjectName: 'wolphin.p', Name: 'wolphin.p.1'})
  })

  it('reads why an instance stopped (stateReason, reason) as the SDK does', async () => {
    const stopped = (n: number, code: string, message: string, reason: string) =>
      instanceXml(n, [['ProjectName', 'wolphin.p']])
        .replace('<name>running</name>', '<name>stopped</name>')
        .replace(
          '<privateDnsName>',
          `<reason>${reason}</reason><stateReason><code>${code}</code><message>${message}</message></stateReason><privateDnsName>`,
        )
    const body = answer([
      [
        stopped(
          1,
          'Server.SpotInstanceTermination',
          'Server.SpotInstanceTermination: Spot instance termination',
          '',
        ),
        stopped(
          2,
          'Client.UserInitiatedShutdown',
          'Client.UserInitiatedShutdown: User initiated shutdown',
          'User initiated (2026-05-01 18:00:00 GMT)',
        ),
        instanceXml(3, [['ProjectName', 'wolphin.p']]),
      ],
    ])
    const lean = viaLean(body)
    expect(lean).to.deep.equal(await viaSdk(body))
    expect(lean.instances.map((i) => [i.stateReason, i.transitionReason])).to.deep.equal([
      [
        {
          code: 'Server.SpotInstanceTermination',
          message: 'Server.SpotInstanceTermination: Spot instance termination',
        },
        null,
      ],
      [
        {
          code: 'Client.UserInitiatedShutdown',
          message: 'Client.UserInitiatedShutdown: User initiated shutdown',
        },
        'User initiated (2026-05-01 18:00:00 GMT)',
      ],
      [null, null],
    ])
  })

  it('reads tag text as the SDK does: entities, CDATA, comments, CR LF, blank values, odd layout', async () => {
    const tags: Array<[string, string]> = [
      ['amp', 'a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;'],
      ['numeric', '&#65;&#x42;&#x1F600;&#128512;'],
      ['unknown', 'x&nbsp;y'],
      ['cdata', '<![CDATA[<raw> & ]]>tail'],
      ['comment', 'a<!-- not text -->b'],
      ['crlf', 'line1\r\nline2\rline3'],
      ['blank-newline', '  \n  '],
      ['blank', '   '],
      ['unicode', 'żółw 🐢'],
    ]
    const body = answer([
      [instanceXml(1, tags).replace('<instanceId>', '<instanceId >').replace('</imageId>', '</imageId >')],
    ])
      .replace('<tagSet>', '<tagSet>\n  ')
      .replace(/\n/g, '\r\n')
    expect(viaLean(body)).to.deep.equal(await viaSdk(body))
  })

  it('any tag text, escaped any way, reads as the SDK reads it (property)', async () => {
    // Characters XML 1.0 does not allow in a document, which EC2 never sends.
    // eslint-disable-next-line no-control-regex -- that is the point of this pattern
    const notXml = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g
    const encoded = fc.oneof(
      fc.string({unit: 'binary'}).map((s) => esc(s.replace(notXml, ''))),
      fc.string().map((s) => `<![CDATA[${s.replace(/]]>/g, '')}]]>`),
      fc.constantFrom('', ' ', '\n', '\r\n \t', '&#10;', '&#xD;', 'a&amp;b'),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z0-9:_.-]{1,20}$/), encoded), {maxLength: 6}),
        async (tags) => {
          const body = answer([[instanceXml(7, tags)]])
          expect(viaLean(body)).to.deep.equal(await viaSdk(body))
        },
      ),
      {numRuns: 60},
    )
  })

  it('an empty answer and an empty reservationSet read as no instances', async () => {
    for (const body of [answer([]), answer([[]], ''), answer([], undefined, '')]) {
      expect(viaLean(body)).to.deep.equal(await viaSdk(body))
      expect(viaLean(body).instances).to.deep.equal([])
    }
  })

  it('refuses what is not a whole DescribeInstancesResponse (the SDK then reads it)', () => {
    expect(() => parseDescribeInstances('<Response><Errors/></Response>')).to.throw()
    expect(() => parseDescribeInstances(answer([[instanceXml(1, [])]]).slice(0, -10))).to.throw()
    expect(() =>
      parseDescribeInstances('<DescribeInstancesResponse><a></b></DescribeInstancesResponse>'),
    ).to.throw()
  })

  it('the port pages through NextToken with the lean reader, over a real client', async () => {
    const {client, sent} = clientAnswering([
      {body: answer([[instanceXml(1, [['ProjectName', 'wolphin.p']])]], 'next-1')},
      {body: answer([[instanceXml(2, [['ProjectName', 'wolphin.p']])]])},
    ])
    const got = await new SdkEc2Port(client).describeProject('wolphin.p')
    expect(got.map((i) => i.id)).to.deep.equal(['i-1', 'i-2'])
    expect(sent).to.have.length(2)
    expect(sent[1]).to.include('NextToken=next-1')
    expect(got[0].launchTime).to.equal('2026-01-02T10:00:00.000Z')
    expect(got[0].zone).to.equal('us-east-1b')
    expect(got[0].state).to.equal('running')
  })

  it('error answers stay the SDK’s: a throttled call is retried, a refused one is mapped', async () => {
    const throttled = `<?xml version="1.0"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>x</RequestID></Response>`
    const ok = answer([[instanceXml(4, [['ProjectName', 'wolphin.p']])]])
    const retried = clientAnswering([{status: 503, body: throttled}, {body: ok}])
    const got = await new SdkEc2Port(retried.client).describeProject('wolphin.p')
    expect(got.map((i) => i.id)).to.deep.equal(['i-4'])
    expect(retried.sent).to.have.length(2)

    const refused = `<?xml version="1.0"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors><RequestID>x</RequestID></Response>`
    const denied = clientAnswering([{status: 403, body: refused}])
    const e = await new SdkEc2Port(denied.client).describeProject('wolphin.p').then(
      () => null,
      (err: unknown) => err,
    )
    expect(e).to.be.instanceOf(AwsError)
    expect((e as AwsError).message).to.match(/^DescribeInstances: not authorised by IAM/)
  })
})
