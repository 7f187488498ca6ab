import '../../local/src/polyfills';
import { getLanguageService, TextDocument } from 'amazon-states-language-service';
import * as sns from 'aws-cdk-lib/aws-sns';
import { StateMachine } from 'aws-local-stepfunctions';
import { applyHashes, compatDefinition, stringifyDeferred } from '../../local/src/interpreter-compat';
import { evaluateOutput, rewriteJsonataPassStates } from '../../local/src/jsonata-states';
import { subjectProblem } from '../../local/src/peers/sns';
import { AuditTrail } from '../../src/audit/audit-trail';
import { decideOutcome, Outcome } from '../../src/outcomes';
import { MAX_SUBJECT_LENGTH } from '../../src/workflow/alert-expressions';
import { pipelineStack } from '../stacks';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

/**
 * Runs the synthesized definition in the aws-local-stepfunctions interpreter with the Classify task
 * replaced by `classify` and every other task by a recorder that succeeds, or, for the state named
 * `failing`, throws S3.AccessDeniedException every time. The Choice, Pass, Fail, Retry and Catch logic
 * that runs is the real definition's; JSONata Pass states are evaluated as the local runner does.
 */
async function execute(original: any, input: unknown, classify: (payload: any) => unknown, failing?: string) {
  const { definition, stringify, hashes } = compatDefinition(original);
  const outputs = rewriteJsonataPassStates(definition);
  // Pass states the local runner evaluates itself: JSONata ones, and those computing States.Hash or States.JsonToString.
  const localPasses = {
    ...Object.fromEntries(Object.entries(outputs).map(([name, output]) =>
      [name, async (passInput: any) => JSON.parse(JSON.stringify(await evaluateOutput(output, passInput)))])),
    ...Object.fromEntries(Object.entries(hashes).map(([name, paths]) => [name, async (params: any) => applyHashes(params, paths)])),
  };
  const calls: Array<{ state: string; params: any }> = [];
  const attempts: string[] = [];
  const recorders = Object.fromEntries(Object.entries<any>(definition.States)
    .filter(([name, state]) => state.Type === 'Task' && name !== 'Classify' && !(name in localPasses))
    .map(([name]) => [name, async (params: any) => {
      if (name === failing) {
        attempts.push(name);
        throw Object.assign(new Error('Access Denied'), { name: 'S3.AccessDeniedException' });
      }
      calls.push({ state: name, params: stringifyDeferred(params, stringify[name]) });
      return {};
    }]));
  const retryIntervalOverrides = Object.fromEntries(Object.keys(definition.States).map((s) => [s, 0]));
  const sm = new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = sm.run(input as any, {
    overrides: {
      taskResourceLocalHandlers: { Classify: async (p: any) => classify(p) as any, ...recorders, ...localPasses },
      retryIntervalOverrides,
    },
    // The interpreter fills $$.Execution but not $$.State; a fixed entered time stands in.
    context: {
      Execution: { Id: 'arn:aws:states:us-east-1:123456789012:express:sm:exec-1', Name: 'exec-1' },
      State: { EnteredTime: '2026-11-22T10:00:00.000Z' },
    },
  });
  // Each alert's per-protocol entries (MessageStructure json), parsed.
  const published = () => calls.filter((c) => c.state.startsWith('Alert'))
    .map((c) => ({ state: c.state, ...c.params, entries: JSON.parse(c.params.Message) }));
  try {
    return { status: 'SUCCEEDED', output: await execution.result as any, published: published(), calls, attempts };
  } catch (e: any) {
    return { status: 'FAILED', error: e.cause?.name, cause: e.cause?.message, published: published(), calls, attempts };
  }
}

/** What the classify function returns: the object, the result, and the action inputs. */
const classification = (label: string, confidence: number) => ({
  bucket: 'b',
  key: 'k.jpg',
  result: {
    schemaVersion: '1.1',
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
  },
  actions: { tagSet: [{ Key: 'ics:label', Value: label }] },
});
/** The record a WriteAuditRecord state sends: a delivery stream record's data, or an object's body (an object, not a string). */
const auditRecord = (params: any) => params.Record?.Data ?? params.Body;
const lambdaError = (name: string, message: string) => Object.assign(new Error(JSON.stringify({ errorType: name, errorMessage: message })), { name });

describe('synthesized definitions are valid ASL', () => {
  test.each([
    ['defaults', {}],
    ['no topics', { alertTopics: [] }],
    ['no flagged labels, low confidence succeeds', { flaggedLabels: [], failOnLowConfidence: false }],
    ['every action: quarantine, no tagging, no audit, no events', {
      inputPrefix: 'in/',
      quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'q/' },
      tagObjects: false,
      auditTrail: { enabled: false },
      resultEvents: { enabled: false },
    }],
    ['alerts only: no tagging, no audit, no events (no action can fail)', { tagObjects: false, auditTrail: { enabled: false }, resultEvents: { enabled: false } }],
    ['audit records as objects', { auditTrail: { delivery: AuditTrail.objectPerImage() } }],
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
        expect(JSON.parse(run.published[0].entries.default)).toMatchObject({ outcome: 'FLAGGED', key: 'k.jpg', label });
        expect(run.published[0].Subject).toBe(`FLAGGED: ${label} ${+(confidence * 100).toFixed(1)}% - k.jpg`);
        expect(run.published[0].MessageStructure).toBe('json');
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
    const body = JSON.parse(run.published[0].entries.default);
    expect(body).toMatchObject({
      schemaVersion: '1.1',
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
    // The queued machine (the default): first attempt + MaxAttempts (2) retries; the queue retries the image later.
    expect(calls).toBe(3);
    expect(run).toMatchObject({ status: 'FAILED', error: 'ModelNotReady' });
    expect(run.published.map((p) => p.state)).toEqual(['AlertError1']);
  });

  test('input without bucket and key: InvalidInput, alerted with the raw input', async () => {
    const run = await execute(definition, { Records: [] }, () => { throw new Error('not called'); });
    expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidInput' });
    expect(JSON.parse(run.published[0].entries.default)).toMatchObject({ outcome: 'ERROR', input: { Records: [] }, error: { name: 'InvalidInput' } });
  });
});

describe('outcome actions', () => {
  const today = () => new Date().toISOString().slice(0, 10).split('-');

  test('FLAGGED: tags, alerts, writes the audit record and the result event, in that order', async () => {
    const run = await execute(pipelineStack().definition, { bucket: 'b', key: 'k.jpg' }, () => classification('tank', 0.99));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.calls.map((c) => c.state)).toEqual(['TagObject', 'AlertFlagged1', 'WriteAuditRecord', 'PublishResultEvent']);
    expect(run.calls[0].params).toEqual({ Bucket: 'b', Key: 'k.jpg', Tagging: { TagSet: [{ Key: 'ics:label', Value: 'tank' }] } });
    // The default audit trail: the record as an object, which the blob is the compact JSON of under either reading
    // of blob parameters (DESIGN.md; Firehose appends the newline).
    const audit = run.calls[2].params;
    expect(audit).toEqual({ DeliveryStreamName: expect.stringMatching(/^IcsAuditStream/), Record: { Data: run.output } });
    expect(run.calls[3].params).toEqual({
      Entries: [{ Source: 'cdk-image-classification-pipeline', DetailType: 'ImageClassified', Detail: run.output }],
    });
  });

  test('AuditTrail.objectPerImage(): the record at results/yyyy/mm/dd/<execution name>.json', async () => {
    const { definition } = pipelineStack({ auditTrail: { delivery: AuditTrail.objectPerImage() } });
    const run = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => classification('tank', 0.99));
    const [yyyy, mm, dd] = today();
    const audit = run.calls.find((c) => c.state === 'WriteAuditRecord')!.params;
    expect(audit).toMatchObject({ Bucket: expect.stringMatching(/^icsauditbucket/), Key: `results/${yyyy}/${mm}/${dd}/exec-1.json`, ContentType: 'application/json' });
    // An object Body is stored as compact JSON; a string would be stored with its quotes (LocalStack
    // test_aws_sdk_task_service.snapshot.json, test_s3_put_object[str], recorded on AWS).
    expect(audit.Body).toEqual(run.output);
  });

  test('ERROR: no tagging, but alert, audit record and event', async () => {
    const run = await execute(pipelineStack().definition, { bucket: 'b', key: 'k.jpg' }, () => { throw lambdaError('EmptyObject', 'empty'); });
    expect(run.calls.map((c) => c.state)).toEqual(['AlertError1', 'WriteAuditRecord', 'PublishResultEvent']);
    expect(auditRecord(run.calls[1].params)).toMatchObject({ outcome: 'ERROR', error: { name: 'EmptyObject' } });
  });

  test('an object with too many tags skips TagObject and still succeeds', async () => {
    const run = await execute(pipelineStack().definition, { bucket: 'b', key: 'k.jpg' }, () => ({ ...classification('bus', 0.99), actions: {} }));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.calls.map((c) => c.state)).toEqual(['WriteAuditRecord', 'PublishResultEvent']);
  });

  test('quarantine copies the classified version, then deletes the original, and records where it went', async () => {
    const { definition } = pipelineStack({ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' } });
    const classified = { ...classification('tank', 0.99), actions: { quarantine: { key: 'quarantine/in/k.jpg', copySource: 'b/in/k.jpg?versionId=v1' } } };
    const run = await execute(definition, { bucket: 'b', key: 'in/k.jpg' }, () => classified);
    expect(run.calls.map((c) => c.state)).toEqual(['CopyToQuarantine', 'DeleteOriginal', 'AlertFlagged1', 'WriteAuditRecord', 'PublishResultEvent']);
    expect(run.calls[0].params).toEqual({ Bucket: expect.stringMatching(/^icsbucket/), Key: 'quarantine/in/k.jpg', CopySource: 'b/in/k.jpg?versionId=v1' });
    expect(run.calls[1].params).toEqual({ Bucket: 'b', Key: 'k.jpg' });
    expect(run.output.quarantine).toEqual({ bucket: expect.stringMatching(/^icsbucket/), key: 'quarantine/in/k.jpg' });

    const accepted = await execute(definition, { bucket: 'b', key: 'in/k.jpg' }, () => ({ ...classified, ...{ result: classification('bus', 0.99).result } }));
    expect(accepted.calls.map((c) => c.state)).toEqual(['WriteAuditRecord', 'PublishResultEvent']);
  });

  test('alerts follow their routes', async () => {
    const { definition } = pipelineStack({}, (stack) => ({
      alerts: [
        { topic: new sns.Topic(stack, 'Security'), outcomes: [Outcome.FLAGGED] },
        { topic: new sns.Topic(stack, 'Ops'), outcomes: [Outcome.ERROR] },
      ],
    }));
    const flagged = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => classification('tank', 0.99));
    const topicOf = (p: any) => [p.state, p.TopicArn.split(':').pop().replace(/[0-9A-F]{8}$/, '')];
    expect(flagged.published.map(topicOf)).toEqual([['AlertFlagged1', 'Security']]);
    const low = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => classification('tank', 0.5));
    expect(low.published).toEqual([]);
    const error = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => { throw lambdaError('ModelError', 'x'); });
    expect(error.published.map(topicOf)).toEqual([['AlertError1', 'Ops']]);
  });
});

describe('failed actions are retried, then alerted and audited as ERROR', () => {
  test.each([
    ['TagObject', 'TagObject'],
    ['CopyToQuarantine', 'Quarantine'],
    ['DeleteOriginal', 'Quarantine'],
  ])('%s', async (failing, action) => {
    const { definition } = pipelineStack({ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' } });
    const classified = { ...classification('tank', 0.99), actions: { tagSet: [], quarantine: { key: 'quarantine/in/k.jpg', copySource: 'b/in/k.jpg' } } };
    const run = await execute(definition, { bucket: 'b', key: 'in/k.jpg' }, () => classified, failing);
    expect(run.attempts).toHaveLength(3); // first try + 2 retries
    expect(run.error).toBe('ActionFailed');
    expect(run.calls.map((c) => c.state)).toEqual(expect.arrayContaining(['AlertError1', 'WriteAuditRecord']));
    const record = auditRecord(run.calls.find((c) => c.state === 'WriteAuditRecord')!.params);
    expect(record).toMatchObject({ outcome: 'ERROR', label: 'tank', error: { name: 'ActionFailed', action } });
    expect(record.error.cause).toContain('S3.AccessDeniedException');
  });

  test('an alert that cannot be published: audit still written, execution fails AlertPublishFailed', async () => {
    const run = await execute(pipelineStack().definition, { bucket: 'b', key: 'in/k.jpg' }, () => classification('tank', 0.99), 'AlertFlagged1');
    expect(run.error).toBe('AlertPublishFailed');
    expect(run.calls.map((c) => c.state)).toEqual(['TagObject', 'WriteAuditRecord', 'PublishResultEvent']);
    expect(auditRecord(run.calls[1].params).alertError).toMatchObject({ error: 'S3.AccessDeniedException' });
  });
});

describe('alerts a person can read', () => {
  const { definition } = pipelineStack();

  test('each routed outcome: subject and texts (JSONata), the per-protocol message, then MessageStructure json publishes', () => {
    expect(definition.States.RouteAlerts.Choices.map((c: any) => c.Next)).toEqual(['ComposeAlertFlagged', 'ComposeAlertLowConfidence', 'ComposeAlertError']);
    expect(definition.States.ComposeAlertFlagged).toMatchObject({ Type: 'Pass', QueryLanguage: 'JSONata', Next: 'PackAlertFlagged' });
    expect(definition.States.PackAlertFlagged).toEqual({
      Type: 'Pass',
      Parameters: { 'default.$': 'States.JsonToString($.result)', 'email.$': '$.alert.email', 'sms.$': '$.alert.sms' },
      ResultPath: '$.alert.message',
      Next: 'AlertFlagged1',
    });
    expect(definition.States.AlertFlagged1).toMatchObject({
      Resource: expect.stringMatching(/:states:::sns:publish$/),
      Parameters: { 'Subject.$': '$.alert.subject', 'Message.$': 'States.JsonToString($.alert.message)', 'MessageStructure': 'json' },
      ResultPath: '$.alert',
    });
  });

  test('FLAGGED: the default entry is the result JSON exactly; the email says what, where, when and which execution', async () => {
    const run = await execute(definition, { bucket: 'b', key: 'cams/gate-1.jpg' }, () => classification('motorcycle', 0.9712345678901234));
    expect(run.status).toBe('SUCCEEDED');
    const [alert] = run.published;
    expect(alert.entries.default).toBe(JSON.stringify(run.output));
    expect(Object.keys(alert.entries)).toEqual(['default', 'email', 'sms']);
    expect(alert.Subject).toBe('FLAGGED: motorcycle 97.1% - k.jpg');
    expect(alert.entries.email).toBe([
      'FLAGGED: motorcycle with 97.1% confidence (threshold 94%).',
      'The label is one the pipeline flags: look at the image and act on it.',
      '',
      'Top labels:  motorcycle 97.1%',
      'Image:       s3://b/k.jpg',
      'When:        2026-11-22T10:00:00.000Z',
      'Execution:   arn',
      'Model:       vehicles',
      '',
      'Queue, Lambda and HTTP subscribers of this topic receive the result as JSON.',
    ].join('\n'));
    expect(alert.entries.sms).toBe('FLAGGED: motorcycle 97.1% (threshold 94%) - s3://b/k.jpg 2026-11-22T10:00:00.000Z');
    // The alert, which holds the result twice, does not travel on: the last publish replaced it.
    expect(run.calls.find((c) => c.state === 'WriteAuditRecord')!.params.Record.Data).toEqual(run.output);
  });

  test('LOW_CONFIDENCE: the email asks for a look', async () => {
    const run = await execute(definition, { bucket: 'b', key: 'k.jpg' }, () => classification('bicycle', 0.167));
    expect(run.published[0].Subject).toBe('LOW_CONFIDENCE: bicycle 16.7% - k.jpg');
    expect(run.published[0].entries.email).toMatch(/^LOW_CONFIDENCE: bicycle with 16\.7% confidence \(threshold 94%\)\.\nThe model is not sure/);
    expect(JSON.parse(run.published[0].entries.default)).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'bicycle' });
  });

  test('ERROR from a catch path: the error name, its cause and what to do', async () => {
    const run = await execute(definition, { bucket: 'b', key: 'cams/cut.jpg' }, () => { throw lambdaError('TruncatedImage', 'ends early'); });
    const [alert] = run.published;
    expect(alert.Subject).toBe('ERROR: TruncatedImage - cams/cut.jpg');
    expect(alert.entries.email).toContain('ERROR: the image could not be classified.\n\nError:       TruncatedImage\nCause:       {"errorType":"TruncatedImage","errorMessage":"ends early"}');
    expect(alert.entries.email).toContain('What to do:  The upload was cut off. Upload the image again.\nImage:       s3://b/cams/cut.jpg\n');
    expect(alert.entries.email).toContain('Execution:   arn:aws:states:us-east-1:123456789012:express:sm:exec-1');
    expect(alert.entries.sms).toBe('ERROR: TruncatedImage - s3://b/cams/cut.jpg 2026-11-22T10:00:00.000Z');
    expect(JSON.parse(alert.entries.default)).toMatchObject({ outcome: 'ERROR', error: { name: 'TruncatedImage' } });
  });

  test('InvalidInput: no key to show', async () => {
    const run = await execute(definition, { Records: [] }, () => { throw new Error('not called'); });
    expect(run.published[0].Subject).toBe('ERROR: InvalidInput');
    expect(run.published[0].entries.email).toContain('Image:       (no bucket and key in the execution input)');
  });

  test.each([
    ['non-ASCII', 'caméras/entrée ü/写真.jpg'],
    ['1,024 bytes', `cams/${'a'.repeat(1015)}.jpg`],
    ['1,024 bytes of 3-byte characters', '写'.repeat(341) + 'x'],
    ['a newline and control characters', 'cams/gate\n1\r\t\u0000\u007f.jpg'],
    ['a leading space', ' leading.jpg'],
  ])('a key with %s gets a subject SNS accepts', async (_name, key) => {
    const run = await execute(definition, { bucket: 'b', key }, () => ({ ...classification('motorcycle', 0.99), key, result: { ...classification('motorcycle', 0.99).result, key } }));
    const subject = run.published[0].Subject;
    expect(subjectProblem(subject)).toBeUndefined();
    expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^FLAGGED: motorcycle 99% - /);
    // The email shows the key unambiguously: as it is, or JSON-quoted when it has control characters.
    const shown = /[\u0000-\u001f\u007f]/.test(key) ? `${JSON.stringify(key)} (JSON-quoted: the key has control characters)` : key;
    expect(run.published[0].entries.email).toContain(`Image:       s3://b/${shown}\n`);
  });

  test('with a console, the email links the image\'s review page; AWS\'s own validator accepts the states', async () => {
    const withConsole = pipelineStack({ review: {}, console: {} }).definition;
    const ls = getLanguageService({});
    const doc = TextDocument.create('file:///definition.asl.json', 'json', 0, JSON.stringify(withConsole, null, 2));
    expect(await ls.doValidation(doc, ls.parseJSONDocument(doc))).toEqual([]);
    expect(JSON.stringify(withConsole.States.ComposeAlertFlagged.Output)).toContain('/#/reviews/');
    expect(JSON.stringify(definition.States.ComposeAlertFlagged.Output)).not.toContain('/#/reviews/');
  });
});
