import { createHash } from 'crypto';
import { GetObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, ModerationCategory, Outcome } from 'cdk-image-classification-pipeline';
import { DeployTheModelStack } from '../../examples/deploy-the-model/stack';
import { images } from '../../test/handlers/fixtures';
import { objectCreatedEvent } from '../src/event-pattern';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate, physicalName } from '../src/template-resolver';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Same picture, distinct bytes: the local model keys its answer on the bytes. */
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

function synth(props: ImageClassificationPipelineProps): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', props);
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** A model answering per image from a table, with a default. */
function tableModel(labels: string[], table: Map<string, number[]>, fallback: number[]) {
  return { labels, model: functionModel((bytes) => table.get(sha(bytes)) ?? fallback) };
}

describe('Rekognition DetectLabels, run locally end to end (no Lambda)', () => {
  let local: LocalPipeline;
  // Car, Motorcycle, Truck, Person (Person is outside the label filter)
  const answers = new Map<string, number[]>();
  beforeAll(async () => {
    answers.set(sha(imageFor(1)), [0.01, 0.9712345, 0.01, 0.99]);
    answers.set(sha(imageFor(2)), [0.91, 0.02, 0.55, 0]);
    answers.set(sha(imageFor(3)), [0.62, 0.02, 0.1, 0]);
    answers.set(sha(imageFor(4)), [0.1, 0.1, 0.1, 0.1]);
    local = await LocalPipeline.start({
      template: synth({
        classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Motorcycle', 'Truck'], minConfidence: 50 }),
        flaggedLabels: ['Motorcycle'],
        inputPrefix: 'uploads/',
        quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'review/' },
      }),
      models: {},
      rekognition: { detectLabels: tableModel(['Car', 'Motorcycle', 'Truck', 'Person'], answers, [0.9, 0, 0, 0]) },
      // Throttling outlasting the workflow's retries waits in the ingest queue: AWS's backoff, 20 times faster.
      timeScale: 0.05,
    });
  });
  afterAll(() => local?.close());

  test('FLAGGED: the result has the classify function\'s shape, confidences scaled to 0–1', async () => {
    const run = await local.upload('uploads/gate.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', lambdaInvocations: 0 });
    expect(run.output).toEqual({
      schemaVersion: '1.1',
      outcome: 'FLAGGED',
      bucket: local.bucketName,
      key: 'uploads/gate.jpg',
      label: 'Motorcycle',
      confidence: 0.9712,
      threshold: 0.8,
      // Person scored 99 but is outside the label filter; Car and Truck are below minConfidence.
      scores: { Motorcycle: 0.9712 },
      topK: [{ label: 'Motorcycle', score: 0.9712 }],
      modelEndpoint: 'rekognition:DetectLabels',
      executionArn: run.executionArn,
      classifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(run.alerts.map((a) => a.messageAttributes.label.stringValue)).toEqual(['Motorcycle']);
    expect(run.auditRecords.map((r) => r.record)).toEqual([run.output]);
    expect(run.tags).toEqual({ 'ics:label': 'Motorcycle', 'ics:confidence': expect.stringMatching(/^0\.9712$/), 'ics:outcome': 'FLAGGED' });
    expect(local.rekognition.requests.at(-1)).toEqual({ operation: 'DetectLabels', bucket: local.bucketName, key: 'uploads/gate.jpg' });
  });

  test('ACCEPTED: the object\'s own tags are kept', async () => {
    const client = local.s3.client();
    await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'uploads/car.jpg', Body: imageFor(2) }));
    await client.send(new PutObjectTaggingCommand({
      Bucket: local.bucketName,
      Key: 'uploads/car.jpg',
      Tagging: { TagSet: [{ Key: 'camera', Value: 'gate-2' }, { Key: 'ics:outcome', Value: 'stale' }] },
    }));
    const run = await local.putEvent(objectCreatedEvent(local.bucketName, 'uploads/car.jpg', imageFor(2).length, 'etag'));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ outcome: 'ACCEPTED', label: 'Car', confidence: 0.91, scores: { Car: 0.91, Truck: 0.55 } });
    expect(run.output.topK).toEqual([{ label: 'Car', score: 0.91 }, { label: 'Truck', score: 0.55 }]);
    expect(run.alerts).toHaveLength(0);
    expect(run.tags).toEqual({ 'camera': 'gate-2', 'ics:label': 'Car', 'ics:confidence': expect.stringMatching(/^0\.91(00)?$/), 'ics:outcome': 'ACCEPTED' });
  });

  test('LOW_CONFIDENCE: quarantined under an encoded key, then the execution fails for review', async () => {
    const key = 'uploads/night shot+ü.jpg';
    const run = await local.upload(key, imageFor(3));
    expect(run).toMatchObject({ status: 'FAILED', error: 'LowConfidence' });
    expect(run.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'Car', confidence: 0.62, quarantine: { key: `review/${key}` } });
    // CopyObject took the URL-encoded copy source the JSONata state built (s3rver does not copy tags).
    const moved = await local.s3.client().send(new GetObjectCommand({ Bucket: local.bucketName, Key: `review/${key}` }));
    expect(sha(await moved.Body!.transformToByteArray())).toBe(sha(imageFor(3)));
    expect(run.tags).toBeUndefined(); // the original is gone
  });

  test('no label at or above minConfidence: Unlabeled, confidence 0, LOW_CONFIDENCE', async () => {
    const run = await local.upload('uploads/fog.jpg', imageFor(4));
    expect(run.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'Unlabeled', confidence: 0, scores: {}, topK: [] });
  });

  test.each([
    ['a GIF (Rekognition reads JPEG and PNG only)', 'uploads/anim.gif', images.gif, 'UnsupportedImageFormat', 'Rekognition.InvalidImageFormatException'],
    ['text named .jpg', 'uploads/fake.jpg', Buffer.from('not an image'), 'UnsupportedImageFormat', 'Rekognition.InvalidImageFormatException'],
    ['a truncated JPEG', 'uploads/cut.jpg', images.jpeg.subarray(0, 200), 'UnsupportedImageFormat', 'Rekognition.InvalidImageFormatException'],
  ])('%s: ERROR with a named error, alerted and audited', async (_name, key, body, error, original) => {
    const run = await local.upload(key, body);
    expect(run).toMatchObject({ status: 'FAILED', error });
    expect(run.result).toMatchObject({ outcome: 'ERROR', key, modelEndpoint: 'rekognition:DetectLabels', error: { name: error, cause: expect.stringContaining(original) } });
    expect(run.alerts.map((a) => a.messageAttributes.error.stringValue)).toEqual([error]);
    expect(run.auditRecords).toHaveLength(1);
  });

  test('a missing object: ObjectNotFound', async () => {
    const run = await local.startExecution({ bucket: local.bucketName, key: 'uploads/gone.jpg' });
    expect(run).toMatchObject({ status: 'FAILED', error: 'ObjectNotFound' });
    // Reading its tags fails first, with the name Step Functions gives S3's NoSuchKey.
    expect(run.result.error.cause).toContain('S3.NoSuchKeyException');
    expect(run.auditRecords).toHaveLength(1);
  });

  test('throttling is retried, then the image is classified', async () => {
    local.rekognition.failNext(2, 'ThrottlingException');
    const run = await local.upload('uploads/busy.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
    expect(run.states.filter((s) => s === 'Classify')).toHaveLength(1);
    expect(local.rekognition.requests.slice(-3).map((r) => r.errorType)).toEqual(['ThrottlingException', 'ThrottlingException', undefined]);
  });

  test('an internal error (Rekognition.InternalServerErrorException, as Step Functions names it) is retried', async () => {
    local.rekognition.failNext(1, 'InternalServerError');
    const run = await local.upload('uploads/blip.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
    expect(local.rekognition.requests.slice(-2).map((r) => r.errorType)).toEqual(['InternalServerError', undefined]);
  });

  test('throttling beyond the workflow\'s retries waits in the ingest queue, then the image is classified', async () => {
    local.rekognition.failNext(5, 'ThrottlingException');
    const run = await local.upload('uploads/storm.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
    expect(run.attempts!.map((a) => a.error)).toEqual(['ClassificationDeferred', undefined]);
    expect(run.alerts).toHaveLength(0);
    expect(run.auditRecords).toHaveLength(1);
  });

  test('an execution started without the queue (direct, or its last receive): ERROR EndpointThrottled after the retries', async () => {
    await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'uploads/storm-2.jpg', Body: imageFor(2) }));
    local.rekognition.failNext(5, 'ThrottlingException');
    const run = await local.startExecution({ bucket: local.bucketName, key: 'uploads/storm-2.jpg' });
    expect(run).toMatchObject({ status: 'FAILED', error: 'EndpointThrottled' });
    expect(run.alerts).toHaveLength(1);
  });
});

describe('Rekognition DetectModerationLabels, run locally end to end', () => {
  let local: LocalPipeline;
  const answers = new Map<string, number[]>();
  beforeAll(async () => {
    answers.set(sha(imageFor(1)), [0.01, 0.95, 0.3]);
    answers.set(sha(imageFor(2)), [0.05, 0.1, 0.19]);
    answers.set(sha(imageFor(3)), [0.01, 0.02, 0.5]);
    local = await LocalPipeline.start({
      template: synth({ classifier: Classifier.rekognitionModeration() }),
      models: {},
      rekognition: {
        detectModerationLabels: tableModel(
          [ModerationCategory.EXPLICIT, ModerationCategory.VIOLENCE, ModerationCategory.ALCOHOL], answers, [0, 0, 0]),
      },
    });
  });
  afterAll(() => local?.close());

  test('a moderation category at or above the threshold is FLAGGED without listing flaggedLabels', async () => {
    const run = await local.upload('fight.jpg', imageFor(1));
    expect(run.output).toMatchObject({ outcome: 'FLAGGED', label: 'Violence', confidence: 0.95, modelEndpoint: 'rekognition:DetectModerationLabels' });
  });

  test('nothing at or above minConfidence (1 - threshold): Safe, ACCEPTED', async () => {
    const run = await local.upload('class-photo.jpg', imageFor(2));
    expect(run.output).toMatchObject({ outcome: 'ACCEPTED', label: 'Safe', confidence: 0.8 });
  });

  test('a category between minConfidence and the threshold: LOW_CONFIDENCE, for review', async () => {
    const run = await local.upload('party.jpg', imageFor(3));
    expect(run).toMatchObject({ status: 'FAILED', error: 'LowConfidence', result: { outcome: 'LOW_CONFIDENCE', label: 'Alcohol', confidence: 0.5 } });
  });
});

describe('a model deployed with the pipeline (ClassifierEndpoint), run locally end to end', () => {
  test('the classify function invokes the endpoint the stack creates, with the content type its container requires', async () => {
    const stack = new DeployTheModelStack(new App(), 'Deployed');
    const template = Template.fromStack(stack).toJSON() as CfnTemplate;
    const endpointName = physicalName(stack.getLogicalId(stack.endpoint.endpoint), 'AWS::SageMaker::Endpoint');
    const local = await LocalPipeline.start({
      template,
      models: { [endpointName]: functionModel(() => [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025]) },
    });
    try {
      const run = await local.upload('gate.jpg', images.jpeg);
      expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', label: 'motorcycle', modelEndpoint: endpointName } });
      expect(local.sagemaker.invocations.at(-1)).toMatchObject({ endpointName, contentType: 'application/x-image', status: 200 });
    } finally {
      await local.close();
    }
  });
});

describe('Rekognition and URL-encoded keys, run locally', () => {
  test('an event naming the key URL-encoded (as S3 notifications do) classifies the object under the decoded key', async () => {
    const local = await LocalPipeline.start({
      template: synth({ classifier: Classifier.rekognitionLabels({ labels: ['Car'] }) }),
      models: {},
      rekognition: { detectLabels: { labels: ['Car'], model: functionModel(() => [0.9]) } },
    });
    try {
      const key = 'cams/night shot+1ü.jpg';
      await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: key, Body: images.jpeg }));
      const encoded = encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
      const run = await local.putEvent(objectCreatedEvent(local.bucketName, encoded, images.jpeg.length, 'etag'));
      expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', key } });
      expect(run.states.filter((s) => s === 'RetryWithDecodedKey')).toHaveLength(1);
      const missing = await local.putEvent(objectCreatedEvent(local.bucketName, 'cams/gone+1.jpg', 1, 'etag'));
      expect(missing).toMatchObject({ status: 'FAILED', error: 'ObjectNotFound' });
    } finally {
      await local.close();
    }
  });
});
