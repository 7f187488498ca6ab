// src/local is dev-only tooling (the local runner): its packages are devDependencies on purpose (see .projenrc.ts).
/* eslint-disable import/no-extraneous-dependencies */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { installDesFallback } from './des-fallback';
import { startLoopbackServer } from './loopback-server';

export interface S3PeerOptions {
  /** Buckets to create. */
  readonly buckets: readonly string[];
  /** Where objects are stored. @default a new temp directory, removed on close */
  readonly dir?: string;
  /** @default a random free port */
  readonly port?: number;
}

export interface S3Peer {
  readonly url: string;
  /** Directory holding the objects. */
  readonly dir: string;
  /** A new client configured for this peer. */
  client(): S3Client;
  close(): Promise<void>;
}

/**
 * S3 on loopback, backed by s3rver 3.7 (a file-system store). Limits, measured with @aws-sdk/client-s3:
 * no versioning (no `x-amz-version-id`, a `VersionId` parameter is ignored), the PutObject/CopyObject `Tagging`
 * header is ignored (Put/GetObjectTagging work; DeleteObjectTagging is not implemented), no checksums beyond MD5.
 */
export async function startS3(options: S3PeerOptions): Promise<S3Peer> {
  installDesFallback(); // ListObjectsV2 paging without --openssl-legacy-provider
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'ics-s3-')));
  const s3rver = new S3rver({
    silent: true,
    directory: dir,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  // Our own listener (rather than s3rver.run) so the copy-source header can be fixed before s3rver parses it.
  const server = await startLoopbackServer((req, res) => {
    const source = req.headers['x-amz-copy-source'];
    if (typeof source === 'string') req.headers['x-amz-copy-source'] = normalizeCopySource(source);
    handle(req, res);
  }, options.port);
  const url = server.url;
  return {
    url,
    dir,
    client: () =>
      new S3Client({
        endpoint: url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        // s3rver does not understand aws-chunked uploads with trailing checksums: it would store the framing.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    async close() {
      await server.close();
      // What s3rver's own listener does on close: release its logger.
      const logger = (s3rver as unknown as { logger?: { exceptions?: { unhandle(): void }; close(): void } }).logger;
      logger?.exceptions?.unhandle();
      logger?.close();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * S3 decodes `x-amz-copy-source` (`bucket/key[?versionId=..]`, URL-encoded) fully; s3rver uses `decodeURI`, which
 * leaves `%2F`, `%2B`, `%3F`... encoded, so a key with `+` or an encoded `/` is not found. Re-encode the decoded
 * value so that s3rver's `decodeURI` yields exactly the key S3 would. The version id is dropped: s3rver keeps none.
 */
export function normalizeCopySource(header: string): string {
  const withoutVersion = header.replace(/\?versionId=[^&]*$/, '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(withoutVersion);
  } catch {
    return header; // not valid percent-encoding: let s3rver answer as it would
  }
  return encodeURI(decoded);
}
