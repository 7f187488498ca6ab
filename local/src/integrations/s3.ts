import * as S3 from '@aws-sdk/client-s3';
import { IntegrationContext, TaskHandler } from './context';
import { integrationError, s3BodyParameterText, sdkErrorNameOf, sdkIntegrationErrorName, sdkIntegrationServiceName } from '../integration-errors';

/**
 * An `aws-sdk:s3:<action>` integration, through the S3 peer: the action's input in the SDK's own shape, errors named as
 * AWS does (`S3.NoSuchKeyException`). Objects written by putObject are recorded.
 */
export function s3SdkTask(action: string, ctx: IntegrationContext): TaskHandler {
  const command = (S3 as any)[`${action[0].toUpperCase()}${action.slice(1)}Command`];
  const client = ctx.clients.s3;
  return async (params) => {
    try {
      // putObject's Body is stored JSON-serialized, a string with its quotes (see s3BodyParameterText).
      const body = action === 'putObject' ? s3BodyParameterText(params.Body) : undefined;
      const out: any = await client.send(new command(body === undefined ? params : { ...params, Body: body }));
      delete out.$metadata;
      if (body !== undefined) ctx.records.objectWrites.push({ bucket: params.Bucket, key: params.Key, body });
      return out;
    } catch (e: any) {
      throw integrationError(sdkIntegrationErrorName('s3', sdkErrorNameOf(e)), e, sdkIntegrationServiceName('s3'));
    }
  };
}
