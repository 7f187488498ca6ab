import { createHash } from 'crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import {
  cloudWatchLogBytes, ExecutionHistoryEvent, executionHistory, LOG_EVENT_OVERHEAD_BYTES, LOG_PAYLOAD_LIMIT_BYTES, loggedAtLevel,
  loggingConfigurationOf, renderLogRecords, StepFunctionsLogLevel, taskResource,
} from '../src/execution-log';
import { functionModel } from '../src/models/function-model';
import { LocalExecution, LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];
const ACCEPTED = [0.01, 0.01, 0.01, 0.96, 0.005, 0.005];
const flaggedImage = Buffer.concat([images.jpeg, Buffer.alloc(1, 0)]);
const notAnImage = Buffer.from('this is a text file, not a photo');

/** Direct ingestion, no audit trail (the logs do not depend on it), the state machine's logging set as given. */
function template(level: StepFunctionsLogLevel, includeExecutionData: boolean, props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Logs');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), auditTrail: { enabled: false }, ...props });
  const t = Template.fromStack(stack).toJSON() as CfnTemplate;
  for (const r of Object.values(t.Resources)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    r.Properties.LoggingConfiguration = { ...r.Properties.LoggingConfiguration, Level: level, IncludeExecutionData: includeExecutionData };
  }
  return t;
}

const model = functionModel((bytes) => (sha(bytes) === sha(flaggedImage) ? FLAGGED : ACCEPTED));
const types = (run: LocalExecution) => run.logRecords.map((r) => r.type);

describe('the state machine\'s CloudWatch Logs records, from real local executions', () => {
  let local: LocalPipeline;
  let flagged: LocalExecution;
  let accepted: LocalExecution;
  let failed: LocalExecution;
  beforeAll(async () => {
    local = await LocalPipeline.start({ template: template('ALL', true), models: { vehicles: model } });
    flagged = await local.upload('cams/flagged.jpg', flaggedImage);
    accepted = await local.upload('cams/accepted.png', images.png);
    failed = await local.upload('cams/notes.jpg', notAnImage);
  });
  afterAll(() => local?.close());

  test('the executions ran as the outcomes say', () => {
    expect(flagged).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED' } });
    expect(accepted).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED' } });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'UnsupportedImageFormat' });
  });

  test('level ALL: every state entered and exited, task events per attempt, in AWS\'s record shape', () => {
    const t = types(flagged);
    expect(t[0]).toBe('ExecutionStarted');
    expect(t.at(-1)).toBe('ExecutionSucceeded');
    expect(t).toEqual(expect.arrayContaining(['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited',
      'ChoiceStateEntered', 'ChoiceStateExited', 'SucceedStateEntered', 'SucceedStateExited']));
    // One *StateEntered per state the interpreter entered, with its name.
    expect(flagged.logRecords.filter((r) => r.type.endsWith('StateEntered')).map((r) => r.details.name)).toEqual(flagged.states);
    for (const [i, r] of flagged.logRecords.entries()) {
      expect(Object.keys(r)).toEqual(['id', 'type', 'details', 'previous_event_id', 'event_timestamp', 'execution_arn']);
      expect(r).toMatchObject({ id: String(i + 1), execution_arn: flagged.executionArn, event_timestamp: expect.stringMatching(/^\d{13}$/) });
      expect(Number(r.previous_event_id)).toBeLessThan(Number(r.id));
    }
    expect(flagged.logRecords[0].previous_event_id).toBe('0');
    // Execution data as strings: the execution input and the result as output.
    expect(JSON.parse(flagged.logRecords[0].details.input as string)).toEqual(flagged.input);
    expect(flagged.logRecords[0].details.inputDetails).toEqual({ truncated: false });
    expect(JSON.parse(flagged.logRecords.at(-1)!.details.output as string)).toEqual(flagged.output);
    // Each task is scheduled with the parameters the service received, e.g. the alert's default message is the result.
    const publish = flagged.logRecords.find((r) => r.type === 'TaskScheduled' && r.details.resourceType === 'sns');
    expect(publish?.details).toMatchObject({ resource: 'publish', region: expect.any(String) });
    const parameters = JSON.parse(publish!.details.parameters as string);
    expect(parameters.MessageStructure).toBe('json');
    expect(JSON.parse(JSON.parse(parameters.Message).default)).toEqual(flagged.output);
    expect(flagged.logBytes).toBe(flagged.logRecords.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)) + 26, 0));
  });

  test('level ALL, failing execution: the failed attempt, the Fail state and ExecutionFailed with error and cause', () => {
    const t = types(failed);
    expect(t).toContain('FailStateEntered');
    expect(t.at(-1)).toBe('ExecutionFailed');
    expect(t).not.toContain('FailStateExited');
    expect(failed.logRecords.at(-1)!.details).toEqual({ error: 'UnsupportedImageFormat', cause: failed.cause });
  });

  test('level ERROR: FLAGGED and ACCEPTED executions log nothing; a failed one logs its failures only', () => {
    const error = { level: 'ERROR', includeExecutionData: true } as const;
    expect(renderLogRecords(flagged.history, error)).toEqual([]);
    expect(renderLogRecords(accepted.history, error)).toEqual([]);
    const records = renderLogRecords(failed.history, error);
    expect(records.map((r) => r.type)).toEqual(failed.history.filter((e) => loggedAtLevel(e.type, 'ERROR')).map((e) => e.type));
    expect(records.map((r) => r.type)).toEqual(expect.arrayContaining(['FailStateEntered', 'ExecutionFailed']));
    expect(records.every((r) => !/(Entered|Exited|Scheduled|Started|Succeeded)$/.test(r.type) || r.type === 'FailStateEntered')).toBe(true);
    // Ids are those of the full history: a reader sees the gaps AWS leaves.
    expect(records.at(-1)!.id).toBe(String(failed.history.length));
  });

  test('level FATAL logs the execution failure only; OFF logs nothing', () => {
    expect(renderLogRecords(failed.history, { level: 'FATAL', includeExecutionData: true }).map((r) => r.type)).toEqual(['ExecutionFailed']);
    expect(renderLogRecords(flagged.history, { level: 'FATAL', includeExecutionData: true })).toEqual([]);
    expect(renderLogRecords(failed.history, { level: 'OFF', includeExecutionData: true })).toEqual([]);
  });

  test('without execution data: no input, output or parameters; names, errors and causes stay', () => {
    const records = renderLogRecords(flagged.history, { level: 'ALL', includeExecutionData: false });
    expect(records).toHaveLength(flagged.logRecords.length);
    for (const r of records) {
      for (const k of ['input', 'inputDetails', 'output', 'outputDetails', 'parameters', 'parametersDetails']) expect(r.details).not.toHaveProperty(k);
    }
    expect(records.find((r) => r.type === 'TaskStateEntered')?.details.name).toEqual(expect.any(String));
    const failure = renderLogRecords(failed.history, { level: 'ERROR', includeExecutionData: false }).at(-1);
    expect(failure?.details).toEqual({ error: 'UnsupportedImageFormat', cause: failed.cause });
    expect(cloudWatchLogBytes(records)).toBeLessThan(flagged.logBytes / 2);
  });
});

describe('the runner logs at the level each template sets', () => {
  test.each([['ERROR', false], ['OFF', true]] as const)('level %s, execution data %s', async (level, includeExecutionData) => {
    const t = template(level, includeExecutionData);
    const local = await LocalPipeline.start({ template: t, models: { vehicles: model } });
    try {
      const ok = await local.upload('cams/ok.png', images.png);
      const bad = await local.upload('cams/bad.jpg', notAnImage);
      expect(ok).toMatchObject({ status: 'SUCCEEDED', logRecords: [], logBytes: 0 });
      expect(bad.status).toBe('FAILED');
      if (level === 'OFF') {
        expect(bad.logRecords).toEqual([]);
      } else {
        expect(types(bad)).toEqual(expect.arrayContaining(['FailStateEntered', 'ExecutionFailed']));
        expect(bad.logRecords.every((r) => r.details.input === undefined && r.details.output === undefined)).toBe(true);
        expect(bad.logBytes).toBe(cloudWatchLogBytes(bad.logRecords));
      }
      // The full history is there whatever the level, so any level can be rendered from the same run.
      expect(bad.history.map((e) => e.type)).toContain('ExecutionStarted');
    } finally {
      await local.close();
    }
  });

  test('queued ingestion: executions the dispatch function starts through StartSyncExecution get records too', async () => {
    const t = template('ALL', true, { ingestion: Ingestion.queued() });
    const local = await LocalPipeline.start({ template: t, models: { vehicles: model } });
    try {
      const run = await local.upload('cams/queued.jpg', flaggedImage);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.attempts).toHaveLength(1);
      expect(run.logRecords.length).toBeGreaterThan(5);
      expect(run.logRecords[0]).toMatchObject({ type: 'ExecutionStarted', execution_arn: run.attempts![0].executionArn });
      expect(run.logBytes).toBe(run.attempts![0].logBytes);
      // The machine is the template's: its own LoggingConfiguration applies.
      expect(loggingConfigurationOf(t, Object.keys(t.Resources).find((id) => /^IcsStateMachine[0-9A-F]{8}$/.test(id))!)).toEqual({ level: 'ALL', includeExecutionData: true });
    } finally {
      await local.close();
    }
  });
});

describe('execution-log, pure parts', () => {
  test('task resources named as TaskScheduled names them', () => {
    expect(taskResource('arn:aws:states:::aws-sdk:s3:putObject')).toEqual({ resourceType: 'aws-sdk:s3', resource: 'putObject' });
    expect(taskResource('arn:aws:states:::sns:publish')).toEqual({ resourceType: 'sns', resource: 'publish' });
    expect(taskResource('arn:aws:states:::lambda:invoke')).toEqual({ resourceType: 'lambda', resource: 'invoke' });
  });

  test('a retried and then caught task logs one TaskFailed per failed attempt, at ERROR too', () => {
    const definition = {
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Retry: [{ ErrorEquals: ['X'] }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done' }], Next: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const state = (name: string, type: string) => ({ name, type, input: {} });
    const events = [
      { type: 'ExecutionStarted', timestamp: 1, input: {} },
      { type: 'StateEntered', timestamp: 2, state: state('Work', 'Task') },
      { type: 'StateFailed', timestamp: 3, state: state('Work', 'Task'), Error: 'X', Cause: 'first' },
      { type: 'StateRetried', timestamp: 4, state: state('Work', 'Task') },
      { type: 'StateFailed', timestamp: 5, state: state('Work', 'Task'), Error: 'Y', Cause: 'second' },
      { type: 'StateCaught', timestamp: 5, state: state('Work', 'Task') },
      { type: 'StateExited', timestamp: 6, state: { ...state('Work', 'Task'), output: { Error: 'Y' } } },
      { type: 'StateEntered', timestamp: 7, state: state('Done', 'Succeed') },
      { type: 'StateExited', timestamp: 8, state: { ...state('Done', 'Succeed'), output: {} } },
      { type: 'ExecutionSucceeded', timestamp: 9, output: {} },
    ];
    const history = executionHistory(events, { definition, executionArn: 'arn:aws:states:us-east-1:1:express:M:e:1' });
    expect(history.map((e) => e.type)).toEqual([
      'ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskFailed', 'TaskScheduled', 'TaskStarted', 'TaskFailed',
      'TaskStateExited', 'SucceedStateEntered', 'SucceedStateExited', 'ExecutionSucceeded',
    ]);
    const errors = renderLogRecords(history, { level: 'ERROR', includeExecutionData: true });
    expect(errors.map((r) => [r.type, r.details.error, r.details.cause])).toEqual([['TaskFailed', 'X', 'first'], ['TaskFailed', 'Y', 'second']]);
  });

  test('payloads over 248 KB escaped are truncated and marked', () => {
    const big = 'x'.repeat(LOG_PAYLOAD_LIMIT_BYTES + 10);
    const history = executionHistory([{ type: 'ExecutionStarted', timestamp: 1, input: { big } }], { definition: { States: {} }, executionArn: 'a' });
    const details = history[0].details as { input: string; inputDetails: { truncated: boolean } };
    expect(details.inputDetails.truncated).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(details.input))).toBeLessThanOrEqual(LOG_PAYLOAD_LIMIT_BYTES);
    expect(details.input.length).toBeGreaterThan(LOG_PAYLOAD_LIMIT_BYTES * 0.9);
  });

  test('ingested bytes: the record\'s UTF-8 JSON plus 26 per event', () => {
    const e: ExecutionHistoryEvent = { id: 1, previousEventId: 0, type: 'ExecutionFailed', timestamp: 1, executionArn: 'arn', details: { error: 'é', cause: '' } };
    const [record] = renderLogRecords([e], { level: 'FATAL', includeExecutionData: false });
    expect(cloudWatchLogBytes([record])).toBe(Buffer.byteLength(JSON.stringify(record), 'utf8') + LOG_EVENT_OVERHEAD_BYTES);
  });
});
