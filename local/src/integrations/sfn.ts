import { randomUUID } from 'node:crypto';
import { authorizeOrFail, IntegrationContext, TaskHandler } from './context';
import { startExecutionCall } from '../iam/calls';
import { integrationError } from '../integration-errors';
import { LOCAL_ACCOUNT } from '../template-resolver';

/**
 * The `aws-sdk:sfn:startSyncExecution` integration against a state machine of the template, run in the runner's
 * interpreter: the SDK's answer in the integration's PascalCase (a failed execution is an answer, not an error).
 */
export function startSyncExecutionTask(ctx: IntegrationContext): TaskHandler {
  return (params) => {
    authorizeOrFail(ctx.gateway, [startExecutionCall(ctx.gateway.policies, ctx.principal, String(params.StateMachineArn), true)], 'Sfn.SfnException');
    return startSyncExecution(ctx, params);
  };
}

async function startSyncExecution(ctx: IntegrationContext, params: any): Promise<unknown> {
  const machine = ctx.model.stateMachines.get(params.StateMachineArn);
  if (!machine) throw integrationError('Sfn.StateMachineDoesNotExistException', `State Machine Does Not Exist: '${params.StateMachineArn}'`);
  if (machine.type !== 'EXPRESS') throw integrationError('Sfn.StateMachineTypeNotSupportedException', 'This operation is not supported by this type of state machine');
  let input: unknown;
  try {
    input = JSON.parse(params.Input ?? '{}');
  } catch (e) {
    throw integrationError('Sfn.InvalidExecutionInputException', `Invalid State Machine Execution Input: '${(e as Error).message}'`);
  }
  const name = params.Name ?? randomUUID();
  const executionArn = `arn:aws:states:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:express:${machine.logicalId}:${name}:${randomUUID()}`;
  const run = await ctx.runExpress(machine, input, executionArn);
  const status = run.status === 'SUCCEEDED' || run.status === 'TIMED_OUT' ? run.status : 'FAILED';
  return {
    ExecutionArn: run.executionArn,
    StateMachineArn: params.StateMachineArn,
    Name: name,
    Status: status,
    Input: params.Input ?? '{}',
    ...(status === 'SUCCEEDED' ? { Output: JSON.stringify(run.output ?? null) } : {}),
    ...(run.error !== undefined ? { Error: run.error } : {}),
    ...(run.cause !== undefined ? { Cause: run.cause } : {}),
  };
}
