import { DetectLabelsCommand, DetectModerationLabelsCommand } from '@aws-sdk/client-rekognition';
import { IntegrationContext, TaskHandler } from './context';
import { integrationError, sdkErrorNameOf, sdkIntegrationErrorName } from '../integration-errors';

/** The `aws-sdk:rekognition:detectLabels` and `detectModerationLabels` integrations, through the Rekognition peer. */
export function rekognitionTask(action: 'detectLabels' | 'detectModerationLabels', ctx: IntegrationContext): TaskHandler {
  const client = ctx.clients.rekognition;
  const send = (params: any): Promise<any> => (action === 'detectLabels'
    ? client.send(new DetectLabelsCommand(params))
    : client.send(new DetectModerationLabelsCommand(params)));
  return async (params) => {
    try {
      const out: any = await send(params);
      delete out.$metadata;
      return out;
    } catch (e: any) {
      throw integrationError(sdkIntegrationErrorName('rekognition', sdkErrorNameOf(e)), e);
    }
  };
}
