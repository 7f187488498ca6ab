import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BatchItem, summarizeBatch } from './batch-summary';
import { itemsFromMapResults, MapRunManifest, MapRunResult } from './map-results';

/**
 * Input: the inline Map's compact item outputs, or where a Distributed Map's result writer put its
 * manifest; and where the full per-image results (audit records) are.
 */
export interface SummarizeRequest {
  readonly items?: BatchItem[];
  readonly resultWriterDetails?: { readonly Bucket: string; readonly Key: string };
  readonly resultsLocation?: string;
}

const s3 = new S3Client({ forcePathStyle: process.env.ICS_S3_FORCE_PATH_STYLE === 'true' });

async function readJson<T>(bucket: string, key: string): Promise<T> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await res.Body!.transformToString()) as T;
}

/** Entry point: one invocation per batch, never per image. */
export async function handler(request: SummarizeRequest) {
  let items: BatchItem[] = Array.isArray(request?.items) ? request.items : [];
  const details = request?.resultWriterDetails;
  if (details) {
    const manifest = await readJson<MapRunManifest>(details.Bucket, details.Key);
    const files = [...(manifest.ResultFiles.SUCCEEDED ?? []), ...(manifest.ResultFiles.FAILED ?? [])];
    items = [];
    for (const file of files) {
      items.push(...itemsFromMapResults(await readJson<MapRunResult[]>(manifest.DestinationBucket ?? details.Bucket, file.Key)));
    }
  }
  return summarizeBatch(items, request?.resultsLocation);
}
