import { gunzipSync } from 'node:zlib';
import * as S3 from '@aws-sdk/client-s3';
import { LocalDeliveryStream } from './peers/firehose';
import { allStates } from './template-model';

/** Where the audit records are: a bucket and the static part of their key prefix. */
export interface AuditLocation {
  readonly bucket: string;
  readonly prefix: string;
}

/** Bucket and static key prefix of the audit records: the delivery stream's, else the WriteAuditRecord putObject's. */
export function auditLocation(definition: any, stream?: LocalDeliveryStream): AuditLocation {
  if (stream) return { bucket: stream.bucket, prefix: stream.prefix.split('!{')[0] };
  const put = allStates(definition).map(([, s]) => s)
    .find((s) => s.Type === 'Task' && s.Resource === 'arn:aws:states:::aws-sdk:s3:putObject' && typeof s.Parameters?.['Key.$'] === 'string');
  const format = /^States\.Format\('([^'{]*)/.exec(put?.Parameters?.['Key.$'] ?? '');
  if (!put || !format) throw new Error('The pipeline writes no audit trail (no delivery stream, no audit putObject state)');
  return { bucket: put.Parameters.Bucket, prefix: format[1] };
}

/**
 * The audit records under `location`, as users read them: gunzips `.gz` objects (delivery stream) and reads `.json`
 * objects (object per image), every JSON line a record, in key order.
 */
export async function readAuditRecords(client: S3.S3Client, { bucket, prefix }: AuditLocation): Promise<any[]> {
  const records: any[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new S3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const { Key } of page.Contents ?? []) {
      if (!Key || !(Key.endsWith('.gz') || Key.endsWith('.json'))) continue;
      const got = await client.send(new S3.GetObjectCommand({ Bucket: bucket, Key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      const text = (Key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
      for (const line of text.split('\n')) if (line.trim() !== '') records.push(JSON.parse(line));
    }
    token = page.NextContinuationToken;
  } while (token);
  return records;
}
