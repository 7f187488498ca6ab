import { authorizeOrFail, IntegrationContext, TaskHandler } from './context';
import { invokeFunctionCall } from '../iam/calls';

/** A Task state that invokes a function of the template (by its ARN, or through the optimized `lambda:invoke`). */
export function lambdaInvokeTask(state: any, ctx: IntegrationContext): TaskHandler {
  const resource: string = state.Resource;
  const fnArn = resource === 'arn:aws:states:::lambda:invoke' ? state.Parameters?.FunctionName : resource;
  const fn = ctx.model.functions.get(fnArn.split(':').pop());
  if (!fn) throw new Error(`Task ${resource} invokes a function that is not in the template`);
  return (payload) => {
    // Lambda's AccessDeniedException is not in its SDK model: the integration reports the base exception.
    authorizeOrFail(ctx.gateway, [invokeFunctionCall(ctx.gateway.policies, ctx.principal, fnArn)], 'Lambda.AWSLambdaException');
    return ctx.invoke(fn, payload);
  };
}
