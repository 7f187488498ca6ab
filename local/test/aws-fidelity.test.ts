import { createHash } from 'crypto';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AuditTrail, ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { executionHistory, renderLogRecords, StepFunctionsLogRecord } from '../src/execution-log';
import { taskHandler } from '../src/integrations';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate, stateMachineDefinition } from '../src/template-resolver';

/**
 * Where the kit and the library follow AWS behaviour recorded or documented elsewhere (issue 26, items 5–7): each
 * test names its source.
 */

const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];

function synth(props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

const start = (template: CfnTemplate) => LocalPipeline.start({ template, models: { vehicles: functionModel(() => FLAGGED) } });

describe('aws-sdk:s3:putObject stores its Body JSON-serialized', () => {
  // Recorded against AWS: LocalStack tests/aws/services/stepfunctions/v2/services/test_aws_sdk_task_service.snapshot.json,
  // test_s3_put_object[str]: Body "text data" reads back as the 11 bytes "text data" with quotes, ETag
  // 2b5df3712557f503a9977a8ea893b2c9; [dict]: {"Dict": "Value"} as the 16 bytes {"Dict":"Value"}, ETag 49e31cee5aec8faf3345893addb14346.
  let local: LocalPipeline;
  beforeAll(async () => {
    local = await start(synth({ auditTrail: { delivery: AuditTrail.objectPerImage() } }));
  });
  afterAll(() => local?.close());

  test.each([
    ['str', 'text data', '"text data"', '2b5df3712557f503a9977a8ea893b2c9'],
    ['dict', { Dict: 'Value' }, '{"Dict":"Value"}', '49e31cee5aec8faf3345893addb14346'],
  ])('test_s3_put_object[%s]: the recorded bytes and ETag', async (_id, body, stored, etag) => {
    // The task handler the runner runs for an aws-sdk:s3:putObject Task state, with the recorded Body.
    // Run as the kit's own principal: this is about what the integration stores, not who may call it.
    const put = await taskHandler({ Resource: 'arn:aws:states:::aws-sdk:s3:putObject' }, (local as any).integrationContext(local.gateway.operator))({ Bucket: local.bucketName, Key: `recorded-${_id}`, Body: body });
    expect(put.ETag).toBe(`"${etag}"`);
    const got = await local.s3.client().send(new GetObjectCommand({ Bucket: local.bucketName, Key: `recorded-${_id}` }));
    expect(await got.Body!.transformToString()).toBe(stored);
    expect(createHash('md5').update(stored).digest('hex')).toBe(etag);
  });

  test('AuditTrail.objectPerImage(): the stored object is the record itself, compact JSON (the task passes an object)', async () => {
    const put = Object.values<any>(local.definition.States).find((s) => s.Resource === 'arn:aws:states:::aws-sdk:s3:putObject');
    expect(put.Parameters['Body.$']).toBe('$.result');
    const run = await local.upload('cams/audit.jpg', images.jpeg);
    const { bucket, key } = run.auditRecords[0];
    const text = await (await local.s3.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    expect(text).toBe(JSON.stringify(run.output));
    const head = await local.s3.client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentType).toBe('application/json');
  });
});

describe('AWS SDK integration errors the S3 model does not define are S3.S3Exception', () => {
  // Recorded against AWS (LocalStack tests/aws/services/stepfunctions/v2/error_handling/test_aws_sdk.snapshot.json):
  // test_s3_no_such_key fails "S3.NoSuchKeyException", cause "The specified key does not exist. (Service: S3, Status
  // Code: 404, Request ID: ...)"; unmodelled errors take the SDK base class name (DynamoDb.DynamoDbException in
  // test_dynamodb_invalid_param, SecretsManager.SecretsManagerException in test_invalid_secret_name).
  let local: LocalPipeline;
  beforeAll(async () => {
    local = await start(synth({ auditTrail: { enabled: false } }));
  });
  afterAll(() => local?.close());
  /** The task handler the runner runs for an `aws-sdk:s3` Task state (as the kit's own principal: errors, not authorization). */
  const s3Task = (action: string, params: unknown): Promise<any> =>
    taskHandler({ Resource: `arn:aws:states:::aws-sdk:s3:${action}` }, (local as any).integrationContext(local.gateway.operator))(params);

  test('a modelled code keeps its name, with the recorded cause form', async () => {
    await expect(s3Task('getObject', { Bucket: local.bucketName, Key: 'missing' })).rejects.toMatchObject({
      name: 'S3.NoSuchKeyException', message: expect.stringMatching(/ \(Service: S3, Status Code: 404, Request ID: [^)]*\)$/),
    });
  });

  test("S3's InternalError (in no operation of the model) is S3.S3Exception, its status in the cause", async () => {
    await s3Task('putObject', { Bucket: local.bucketName, Key: 'tagged', Body: 'x' });
    local.s3.failNext(Infinity, { operation: 'GetObjectTagging' });
    try {
      const error = await s3Task('getObjectTagging', { Bucket: local.bucketName, Key: 'tagged' }).catch((e) => e);
      expect(error.name).toBe('S3.S3Exception');
      expect(error.message).toMatch(/\(Service: S3, Status Code: 500, /);
    } finally {
      local.s3.clearFaults();
    }
  });
});

describe('Firehose Record.Data', () => {
  test('the audit record is passed as an object and delivered as its compact JSON (DESIGN.md: right under either reading of blobs)', async () => {
    const local = await start(synth());
    try {
      const put = Object.values<any>(local.definition.States).find((s) => s.Resource === 'arn:aws:states:::aws-sdk:firehose:putRecord');
      expect(put.Parameters.Record).toEqual({ 'Data.$': '$.result' });
      const run = await local.upload('cams/stream.jpg', images.jpeg);
      expect(local.firehoseRecords.at(-1)!.body).toBe(JSON.stringify(run.output));
      expect(await local.readAuditTrail()).toEqual([run.output]);
    } finally {
      await local.close();
    }
  });
});

describe('events:putEvents with a failed entry', () => {
  // Step Functions Developer Guide, "Add EventBridge events with Step Functions": a PutEvents response with a
  // non-zero FailedEntryCount fails the Task state with EventBridge.FailedEntry.
  test('fails EventBridge.FailedEntry, is retried, then the execution fails ResultEventFailed; the event is not delivered', async () => {
    const local = await start(synth());
    try {
      local.failingEventBuses.set('default', 'InternalFailure');
      const run = await local.upload('cams/event.jpg', images.jpeg);
      expect(run).toMatchObject({ status: 'FAILED', error: 'ResultEventFailed' });
      expect(run.events).toEqual([]);
      const failures = run.history.filter((e) => e.type === 'TaskFailed' && e.details.error === 'EventBridge.FailedEntry');
      // The EventBridge.FailedEntry retrier: the first attempt and three retries (MaxAttempts 3).
      expect(failures).toHaveLength(4);
      expect(JSON.parse(String(failures[0].details.cause))).toMatchObject({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });

      local.failingEventBuses.clear();
      const ok = await local.upload('cams/event-ok.jpg', images.jpeg);
      expect(ok.status).toBe('SUCCEEDED');
      expect(ok.events).toHaveLength(1);
    } finally {
      await local.close();
    }
  });
});

/**
 * A CloudWatch Logs JSON filter pattern of the forms CDK renders from `FilterPattern.all/any/stringValue` (`{ (A) && (B) }`,
 * `{ (A) || (B) }`, `$.field = "value"`, where a value may end in `*`), evaluated on one log record.
 */
function matchesFilter(pattern: string, record: unknown): boolean {
  const body = /^\{(.*)\}$/s.exec(pattern.trim())?.[1];
  if (body === undefined) throw new Error(`not a JSON filter pattern: ${pattern}`);
  const value = (path: string) => path.slice(2).split('.').reduce<any>((v, k) => v?.[k], record);
  const js = body.replace(/\$\.([\w.]+) = "((?:[^"\\]|\\.)*)"/g, (_m, path: string, expected: string) => {
    const actual = value(`$.${path}`);
    const hit = expected.endsWith('*') ? typeof actual === 'string' && actual.startsWith(expected.slice(0, -1)) : actual === expected;
    return String(hit);
  });
  if (!/^[\s()&|truefals]*$/.test(js)) throw new Error(`unsupported filter pattern: ${pattern}`);
  return Function(`return (${js});`)() as boolean;
}

describe('a timed-out execution counts as an infrastructure failure', () => {
  // Step Functions Developer Guide, log levels (cloudwatch-log-level): a timeout is logged as ExecutionTimedOut, at
  // every level but OFF; it is not an ExecutionFailed record.
  const template = synth();
  const filter = Object.values<any>(template.Resources)
    .find((r) => r.Type === 'AWS::Logs::MetricFilter' && r.Properties.MetricTransformations[0].MetricName === 'InfrastructureFailures').Properties.FilterPattern;
  const stateMachineId = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')![0];
  const definition = stateMachineDefinition(template, stateMachineId);

  const timedOut: StepFunctionsLogRecord[] = renderLogRecords(executionHistory([
    { type: 'ExecutionStarted', timestamp: 1, input: { detail: {} } },
    { type: 'ExecutionTimeout', timestamp: 300_001 },
  ], { definition, executionArn: 'arn:aws:states:eu-west-1:111111111111:express:m:e' }), { level: 'ERROR', includeExecutionData: true });

  test('the kit logs a timeout as ExecutionTimedOut', () => {
    expect(timedOut.map((r) => r.type)).toEqual(['ExecutionTimedOut']);
  });

  test('the InfrastructureFailures metric filter matches it, as it matches an ExecutionFailed AuditWriteFailed, and no image error', () => {
    expect(matchesFilter(filter, timedOut[0])).toBe(true);
    expect(matchesFilter(filter, { type: 'ExecutionFailed', details: { error: 'AuditWriteFailed' } })).toBe(true);
    expect(matchesFilter(filter, { type: 'ExecutionFailed', details: { error: 'UnsupportedImageFormat' } })).toBe(false);
    expect(matchesFilter(filter, { type: 'TaskFailed', details: { error: 'States.Timeout' } })).toBe(false);
  });
});
