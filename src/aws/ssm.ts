/**
 * The SSM port (src/project/ports.ts) over @aws-sdk/client-ssm: Run Command for instances without
 * inbound SSH. Loaded lazily, like the EC2 port.
 */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetParameterCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm'

import type {InvocationOutput, InvocationStatus, SsmPort} from '../project/ports.js'
import {type AwsOptions, sdkClient} from './client.js'
import {mapAwsError} from './errors.js'

/** SendCommand takes at most 50 instance ids. */
export const SSM_BATCH_SIZE = 50

export function createSsmClient(opts: AwsOptions): SSMClient {
  return sdkClient(SSMClient, 'SSM', opts)
}

/** One GetParameter: the value of a Systems Manager parameter (`name`, `name:version`, an ARN). */
export async function getParameterValue(opts: AwsOptions, name: string): Promise<string> {
  const client = createSsmClient(opts)
  try {
    const value = (await client.send(new GetParameterCommand({Name: name}))).Parameter?.Value
    if (!value) throw new Error(`parameter ${name} has no value`)
    return value
  } catch (e) {
    throw mapAwsError(e, 'GetParameter')
  } finally {
    client.destroy()
  }
}

export class SdkSsmPort implements SsmPort {
  constructor(readonly client: SSMClient) {}

  async sendCommand(
    ids: string[],
    command: string,
    opts: {executionTimeoutSeconds: number; maxConcurrency?: number},
  ): Promise<string> {
    if (ids.length > SSM_BATCH_SIZE) throw new Error(`sendCommand: at most ${SSM_BATCH_SIZE} ids`)
    try {
      const r = await this.client.send(
        new SendCommandCommand({
          InstanceIds: ids,
          DocumentName: 'AWS-RunShellScript',
          Parameters: {commands: [command], executionTimeout: [String(opts.executionTimeoutSeconds)]},
          ...(opts.maxConcurrency ? {MaxConcurrency: String(opts.maxConcurrency)} : {}),
          MaxErrors: '100%',
          Comment: 'wolphin exec',
        }),
      )
      const id = r.Command?.CommandId
      if (!id) throw new Error('SendCommand returned no CommandId')
      return id
    } catch (e) {
      throw mapAwsError(e, 'SendCommand')
    }
  }

  async listInvocations(commandId: string, signal?: AbortSignal): Promise<InvocationStatus[]> {
    const out: InvocationStatus[] = []
    let NextToken: string | undefined
    try {
      do {
        const r = await this.client.send(
          new ListCommandInvocationsCommand({CommandId: commandId, MaxResults: 50, NextToken}),
          {abortSignal: signal},
        )
        for (const i of r.CommandInvocations ?? [])
          if (i.InstanceId)
            out.push({
              instanceId: i.InstanceId,
              status: i.Status ?? 'Pending',
              statusDetails: i.StatusDetails ?? '',
            })
        NextToken = r.NextToken || undefined
      } while (NextToken)
    } catch (e) {
      throw mapAwsError(e, 'ListCommandInvocations')
    }
    return out
  }

  async getInvocation(
    commandId: string,
    instanceId: string,
    signal?: AbortSignal,
  ): Promise<InvocationOutput> {
    try {
      const r = await this.client.send(
        new GetCommandInvocationCommand({CommandId: commandId, InstanceId: instanceId}),
        {abortSignal: signal},
      )
      return {
        instanceId,
        status: r.Status ?? 'Pending',
        statusDetails: r.StatusDetails ?? '',
        responseCode: r.ResponseCode ?? -1,
        stdout: r.StandardOutputContent ?? '',
        stderr: r.StandardErrorContent ?? '',
      }
    } catch (e) {
      throw mapAwsError(e, 'GetCommandInvocation')
    }
  }

  async onlineManaged(ids: string[]): Promise<Set<string>> {
    const out = new Set<string>()
    let NextToken: string | undefined
    try {
      do {
        const r = await this.client.send(
          new DescribeInstanceInformationCommand({
            Filters: [{Key: 'InstanceIds', Values: ids}],
            MaxResults: 50,
            NextToken,
          }),
        )
        for (const i of r.InstanceInformationList ?? [])
          if (i.InstanceId && i.PingStatus === 'Online') out.add(i.InstanceId)
        NextToken = r.NextToken || undefined
      } while (NextToken)
    } catch (e) {
      throw mapAwsError(e, 'DescribeInstanceInformation')
    }
    return out
  }

  async cancel(commandId: string, ids: string[], signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new CancelCommandCommand({CommandId: commandId, InstanceIds: ids}), {
        abortSignal: signal,
      })
    } catch (e) {
      throw mapAwsError(e, 'CancelCommand')
    }
  }
}

export function createSsmPort(opts: AwsOptions): SsmPort {
  return new SdkSsmPort(createSsmClient(opts))
}
