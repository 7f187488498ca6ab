/* eslint-disable import/no-extraneous-dependencies */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * Reference design, step 1 of 3: read the image and put it into the workflow state as base64 — the step that ties
 * image size to Step Functions' 256 KiB payload quota.
 */
// Path-style addressing only where the local runner asks for it (its S3 peer has no virtual hosts).
const s3 = new S3Client({ forcePathStyle: process.env.ICS_S3_FORCE_PATH_STYLE === 'true' });

export interface SerializeEvent {
  readonly bucket: string;
  readonly key: string;
}

export async function handler(event: SerializeEvent) {
  const object = await s3.send(new GetObjectCommand({ Bucket: event.bucket, Key: event.key }));
  const bytes = await object.Body!.transformToByteArray();
  return {
    image_data: Buffer.from(bytes).toString('base64'),
    s3_bucket: event.bucket,
    s3_key: event.key,
    inferences: [] as number[],
  };
}
