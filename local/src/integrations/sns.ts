import { PublishCommand } from '@aws-sdk/client-sns';
import { IntegrationContext, TaskHandler } from './context';
import { integrationError, optimizedIntegrationErrorName, sdkErrorNameOf } from '../integration-errors';

/** The optimized `sns:publish` integration, through the SNS peer. */
export function snsPublishTask(ctx: IntegrationContext): TaskHandler {
  const client = ctx.clients.sns;
  return async (params) => {
    try {
      return await client.send(new PublishCommand(params));
    } catch (e: any) {
      // The optimized SNS integration names errors `SNS.<Name>Exception`.
      throw integrationError(optimizedIntegrationErrorName('SNS', sdkErrorNameOf(e)), e);
    }
  };
}
