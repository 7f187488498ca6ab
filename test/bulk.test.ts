import { createHash } from 'crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { pipelineStack, icsProps } from './stacks';
import { BulkMode, ImageClassificationPipeline, Ingestion } from '../src';
import { images } from './handlers/fixtures';
import { functionModel } from '../local/src/models/function-model';
import { LocalPipeline } from '../local/src/runner';
import { CfnTemplate, findResource, stateMachineDefinition } from '../local/src/template-resolver';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A "tank" photo: the fixture with distinct bytes. The test model answers tank for it and bus for anything else. */
const TANK = Buffer.concat([images.jpeg, Buffer.alloc(1)]);
const vehicleModel = () => functionModel((bytes) => (sha(bytes) === sha(TANK)
  ? [0.01, 0.01, 0.01, 0.01, 0.95, 0.01]
  : [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]));

/** Synthesizes a pipeline with the given bulk mode and starts it locally. */
async function startLocal(stackId: string, bulkMode: BulkMode): Promise<LocalPipeline> {
  const stack = new Stack(new App(), stackId);
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), bulkMode });
  return LocalPipeline.start({ template: Template.fromStack(stack).toJSON() as CfnTemplate, models: { vehicles: vehicleModel() } });
}

const putObject = (local: LocalPipeline, key: string, body: Buffer | string) =>
  local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: key, Body: body }));

const bulkDefinition = (json: CfnTemplate) => stateMachineDefinition(json, Object.keys(json.Resources).find((id) => /^IcsBulkStateMachine[0-9A-F]{8}$/.test(id))!);

describe('bulk mode template', () => {
  test('none by default: no bulk state machine', () => {
    const { template, pipeline } = pipelineStack();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    expect(pipeline.bulkStateMachine).toBeUndefined();
  });

  test('inline: a Standard bulk state machine mapping the same per-image workflow, summarized once', () => {
    // Bulk items run the per-image workflow as direct ingestion does: nothing to defer to a queue.
    const { template, json, pipeline } = pipelineStack({ bulkMode: BulkMode.inline({ maxConcurrency: 10 }), ingestion: Ingestion.direct() });
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

  test('inline with an Express bulk state machine: billed by duration, bounded by Express\'s 5 minutes', () => {
    const { json, pipeline, stack } = pipelineStack({ bulkMode: BulkMode.inline({ executionType: sfn.StateMachineType.EXPRESS }) });
    const bulk = json.Resources[stack.getLogicalId(pipeline.bulkStateMachine!.node.defaultChild as sfn.CfnStateMachine)];
    expect(bulk.Properties.StateMachineType).toBe('EXPRESS');
    expect(JSON.stringify(bulk.Properties.DefinitionString)).toContain('\\"TimeoutSeconds\\":300');
    const standard = pipelineStack({ bulkMode: BulkMode.inline() });
    const def = standard.json.Resources[standard.stack.getLogicalId(standard.pipeline.bulkStateMachine!.node.defaultChild as sfn.CfnStateMachine)];
    expect(def.Properties.StateMachineType).toBe('STANDARD');
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
    expect(() => pipelineStack({ bulkMode: BulkMode.inline({ maxConcurrency }) })).toThrow(/maxConcurrency must be an integer from 1 to 40 \(the inline Map limit\)/);
  });
});

describe('a batch, run locally', () => {
  let local: LocalPipeline;

  beforeAll(async () => {
    local = await startLocal('Bulk', BulkMode.inline({ maxConcurrency: 4 }));
    await putObject(local, 'batch/bus-1.jpg', images.jpeg);
    await putObject(local, 'batch/bus-2.png', images.png);
    await putObject(local, 'batch/tank.jpg', TANK);
    await putObject(local, 'batch/empty.jpg', Buffer.alloc(0));
    await putObject(local, 'batch/notes.jpg', Buffer.from('not an image'));
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

describe('distributed bulk mode template', () => {
  const { json, pipeline } = pipelineStack({ bulkMode: BulkMode.distributed({ maxConcurrency: 500, toleratedFailurePercentage: 5 }) });
  const bulk = bulkDefinition(json);

  test('a listing map and one map per manifest format, each with Express children, tolerance and a result writer', () => {
    expect(pipeline.bulkStateMachine).toBeDefined();
    expect(aslValidator(bulk).errorsText()).toBe('');
    const maps = ['ClassifyListing', 'ClassifyManifestCsv', 'ClassifyManifestJson', 'ClassifyManifestJsonl'];
    for (const name of maps) {
      expect(bulk.States[name]).toMatchObject({
        Type: 'Map',
        MaxConcurrency: 500,
        ToleratedFailurePercentage: 5,
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' } },
        ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: expect.stringMatching(/^icsauditbucket/), Prefix: 'bulk-results' } },
        Next: 'SummarizeBatch',
      });
    }
    expect(bulk.States.ClassifyListing.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:listObjectsV2',
      Parameters: { 'Bucket': expect.stringMatching(/^icsbucket/), 'Prefix.$': '$.prefix' },
    });
    expect(bulk.States.ClassifyManifestCsv.ItemReader.ReaderConfig).toEqual({ InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' });
    expect(bulk.States.ClassifyManifestJsonl.ItemReader.ReaderConfig).toEqual({ InputType: 'JSONL' });
  });

  test('children run the per-image workflow, prefixed to keep state names unique; ERROR fails the child', () => {
    const states = bulk.States.ClassifyListing.ItemProcessor.States;
    expect(states['Listing:Classify'].Resource).toMatch(/IcsClassifyFunction/);
    expect(states['Listing:Failed']).toMatchObject({ Type: 'Fail', ErrorPath: '$.result.error.name' });
    expect(Object.keys(bulk.States.ClassifyManifestCsv.ItemProcessor.States)).toContain('ManifestCsv:Classify');
  });

  test('the summary may read the result files', () => {
    const statements = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref?.startsWith('IcsSummarizeFunction')))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    expect(JSON.stringify(statements)).toMatch(/IcsAuditBucket.*bulk-results\/\*/);
  });

  test.each([
    [{ maxConcurrency: 20000 }, /maxConcurrency must be an integer from 1 to 10000 \(the distributed Map limit\)/],
    [{ toleratedFailurePercentage: 120 }, /toleratedFailurePercentage must be between 0 and 100/],
  ])('%o is refused', (options, message) => {
    expect(() => pipelineStack({ bulkMode: BulkMode.distributed(options) })).toThrow(message);
  });

  test('needs the audit trail for its results', () => {
    expect(() => pipelineStack({ bulkMode: BulkMode.distributed(), auditTrail: { enabled: false } })).toThrow(/keep auditTrail enabled/);
  });
});

describe('a distributed batch, run locally', () => {
  let local: LocalPipeline;
  const put = (key: string, body: Buffer | string) => putObject(local, key, body);

  beforeAll(async () => {
    local = await startLocal('Distributed', BulkMode.distributed({ toleratedFailurePercentage: 50 }));
    await put('site-a/bus 1.jpg', images.jpeg);
    await put('site-a/bus-2.png', images.png);
    await put('site-a/tank.jpg', TANK);
    await put('site-a/cut.jpg', images.jpeg.subarray(0, 100));
  });
  afterAll(() => local?.close());

  test('an S3 listing: every object under the prefix, ERROR items within tolerance, summary from the result files', async () => {
    const run = await local.startBulkExecution({ prefix: 'site-a/' });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      total: 4,
      byOutcome: { ACCEPTED: 2, FLAGGED: 1, ERROR: 1 },
      failed: [{ key: 'site-a/cut.jpg', error: 'TruncatedImage' }],
      flagged: [{ key: 'site-a/tank.jpg', label: 'tank' }],
    });
    expect(run.alerts).toHaveLength(1);
    // The result writer's layout, next to the audit records.
    const listed = await local.s3.client().send(new ListObjectsV2Command({ Bucket: run.auditRecords[0].bucket, Prefix: 'bulk-results/' }));
    expect((listed.Contents ?? []).map((o) => o.Key!.split('/').pop()).sort()).toEqual(['FAILED_0.json', 'SUCCEEDED_0.json', 'manifest.json']);
    expect(run.auditRecords).toHaveLength(4);
  });

  test.each([
    ['CSV', 'key,bucket\nsite-a/bus 1.jpg,\n"site-a/tank.jpg",\n'],
    ['JSON', JSON.stringify([{ key: 'site-a/bus 1.jpg' }, { key: 'site-a/tank.jpg' }])],
    ['JSONL', '{"key":"site-a/bus 1.jpg"}\n{"key":"site-a/tank.jpg"}\n'],
  ])('a %s manifest', async (format, body) => {
    await put(`manifests/batch.${format.toLowerCase()}`, body);
    const run = await local.startBulkExecution({ manifest: { key: `manifests/batch.${format.toLowerCase()}`, format } });
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { total: 2, byOutcome: { ACCEPTED: 1, FLAGGED: 1, ERROR: 0 } } });
  });

  test('more ERROR images than tolerated fail the batch', async () => {
    await put('site-b/cut-1.jpg', images.jpeg.subarray(0, 100));
    await put('site-b/cut-2.jpg', images.jpeg.subarray(0, 90));
    await put('site-b/ok.jpg', images.jpeg);
    const run = await local.startBulkExecution({ prefix: 'site-b/' });
    expect(run).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
  });

  test('input that is neither a prefix nor a manifest is refused', async () => {
    expect(await local.startBulkExecution({ images: [] })).toMatchObject({ status: 'FAILED', error: 'InvalidBatchInput' });
  });
});

describe('distributed bulk mode with item batches', () => {
  test('children get batches and run the per-image workflow over them in an inline Map', () => {
    const { json } = pipelineStack({ bulkMode: BulkMode.distributed({ itemBatchSize: 25 }) });
    const map = bulkDefinition(json).States.ClassifyListing;
    expect(aslValidator(bulkDefinition(json)).errorsText()).toBe('');
    expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: 25 });
    expect(map.ItemProcessor.StartAt).toBe('Listing:ClassifyBatch');
    const batch = map.ItemProcessor.States['Listing:ClassifyBatch'];
    expect(batch).toMatchObject({ Type: 'Map', ItemsPath: '$.Items' });
    // Inside a batch an ERROR image is an ERROR item, not a failed child.
    expect(batch.ItemProcessor.States['Listing:Failed']).toBeUndefined();
    expect(batch.ItemProcessor.States['Listing:ItemError']).toBeDefined();
    expect(() => pipelineStack({ bulkMode: BulkMode.distributed({ itemBatchSize: 0 }) })).toThrow(/itemBatchSize must be an integer from 1 to 1000/);
  });

  test('run locally: batches of 2 over a listing, every image counted', async () => {
    const local = await startLocal('Batched', BulkMode.distributed({ itemBatchSize: 2, toleratedFailurePercentage: 0 }));
    try {
      for (const [key, body] of [['b/1.jpg', images.jpeg], ['b/2.png', images.png], ['b/3.jpg', images.jpeg], ['b/cut.jpg', images.jpeg.subarray(0, 50)]] as const) {
        await putObject(local, key, body);
      }
      const run = await local.startBulkExecution({ prefix: 'b/' });
      // The truncated image is an ERROR item inside its batch, so even a zero tolerance holds.
      expect(run).toMatchObject({ status: 'SUCCEEDED', output: { total: 4, byOutcome: { ACCEPTED: 3, ERROR: 1 }, failed: [{ key: 'b/cut.jpg', error: 'TruncatedImage' }] } });
      expect(run.lambdaInvocations).toBe(4 + 1);
    } finally {
      await local.close();
    }
  });

  test('a bucket other than the pipeline\'s is refused', async () => {
    const local = await startLocal('Foreign', BulkMode.distributed());
    try {
      expect(await local.startBulkExecution({ bucket: 'someone-elses', prefix: 'x/' })).toMatchObject({ status: 'FAILED', error: 'InvalidBatchInput' });
      expect(await local.startBulkExecution({ manifest: { bucket: 'someone-elses', key: 'm.csv', format: 'CSV' } }))
        .toMatchObject({ status: 'FAILED', error: 'InvalidBatchInput' });
      expect(await local.startBulkExecution({ bucket: local.bucketName, prefix: 'nothing-here/' })).toMatchObject({ status: 'SUCCEEDED', output: { total: 0 } });
    } finally {
      await local.close();
    }
  });
});
