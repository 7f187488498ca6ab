import { createHash } from 'node:crypto';
import { ScaledClock } from '../src/clock';
import { EventSourceMapping, EventSourceMappingOptions, SqsRecord, startEventSourceMapping } from '../src/event-source-mapping';
import { LocalQueue, SqsPeer, startSqs } from '../src/peers/sqs';

const arn = (name: string): string => `arn:aws:sqs:eu-west-1:123456789012:${name}`;

// 1 simulated second = 1 real ms.
const clock = new ScaledClock(0.001);
let peer: SqsPeer;
let queue: LocalQueue;
let dlq: LocalQueue;
let esm: EventSourceMapping | undefined;

beforeEach(async () => {
  peer = await startSqs({
    clock,
    queues: [
      { name: 'work', arn: arn('work'), url: 'http://127.0.0.1/123456789012/work', visibilityTimeoutSeconds: 120, redrive: { deadLetterTargetArn: arn('dlq'), maxReceiveCount: 3 } },
      { name: 'dlq', arn: arn('dlq'), url: 'http://127.0.0.1/123456789012/dlq' },
      { name: 'slow', arn: arn('slow'), url: 'http://127.0.0.1/123456789012/slow', visibilityTimeoutSeconds: 300 },
    ],
  });
  queue = peer.queue('work');
  dlq = peer.queue('dlq');
});

afterEach(async () => {
  await esm?.stop();
  esm = undefined;
  await peer.close();
});

const start = (invoke: EventSourceMappingOptions['invoke'], extra: Partial<EventSourceMappingOptions> = {}): EventSourceMapping =>
  (esm = startEventSourceMapping({ queue, clock, reportBatchItemFailures: true, functionTimeoutSeconds: 60, invoke, ...extra }));

test('delivers records in Lambda\'s SQS event shape and deletes them on success', async () => {
  const batches: SqsRecord[][] = [];
  queue.send('{"n":1}', { messageAttributes: { kind: { DataType: 'String', StringValue: 'image' } } });
  start(async (event) => void batches.push(event.Records));
  await esm!.drained();
  expect(batches).toHaveLength(1);
  const [record] = batches[0];
  expect(record).toEqual({
    messageId: expect.any(String),
    receiptHandle: expect.any(String),
    body: '{"n":1}',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/), SenderId: '123456789012', ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/) },
    messageAttributes: { kind: { stringValue: 'image', stringListValues: [], binaryListValues: [], dataType: 'String' } },
    md5OfBody: createHash('md5').update('{"n":1}').digest('hex'),
    md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
    eventSource: 'aws:sqs',
    eventSourceARN: arn('work'),
    awsRegion: 'eu-west-1',
  });
  expect(queue.messages()).toEqual([]);
});

test('batches up to batchSize with no window, and never exceeds maximumConcurrency', async () => {
  for (let i = 0; i < 60; i++) queue.send(String(i));
  let running = 0;
  let peak = 0;
  const seen = new Set<string>();
  start(async ({ Records }) => {
    peak = Math.max(peak, ++running);
    expect(Records.length).toBeLessThanOrEqual(5);
    Records.forEach((r) => seen.add(r.body));
    await clock.sleep(2000);
    running--;
  }, { batchSize: 5, maximumConcurrency: 3 });
  await esm!.drained();
  expect(seen.size).toBe(60);
  expect(peak).toBe(3); // concurrent pollers, each with its own invocation
  expect(esm!.maxConcurrentInvocations).toBe(3);
  expect(esm!.invocations).toBeGreaterThanOrEqual(12);
});

test('a batching window gathers records that arrive after the first, up to batchSize', async () => {
  const sizes: number[] = [];
  // AWS: the visibility timeout should exceed the batching window plus the function timeout, or records come back.
  queue = peer.queue('slow');
  start(async ({ Records }) => void sizes.push(Records.length), { batchSize: 100, maximumBatchingWindowSeconds: 120 });
  for (let i = 0; i < 3; i++) queue.send(`a${i}`);
  await clock.sleep(20_000);
  for (let i = 0; i < 2; i++) queue.send(`b${i}`);
  const sent = clock.now();
  await esm!.drained();
  expect(sizes).toEqual([5]);
  expect(clock.now() - sent).toBeGreaterThanOrEqual(90_000); // the window, counted from the first record, ran out

  // A full batch does not wait for the window.
  sizes.length = 0;
  for (let i = 0; i < 100; i++) queue.send(String(i));
  const full = clock.now();
  await esm!.drained();
  expect(sizes).toEqual([100]);
  expect(clock.now() - full).toBeLessThan(60_000);
});

test('partial batch response: listed items stay and are retried until redrive; the rest are deleted', async () => {
  const attempts = new Map<string, number>();
  queue.send('ok-1');
  queue.send('poison');
  queue.send('ok-2');
  start(async ({ Records }) => {
    Records.forEach((r) => attempts.set(r.body, (attempts.get(r.body) ?? 0) + 1));
    return { batchItemFailures: Records.filter((r) => r.body === 'poison').map((r) => ({ itemIdentifier: r.messageId })) };
  });
  await esm!.drained();
  expect(attempts).toEqual(new Map([['ok-1', 1], ['poison', 3], ['ok-2', 1]]));
  expect(dlq.messages().map((m) => m.body)).toEqual(['poison']);
});

test.each([
  ['an empty batchItemFailures list', { batchItemFailures: [] }, 1],
  ['a null response', null, 1],
  ['an empty response', {}, 1],
  ['an unknown itemIdentifier', { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] }, 3],
  ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }, 3],
  ['a bad key name', { batchItemFailures: [{ itemId: 'x' }] }, 3],
  ['a non-array batchItemFailures', { batchItemFailures: 'all' }, 3],
])('with reportBatchItemFailures, %s is handled as Lambda documents', async (_, response, expectedAttempts) => {
  let attempts = 0;
  queue.send('m');
  start(async () => {
    attempts++;
    return response;
  });
  await esm!.drained();
  expect(attempts).toBe(expectedAttempts); // 3 = whole batch failed each time, then moved to the DLQ
  expect(dlq.messages()).toHaveLength(expectedAttempts === 3 ? 1 : 0);
});

test('a thrown error or a timeout leaves the whole batch; without reportBatchItemFailures a response is ignored', async () => {
  let calls = 0;
  queue.send('a');
  queue.send('b');
  start(async () => {
    calls++;
    if (calls === 1) throw new Error('boom');
    if (calls === 2) await clock.sleep(100_000); // past the 60 s function timeout
    return { batchItemFailures: [{ itemIdentifier: 'whatever' }] };
  }, { reportBatchItemFailures: false });
  const started = clock.now();
  await esm!.drained();
  expect(calls).toBe(3);
  // Each failure waited for the 120 s visibility timeout before the batch came back.
  expect(clock.now() - started).toBeGreaterThanOrEqual(235_000); // less a timer's early millisecond
  expect(queue.messages()).toEqual([]);
  expect(dlq.messages()).toEqual([]);
});

test('wakes on delayed messages without busy polling, and stop ends the pollers', async () => {
  const got: string[] = [];
  start(async ({ Records }) => void got.push(...Records.map((r) => r.body)));
  queue.send('late', { delaySeconds: 30 });
  await clock.sleep(5000);
  expect(got).toEqual([]);
  await esm!.drained();
  expect(got).toEqual(['late']);
  await esm!.stop();
  queue.send('after stop');
  await clock.sleep(5000);
  expect(got).toEqual(['late']);
  expect(queue.visibleCount).toBe(1);
});

test('rejects configurations Lambda rejects', () => {
  const invoke = async () => undefined;
  expect(() => startEventSourceMapping({ queue, clock, invoke, reportBatchItemFailures: false, functionTimeoutSeconds: 10, batchSize: 11 }))
    .toThrow(/batch window/);
  expect(() => startEventSourceMapping({ queue, clock, invoke, reportBatchItemFailures: false, functionTimeoutSeconds: 121 }))
    .toThrow(/Queue visibility timeout: 120 seconds is less than Function timeout: 121 seconds/);
  expect(() => startEventSourceMapping({ queue, clock, invoke, reportBatchItemFailures: false, functionTimeoutSeconds: 10, maximumConcurrency: 1 }))
    .toThrow(/MaximumConcurrency/);
});
