import { rename, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  GetObjectTaggingCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3Peer, startS3 } from '../../src/peers/s3';

let peer: S3Peer;
let s3: S3Client;

beforeAll(async () => {
  peer = await startS3({ buckets: ['uploads', 'quarantine'] });
  s3 = peer.client();
});

afterAll(async () => {
  s3.destroy();
  await peer.close();
});

const KEYS = ['plain.jpg', 'with space/a b.jpg', 'plus+sign.png', 'percent%20literal.jpg', 'ünïcödé/写真 🚗.jpg'];

test.each(KEYS)('put and get round-trip the bytes of %s', async (key) => {
  const body = Buffer.from(`bytes of ${key}`);
  await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: body, ContentType: 'image/jpeg' }));
  const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }));
  expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
  expect(got.ContentType).toBe('image/jpeg');
  expect(got.ContentLength).toBe(body.length);
  expect(got.VersionId).toBeUndefined(); // s3rver has no versioning
});

test('a missing key is NoSuchKey', async () => {
  const err = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'nope' })).catch((e) => e);
  expect(err.name).toBe('NoSuchKey');
});

test('object tagging round-trips; the PutObject Tagging header is ignored', async () => {
  await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'tagged.jpg', Body: 'x', Tagging: 'a=1' }));
  expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'uploads', Key: 'tagged.jpg' }))).TagSet).toEqual([]);
  await s3.send(new PutObjectTaggingCommand({
    Bucket: 'uploads',
    Key: 'tagged.jpg',
    Tagging: { TagSet: [{ Key: 'ics:outcome', Value: 'FLAGGED' }, { Key: 'ics:label', Value: 'motorcycle' }] },
  }));
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'uploads', Key: 'tagged.jpg' }));
  expect(tags.TagSet).toEqual([{ Key: 'ics:outcome', Value: 'FLAGGED' }, { Key: 'ics:label', Value: 'motorcycle' }]);
});

test.each([
  ['encodeURIComponent', (k: string) => `uploads/${encodeURIComponent(k)}`],
  ['encodeURI', (k: string) => `uploads/${encodeURI(k)}`],
  ['encodeURIComponent, leading slash and versionId', (k: string) => `/uploads/${encodeURIComponent(k)}?versionId=null`],
])('copy to another bucket with CopySource %s, then delete the source (quarantine)', async (_, copySource) => {
  const key = 'with space/a b.jpg';
  await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: `bytes of ${key}` }));
  await s3.send(new CopyObjectCommand({ Bucket: 'quarantine', Key: `q/${key}`, CopySource: copySource(key) }));
  const copied = await s3.send(new GetObjectCommand({ Bucket: 'quarantine', Key: `q/${key}` }));
  expect(await copied.Body!.transformToString()).toBe(`bytes of ${key}`);
  await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: key }));
  const err = await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key })).catch((e) => e);
  expect(err.name).toBe('NotFound');
});

test.each(KEYS)('copies keys with special characters: %s', async (key) => {
  await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: `bytes of ${key}` }));
  await s3.send(new CopyObjectCommand({ Bucket: 'quarantine', Key: key, CopySource: `uploads/${encodeURIComponent(key)}` }));
  const copied = await s3.send(new GetObjectCommand({ Bucket: 'quarantine', Key: key }));
  expect(await copied.Body!.transformToString()).toBe(`bytes of ${key}`);
});

test('ListObjectsV2 pages with continuation tokens', async () => {
  for (let i = 0; i < 5; i++) await s3.send(new PutObjectCommand({ Bucket: 'quarantine', Key: `page/${i}`, Body: 'x' }));
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'quarantine', Prefix: 'page/', MaxKeys: 2, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
    pages++;
  } while (token);
  expect(pages).toBe(3);
  expect(keys).toEqual(['page/0', 'page/1', 'page/2', 'page/3', 'page/4']);
});

describe('every key S3 accepts (any UTF-8, up to 1,024 bytes)', () => {
  const segment300 = `cams/${'s'.repeat(300)}.jpg`;
  const exactly1024 = `deep/${'ü'.repeat(507)}x.jpg`; // 5 + 1,014 + 1 + 4 bytes
  const multiByte1025 = `deep/${'ü'.repeat(508)}.jpg`; // 5 + 1,016 + 4 bytes
  const ODD_KEYS = [
    segment300,
    exactly1024,
    `${'a/'.repeat(300)}z.jpg`, // 300 levels of "folders"
    'a//b.jpg', '/leading-slash.jpg', 'a/../b.jpg', '../outside.jpg', './here.jpg', 'folder/', 'folder//',
    'q?x=1#frag&y=2.jpg', '"double" and \'single\'.jpg', 'sp ace+plus%2Bpercent%.jpg', '  padded  .jpg', 'tab\there.jpg',
    'emoji 🚗/写真/😀.jpg', 'back\\slash:colon*star|pipe<lt>gt.jpg', '~!@$^()[]{},;`.jpg',
  ];

  test('the long keys are as long as they claim', () => {
    expect(Buffer.byteLength(segment300.split('/')[1])).toBe(304);
    expect(Buffer.byteLength(exactly1024)).toBe(1024);
    expect(Buffer.byteLength(multiByte1025)).toBe(1025); // over the limit: refused below
  });

  // Named by their first 40 characters: the long ones would make unreadable test names.
  const named = ODD_KEYS.map((key) => [key.length > 40 ? `${key.slice(0, 40)}... (${Buffer.byteLength(key)} bytes)` : key, key]);
  test.each(named)('%s: put, head, get, tag, copy, list and delete as S3 does', async (_name, key) => {
    const body = Buffer.from(`bytes of ${key}`);
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: body, ContentType: 'image/jpeg' }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key }))).ContentLength).toBe(body.length);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'uploads', Key: key, Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'uploads', Key: key }))).TagSet).toEqual([{ Key: 'k', Value: 'v' }]);
    await s3.send(new CopyObjectCommand({ Bucket: 'quarantine', Key: key, CopySource: `uploads/${encodeURIComponent(key)}` }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'quarantine', Key: key }))).Body!.transformToString()).toBe(body.toString());
    // Listed exactly: no path normalization, no lost empty segments.
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: key }));
    expect(listed.Contents?.map((o) => o.Key)).toContain(key);
    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: key }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'quarantine', Key: key }));
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  test('keys that a file system would merge stay distinct', async () => {
    const keys = ['m/a/../b', 'm/b', 'm/./b', 'm//b', 'm/b/'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: key }));
    for (const key of keys) {
      expect(await (await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }))).Body!.transformToString()).toBe(key);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'm/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['m/./b', 'm//b', 'm/a/../b', 'm/b', 'm/b/']); // '.' < '/' < 'a'
  });

  test.each([
    ['1,025 ASCII bytes', 'k'.repeat(1025), 1025],
    ['1,025 bytes, mostly 2-byte characters (508 of them)', multiByte1025, 1025],
  ])('a key of %s is KeyTooLongError (400), on every operation', async (_, key, size) => {
    const tooLong = { name: 'KeyTooLongError', $metadata: expect.objectContaining({ httpStatusCode: 400 }) };
    await expect(s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: 'x' }))).rejects.toMatchObject(tooLong);
    await expect(s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }))).rejects.toMatchObject(tooLong);
    await expect(s3.send(new CopyObjectCommand({ Bucket: 'uploads', Key: key, CopySource: 'uploads/plain.jpg' }))).rejects.toMatchObject(tooLong);
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key }))).rejects.toMatchObject({ $metadata: expect.objectContaining({ httpStatusCode: 400 }) });
    // S3's error document names the size and the limit.
    const res = await fetch(`${peer.url}/uploads/${encodeURIComponent(key)}`, { method: 'PUT', body: 'x' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(new RegExp(`<Code>KeyTooLongError</Code>.*<Size>${size}</Size><MaxSizeAllowed>1024</MaxSizeAllowed>`, 's'));
  });
});

describe('ListObjectsV2 and ListObjects, as S3 lists', () => {
  const LISTED = ['l/a-b', 'l/a/1', 'l/a/2', 'l/a/3/x', 'l/b/1', 'l/c', 'l/d/1', 'l/\uFFFD', 'l/😀'];
  beforeAll(async () => {
    for (const key of [...LISTED].reverse()) await s3.send(new PutObjectCommand({ Bucket: 'quarantine', Key: key, Body: 'x' }));
  });

  test('keys come in UTF-8 binary order ("-" before "/", U+FFFD before an emoji), not UTF-16 order', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'quarantine', Prefix: 'l/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(LISTED);
    expect(listed).toMatchObject({ KeyCount: LISTED.length, IsTruncated: false });
  });

  test('with a delimiter, every page counts common prefixes against MaxKeys and none repeats', async () => {
    const pages: Array<{ keys: string[]; prefixes: string[] }> = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: 'quarantine', Prefix: 'l/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      pages.push({ keys: (page.Contents ?? []).map((o) => o.Key!), prefixes: (page.CommonPrefixes ?? []).map((p) => p.Prefix!) });
      expect(page.KeyCount).toBe(pages.at(-1)!.keys.length + pages.at(-1)!.prefixes.length);
      token = page.NextContinuationToken;
    } while (token);
    expect(pages).toEqual([
      { keys: ['l/a-b'], prefixes: ['l/a/'] },
      { keys: ['l/c'], prefixes: ['l/b/'] },
      { keys: ['l/\uFFFD'], prefixes: ['l/d/'] },
      { keys: ['l/😀'], prefixes: [] },
    ]);
  });

  test('a page of common prefixes only, StartAfter, and a bad continuation token', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'quarantine', Prefix: 'l/a/', Delimiter: '/', StartAfter: 'l/a/2' }));
    expect(page).toMatchObject({ CommonPrefixes: [{ Prefix: 'l/a/3/' }], KeyCount: 1, StartAfter: 'l/a/2', IsTruncated: false });
    expect(page.Contents).toBeUndefined();
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'quarantine', ContinuationToken: 'bm9wZQ==' }))).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  test('ListObjects (V1) pages with NextMarker', async () => {
    const first = await s3.send(new ListObjectsCommand({ Bucket: 'quarantine', Prefix: 'l/', Delimiter: '/', MaxKeys: 3 }));
    expect(first).toMatchObject({ IsTruncated: true, NextMarker: 'l/b/' });
    const second = await s3.send(new ListObjectsCommand({ Bucket: 'quarantine', Prefix: 'l/', Delimiter: '/', Marker: first.NextMarker }));
    expect((second.Contents ?? []).map((o) => o.Key)).toEqual(['l/c', 'l/\uFFFD', 'l/😀']);
    expect((second.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(['l/d/']);
  });
});

describe('tags belong to one object', () => {
  test('overwriting or deleting an object removes its tags', async () => {
    const tagged = async () => (await s3.send(new GetObjectTaggingCommand({ Bucket: 'uploads', Key: 't.jpg' }))).TagSet;
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 't.jpg', Body: 'one' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'uploads', Key: 't.jpg', Tagging: { TagSet: [{ Key: 'ics:outcome', Value: 'FLAGGED' }] } }));
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 't.jpg', Body: 'two' }));
    expect(await tagged()).toEqual([]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'uploads', Key: 't.jpg', Tagging: { TagSet: [{ Key: 'a', Value: '1' }] } }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 't.jpg' }));
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 't.jpg', Body: 'three' }));
    expect(await tagged()).toEqual([]);
  });
});

describe('a failing store fails the request, not the process', () => {
  afterEach(() => peer.clearFaults());

  test('a write stream that errors mid-body (the ENAMETOOLONG path): 500 InternalError, recorded; the next write works', async () => {
    peer.failNext(Infinity, { operation: 'PutObject', key: 'broken.jpg' });
    const errorsBefore = peer.errors.length;
    const err = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'broken.jpg', Body: Buffer.alloc(64 * 1024, 1) })).catch((e) => e);
    expect(err).toMatchObject({ name: 'InternalError', $metadata: expect.objectContaining({ httpStatusCode: 500 }) });
    expect(peer.errors.slice(errorsBefore)[0]).toMatchObject({ method: 'PUT', message: expect.stringContaining('EIO') });
    // Nothing half-written is visible, and the bucket keeps working.
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'broken.jpg' }))).rejects.toMatchObject({ name: 'NotFound' });
    peer.clearFaults();
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'broken.jpg', Body: 'fine' }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'broken.jpg' }))).Body!.transformToString()).toBe('fine');
  });

  test.each([
    ['GetObject', () => new GetObjectCommand({ Bucket: 'uploads', Key: 'plain.jpg' })],
    ['PutObjectTagging', () => new PutObjectTaggingCommand({ Bucket: 'uploads', Key: 'plain.jpg', Tagging: { TagSet: [] } })],
    ['CopyObject', () => new CopyObjectCommand({ Bucket: 'quarantine', Key: 'plain.jpg', CopySource: 'uploads/plain.jpg' })],
    ['ListObjects', () => new ListObjectsV2Command({ Bucket: 'uploads' })],
  ] as const)('a failing %s is InternalError (500); the SDK retried it, then gave up', async (operation, command) => {
    peer.failNext(3, { operation });
    await expect(s3.send(command() as any)).rejects.toMatchObject({ name: 'InternalError', $metadata: expect.objectContaining({ attempts: 3 }) });
    await expect(s3.send(command() as any)).resolves.toBeDefined();
  });

  test('a real file-system failure (the bucket directory replaced by a file) is InternalError too', async () => {
    const objects = path.join(peer.dir, 'quarantine', 'objects');
    await rename(objects, `${objects}.away`);
    await writeFile(objects, 'not a directory');
    try {
      const err = await s3.send(new PutObjectCommand({ Bucket: 'quarantine', Key: 'x.jpg', Body: 'x' })).catch((e) => e);
      expect(err).toMatchObject({ name: 'InternalError' });
      expect(peer.errors.at(-1)!.message).toMatch(/EEXIST|ENOTDIR/);
    } finally {
      await rm(objects);
      await rename(`${objects}.away`, objects);
    }
    await s3.send(new PutObjectCommand({ Bucket: 'quarantine', Key: 'x.jpg', Body: 'x' }));
  });

  test('a client that drops its connection mid-upload leaves the peer serving', async () => {
    const { port } = new URL(peer.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write('PUT /uploads/dropped.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\npartial');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
    });
    await new Promise((r) => setTimeout(r, 50));
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'dropped.jpg' }))).rejects.toMatchObject({ name: 'NotFound' });
    await expect(s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'plain.jpg' }))).resolves.toBeDefined();
  });

  test('completing a multipart upload with a part never uploaded is InvalidPart; a complete one assembles its parts', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'multi/part.bin' }));
    const one = await s3.send(new UploadPartCommand({ Bucket: 'uploads', Key: 'multi/part.bin', UploadId, PartNumber: 1, Body: 'one,' }));
    const complete = (parts: number[]) => s3.send(new CompleteMultipartUploadCommand({
      Bucket: 'uploads', Key: 'multi/part.bin', UploadId, MultipartUpload: { Parts: parts.map((n) => ({ PartNumber: n, ETag: one.ETag })) },
    }));
    await expect(complete([1, 2])).rejects.toMatchObject({ name: 'InvalidPart' });
    await s3.send(new UploadPartCommand({ Bucket: 'uploads', Key: 'multi/part.bin', UploadId, PartNumber: 2, Body: 'two' }));
    await complete([1, 2]);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'multi/part.bin' }))).Body!.transformToString()).toBe('one,two');
  });
});

describe('what the console relies on, as S3 does it', () => {
  test('CopyObject copies the source\'s tags, or replaces them with the REPLACE directive', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'tagged.jpg', Body: 'x' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: 'uploads', Key: 'tagged.jpg', Tagging: { TagSet: [{ Key: 'ics:label', Value: 'bus' }] } }));
    await s3.send(new CopyObjectCommand({ Bucket: 'quarantine', Key: 'copied.jpg', CopySource: 'uploads/tagged.jpg' }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'quarantine', Key: 'copied.jpg' }))).TagSet).toEqual([{ Key: 'ics:label', Value: 'bus' }]);
    await s3.send(new CopyObjectCommand({
      Bucket: 'uploads', Key: 'back.jpg', CopySource: 'quarantine/copied.jpg', TaggingDirective: 'REPLACE', Tagging: 'ics:review=CORRECTED&a%20b=c%26d',
    }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: 'uploads', Key: 'back.jpg' }))).TagSet).toEqual([
      { Key: 'ics:review', Value: 'CORRECTED' }, { Key: 'a b', Value: 'c&d' },
    ]);
  });

  test('conditional writes: If-None-Match * only creates, If-Match only replaces the ETag it names', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'manifest.jsonl', Body: 'a\n', IfNoneMatch: '*' }));
    const again = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'manifest.jsonl', Body: 'b\n', IfNoneMatch: '*' })).catch((e) => e);
    expect(again).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const stale = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'manifest.jsonl', Body: 'c\n', IfMatch: '"0123"' })).catch((e) => e);
    expect(stale).toMatchObject({ name: 'PreconditionFailed' });
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'manifest.jsonl', Body: 'a\nd\n', IfMatch: first.ETag }));
    const body = await (await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'manifest.jsonl' }))).Body!.transformToString();
    expect(body).toBe('a\nd\n');
    const missing = await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'absent.jsonl', Body: 'x', IfMatch: first.ETag })).catch((e) => e);
    expect(missing).toMatchObject({ name: 'NoSuchKey' });
  });

  test('a presigned PUT is checked: signed length and type, signature and expiry', async () => {
    const sign = (len: number, expiresIn = 60) => getSignedUrl(s3, new PutObjectCommand({
      Bucket: 'uploads', Key: 'signed.jpg', ContentType: 'image/jpeg', ContentLength: len,
    }), {
      expiresIn, signableHeaders: new Set(['content-type', 'content-length']), unhoistableHeaders: new Set(['content-type', 'content-length']),
    });
    const url = await sign(3);
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'abc' })).status).toBe(200);
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'abcd' })).status).toBe(403);
    expect((await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: 'abc' })).status).toBe(403);
    const forged = url.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${'0'.repeat(64)}`);
    expect((await fetch(forged, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'abc' })).status).toBe(403);
    const expired = new URL(await sign(3, 1));
    expired.searchParams.set('X-Amz-Date', '20200101T000000Z');
    expect((await fetch(expired, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'abc' })).status).toBe(403);
  });

  test('ListObjectVersions of an unversioned bucket: one "null" version per key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'versions/one.jpg', Body: 'x' }));
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket: 'uploads', Prefix: 'versions/' }));
    expect(out.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([['versions/one.jpg', 'null', true]]);
  });
});
