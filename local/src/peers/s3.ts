import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { PeerError, recordPeerError, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { S3_BINDING } from '../gateway/services';

export interface S3PeerOptions {
  /** Buckets to create. */
  readonly buckets: readonly string[];
  /** Where objects are stored. @default a new temp directory, removed on close */
  readonly dir?: string;
  /** @default a random free port */
  readonly port?: number;
  /**
   * Called after each successful object creation (PutObject, including presigned PUTs, CopyObject, and
   * CompleteMultipartUpload), as S3 sends "Object Created" to EventBridge. @default no notifications
   */
  readonly onObjectCreated?: (created: S3ObjectCreated) => void;
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: presigned URLs checked against the fixed key */
  readonly gateway?: Gateway;
}

/** An object creation, as S3's EventBridge notification describes it. */
export interface S3ObjectCreated {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly reason: 'PutObject' | 'CopyObject' | 'CompleteMultipartUpload';
}

/** S3 operations whose store access {@link S3Peer.failNext} can break. */
export type S3StoreOperation = 'PutObject' | 'GetObject' | 'CopyObject' | 'DeleteObject' | 'GetObjectTagging' | 'PutObjectTagging' | 'ListObjects';

/** Which store accesses an injected fault breaks: every field given must match. */
export interface S3StoreFault {
  /** @default any operation */
  readonly operation?: S3StoreOperation;
  /** @default any bucket */
  readonly bucket?: string;
  /** The object key (for CopyObject, the destination's). @default any key */
  readonly key?: string;
}

export interface S3Peer {
  readonly url: string;
  /** Directory holding the objects. */
  readonly dir: string;
  /** Requests the peer failed on (answered 500 InternalError, as S3 answers its own failures), in order. */
  readonly errors: PeerError[];
  /** A new client configured for this peer (`config` adds to that: a `customUserAgent`, a principal's `credentials`). */
  client(config?: Pick<S3ClientConfig, 'customUserAgent' | 'credentials'>): S3Client;
  /**
   * The next `count` store accesses matching `fault` fail as a broken disk does (EIO; a PutObject's write stream
   * errors mid-body): each such request is answered 500 InternalError and recorded in `errors`. `Infinity` keeps
   * failing until {@link clearFaults}.
   */
  failNext(count: number, fault?: S3StoreFault): void;
  /** Removes every fault `failNext` injected. */
  clearFaults(): void;
  close(): Promise<void>;
}

/** S3's key limit: 1,024 bytes of UTF-8, prefixes and delimiters included (User Guide, "Naming Amazon S3 objects"). */
export const MAX_KEY_BYTES = 1024;

/**
 * S3 on loopback: s3rver 3.7's protocol layer (routing, XML, ranges, conditional requests, metadata, tagging,
 * multipart) over a store of this module's own. s3rver's store made each key segment a file name: a segment over
 * 255 bytes failed with ENAMETOOLONG on a write stream nobody listened to (which ended the process), `a/../b` was
 * stored as `b`, and `//` or a leading `/` never reached it. This one is flat, as S3's data model is: any key S3
 * accepts (UTF-8, up to 1,024 bytes) is stored under the SHA-256 of its bytes and listed in UTF-8 binary order. A
 * longer key is S3's `KeyTooLongError` (400); a failure of the store is that request's 500 `InternalError`.
 *
 * Limits, measured with @aws-sdk/client-s3: no versioning (no `x-amz-version-id`, a `VersionId` parameter is
 * ignored), the PutObject `Tagging` header is ignored (CopyObject copies the source's tags, or writes its own with
 * the REPLACE directive, as S3 does)
 * (Put/GetObjectTagging work, and GetObject/HeadObject carry `x-amz-tagging-count`; DeleteObjectTagging is not
 * implemented), no checksums beyond MD5.
 */
export async function startS3(options: S3PeerOptions): Promise<S3Peer> {
  installListing();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'ics-s3-')));
  const s3rver = new S3rver({
    silent: true,
    directory: dir,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const store = new FlatStore(dir);
  const conditionalWrites = new ConditionalWrites();
  const app = s3rver as unknown as S3rverApp;
  app.store = app.context.store = store;
  await s3rver.configureBuckets();
  const handle = s3rver.callback() as (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  // Our own listener (rather than s3rver.run) so the copy-source header and the key are fixed before s3rver parses them.
  const server = await startLoopbackServer(gated(options.gateway, S3_BINDING, (req, res) => {
    // s3rver does not check SigV4 at all: the gateway does, or without one a presigned URL (a browser's upload) is
    // checked against the fixed key. A browser's CORS preflight carries no signature (S3 answers it from the CORS rules).
    const presigned = options.gateway || req.method === 'OPTIONS' ? undefined : verifyPresignedV4(req, 'S3RVER');
    if (presigned) return sendS3Error(req, res, presigned);
    // s3rver refuses an access key it does not know (it checks no SigV4 signature): the gateway's verified ones it is told.
    if (options.gateway) knownToS3rver(req);
    const source = req.headers['x-amz-copy-source'];
    if (typeof source === 'string') req.headers['x-amz-copy-source'] = normalizeCopySource(source);
    const copyTags = typeof source === 'string' && String(req.headers['x-amz-tagging-directive'] ?? '').toUpperCase() === 'REPLACE'
      ? String(req.headers['x-amz-tagging'] ?? '') : undefined;
    const routed = routeObjectRequest(req.url ?? '/');
    if (typeof routed !== 'string') return sendS3Error(req, res, routed);
    // s3rver refuses ListObjectVersions; the listing below answers it (renamed so s3rver routes it as a listing).
    req.url = req.method === 'GET' ? routed.replace(/([?&])versions(=[^&]*)?(?=&|$)/, '$1ics-list-versions=1') : routed;
    if (copyTags !== undefined) {
      const [, bucket, ...rest] = new URL(routed, 'http://s3.local').pathname.split('/');
      store.replacementTags.set(`${bucket}/${decodeURIComponent(rest.join('/'))}`, copyTags);
    }
    if (options.onObjectCreated) notifyOnCreation(req, res, store, options.onObjectCreated);
    const conditional = conditionalPut(req);
    if (conditional) return conditionalWrites.run(conditional, store, req, res, () => handle(req, res));
    return handle(req, res);
  }), options.port, (res, _err, req) => sendS3Error(req, res, internalError()), 's3');
  // s3rver answers what its handlers throw (S3Error.fromError: 500 InternalError); failures are recorded, not S3's own 4xx.
  app.on('error', (err, ctx) => {
    if (!(err instanceof S3Error) || err.status >= 500) recordPeerError(server.errors, 's3', ctx?.req, err);
  });
  const url = server.url;
  return {
    url,
    dir,
    errors: server.errors,
    client: (config: Pick<S3ClientConfig, 'customUserAgent' | 'credentials'> = {}) =>
      new S3Client({
        endpoint: url,
        region: 'us-east-1',
        forcePathStyle: true,
        // Behind a gateway: the kit's own calls, unless the caller signs as a principal of the pipeline.
        credentials: options.gateway?.operatorCredentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        ...config,
        // s3rver does not understand aws-chunked uploads with trailing checksums: it would store the framing.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    failNext: (count, fault = {}) => store.faults.push({ ...fault, remaining: count }),
    clearFaults: () => void store.faults.splice(0),
    async close() {
      await server.close();
      // What s3rver's own listener does on close: release its logger.
      app.logger?.exceptions?.unhandle();
      app.logger?.close();
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

/**
 * The request URL s3rver's router gets for a path-style request: the object key (everything after `/<bucket>/`,
 * percent-decoded once, as S3 reads it) re-encoded as one path segment, so that empty segments (`a//b`, a leading
 * `/`), `.`/`..` segments and a trailing `/` reach the store as the key itself. Returns the S3 error to answer
 * instead when the key is not one S3 accepts.
 */
export function routeObjectRequest(url: string): string | S3ErrorLike {
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const match = /^\/([^/]+)\/([\s\S]+)$/.exec(pathname);
  if (!match) return url;
  let key: string;
  try {
    key = decodeURIComponent(match[2]);
  } catch {
    return new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: pathname });
  }
  const size = Buffer.byteLength(key, 'utf8');
  if (size > MAX_KEY_BYTES) return new S3Error('KeyTooLongError', 'Your key is too long', { Size: size, MaxSizeAllowed: MAX_KEY_BYTES });
  return `/${match[1]}/${encodeURIComponent(key)}${q < 0 ? '' : url.slice(q)}`;
}

/** UTF-8 binary order, the order S3 lists keys in (JavaScript's `<` compares UTF-16 code units, which differs). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface ListPage {
  readonly keys: string[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned: where the next page starts after. */
  readonly last?: string;
}

/**
 * One ListObjects page over sorted keys, as S3 computes it: keys after `after` under `prefix`; with a delimiter,
 * keys with the delimiter after the prefix roll up into one common prefix each, which counts as one return against
 * `maxKeys`. A common prefix is never repeated on a later page: one not after `after` was returned already.
 */
export function listPage(sortedKeys: readonly string[], options: { prefix: string; delimiter?: string; after: string; maxKeys: number }): ListPage {
  const { prefix, delimiter, after, maxKeys } = options;
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  for (const key of sortedKeys) {
    if (!key.startsWith(prefix) || compareKeys(key, after) <= 0) continue;
    const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    const entry = at >= 0 ? key.slice(0, at + delimiter!.length) : key;
    if (at >= 0 && (entry === last || compareKeys(entry, after) <= 0)) continue;
    if (keys.length + commonPrefixes.length >= maxKeys) return { keys, commonPrefixes, isTruncated: maxKeys > 0, last };
    (at >= 0 ? commonPrefixes : keys).push(entry);
    last = entry;
  }
  return { keys, commonPrefixes, isTruncated: false, last };
}

// s3rver's internals this peer builds on (its published types cover the server only).
/* eslint-disable @typescript-eslint/no-require-imports */
interface S3ErrorLike extends Error {
  readonly code: string;
  readonly status: number;
  toXML(): string;
}
const S3Error = require('s3rver/lib/models/error') as new (code: string, message: string, detail?: Record<string, unknown>) => S3ErrorLike;
const S3Object = require('s3rver/lib/models/object') as new (bucket: string, key: string, content: unknown, metadata: Record<string, unknown>) => StoredObject;
const FilesystemStore = require('s3rver/lib/stores/filesystem') as new (rootDirectory: string) => FilesystemStoreBase;
const bucketController = require('s3rver/lib/controllers/bucket') as { getBucket(ctx: any): Promise<void> };
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: { id: string; displayName: string } };
/* eslint-enable @typescript-eslint/no-require-imports */

interface S3rverApp {
  store: FlatStore;
  context: { store: FlatStore };
  logger?: { exceptions?: { unhandle(): void }; close(): void };
  on(event: 'error', listener: (err: unknown, ctx?: { req: http.IncomingMessage }) => void): void;
}

interface StoredObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Readable | Buffer | null;
  readonly metadata: Record<string, unknown>;
}

/** The part of s3rver's FilesystemStore that FlatStore keeps (bucket directories, metadata files, subresources). */
interface FilesystemStoreBase {
  getBucketPath(bucket: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, any>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
  getObject(bucket: string, key: string, options?: unknown): Promise<unknown>;
  getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void>;
  deleteSubresource(bucket: string, key: string | undefined, type: string): Promise<void>;
}

/** Where a bucket's objects live: one flat directory, each object's files named by the SHA-256 of its key. */
const OBJECTS_DIR = 'objects';
const OBJECT_FILES = ['object', 'object.md5', 'metadata.json', 'tagging.xml', 'key'];

interface ActiveFault extends S3StoreFault {
  remaining: number;
}

/**
 * s3rver's FilesystemStore with a flat, hashed layout: `<bucket>/objects/<sha256(key)>.<resource>`, the key itself
 * in `<hash>.key` so listings return it exactly. Writes go to a temporary file renamed into place, through
 * `pipeline` so that a failing disk rejects the request instead of emitting an error nobody hears.
 */
class FlatStore extends FilesystemStore {
  public readonly faults: ActiveFault[] = [];
  /** CopyObject with `x-amz-tagging-directive: REPLACE`: the `x-amz-tagging` query string, by `bucket/key` of the copy. */
  public readonly replacementTags = new Map<string, string>();
  /** Keys by `<bucket>/<hash>`, so listing reads each key file once. */
  private readonly keys = new Map<string, string>();

  public getResourcePath(bucket: string, key = '', resource: string): string {
    // Bucket-level resources (key '') keep s3rver's names: `._S3rver_cors.xml`, `._S3rver_uploads/`.
    if (key === '') return path.join(this.getBucketPath(bucket), `._S3rver_${resource}`);
    return path.join(this.getBucketPath(bucket), OBJECTS_DIR, `${hashKey(key)}.${resource}`);
  }

  public async getObject(bucket: string, key: string, options?: unknown): Promise<unknown> {
    this.checkFault('GetObject', bucket, key);
    const object = await super.getObject(bucket, key, options) as { metadata?: Record<string, string> } | null;
    // S3 answers GetObject and HeadObject with the object's tag count when it has tags (s3rver does not).
    const tags = await this.tagCount(bucket, key);
    if (object?.metadata && tags > 0) object.metadata['x-amz-tagging-count'] = String(tags);
    return object;
  }

  private async tagCount(bucket: string, key: string): Promise<number> {
    try {
      const xml = await fs.promises.readFile(this.getResourcePath(bucket, key, 'tagging.xml'), 'utf8');
      return (xml.match(/<Tag>/g) ?? []).length;
    } catch (err: any) {
      if (err?.code === 'ENOENT') return 0;
      throw err;
    }
  }

  public async putObject(object: StoredObject): Promise<{ size: number; md5: string }> {
    const { bucket, key } = object;
    const fault = this.takeFault('PutObject', bucket, key);
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temp = `${objectPath}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const { size, md5 } = await writeStream(object.content, fault ? failingWritable(fault) : fs.createWriteStream(temp));
      await this.writeKey(bucket, key);
      await this.putMetadata(bucket, key, object.metadata, md5);
      // A new object has no tags: the tags of the one it replaces go with it.
      await this.deleteSubresource(bucket, key, 'tagging');
      await rename(temp, objectPath);
      return { size, md5 };
    } finally {
      await rm(temp, { force: true });
    }
  }

  public async copyObject(srcBucket: string, srcKey: string, destBucket: string, destKey: string, replacement?: Record<string, unknown> | null) {
    this.checkFault('CopyObject', destBucket, destKey);
    const src = (resource: string) => this.getResourcePath(srcBucket, srcKey, resource);
    const dest = (resource: string) => this.getResourcePath(destBucket, destKey, resource);
    if (src('object') !== dest('object')) {
      await mkdir(path.dirname(dest('object')), { recursive: true });
      const temp = `${dest('object')}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await fs.promises.copyFile(src('object'), temp);
        await this.writeKey(destBucket, destKey);
        for (const resource of ['object.md5', 'metadata.json']) await copyIfExists(src(resource), dest(resource));
        // S3 copies the source's tags unless the request replaces them (x-amz-tagging-directive: REPLACE).
        const replaced = this.replacementTags.get(`${destBucket}/${destKey}`);
        this.replacementTags.delete(`${destBucket}/${destKey}`);
        await this.deleteSubresource(destBucket, destKey, 'tagging');
        if (replaced === undefined) await copyIfExists(src('tagging.xml'), dest('tagging.xml'));
        else if (replaced !== '') await fs.promises.writeFile(dest('tagging.xml'), taggingXml(replaced));
        await rename(temp, dest('object'));
      } finally {
        await rm(temp, { force: true });
      }
    }
    if (replacement) await this.putMetadata(destBucket, destKey, replacement);
    return this.getMetadata(destBucket, destKey);
  }

  public async deleteObject(bucket: string, key: string): Promise<void> {
    this.checkFault('DeleteObject', bucket, key);
    // The object file first: from then on the key is neither listed nor read.
    for (const resource of OBJECT_FILES) await rm(this.getResourcePath(bucket, key, resource), { force: true });
    this.keys.delete(`${bucket}/${hashKey(key)}`);
  }

  public async getSubresource(bucket: string, key: string | undefined, type: string): Promise<unknown> {
    if (key && type === 'tagging') this.checkFault('GetObjectTagging', bucket, key);
    return super.getSubresource(bucket, key, type);
  }

  public async putSubresource(bucket: string, key: string | undefined, resource: { type: string }): Promise<void> {
    if (key && resource.type === 'tagging') this.checkFault('PutObjectTagging', bucket, key);
    return super.putSubresource(bucket, key, resource);
  }

  /** The bucket's keys in UTF-8 binary order. */
  public async sortedKeys(bucket: string): Promise<string[]> {
    this.checkFault('ListObjects', bucket, undefined);
    let names: string[];
    try {
      names = await readdir(path.join(this.getBucketPath(bucket), OBJECTS_DIR));
    } catch (err: any) {
      if (err?.code === 'ENOENT') return [];
      throw err;
    }
    const keys = await Promise.all(names.filter((n) => n.endsWith('.object')).map((n) => this.keyOf(bucket, n.slice(0, -'.object'.length))));
    return keys.filter((k): k is string => k !== undefined).sort(compareKeys);
  }

  /** s3rver's own callers (DeleteBucket's emptiness check) list through this. */
  public async listObjects(bucket: string, options: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys?: number }) {
    const page = listPage(await this.sortedKeys(bucket), {
      prefix: options.prefix ?? '', delimiter: options.delimiter, after: options.startAfter ?? '', maxKeys: options.maxKeys ?? 1000,
    });
    const objects = await this.objectsOf(bucket, page.keys);
    return { objects, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated };
  }

  /** The listed objects with their metadata; one deleted since the listing is left out, as S3 may. */
  public async objectsOf(bucket: string, keys: string[]): Promise<StoredObject[]> {
    const metadata = await Promise.all(keys.map((key) => this.getMetadata(bucket, key).catch((err) => {
      if (err?.code === 'ENOENT') return undefined;
      throw err;
    })));
    return keys.flatMap((key, i) => (metadata[i] ? [new S3Object(bucket, key, null, metadata[i]!)] : []));
  }

  public async putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }> {
    const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    await mkdir(path.dirname(partPath), { recursive: true });
    const result = await writeStream(content, fs.createWriteStream(partPath));
    await writeFile(`${partPath}.md5`, result.md5);
    return result;
  }

  public async putObjectMultipart(bucket: string, uploadId: string, parts: Array<{ number: number }>): Promise<{ size: number; md5: string }> {
    const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    let key: string;
    let metadata: Record<string, unknown>;
    try {
      [key, metadata] = [await readFile(path.join(uploadDir, 'key'), 'utf8'), JSON.parse(await readFile(path.join(uploadDir, 'metadata'), 'utf8'))];
    } catch (err: any) {
      if (err?.code === 'ENOENT') throw new S3Error('NoSuchUpload', 'The specified upload does not exist.', { UploadId: uploadId });
      throw err;
    }
    const files = [...parts].sort((a, b) => a.number - b.number).map((p) => path.join(uploadDir, String(p.number)));
    for (const file of files) {
      if (!(await stat(file).then(() => true, () => false))) {
        throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded.');
      }
    }
    // The parts one after another, as one stream whose read errors reach putObject's pipeline.
    const content = Readable.from((async function* () {
      for (const file of files) yield* fs.createReadStream(file);
    })());
    const result = await this.putObject(new S3Object(bucket, key, content, metadata));
    await rm(uploadDir, { recursive: true, force: true });
    return result;
  }

  private async writeKey(bucket: string, key: string): Promise<void> {
    await writeFile(this.getResourcePath(bucket, key, 'key'), key, 'utf8');
    this.keys.set(`${bucket}/${hashKey(key)}`, key);
  }

  private async keyOf(bucket: string, hash: string): Promise<string | undefined> {
    const cached = this.keys.get(`${bucket}/${hash}`);
    if (cached !== undefined) return cached;
    try {
      const key = await readFile(path.join(this.getBucketPath(bucket), OBJECTS_DIR, `${hash}.key`), 'utf8');
      this.keys.set(`${bucket}/${hash}`, key);
      return key;
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined; // being written or deleted right now
      throw err;
    }
  }

  private checkFault(operation: S3StoreOperation, bucket: string, key: string | undefined): void {
    const fault = this.takeFault(operation, bucket, key);
    if (fault) throw fault;
  }

  /** The error of the first injected fault matching this access, counting it down. */
  private takeFault(operation: S3StoreOperation, bucket: string, key: string | undefined): Error | undefined {
    const i = this.faults.findIndex((f) => (f.operation ?? operation) === operation && (f.bucket ?? bucket) === bucket
      && (f.key === undefined || f.key === key));
    if (i < 0) return undefined;
    if (--this.faults[i].remaining <= 0) this.faults.splice(i, 1);
    return Object.assign(new Error(`EIO: i/o error (injected fault), ${operation} s3://${bucket}/${key ?? ''}`), { code: 'EIO', errno: -5 });
  }
}

function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Writes a body through `pipeline`, so an error of the destination (a full or broken disk) or of the body (a client
 * that went away) rejects. The request itself is left readable, not destroyed: s3rver can still answer it.
 */
async function writeStream(content: Readable | Buffer | null, destination: Writable): Promise<{ size: number; md5: string }> {
  const source = Buffer.isBuffer(content) || !content ? Readable.from([content ?? Buffer.alloc(0)]) : content;
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const onSourceError = (err: Error) => count.destroy(err);
  source.on('error', onSourceError);
  source.pipe(count);
  try {
    await pipeline(count, destination);
  } catch (err) {
    source.unpipe(count);
    source.resume(); // drain what is left of the body, so the error can still be answered on this connection
    throw err;
  } finally {
    source.off('error', onSourceError);
  }
  return { size, md5: md5.digest('hex') };
}

/** A destination that fails as a broken disk does, on the first write (or at the end of an empty body). */
function failingWritable(err: Error): Writable {
  return new Writable({
    write: (_chunk, _encoding, callback) => callback(err),
    final: (callback) => callback(err),
  });
}

async function copyIfExists(from: string, to: string): Promise<void> {
  try {
    await fs.promises.copyFile(from, to);
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw err;
  }
}

function internalError(): S3ErrorLike {
  return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
}

const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Checks a presigned (query-string) SigV4 request as S3 does: the signature over the method, path, query, the signed
 * headers' values (so a body of another length than a signed `content-length` fails) and the payload hash, and the
 * expiry. Answers the S3 error, or undefined when the request is not presigned or checks out. (Signature Version 4,
 * "Authenticating Requests: Using Query Parameters".)
 */
function verifyPresignedV4(req: http.IncomingMessage, secretAccessKey: string): S3ErrorLike | undefined {
  const url = new URL(req.url ?? '/', 'http://s3.local');
  const q = url.searchParams;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return undefined;
  const credential = (q.get('X-Amz-Credential') ?? '').split('/');
  const date = q.get('X-Amz-Date') ?? '';
  const expires = Number(q.get('X-Amz-Expires'));
  const signedHeaders = (q.get('X-Amz-SignedHeaders') ?? '').split(';').filter((h) => h !== '');
  const at = Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8), +date.slice(9, 11), +date.slice(11, 13), +date.slice(13, 15));
  if (credential.length !== 5 || !Number.isFinite(at) || !Number.isInteger(expires)) {
    return new S3Error('AuthorizationQueryParametersError', 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  if (Date.now() > at + expires * 1000) return new S3Error('AccessDenied', 'Request has expired');
  const query = [...q.entries()].filter(([k]) => k !== 'X-Amz-Signature').map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const headerValue = (h: string) => {
    const v = req.headers[h];
    return (Array.isArray(v) ? v.join(',') : v ?? '').trim().replace(/\s+/g, ' ');
  };
  const canonical = [
    req.method, url.pathname, query, ...signedHeaders.map((h) => `${h}:${headerValue(h)}`), '', signedHeaders.join(';'),
    q.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = credential.slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, credential[1]), credential[2]), credential[3]), 'aws4_request');
  if (hmac(key, toSign).toString('hex') !== q.get('X-Amz-Signature')) {
    return new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return undefined;
}

// s3rver's account registry (`S3RVER` is its one key); it ships no types for it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3RVER_ACCOUNT = (require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } }).DUMMY_ACCOUNT;

/** Registers a request's access key with s3rver, which otherwise answers InvalidAccessKeyId before our handlers run. */
function knownToS3rver(req: http.IncomingMessage): void {
  const credential = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1]
    ?? new URL(req.url ?? '/', 'http://s3.local').searchParams.get('X-Amz-Credential')?.split('/')[0];
  if (credential) S3RVER_ACCOUNT.createKeyPair(credential, 'verified by the gateway');
}

/** The query's subresources and operation parameters: not the SDK's `x-id` nor a presigned URL's `X-Amz-*` authentication. */
function requestParams(url: URL): string[] {
  return [...url.searchParams.keys()].filter((k) => k !== 'x-id' && !/^x-amz-/i.test(k));
}

/** Watches a request that may create an object and reports the creation once S3 has answered 200. */
function notifyOnCreation(req: http.IncomingMessage, res: http.ServerResponse, store: FlatStore, notify: (created: S3ObjectCreated) => void): void {
  const url = new URL(req.url ?? '/', 'http://s3.local');
  const params = requestParams(url);
  const reason = req.method === 'PUT' && params.length === 0 ? (req.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject')
    : req.method === 'POST' && params.includes('uploadId') ? 'CompleteMultipartUpload' : undefined;
  const [, bucket, ...rest] = url.pathname.split('/');
  if (!reason || !bucket || rest.length === 0) return;
  const key = decodeURIComponent(rest.join('/'));
  res.once('finish', () => {
    if (res.statusCode !== 200) return;
    void Promise.all([
      fs.promises.stat(store.getResourcePath(bucket, key, 'object')).then((st) => st.size, () => 0),
      fs.promises.readFile(store.getResourcePath(bucket, key, 'object.md5'), 'utf8').then((t) => t.trim(), () => ''),
    ]).then(([size, etag]) => notify({ bucket, key, size, etag, reason }));
  });
}

/** The tagging document S3 stores for a `k=v&k2=v2` tag header. */
function taggingXml(query: string): string {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const tags = [...new URLSearchParams(query).entries()].map(([k, v]) => `<Tag><Key>${esc(k)}</Key><Value>${esc(v)}</Value></Tag>`).join('');
  return `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags}</TagSet></Tagging>`;
}

/** A PutObject with `If-Match` or `If-None-Match` (S3's conditional writes): its bucket, key and conditions. */
interface ConditionalPut {
  readonly bucket: string;
  readonly key: string;
  readonly ifMatch?: string;
  readonly ifNoneMatch?: string;
}

function conditionalPut(req: http.IncomingMessage): ConditionalPut | undefined {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (req.method !== 'PUT' || (ifMatch === undefined && ifNoneMatch === undefined) || req.headers['x-amz-copy-source']) return undefined;
  const url = new URL(req.url ?? '/', 'http://s3.local');
  // Object writes only (not tagging, parts or other subresources).
  if (requestParams(url).length > 0) return undefined;
  const [, bucket, ...rest] = url.pathname.split('/');
  if (!bucket || rest.length === 0) return undefined;
  return { bucket, key: decodeURIComponent(rest.join('/')), ifMatch: ifMatch as string | undefined, ifNoneMatch: ifNoneMatch as string | undefined };
}

/**
 * S3's conditional writes, which s3rver lacks: `If-None-Match: *` fails 412 PreconditionFailed when the key exists,
 * `If-Match: <etag>` fails 412 when the current ETag differs and 404 NoSuchKey when there is no object (User Guide,
 * "Conditional writes"). Writes to one key are checked and applied one at a time, so two writers conditioned on the
 * same ETag cannot both succeed (S3 answers the loser 412, or 409 ConditionalRequestConflict when they overlap).
 */
class ConditionalWrites {
  private readonly locks = new Map<string, Promise<void>>();

  public async run(
    c: ConditionalPut, store: FlatStore, req: http.IncomingMessage, res: http.ServerResponse, write: () => Promise<void>,
  ): Promise<void> {
    const id = `${c.bucket}/${c.key}`;
    const previous = this.locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.locks.set(id, previous.then(() => mine));
    await previous;
    res.once('close', release);
    res.once('finish', release);
    const md5 = await fs.promises.readFile(store.getResourcePath(c.bucket, c.key, 'object.md5'), 'utf8').then((t) => t.trim(), () => undefined);
    const etag = md5 === undefined ? undefined : `"${md5}"`;
    const unquoted = (v: string) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    if (c.ifNoneMatch !== undefined && c.ifNoneMatch.trim() === '*' && etag !== undefined) {
      return sendS3Error(req, res, new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' }));
    }
    if (c.ifMatch !== undefined) {
      if (etag === undefined) return sendS3Error(req, res, new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: c.key }));
      if (unquoted(c.ifMatch) !== unquoted(etag)) {
        return sendS3Error(req, res, new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-Match' }));
      }
    }
    // s3rver would read the If-* headers as GET conditions; they are answered here.
    delete req.headers['if-match'];
    delete req.headers['if-none-match'];
    await write();
  }
}

/** An S3 REST error response: the XML error document with its status (no body for HEAD, as S3 answers). */
function sendS3Error(req: http.IncomingMessage, res: http.ServerResponse, err: S3ErrorLike): void {
  const body = err.toXML();
  res.writeHead(err.status, { 'Content-Type': 'application/xml', 'Content-Length': req.method === 'HEAD' ? 0 : Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

let listingInstalled = false;

/**
 * s3rver's ListObjects handler pages by the last object key (a page ending on a common prefix repeats it, a page
 * of common prefixes only throws) and counts only keys against MaxKeys; it is module state, so it is replaced once
 * per process, for buckets of a FlatStore only.
 */
function installListing(): void {
  if (listingInstalled) return;
  listingInstalled = true;
  const original = bucketController.getBucket;
  bucketController.getBucket = (ctx: any) => (ctx.store instanceof FlatStore ? listObjects(ctx) : original(ctx));
}

/** ListObjectsV2 (`list-type=2`), ListObjects (V1) and ListObjectVersions (`versions`), as the S3 API Reference documents them. */
async function listObjects(ctx: any): Promise<void> {
  const query = ctx.query as Record<string, string | undefined>;
  const store = ctx.store as FlatStore;
  const bucket: string = ctx.params.bucket;
  const v2 = query['list-type'] === '2';
  const invalid = (message: string, name: string, value?: string) => new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
  let maxKeys = 1000;
  if (query['max-keys'] !== undefined) {
    if (!/^\d+$/.test(query['max-keys']) || Number(query['max-keys']) > 2147483647) {
      throw invalid('Provided max-keys not an integer or within integer range', 'max-keys', query['max-keys']);
    }
    maxKeys = Math.min(1000, Number(query['max-keys']));
  }
  const encodingType = query['encoding-type'];
  if (encodingType !== undefined && encodingType !== 'url') throw invalid('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
  const encode = (s: string | undefined) => (s !== undefined && encodingType === 'url' ? encodeURIComponent(s) : s);
  let after: string;
  if (v2) {
    if ('marker' in query) throw invalid('Marker unsupported with REST.GET.BUCKET in list-type=2', 'marker');
    const token = query['continuation-token'];
    if (token !== undefined) {
      const decoded = decodeContinuationToken(token);
      if (decoded === undefined) throw invalid('The continuation token provided is incorrect', 'continuation-token');
      after = decoded;
    } else {
      after = query['start-after'] ?? '';
    }
  } else {
    if ('continuation-token' in query) throw invalid('continuation-token only supported in REST.GET.BUCKET with list-type=2', 'continuation-token');
    after = query.marker ?? '';
  }
  const prefix = query.prefix ?? '';
  const delimiter = query.delimiter || undefined;
  const versions = 'ics-list-versions' in query;
  if (versions) after = query['key-marker'] ?? '';
  const page = listPage(await store.sortedKeys(bucket), { prefix, delimiter, after, maxKeys });
  const objects = await store.objectsOf(bucket, page.keys);
  if (versions) {
    // ListObjectVersions of a bucket that never had versioning on: one version per key, its ID "null" (as S3 answers).
    ctx.body = {
      ListVersionsResult: {
        '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
        'Name': bucket,
        'Prefix': encode(prefix),
        'KeyMarker': encode(query['key-marker'] ?? ''),
        'VersionIdMarker': query['version-id-marker'] ?? '',
        'NextKeyMarker': page.isTruncated ? encode(page.last) : undefined,
        'MaxKeys': query['max-keys'] ?? 1000,
        'Delimiter': encode(delimiter),
        'EncodingType': encodingType,
        'IsTruncated': page.isTruncated,
        'Version': objects.map((o) => ({
          Key: encode(o.key),
          VersionId: 'null',
          IsLatest: true,
          LastModified: new Date(String(o.metadata['last-modified'])).toISOString(),
          ETag: o.metadata.etag,
          Size: Number(o.metadata['content-length']),
          Owner: { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName },
          StorageClass: 'STANDARD',
        })),
        'CommonPrefixes': page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
      },
    };
    return;
  }
  const fetchOwner = v2 ? query['fetch-owner'] === 'true' : true;
  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      'Name': bucket,
      'Prefix': encode(prefix),
      ...(v2
        ? {
          StartAfter: encode(query['start-after']),
          ContinuationToken: query['continuation-token'],
          NextContinuationToken: page.isTruncated ? encodeContinuationToken(page.last!) : undefined,
          KeyCount: page.keys.length + page.commonPrefixes.length,
        }
        : { Marker: encode(query.marker ?? ''), NextMarker: delimiter && page.isTruncated ? encode(page.last) : undefined }),
      'MaxKeys': query['max-keys'] ?? 1000,
      'Delimiter': encode(delimiter),
      'EncodingType': encodingType,
      'IsTruncated': page.isTruncated,
      'Contents': objects.map((o) => ({
        Key: encode(o.key),
        LastModified: new Date(String(o.metadata['last-modified'])).toISOString(),
        ETag: o.metadata.etag,
        Size: Number(o.metadata['content-length']),
        Owner: fetchOwner ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName } : undefined,
        StorageClass: 'STANDARD',
      })),
      'CommonPrefixes': page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
    },
  };
}

/** Continuation tokens are opaque to clients; here, the key or common prefix the page ended on. */
function encodeContinuationToken(last: string): string {
  return Buffer.from(`1/${last}`, 'utf8').toString('base64');
}

function decodeContinuationToken(token: string): string | undefined {
  const text = Buffer.from(token, 'base64').toString('utf8');
  return text.startsWith('1/') && encodeContinuationToken(text.slice(2)) === token ? text.slice(2) : undefined;
}
