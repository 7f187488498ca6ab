import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, PutObjectTaggingCommand, S3Client,
} from '@aws-sdk/client-s3';
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
