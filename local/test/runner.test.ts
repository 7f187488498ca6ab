import { createHash } from 'crypto';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { App, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AuditTrail, ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion, Outcome } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { objectCreatedEvent } from '../src/event-pattern';
import { functionModel } from '../src/models/function-model';
import { HANDLERS_DIR, LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Vehicle-label score vectors (bicycle, motorcycle, pickup_truck, bus, tank, tractor). */
const SCORES = {
  flaggedMotorcycle: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025],
  acceptedBus: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005],
  unsureTractor: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5],
};
/** A real image per scenario: same picture, distinct bytes (the model keys its answer on the bytes). */
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

function synth(
  props: Partial<ImageClassificationPipelineProps> = {},
  configure?: (stack: Stack) => Partial<ImageClassificationPipelineProps>,
): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  // Today's path: the rule starts each execution (queued ingestion has its own suite, queued-ingestion.test.ts).
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), ...props, ...configure?.(stack) });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('the synthesized pipeline with direct ingestion, run locally end to end', () => {
  let local: LocalPipeline;
  const answers = new Map<string, unknown>();
  beforeAll(async () => {
    answers.set(sha(imageFor(1)), SCORES.flaggedMotorcycle);
    answers.set(sha(imageFor(2)), SCORES.acceptedBus);
    answers.set(sha(imageFor(3)), SCORES.unsureTractor);
    answers.set(sha(imageFor(4)), { oops: 'not scores' });
    answers.set(sha(images.png), SCORES.acceptedBus);
    local = await LocalPipeline.start({
      template: synth({ maxImageSize: Size.kibibytes(1) }),
      models: { vehicles: functionModel((bytes) => (answers.get(sha(bytes)) ?? SCORES.acceptedBus) as any) },
    });
  });
  afterAll(async () => {
    // Every call of the suite ran through the enforcing gateway; none was one AWS would deny.
    const denials = local?.denials.map((d) => d.message) ?? [];
    await local?.close();
    expect(denials).toEqual([]);
  });

  test('FLAGGED: alert with attributes, execution succeeds with the result', async () => {
    const run = await local.upload('cams/gate-1.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', lambdaInvocations: 1 });
    expect(run.output).toMatchObject({ outcome: 'FLAGGED', label: 'motorcycle', confidence: 0.97, bucket: local.bucketName, key: 'cams/gate-1.jpg', format: 'jpeg' });
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0].messageAttributes).toEqual({
      outcome: { dataType: 'String', stringValue: 'FLAGGED' },
      label: { dataType: 'String', stringValue: 'motorcycle' },
    });
    expect(JSON.parse(run.alerts[0].message)).toEqual(run.output);
    // The real endpoint protocol was used: the peer saw the image bytes with the sniffed type.
    expect(local.sagemaker.invocations.at(-1)).toMatchObject({ endpointName: 'vehicles', contentType: 'image/jpeg', status: 200 });
  });

  test('actions on the real object: tags merged with its own, audit record in the audit bucket, result event', async () => {
    const client = local.s3.client();
    await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'cams/tagged.jpg', Body: imageFor(1) }));
    await client.send(new PutObjectTaggingCommand({ Bucket: local.bucketName, Key: 'cams/tagged.jpg', Tagging: { TagSet: [{ Key: 'camera', Value: 'gate-1' }] } }));
    const run = await local.putEvent(objectCreatedEvent(local.bucketName, 'cams/tagged.jpg', imageFor(1).length, 'etag'));

    expect(run.status).toBe('SUCCEEDED');
    // s3rver parses tag XML with fast-xml-parser, which turns "0.9700" into 0.97; S3 keeps the string.
    expect(run.tags).toEqual({ 'camera': 'gate-1', 'ics:label': 'motorcycle', 'ics:confidence': expect.stringMatching(/^0\.97(00)?$/), 'ics:outcome': 'FLAGGED' });
    expect(run.auditRecords).toHaveLength(1);
    const { bucket, key, record } = run.auditRecords[0];
    expect(record).toEqual(run.output);
    // The default delivery: into the audit delivery stream, which writes GZIP JSON lines under results/yyyy/MM/dd/.
    expect(key).toMatch(/^results\/\d{4}\/\d{2}\/\d{2}\/IcsAuditStream[0-9A-F]{8}-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}\.gz$/);
    await local.flushAuditTrail();
    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const lines = gunzipSync(await stored.Body!.transformToByteArray()).toString('utf8').split('\n');
    expect(lines.filter((l) => l !== '').map((l) => JSON.parse(l))).toContainEqual(run.output);
    expect(run.events).toEqual([{ source: 'cdk-image-classification-pipeline', detailType: 'ImageClassified', detail: run.output }]);
  });

  test('ERROR images are audited and evented too', async () => {
    const run = await local.upload('cams/blank.jpg', Buffer.alloc(0));
    expect(run.auditRecords.map((a) => a.record.error.name)).toEqual(['EmptyObject']);
    expect(run.events.map((e) => e.detail.outcome)).toEqual(['ERROR']);
  });

  test('ACCEPTED: no alert', async () => {
    const run = await local.upload('cams/gate-2.JPG', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label: 'bus' }, alerts: [] });
  });

  test('LOW_CONFIDENCE: alert, then the execution fails with LowConfidence', async () => {
    const run = await local.upload('cams/gate-3.jpeg', imageFor(3));
    expect(run).toMatchObject({ status: 'FAILED', error: 'LowConfidence', result: { outcome: 'LOW_CONFIDENCE', label: 'tractor' } });
    expect(run.alerts).toHaveLength(1);
  });

  test('keys outside the suffix filter start nothing', async () => {
    expect((await local.upload('notes/readme.txt', 'hello')).status).toBe('NOT_TRIGGERED');
  });

  test.each([
    ['empty object', 'cams/empty.jpg', Buffer.alloc(0), 'EmptyObject'],
    ['truncated JPEG', 'cams/cut.jpg', images.jpeg.subarray(0, 200), 'TruncatedImage'],
    ['text named .jpg', 'cams/notes.jpg', Buffer.from('this is a text file, not a photo'), 'UnsupportedImageFormat'],
    ['oversized image', 'cams/big.png', images.png, 'ImageTooLarge'],
    ['malformed model response', 'cams/odd.jpg', imageFor(4), 'MalformedModelResponse'],
  ])('%s → ERROR %s, alerted, never lost', async (_what, key, bytes, errorName) => {
    const run = await local.upload(key, bytes);
    expect(run).toMatchObject({ status: 'FAILED', error: errorName });
    expect(run.result).toMatchObject({ outcome: 'ERROR', key, error: { name: errorName } });
    expect(run.alerts.map((a) => a.messageAttributes.error?.stringValue)).toEqual([errorName]);
  });

  test.each([
    'cams/görüntü 1.jpg',
    'cams/a+b (1).jpg',
    'cams/100% sure.jpg',
    'cams/日本/車.jpg',
  ])('odd key %s is read as stored', async (key) => {
    const run = await local.upload(key, imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { key, outcome: 'ACCEPTED' } });
  });

  test('endpoint 5xx then success: retried, classified', async () => {
    // The SDK retries once inside the handler; three failures reach the workflow's retry.
    local.sagemaker.failNext('vehicles', 3, 500);
    const run = await local.upload('cams/retry.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
    expect(run.lambdaInvocations).toBe(2);
  });

  test('endpoint down: retried, then ERROR EndpointUnavailable with an alert', async () => {
    local.sagemaker.setDown('vehicles', true);
    try {
      const run = await local.upload('cams/down.jpg', imageFor(2));
      expect(run).toMatchObject({ status: 'FAILED', error: 'EndpointUnavailable', result: { outcome: 'ERROR' } });
      expect(run.lambdaInvocations).toBe(5);
      expect(run.alerts).toHaveLength(1);
    } finally {
      local.sagemaker.setDown('vehicles', false);
    }
  });

  test('a manual start with a bad input ends as InvalidInput with an alert', async () => {
    const run = await local.startExecution({ Records: [] });
    expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInput', lambdaInvocations: 0 });
    expect(run.alerts).toHaveLength(1);
  });
});

describe('the object-per-image audit trail, run locally', () => {
  test('each record is its own object, results/yyyy/mm/dd/<execution name>.json, as soon as the execution ends', async () => {
    const local = await LocalPipeline.start({
      template: synth({ auditTrail: { delivery: AuditTrail.objectPerImage() } }),
      models: { vehicles: functionModel(() => SCORES.flaggedMotorcycle) },
    });
    try {
      expect(local.firehose).toBeUndefined();
      const run = await local.upload('cams/own-object.jpg', imageFor(1));
      const { bucket, key, record } = run.auditRecords[0];
      expect(record).toEqual(run.output);
      expect(key).toMatch(new RegExp(`^results/\\d{4}/\\d{2}/\\d{2}/${run.executionArn.split(':').pop()}\\.json$`));
      const stored = await local.s3.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(JSON.parse(await stored.Body!.transformToString())).toEqual(run.output);
      expect(await local.readAuditTrail()).toEqual([run.output]);
    } finally {
      await local.close();
    }
  });
});

describe('quarantine, run locally', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    local = await LocalPipeline.start({
      template: synth({ inputPrefix: 'uploads/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' } }),
      models: { vehicles: functionModel((bytes) => (sha(bytes) === sha(imageFor(1)) ? SCORES.flaggedMotorcycle : SCORES.acceptedBus)) },
    });
  });
  afterAll(() => local?.close());

  test('a FLAGGED image is moved: copied under quarantine/, then the original deleted', async () => {
    const run = await local.upload('uploads/gate 1+a.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', quarantine: { bucket: local.bucketName, key: 'quarantine/uploads/gate 1+a.jpg' } } });
    const client = local.s3.client();
    await expect(client.send(new GetObjectCommand({ Bucket: local.bucketName, Key: 'uploads/gate 1+a.jpg' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    const moved = await client.send(new GetObjectCommand({ Bucket: local.bucketName, Key: 'quarantine/uploads/gate 1+a.jpg' }));
    expect(Buffer.from(await moved.Body!.transformToByteArray()).equals(imageFor(1))).toBe(true);
    // The quarantine copy is outside the input prefix, so it starts no execution of its own.
    expect((await local.putEvent(objectCreatedEvent(local.bucketName, 'quarantine/uploads/gate 1+a.jpg', 1, 'e'))).status).toBe('NOT_TRIGGERED');
  });

  test('an ACCEPTED image stays where it is', async () => {
    const run = await local.upload('uploads/bus.jpg', imageFor(2));
    expect(run.output.quarantine).toBeUndefined();
    expect(run.tags?.['ics:outcome']).toBe('ACCEPTED');
  });
});

describe('a failing action, run locally', () => {
  test('quarantine into a bucket that does not exist: retried, then ERROR ActionFailed, alerted and audited', async () => {
    const local = await LocalPipeline.start({
      template: synth({}, (stack) => ({ quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'q/', bucket: s3.Bucket.fromBucketName(stack, 'Gone', 'deleted-bucket') } })),
      models: { vehicles: functionModel(() => SCORES.flaggedMotorcycle) },
    });
    try {
      const run = await local.upload('cams/x.jpg', imageFor(1));
      expect(run).toMatchObject({ status: 'FAILED', error: 'ActionFailed' });
      expect(run.states.filter((s) => s === 'CopyToQuarantine')).toHaveLength(1);
      expect(run.alerts.map((a) => a.messageAttributes.error?.stringValue)).toEqual(['ActionFailed']);
      expect(run.auditRecords[0].record).toMatchObject({ outcome: 'ERROR', label: 'motorcycle', error: { name: 'ActionFailed', action: 'Quarantine' } });
      expect(run.auditRecords[0].record.error.cause).toMatch(/NoSuchBucket/);
      // Nothing lost: the original is still there.
      await expect(local.s3.client().send(new GetObjectCommand({ Bucket: local.bucketName, Key: 'cams/x.jpg' }))).resolves.toBeDefined();
    } finally {
      await local.close();
    }
  });
});

describe('faithfulness', () => {
  test('refuses a definition with JSONata states', async () => {
    const template = synth();
    const sm = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    const parts = sm.Properties.DefinitionString['Fn::Join'][1];
    parts[0] = parts[0].replace('{"StartAt"', '{"QueryLanguage":"JSONata","StartAt"');
    await expect(LocalPipeline.start({ template, models: {} })).rejects.toThrow(/uses JSONata, which aws-local-stepfunctions ignores/);
  });
});

describe('runner options', () => {
  test('a relative handlersDir is read from the working directory', async () => {
    const local = await LocalPipeline.start({
      template: synth(),
      models: { vehicles: functionModel(() => SCORES.flaggedMotorcycle) },
      handlersDir: path.relative(process.cwd(), HANDLERS_DIR),
    });
    try {
      expect((await local.upload('cams/rel.jpg', imageFor(1))).result.outcome).toBe('FLAGGED');
    } finally {
      await local.close();
    }
  });
});
