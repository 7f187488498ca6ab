import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BulkMode, Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Outcome } from 'cdk-image-classification-pipeline';
import { reviewIdOf } from 'cdk-image-classification-pipeline/lib/review/decisions';
import { images } from '../../../test/handlers/fixtures';
import { icsProps } from '../../../test/stacks';
import { LocalConsole } from '../../src/console';
import { ExternalPolicies } from '../../src/iam/template-policies';
import { functionModel } from '../../src/models/function-model';
import { LocalIamOptions, LocalPipeline } from '../../src/runner';
import { CfnTemplate } from '../../src/template-resolver';
import { consoleTemplate, CONSOLE_USERS, KeyedModel, UNSURE } from '../console-fixture';

/**
 * The configurations the README supports, run end to end through the enforcing kit: every call each principal makes
 * (functions, state machines, EventBridge, the event source mapping, Firehose, and S3/SNS/SQS asking KMS for them)
 * must be allowed by the synthesized policies. (The default, direct ingestion, steps and the console's own suites run
 * enforced too; this file holds what they do not cover.)
 */

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);
const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];
const LOW = [0.1, 0.1, 0.1, 0.5, 0.1, 0.1];

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** A bucket you bring, encrypted with its own key with a bucket key, as the kit is told of it. */
const BROUGHT: ExternalPolicies = { encryption: { 'arn:aws:s3:::my-images': { keyArn: KEY_ARN, bucketKey: true } } };
const broughtBucket = (stack: Stack) => s3.Bucket.fromBucketAttributes(stack, 'Images', {
  bucketName: 'my-images', encryptionKey: kms.Key.fromKeyArn(stack, 'ImagesKey', KEY_ARN),
});

function synth(props: (stack: Stack) => Partial<ImageClassificationPipelineProps>, boundary = false): CfnTemplate {
  const stack = new Stack(new App(), 'Matrix');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props(stack) });
  if (boundary) {
    // A platform team's boundary: only the services the README's Permissions section lists.
    const services = ['s3', 'kms', 'sns', 'sqs', 'states', 'lambda', 'logs', 'xray', 'events', 'dynamodb', 'firehose', 'sagemaker', 'rekognition', 'cloudwatch'];
    iam.PermissionsBoundary.of(stack).apply(new iam.ManagedPolicy(stack, 'Boundary', {
      statements: [new iam.PolicyStatement({ actions: services.map((s) => `${s}:*`), resources: ['*'] })],
    }));
  }
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

const byBytes = (table: Array<[Buffer, number[]]>, fallback = FLAGGED) => {
  const answers = new Map(table.map(([b, s]) => [sha(b), s]));
  return functionModel((bytes) => answers.get(sha(bytes)) ?? fallback);
};

async function enforced(
  template: CfnTemplate, run: (local: LocalPipeline) => Promise<void>, more: { iam?: LocalIamOptions; rekognition?: any } = {},
) {
  const local = await LocalPipeline.start({
    template, models: { vehicles: byBytes([[imageFor(2), LOW]]) }, rekognition: more.rekognition, iam: more.iam,
  });
  try {
    await run(local);
    expect(local.denials.map((d) => d.message)).toEqual([]);
    // Calls were authorized at all (the gateway is on): a run that made none would prove nothing.
    expect(local.gateway.records.length).toBeGreaterThan(5);
  } finally {
    await local.close();
  }
}

describe('the supported configurations run end to end through the enforcing kit with zero denials', () => {
  test('Rekognition labels with quarantine', () => enforced(
    synth(() => ({
      classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Motorcycle'] }),
      classLabels: undefined,
      flaggedLabels: ['Motorcycle'],
      inputPrefix: 'cams/',
      quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
    })),
    async (local) => {
      expect((await local.upload('cams/1.jpg', imageFor(1))).result.outcome).toBe('FLAGGED');
      expect((await local.upload('cams/2.jpg', imageFor(2))).result).toMatchObject({ outcome: 'LOW_CONFIDENCE', quarantine: { key: 'quarantine/cams/2.jpg' } });
    },
    { rekognition: { detectLabels: { labels: ['Car', 'Motorcycle'], model: byBytes([[imageFor(2), [0.5, 0.1]]], [0.01, 0.97]) } } },
  ));

  test('Rekognition moderation', () => enforced(
    synth(() => ({ classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined })),
    async (local) => {
      expect((await local.upload('cams/1.jpg', imageFor(1))).status).not.toBe('NOT_TRIGGERED');
    },
    { rekognition: { detectModerationLabels: { labels: ['Explicit Nudity'], model: byBytes([], [0.99]) } } },
  ));

  test('inline bulk mode over a prefix', () => enforced(synth(() => ({ bulkMode: BulkMode.inline() })), async (local) => {
    await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'site/1.jpg', Body: imageFor(1) }));
    expect((await local.startBulkExecution({ images: [{ key: 'site/1.jpg' }] })).status).toBe('SUCCEEDED');
  }));

  test('distributed bulk mode with a CSV manifest, on a bucket you bring with its own key', () => enforced(
    synth((stack) => ({ bucket: broughtBucket(stack), bulkMode: BulkMode.distributed() })),
    async (local) => {
      const client = local.s3.client();
      await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'site/1.jpg', Body: imageFor(1) }));
      await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'manifests/batch.csv', Body: 'site/1.jpg\n' }));
      const run = await local.startBulkExecution({ manifest: { key: 'manifests/batch.csv', format: 'CSV' } });
      expect(run.status).toBe('SUCCEEDED');
      // The manifest was read, the results written and the image read through S3 with the bucket's own key.
      expect(local.gateway.records.filter((r) => r.action.startsWith('kms:') && r.resource === KEY_ARN).length).toBeGreaterThan(0);
    },
    { iam: { external: BROUGHT } },
  ));

  test('a stack-wide permissions boundary allowing only the README\'s services', () => enforced(
    synth(() => ({ inputPrefix: 'cams/', quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' } }), true),
    async (local) => {
      expect((await local.upload('cams/1.jpg', imageFor(1))).result.outcome).toBe('FLAGGED');
      expect((await local.upload('cams/2.jpg', imageFor(2))).result.outcome).toBe('LOW_CONFIDENCE');
      expect(await local.readAuditTrail()).toHaveLength(2);
    },
  ));

  test('a bucket you bring with its own key, with quarantine, review and the console: a reviewer releases an image', async () => {
    const model = new KeyedModel();
    const template = consoleTemplate((stack) => ({ bucket: broughtBucket(stack) }));
    const local = await LocalConsole.start({
      template, models: { vehicles: model.backend }, users: CONSOLE_USERS.map((u) => ({ ...u, groups: [...u.groups] })), iam: { external: BROUGHT },
    });
    try {
      const bytes = model.answer(imageFor(9), UNSURE);
      const run = await local.pipeline.upload('uploads/cam/9.jpg', bytes);
      expect(run.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', quarantine: { key: 'quarantine/uploads/cam/9.jpg' } });
      const config = await (await fetch(`${local.url}config.json`)).json() as any;
      const signIn = await (await fetch(config.cognitoEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
        body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: config.userPoolClientId, AuthParameters: { USERNAME: 'alice', PASSWORD: 'Alice-pass-123' } }),
      })).json() as any;
      const reviewId = reviewIdOf(local.pipeline.bucketName, 'uploads/cam/9.jpg', run.input?.object?.versionId);
      const decided = await fetch(`${local.api.url}/api/reviews/${reviewId}/decision`, {
        method: 'POST',
        headers: { 'authorization': `Bearer ${signIn.AuthenticationResult.IdToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'bus', release: true }),
      });
      expect(await decided.json()).toMatchObject({ status: 'DECIDED', released: true });
      // The released copy is classified again at its key: it consumes the release, neither quarantined nor alerted again.
      const again = await local.pipeline.whenProcessed('uploads/cam/9.jpg');
      expect(again.states).toEqual(expect.arrayContaining(['ConsumeRelease', 'MarkReleased']));
      expect(again.states).not.toContain('CopyToQuarantine');
      expect(again.alerts).toEqual([]);
      expect(local.pipeline.denials.map((d) => d.message)).toEqual([]);
    } finally {
      await local.close();
    }
  });
});
