/**
 * aws-sdk-client-mock on a client *class* stubs its prototype for the whole mocha process, the
 * integration tests' own clients included. Tests that mock a class use this: the stub exists only
 * while their describe block runs, and is reset before each test.
 */
import {EC2Client} from '@aws-sdk/client-ec2'
import {type AwsStub, mockClient} from 'aws-sdk-client-mock'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the stub's generic types are the client's own
type AnyStub = AwsStub<any, any, any>

export function useEc2ClassMock(): AnyStub {
  return useClassMock(EC2Client)
}

/** The same for any SDK client class (SSMClient...). */
export function useClassMock(client: Parameters<typeof mockClient>[0]): AnyStub {
  let stub: AnyStub | undefined
  before(() => {
    stub = mockClient(client)
  })
  beforeEach(() => stub!.reset())
  after(() => {
    stub!.restore()
    stub = undefined
  })
  // A proxy so a test file can keep writing `ec2.on(...)` against the current stub.
  return new Proxy({} as AnyStub, {
    get(_t, prop) {
      if (!stub) throw new Error('SDK class mock used outside its describe block')
      const v = (stub as unknown as Record<string | symbol, unknown>)[prop]
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(stub) : v
    },
  })
}
