import { objectCreatedEvent } from '../../local/src/event-pattern';
import {
  backoffSeconds, DEFERRED_ERROR, DispatchEnv, executionName, idempotencyPayload, isFinal, isLastAttempt, retrySpanSeconds,
  parseIngestMessage, readDispatchConfig,
} from '../../src/handlers/dispatch';

describe('ingest messages', () => {
  test('an S3 Object Created event becomes the direct rule target\'s input, and names its upload', () => {
    const event = objectCreatedEvent('photos', 'cams/gate 1.jpg', 42, 'etag', { versionId: 'v1' });
    const { upload, input } = parseIngestMessage(JSON.stringify(event));
    expect(input).toEqual({ bucket: 'photos', key: 'cams/gate 1.jpg', object: event.detail.object });
    expect(upload).toEqual({ bucket: 'photos', key: 'cams/gate 1.jpg', versionId: 'v1', sequencer: event.detail.object.sequencer });
  });

  test('a body that is not an S3 event still runs, and the workflow records InvalidInput', () => {
    expect(parseIngestMessage('not json').input).toEqual({ body: 'not json' });
    expect(parseIngestMessage('{"detail":{}}').input).toEqual({ bucket: undefined, key: undefined, object: undefined });
  });

  test('a redelivery has the same idempotency payload; a new version or a new sequencer does not', () => {
    const a = idempotencyPayload({ bucket: 'b', key: 'k', versionId: 'v1', sequencer: '01' });
    expect(idempotencyPayload({ bucket: 'b', key: 'k', versionId: 'v1', sequencer: '01' })).toEqual(a);
    expect(idempotencyPayload({ bucket: 'b', key: 'k', versionId: 'v2', sequencer: '02' })).not.toEqual(a);
    expect(idempotencyPayload({ bucket: 'b', key: 'k', sequencer: '03' })).toEqual({ bucket: 'b', key: 'k', versionId: '', sequencer: '03' });
  });

  test('executions are named after the message and the receive, within Step Functions\' 80 characters', () => {
    expect(executionName('5fea7756-0ea4-451a-a703-a558b933e274', 3)).toBe('5fea7756-0ea4-451a-a703-a558b933e274-3');
    expect(executionName('x'.repeat(100), 1000).length).toBeLessThanOrEqual(80);
    expect(executionName('a:b/c', 1)).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('what is final', () => {
  test.each([
    [{ status: 'SUCCEEDED' }, true],
    [{ status: 'FAILED', error: 'LowConfidence' }, true],
    [{ status: 'FAILED', error: 'UnsupportedImageFormat' }, true],
    [{ status: 'FAILED', error: 'EndpointThrottled' }, true], // the last receive's ERROR
    [{ status: 'FAILED', error: 'AuditWriteFailed' }, true], // effects may have happened: never re-run
    [{ status: 'TIMED_OUT', error: 'States.Timeout' }, true],
    [{ status: 'FAILED', error: DEFERRED_ERROR }, false],
  ])('%j → final %s', (end, final) => {
    expect(isFinal(end)).toBe(final);
  });

  test('the receive that reaches maxReceiveCount is the last attempt', () => {
    expect(isLastAttempt(19, 20)).toBe(false);
    expect(isLastAttempt(20, 20)).toBe(true);
  });
});

describe('backoff', () => {
  test('doubles from the base up to the cap, with half of each wait random', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 10, 900, () => 0))).toEqual([5, 10, 20, 40]);
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, 10, 900, () => 1))).toEqual([10, 20, 40, 80]);
    expect(backoffSeconds(30, 10, 900, () => 1)).toBe(900);
    expect(backoffSeconds(30, 10, 900, () => 0)).toBe(450);
    expect(backoffSeconds(100, 10, 100_000, () => 1)).toBe(43_200); // SQS's 12-hour limit
  });

  test('with the defaults an image waits out more than an hour and a half of outage before its last receive', () => {
    expect(retrySpanSeconds(20, 10, 900)).toBe(6035);
    expect(retrySpanSeconds(20, 10, 900, 'max')).toBe(12070);
  });
});

describe('configuration', () => {
  const env = {
    [DispatchEnv.STATE_MACHINE_ARN]: 'arn:aws:states:us-east-1:123456789012:stateMachine:Ics',
    [DispatchEnv.QUEUE_URL]: 'https://sqs.us-east-1.amazonaws.com/123456789012/ingest',
    [DispatchEnv.IDEMPOTENCY_TABLE]: 'table',
  };

  test('defaults', () => {
    expect(readDispatchConfig(env)).toMatchObject({
      maxReceiveCount: 20, idempotencyWindowSeconds: 86400, backoffBaseSeconds: 10, disableHostPrefix: false,
    });
  });

  test('a missing or bad value fails the cold start, naming every problem', () => {
    expect(() => readDispatchConfig({ [DispatchEnv.MAX_RECEIVE_COUNT]: 'many' }))
      .toThrow(/ICS_STATE_MACHINE_ARN is required; ICS_INGEST_QUEUE_URL is required; ICS_IDEMPOTENCY_TABLE is required; ICS_MAX_RECEIVE_COUNT must be a non-negative integer, got "many"/);
  });
});
