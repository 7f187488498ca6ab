import { createHash } from 'crypto';
import { App, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { deliveredTo, subjectProblem } from '../src/peers/sns';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Vehicle-label scores (bicycle, motorcycle, pickup_truck, bus, tank, tractor). */
const SCORES = { flagged: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025], unsure: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5] };
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

/** Email and SMS subscribers read a text; every machine protocol keeps the result JSON (issue 27). */
describe('alerts a person can read, through the local pipeline and the SNS peer applying SNS\'s rules', () => {
  let local: LocalPipeline;
  const answers = new Map<string, unknown>([[sha(imageFor(1)), SCORES.flagged], [sha(imageFor(3)), SCORES.unsure]]);
  beforeAll(async () => {
    const stack = new Stack(new App(), 'Local');
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), maxImageSize: Size.kibibytes(1) });
    local = await LocalPipeline.start({
      template: Template.fromStack(stack).toJSON() as CfnTemplate,
      models: { vehicles: functionModel((bytes) => (answers.get(sha(bytes)) ?? SCORES.flagged) as any) },
    });
  });
  afterAll(async () => {
    await local?.close();
  });

  const machineProtocols = ['sqs', 'lambda', 'http', 'https', 'firehose'] as const;

  test('FLAGGED: the email text, and the result JSON for machines', async () => {
    const run = await local.upload('cams/gate-1.jpg', imageFor(1));
    expect(run.status).toBe('SUCCEEDED');
    const [alert] = run.alerts;
    expect(alert).toMatchObject({ subject: 'FLAGGED: motorcycle 97% - cams/gate-1.jpg', messageStructure: 'json' });
    expect(JSON.parse(alert.message)).toEqual(run.output);
    for (const p of machineProtocols) expect(deliveredTo(alert, p)).toBe(alert.message);
    const email = deliveredTo(alert, 'email');
    expect(email).toMatch(/^FLAGGED: motorcycle with 97% confidence \(threshold 94%\)\.\n/);
    expect(email).toContain(`\nImage:       s3://${local.bucketName}/cams/gate-1.jpg\n`);
    expect(email).toContain(`\nWhen:        ${run.output.classifiedAt}\n`);
    expect(email).toContain(`\nExecution:   ${run.executionArn}\n`);
    expect(deliveredTo(alert, 'sms')).toBe(`FLAGGED: motorcycle 97% (threshold 94%) - s3://${local.bucketName}/cams/gate-1.jpg ${run.output.classifiedAt}`);
  });

  test('LOW_CONFIDENCE: the email asks for a look', async () => {
    const run = await local.upload('cams/gate-3.jpg', imageFor(3));
    const [alert] = run.alerts;
    expect(alert.subject).toBe('LOW_CONFIDENCE: tractor 50% - cams/gate-3.jpg');
    expect(deliveredTo(alert, 'email')).toMatch(/^LOW_CONFIDENCE: tractor with 50% confidence \(threshold 94%\)\.\nThe model is not sure what the image shows/);
    expect(JSON.parse(alert.message)).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'tractor', key: 'cams/gate-3.jpg' });
  });

  test('ERROR: the error name, its cause and what to do', async () => {
    const run = await local.upload('cams/cut.jpg', images.jpeg.subarray(0, 200));
    expect(run).toMatchObject({ status: 'FAILED', error: 'TruncatedImage' });
    const [alert] = run.alerts;
    expect(alert.subject).toBe('ERROR: TruncatedImage - cams/cut.jpg');
    const email = deliveredTo(alert, 'email');
    expect(email).toMatch(/^ERROR: the image could not be classified\.\n\nError:       TruncatedImage\nCause:       .+\nWhat to do:  The upload was cut off\. Upload the image again\.\n/);
    expect(JSON.parse(alert.message)).toEqual(run.result);
    for (const p of machineProtocols) expect(deliveredTo(alert, p)).toBe(alert.message);
  });

  test.each([
    ['non-ASCII characters', 'cams/görüntü/日本の車.jpg'],
    ['1,024 bytes', `cams/${'a'.repeat(1015)}.jpg`],
    ['1,024 bytes of 3-byte characters', `${'車'.repeat(339)}.jpeg`],
    ['a newline', 'cams/gate\n1.jpg'],
  ])('a key with %s publishes, with a subject SNS accepts', async (_what, key) => {
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    const run = await local.upload(key, imageFor(1));
    expect(run.status).toBe('SUCCEEDED');
    const [alert] = run.alerts;
    // The peer refuses what SNS refuses, so a publish that went through had a valid subject.
    expect(subjectProblem(alert.subject!)).toBeUndefined();
    expect(alert.subject).toMatch(/^FLAGGED: motorcycle 97% - /);
    expect(JSON.parse(alert.message)).toMatchObject({ key });
  });
});
