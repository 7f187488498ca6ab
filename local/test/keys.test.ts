import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

/** Vehicle-label scores (bicycle, motorcycle, pickup_truck, bus, tank, tractor): an ACCEPTED bus. */
const BUS = [0.01, 0.01, 0.01, 0.96, 0.005, 0.005];

/** A key of exactly `bytes` UTF-8 bytes: `cams/` + filler (2-byte characters where possible) + `.jpg`. */
function keyOfBytes(bytes: number): string {
  const room = bytes - 'cams/'.length - '.jpg'.length;
  const key = `cams/${'é'.repeat(Math.floor(room / 2))}${'x'.repeat(room % 2)}.jpg`;
  expect(Buffer.byteLength(key)).toBe(bytes);
  return key;
}

// S3 keys are any UTF-8 up to 1,024 bytes (User Guide, "Naming Amazon S3 objects"): every one of them is an image
// the pipeline classifies, end to end, with its tags and audit record on the exact key.
describe('any key S3 accepts, classified end to end', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const stack = new Stack(new App(), 'Keys');
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct() });
    local = await LocalPipeline.start({
      template: Template.fromStack(stack).toJSON() as CfnTemplate,
      models: { vehicles: functionModel(() => BUS) },
    });
  });
  afterAll(() => local?.close());

  test.each([
    ['a 300-byte segment', `cams/${'s'.repeat(296)}.jpg`],
    ['a 1,024-byte key', keyOfBytes(1024)],
    ['unicode', 'cams/写真 🚗/ünïcödé – ﬁle.jpg'],
    ['spaces, plus and percent', 'cams/a b+c%20d%.jpg'],
    ['query and fragment characters', 'cams/q?x=1&y=2#frag.jpg'],
    ['quotes and shell characters', 'cams/"double" \'single\' `back` $HOME;|&.jpg'],
    ['consecutive slashes', 'cams//two//slashes.jpg'],
    ['a leading slash', '/cams/leading.jpg'],
    ['relative path segments', 'cams/../up/./here.jpg'],
  ])('%s', async (_what, key) => {
    const run = await local.upload(key, images.jpeg);
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label: 'bus', bucket: local.bucketName, key } });
    expect(run.tags).toMatchObject({ 'ics:outcome': 'ACCEPTED', 'ics:label': 'bus' });
    expect(run.auditRecords).toHaveLength(1);
    expect(run.auditRecords[0].record).toEqual(run.output);
    // The record lands in the delivery stream's GZIP object the execution was told about.
    await local.flushAuditTrail();
    const stored = await local.s3.client().send(new GetObjectCommand({ Bucket: run.auditRecords[0].bucket, Key: run.auditRecords[0].key }));
    const lines = gunzipSync(await stored.Body!.transformToByteArray()).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ key, outcome: 'ACCEPTED', executionArn: run.executionArn }));
  });

  test('a 1,025-byte key is refused as S3 refuses it, KeyTooLongError (400), and starts nothing', async () => {
    const executions = local.executions.length;
    await expect(local.upload(keyOfBytes(1025), images.jpeg)).rejects.toMatchObject({
      name: 'KeyTooLongError',
      $metadata: expect.objectContaining({ httpStatusCode: 400 }),
    });
    expect(local.executions).toHaveLength(executions);
  });

  test('a failing store fails that execution with a named error; the next upload succeeds in the same process', async () => {
    const key = `cams/${'d'.repeat(300)}/disk-error.jpg`;
    const errors = local.s3.errors.length;
    local.s3.failNext(Infinity, { operation: 'GetObject', key });
    try {
      const run = await local.upload(key, images.jpeg);
      expect(run).toMatchObject({ status: 'FAILED', error: 'S3Unavailable', result: { outcome: 'ERROR', key, error: { name: 'S3Unavailable' } } });
      expect(run.cause).toMatch(/InternalError/);
      expect(run.alerts.map((a) => a.messageAttributes.error?.stringValue)).toEqual(['S3Unavailable']);
      expect(run.auditRecords.map((a) => a.record.error.name)).toEqual(['S3Unavailable']);
      // The peer answered each read 500 InternalError and recorded why.
      expect(local.s3.errors.slice(errors).length).toBeGreaterThan(0);
      expect(local.s3.errors.slice(errors).every((e) => e.method === 'GET' && /EIO/.test(e.message))).toBe(true);
    } finally {
      local.s3.clearFaults();
    }
    const next = await local.upload('cams/after-the-failure.jpg', images.jpeg);
    expect(next).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
  });

  test('a failing write of an action fails that execution as the action\'s error, named as Step Functions names S3\'s', async () => {
    const key = 'cams/tag-write-fails.jpg';
    local.s3.failNext(Infinity, { operation: 'PutObjectTagging', key });
    try {
      const run = await local.upload(key, images.jpeg);
      expect(run).toMatchObject({ status: 'FAILED', error: 'ActionFailed', result: { outcome: 'ERROR', key } });
      // InternalError is not in S3's SDK model: Step Functions reports the SDK's base exception, the status in the cause.
      expect(run.result.error.cause).toMatch(/S3\.S3Exception: .*\(Service: S3, Status Code: 500/);
      expect(run.auditRecords).toHaveLength(1);
    } finally {
      local.s3.clearFaults();
    }
    expect((await local.upload('cams/tags-work-again.jpg', images.jpeg)).status).toBe('SUCCEEDED');
  });
});
