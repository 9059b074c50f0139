/**
 * A lean reader for EC2's DescribeInstances answer (the EC2 query protocol's XML), for the fields
 * wolphin reads (src/aws/ec2.ts `toRaw`). The SDK's reader builds an object for every element of
 * the answer, ~150 per instance (network interfaces, block devices...), then a second tree from its
 * schema: at 2000 instances about 0.5 s of parsing and garbage collection, half of `status`
 * (docs/benchmarks.md). This one walks the text once and keeps only those fields.
 *
 * Values are read as the SDK reads them (@aws-sdk/xml-builder, then the EC2 schema): CR LF and CR
 * become LF; text is entity-decoded (the five XML entities, numeric references as UTF-16 code
 * units, unknown named entities as nothing) and CDATA kept as is; a value that is only whitespace
 * with a line break is empty; an element present but empty is '' and an absent one is undefined.
 */
import type {Instance, InstanceStateName} from '@aws-sdk/client-ec2'

export interface DescribePage {
  instances: Instance[]
  nextToken: string | undefined
}

/** Where an element sits, from the root (DescribeInstancesResponse) down. */
const ROOT = 'DescribeInstancesResponse'
// Depths: 0 root, 1 reservationSet, 2 item, 3 instancesSet, 4 item (an instance), 5 its fields.
const INSTANCE_DEPTH = 4

/** Direct string fields of an instance: XML name -> the SDK's member name. */
const STRING_FIELDS: Record<string, keyof Instance> = {
  instanceId: 'InstanceId',
  ipAddress: 'PublicIpAddress',
  privateIpAddress: 'PrivateIpAddress',
  dnsName: 'PublicDnsName',
  privateDnsName: 'PrivateDnsName',
  imageId: 'ImageId',
  instanceType: 'InstanceType',
  instanceLifecycle: 'InstanceLifecycle',
  reason: 'StateTransitionReason',
}

const ENTITIES: Record<string, string> = {amp: '&', lt: '<', gt: '>', quot: '"', apos: "'"}

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s
  return s.replace(
    /&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z][a-zA-Z0-9]{0,30}));/g,
    (_, hex: string | undefined, dec: string | undefined, named: string | undefined) => {
      if (hex) return String.fromCharCode(parseInt(hex, 16))
      if (dec) return String.fromCharCode(parseInt(dec, 10))
      return ENTITIES[named!] ?? ''
    },
  )
}

/** The text of a leaf element's content: entity-decoded text, CDATA as is, comments dropped. */
function leafText(raw: string): string {
  let text: string
  if (!raw.includes('<')) text = decodeEntities(raw)
  else {
    text = ''
    let i = 0
    while (i < raw.length) {
      const lt = raw.indexOf('<', i)
      if (lt < 0) {
        text += decodeEntities(raw.slice(i))
        break
      }
      text += decodeEntities(raw.slice(i, lt))
      if (raw.startsWith('<![CDATA[', lt)) {
        const end = raw.indexOf(']]>', lt + 9)
        text += raw.slice(lt + 9, end)
        i = end + 3
      } else if (raw.startsWith('<!--', lt)) i = raw.indexOf('-->', lt + 4) + 3
      else i = raw.indexOf('?>', lt + 2) + 2 // <?...?>
    }
  }
  return text.trim() === '' && text.includes('\n') ? '' : text
}

class XmlError extends Error {}

/** Index just past `stop` from `from`; malformed input (no `stop`) is an error. */
function after(x: string, stop: string, from: number): number {
  const i = x.indexOf(stop, from)
  if (i < 0) throw new XmlError(`expected "${stop}"`)
  return i + stop.length
}

/** Index of the `>` that ends the tag opened at `lt`, past any quoted attribute values. */
function tagEnd(x: string, lt: number): number {
  let quote = 0
  for (let i = lt + 1; i < x.length; i++) {
    const ch = x.charCodeAt(i)
    if (quote) {
      if (ch === quote) quote = 0
    } else if (ch === 34 || ch === 39) quote = ch
    else if (ch === 62) return i
  }
  throw new XmlError('unterminated tag')
}

/** Whitespace, `/` or `>`: where an element's name ends. */
const endsName = (ch: number) => ch === 32 || ch === 9 || ch === 10 || ch === 47 || ch === 62

/**
 * The instances and the NextToken of one DescribeInstances answer; throws when the text is not
 * such an answer (the caller then leaves it to the SDK).
 */
export function parseDescribeInstances(input: string): DescribePage {
  const x = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input
  const instances: Instance[] = []
  let nextToken: string | undefined
  const stack: string[] = []
  let inst: Instance | null = null
  let tag: {Key?: string; Value?: string} | null = null
  // Where the content of the innermost open element starts, and whether it has child elements.
  let contentStart = 0
  let hasChild = false
  let sawRoot = false

  const leaf = (name: string, text: string) => {
    const depth = stack.length // the leaf's own depth, once popped
    const parent = stack[depth - 1]
    if (depth === 1 && name === 'nextToken') nextToken = text
    if (!inst) return
    if (depth === INSTANCE_DEPTH + 1) {
      const field = STRING_FIELDS[name]
      if (field) (inst as Record<string, unknown>)[field] = text
      else if (name === 'amiLaunchIndex') inst.AmiLaunchIndex = text === '' ? undefined : Number(text)
      else if (name === 'launchTime') inst.LaunchTime = text === '' ? undefined : new Date(text)
    } else if (depth === INSTANCE_DEPTH + 2) {
      if (parent === 'instanceState' && name === 'name')
        inst.State = {...inst.State, Name: text as InstanceStateName}
      else if (parent === 'placement' && name === 'availabilityZone')
        inst.Placement = {...inst.Placement, AvailabilityZone: text}
      else if (parent === 'stateReason' && name === 'code')
        inst.StateReason = {...inst.StateReason, Code: text}
      else if (parent === 'stateReason' && name === 'message')
        inst.StateReason = {...inst.StateReason, Message: text}
    } else if (depth === INSTANCE_DEPTH + 3 && tag && stack[INSTANCE_DEPTH + 1] === 'tagSet') {
      if (name === 'key') tag.Key = text
      else if (name === 'value') tag.Value = text
    }
  }
  const open = (name: string) => {
    const depth = stack.length
    if (depth === 0) {
      if (name !== ROOT) throw new XmlError(`not a ${ROOT}`)
      sawRoot = true
    } else if (
      depth === INSTANCE_DEPTH &&
      name === 'item' &&
      stack[1] === 'reservationSet' &&
      stack[2] === 'item' &&
      stack[3] === 'instancesSet'
    ) {
      inst = {}
      instances.push(inst)
    } else if (
      depth === INSTANCE_DEPTH + 2 &&
      inst &&
      name === 'item' &&
      stack[INSTANCE_DEPTH + 1] === 'tagSet'
    ) {
      tag = {}
      ;(inst.Tags ??= []).push(tag)
    }
    stack.push(name)
  }
  const close = (name: string) => {
    stack.pop()
    if (stack.length === INSTANCE_DEPTH && name === 'item') inst = null
    else if (stack.length === INSTANCE_DEPTH + 2 && name === 'item') tag = null
  }

  let i = 0
  while (i < x.length) {
    const lt = x.indexOf('<', i)
    if (lt < 0) break
    const c = x[lt + 1]
    if (c === '?') i = after(x, '?>', lt + 2)
    else if (c === '!') {
      if (x.startsWith('<!--', lt)) i = after(x, '-->', lt + 4)
      else if (x.startsWith('<![CDATA[', lt)) i = after(x, ']]>', lt + 9)
      else if (stack.length === 0)
        i = tagEnd(x, lt) + 1 // <!DOCTYPE ...> (no internal subset in EC2's)
      else throw new XmlError('unexpected <!')
    } else if (c === '/') {
      const gt = after(x, '>', lt + 2)
      const name = x.slice(lt + 2, gt - 1).trim()
      if (name !== stack[stack.length - 1]) throw new XmlError(`mismatched </${name}>`)
      if (!hasChild) {
        const text = leafText(x.slice(contentStart, lt))
        stack.pop()
        leaf(name, text)
        stack.push(name)
      }
      close(name)
      hasChild = true // the parent now has (at least) this child
      i = gt
      if (stack.length === 0) break
    } else {
      const gt = tagEnd(x, lt)
      let end = lt + 1
      while (end < gt && !endsName(x.charCodeAt(end))) end++
      const name = x.slice(lt + 1, end)
      open(name)
      if (x[gt - 1] === '/') {
        stack.pop()
        leaf(name, '')
        stack.push(name)
        close(name)
        hasChild = true
      } else {
        contentStart = gt + 1
        hasChild = false
      }
      i = gt + 1
    }
  }
  if (!sawRoot || stack.length !== 0) throw new XmlError(`incomplete ${ROOT}`)
  return {instances, nextToken}
}
