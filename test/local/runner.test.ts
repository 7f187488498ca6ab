import { createHash } from 'crypto';
import { App, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, ImageClassificationPipelineProps } from '../../src';
import { functionModel } from '../../src/local/models/function-model';
import { LocalPipeline } from '../../src/local/runner';
import { CfnTemplate } from '../../src/local/template-resolver';
import { images } from '../handlers/fixtures';
import { icsProps } from '../stacks';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Vehicle-label score vectors (bicycle, motorcycle, pickup_truck, bus, tank, tractor). */
const SCORES = {
  flaggedMotorcycle: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025],
  acceptedBus: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005],
  unsureTractor: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5],
};
/** A real image per scenario: same picture, distinct bytes (the model keys its answer on the bytes). */
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

function synth(props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('the synthesized pipeline, run locally end to end', () => {
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
  afterAll(() => local?.close());

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

describe('faithfulness', () => {
  test('refuses a definition with JSONata states', async () => {
    const template = synth();
    const sm = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    const parts = sm.Properties.DefinitionString['Fn::Join'][1];
    parts[0] = parts[0].replace('{"StartAt"', '{"QueryLanguage":"JSONata","StartAt"');
    await expect(LocalPipeline.start({ template, models: {} })).rejects.toThrow(/uses JSONata, which aws-local-stepfunctions ignores/);
  });
});
