import '../../src/local/polyfills';
import { StateMachine } from 'aws-local-stepfunctions';
import { compatDefinition, stringifyDeferred } from '../../src/local/interpreter-compat';
import { decideOutcome, Outcome } from '../../src/outcomes';
import { pipelineStack } from '../stacks';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

/**
 * Runs the synthesized definition in the aws-local-stepfunctions interpreter with the Classify task and
 * the SNS publishes replaced by recorders. The Choice, Pass, Fail, Retry and Catch logic that runs is
 * the real definition's.
 */
async function execute(original: any, input: unknown, classify: (payload: any) => unknown) {
  const { definition, stringify } = compatDefinition(original);
  const published: any[] = [];
  const publishHandlers = Object.fromEntries(Object.keys(definition.States)
    .filter((s) => s.startsWith('Publish'))
    .map((s) => [s, async (params: any) => { published.push({ state: s, ...stringifyDeferred(params, stringify[s]) }); return { MessageId: 'm' }; }]));
  const retryIntervalOverrides = Object.fromEntries(Object.keys(definition.States).map((s) => [s, 0]));
  const sm = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = sm.run(input as any, {
    overrides: { taskResourceLocalHandlers: { Classify: async (p: any) => classify(p) as any, ...publishHandlers }, retryIntervalOverrides },
    // The interpreter fills $$.Execution but not $$.State; a fixed entered time stands in.
    context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:express:sm:exec-1' }, State: { EnteredTime: '2026-11-22T10:00:00.000Z' } },
  });
  try {
    return { status: 'SUCCEEDED', output: await execution.result as any, published };
  } catch (e: any) {
    return { status: 'FAILED', error: e.cause?.name, cause: e.cause?.message, published };
  }
}

const classification = (label: string, confidence: number) => ({
  schemaVersion: '1.0',
  bucket: 'b',
  key: 'k.jpg',
  sizeBytes: 10,
  format: 'jpeg',
  label,
  confidence,
  threshold: 0.94,
  scores: { [label]: confidence },
  topK: [{ label, score: confidence }],
  modelEndpoint: 'vehicles',
  modelLatencyMs: 5,
  executionArn: 'arn',
  classifiedAt: '2026-11-22T10:00:00.000Z',
});
const lambdaError = (name: string, message: string) => Object.assign(new Error(JSON.stringify({ errorType: name, errorMessage: message })), { name });

describe('synthesized definitions are valid ASL', () => {
  test.each([
    ['defaults', {}],
    ['no topics', { alertTopics: [] }],
    ['no flagged labels, low confidence succeeds', { flaggedLabels: [], failOnLowConfidence: false }],
  ])('%s', (_name, props) => {
    const result = aslValidator(pipelineStack(props as any).definition);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });
});

describe('the decision states implement decideOutcome', () => {
  const { definition } = pipelineStack();
  const flagged = ['motorcycle', 'pickup_truck', 'tank'];

  test.each([
    ['motorcycle', 0.99],
    ['motorcycle', 0.94],
    ['motorcycle', 0.9399],
    ['bus', 0.97],
    ['bus', 0.2],
    ['tank', 1],
    ['tractor', 0],
  ])('%s at %d', async (label, confidence) => {
    const expected = decideOutcome(label, confidence, 0.94, flagged);
    const run = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => classification(label, confidence));

    const alerted = run.published.map((p) => p.MessageAttributes?.outcome?.StringValue);
    switch (expected) {
      case Outcome.ACCEPTED:
        expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label } });
        expect(alerted).toEqual([]);
        break;
      case Outcome.FLAGGED:
        expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', label, confidence } });
        expect(alerted).toEqual(['FLAGGED']);
        expect(run.published[0].MessageAttributes.label.StringValue).toBe(label);
        expect(JSON.parse(run.published[0].Message)).toMatchObject({ outcome: 'FLAGGED', key: 'k.jpg', label });
        expect(run.published[0].Subject).toBe('Image classification: FLAGGED');
        break;
      case Outcome.LOW_CONFIDENCE:
        expect(run).toMatchObject({ status: 'FAILED', error: 'LowConfidence' });
        expect(alerted).toEqual(['LOW_CONFIDENCE']);
        break;
    }
  });

  test('LOW_CONFIDENCE succeeds with the outcome recorded when failOnLowConfidence is false', async () => {
    const run = await execute(pipelineStack({ failOnLowConfidence: false }).definition, { bucket: 'b', key: 'k.jpg' }, () => classification('bus', 0.5));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'LOW_CONFIDENCE', label: 'bus' } });
    expect(run.published).toHaveLength(1);
  });
});

describe('errors end as ERROR with a named error and an alert', () => {
  const { definition } = pipelineStack();

  test('a permanent handler error: no retry, ERROR result, alert, execution fails with that name', async () => {
    let calls = 0;
    const run = await execute(definition, { bucket: 'b', key: 'notes.jpg' }, () => {
      calls++;
      throw lambdaError('UnsupportedImageFormat', 'not an image');
    });
    expect(calls).toBe(1);
    expect(run).toMatchObject({ status: 'FAILED', error: 'UnsupportedImageFormat' });
    expect(run.published).toHaveLength(1);
    const body = JSON.parse(run.published[0].Message);
    expect(body).toMatchObject({
      schemaVersion: '1.0',
      outcome: 'ERROR',
      bucket: 'b',
      key: 'notes.jpg',
      threshold: 0.94,
      modelEndpoint: 'vehicles',
      executionArn: 'arn:aws:states:us-east-1:123456789012:express:sm:exec-1',
      error: { name: 'UnsupportedImageFormat' },
    });
    expect(body.label).toBeUndefined();
    expect(body.error.cause).toContain('not an image');
    expect(run.published[0].MessageAttributes).toEqual({
      outcome: { DataType: 'String', StringValue: 'ERROR' },
      error: { DataType: 'String', StringValue: 'UnsupportedImageFormat' },
    });
  });

  test('a transient endpoint error is retried and then succeeds', async () => {
    let calls = 0;
    const run = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => {
      if (++calls < 3) throw lambdaError('EndpointUnavailable', '503');
      return classification('bus', 0.99);
    });
    expect(calls).toBe(3);
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
  });

  test('a transient error that persists ends as ERROR after the retries', async () => {
    let calls = 0;
    const run = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => {
      calls++;
      throw lambdaError('ModelNotReady', 'loading');
    });
    expect(calls).toBe(5); // first attempt + MaxAttempts (4) retries
    expect(run).toMatchObject({ status: 'FAILED', error: 'ModelNotReady' });
    expect(run.published.map((p) => p.state)).toEqual(['PublishErrorAlert1']);
  });

  test('input without bucket and key: InvalidInput, alerted with the raw input', async () => {
    const run = await execute(definition, { Records: [] }, () => { throw new Error('not called'); });
    expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(JSON.parse(run.published[0].Message)).toMatchObject({ outcome: 'ERROR', input: { Records: [] }, error: { name: 'InvalidInput' } });
  });
});
