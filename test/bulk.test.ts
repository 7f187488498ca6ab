import { createHash } from 'crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { pipelineStack, icsProps } from './stacks';
import { BulkMode, ImageClassificationPipeline } from '../src';
import { images } from './handlers/fixtures';
import { functionModel } from '../src/local/models/function-model';
import { LocalPipeline } from '../src/local/runner';
import { CfnTemplate, findResource, stateMachineDefinition } from '../src/local/template-resolver';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

const bulkDefinition = (json: CfnTemplate) => stateMachineDefinition(json, Object.keys(json.Resources).find((id) => /^IcsBulkStateMachine[0-9A-F]{8}$/.test(id))!);

describe('bulk mode template', () => {
  test('none by default: no bulk state machine', () => {
    const { template, pipeline } = pipelineStack();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    expect(pipeline.bulkStateMachine).toBeUndefined();
  });

  test('inline: a Standard bulk state machine mapping the same per-image workflow, summarized once', () => {
    const { template, json, pipeline } = pipelineStack({ bulkMode: BulkMode.inline({ maxConcurrency: 10 }) });
    expect(pipeline.bulkStateMachine).toBeDefined();
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    const bulk = bulkDefinition(json);
    expect(aslValidator(bulk).errorsText()).toBe('');
    const map = bulk.States.ClassifyImages;
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.images', MaxConcurrency: 10, Next: 'SummarizeBatch' });

    // The item processor is the per-image workflow: the same states as the single-image machine,
    // ending in compact item outputs instead of Fail states.
    const single = stateMachineDefinition(json, findResource(json, 'AWS::StepFunctions::StateMachine', 'IcsStateMachine'));
    const itemStates = Object.keys(map.ItemProcessor.States);
    // ValidateInput differs only by the bulk branch for items without a bucket.
    const shared = ['Classify', 'Decide', 'Flagged', 'Accepted', 'LowConfidence', 'TagObject', 'WriteAuditRecord', 'PublishResultEvent'];
    for (const s of shared) {
      expect(itemStates).toContain(s);
      // CDK marks nested states' query language explicitly; JSONPath either way.
      const comparable = (state: any) => ({ ...state, Next: undefined, QueryLanguage: 'JSONPath' });
      expect(comparable(map.ItemProcessor.States[s])).toEqual(comparable(single.States[s]));
    }
    // Only infrastructure failures (audit bucket, event bus) can fail a batch; image outcomes never do.
    expect(itemStates.filter((s) => map.ItemProcessor.States[s].Type === 'Fail').sort()).toEqual(['AuditWriteFailed', 'ResultEventFailed']);
    expect(itemStates).toEqual(expect.arrayContaining(['UsePipelineBucket', 'ItemClassified', 'ItemError', 'ItemInvalid']));
    // No per-item alerts by default: one digest instead.
    expect(itemStates.filter((s) => /^Alert(Flagged|Error|LowConfidence|Accepted)\d$/.test(s))).toEqual([]);
    expect(bulk.States.NeedsDigest.Choices[0]).toEqual({ Variable: '$.alerting', NumericGreaterThan: 0, Next: 'BatchDigest1' });
  });

  test('alertPerItem keeps the per-image alerts inside the batch', () => {
    const { json } = pipelineStack({ bulkMode: BulkMode.inline({ alertPerItem: true }) });
    expect(Object.keys(bulkDefinition(json).States.ClassifyImages.ItemProcessor.States)).toContain('AlertFlagged1');
  });

  test('the bulk role may invoke the classify and summarize functions', () => {
    const { json } = pipelineStack({ bulkMode: BulkMode.inline() });
    const statements = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref?.startsWith('IcsBulkStateMachineRole')))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const invoked = JSON.stringify(statements.filter((s) => s.Action === 'lambda:InvokeFunction').map((s) => s.Resource));
    expect(invoked).toContain('IcsClassifyFunction');
    expect(invoked).toContain('IcsSummarizeFunction');
  });

  test.each([0, 41, 2.5])('maxConcurrency %d is refused', (maxConcurrency) => {
    expect(() => pipelineStack({ bulkMode: BulkMode.inline({ maxConcurrency }) })).toThrow(/maxConcurrency must be an integer from 1 to 40/);
  });
});

describe('a batch, run locally', () => {
  let local: LocalPipeline;
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const tank = Buffer.concat([images.jpeg, Buffer.alloc(1)]);

  beforeAll(async () => {
    const stack = new Stack(new App(), 'Bulk');
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), bulkMode: BulkMode.inline({ maxConcurrency: 4 }) });
    local = await LocalPipeline.start({
      template: Template.fromStack(stack).toJSON() as CfnTemplate,
      models: {
        vehicles: functionModel((bytes) => (sha(bytes) === sha(tank)
          ? [0.01, 0.01, 0.01, 0.01, 0.95, 0.01]
          : [0.01, 0.01, 0.01, 0.96, 0.005, 0.005])),
      },
    });
    const client = local.s3.client();
    const put = (key: string, body: Buffer) => client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: key, Body: body }));
    await put('batch/bus-1.jpg', images.jpeg);
    await put('batch/bus-2.png', images.png);
    await put('batch/tank.jpg', tank);
    await put('batch/empty.jpg', Buffer.alloc(0));
    await put('batch/notes.jpg', Buffer.from('not an image'));
  });
  afterAll(() => local?.close());

  test('good and bad images: every item classified or ERROR, one summary, one digest, the batch succeeds', async () => {
    const run = await local.startBulkExecution({
      images: [
        { key: 'batch/bus-1.jpg' },
        { bucket: local.bucketName, key: 'batch/bus-2.png' },
        { key: 'batch/tank.jpg' },
        { key: 'batch/empty.jpg' },
        { key: 'batch/notes.jpg' },
        { key: 'batch/missing.jpg' },
      ],
    });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      total: 6,
      byOutcome: { ACCEPTED: 2, FLAGGED: 1, LOW_CONFIDENCE: 0, ERROR: 3 },
      byLabel: { bus: 2, tank: 1 },
      alerting: 4,
      flagged: [{ key: 'batch/tank.jpg', label: 'tank' }],
      resultsLocation: expect.stringMatching(/^s3:\/\/icsauditbucket.*\/results\/$/),
    });
    expect(run.output.failed.map((f: any) => [f.key, f.error]).sort()).toEqual([
      ['batch/empty.jpg', 'EmptyObject'],
      ['batch/missing.jpg', 'ObjectNotFound'],
      ['batch/notes.jpg', 'UnsupportedImageFormat'],
    ]);
    // One classify invocation per image, one digest alert, one audit record and event per image.
    expect(run.lambdaInvocations).toBe(6 + 1);
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0].messageAttributes).toEqual({ kind: { dataType: 'String', stringValue: 'BATCH_DIGEST' } });
    expect(run.alerts[0].subject).toBe('Image classification batch: 4 of 6 images need attention');
    expect(run.auditRecords).toHaveLength(6);
    expect(run.events).toHaveLength(6);
  });

  test('an empty batch is refused with a named error', async () => {
    expect(await local.startBulkExecution({ images: [] })).toMatchObject({ status: 'FAILED', error: 'InvalidBatchInput' });
  });
});
