import { PutRecordCommand } from '@aws-sdk/client-firehose';
import { IntegrationContext, TaskHandler } from './context';
import { blobParameterText, integrationError, sdkErrorNameOf, sdkIntegrationErrorName } from '../integration-errors';

/** The `aws-sdk:firehose:putRecord` integration, through the Firehose peer; each record is recorded with where it is delivered. */
export function firehosePutRecordTask(ctx: IntegrationContext): TaskHandler {
  const firehose = ctx.firehose;
  const client = firehose && ctx.clients.firehose;
  return async (params) => {
    try {
      if (!firehose || !client) throw new Error('no delivery stream in the template');
      // The Data blob: a string as its UTF-8 bytes, anything else as compact JSON (DESIGN.md: no recording of a
      // blob field is known; an object is compact JSON under either reading). The SDK base64-encodes it on the wire.
      const body = blobParameterText(params.Record?.Data);
      const out: any = await client.send(new PutRecordCommand({ ...params, Record: { Data: Buffer.from(body, 'utf8') } }));
      delete out.$metadata;
      // Where the record will be delivered: known now, since the object's key is evaluated when its buffer opens.
      const at = firehose.locate(out.RecordId);
      if (at) ctx.records.firehoseRecords.push({ bucket: at.bucket, key: at.key, body });
      return out;
    } catch (e: any) {
      throw integrationError(sdkIntegrationErrorName('firehose', sdkErrorNameOf(e)), e);
    }
  };
}
