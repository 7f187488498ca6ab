import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  MessageNotInflight,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ScaledClock } from '../../src/clock';
import { md5OfMessageAttributes, SqsPeer, startSqs } from '../../src/peers/sqs';

const ACCOUNT = '123456789012';
const arn = (name: string): string => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
// The URL the runner resolves from a template: matched to the queue by its last path segment.
const awsUrl = (name: string): string => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${name}`;

// 1 simulated second = 1 real ms. Timeouts that must not lapse during a request are minutes long.
const clock = new ScaledClock(0.001);
let peer: SqsPeer;
let sqs: SQSClient;

beforeAll(async () => {
  const queue = (name: string, extra: object = {}) => ({ name, arn: arn(name), url: `http://127.0.0.1/${ACCOUNT}/${name}`, ...extra });
  peer = await startSqs({
    clock,
    queues: [
      queue('jobs', { visibilityTimeoutSeconds: 300 }),
      queue('work', { visibilityTimeoutSeconds: 300, redrive: { deadLetterTargetArn: arn('work-dlq'), maxReceiveCount: 2 } }),
      queue('work-dlq'),
      queue('short-lived', { retentionSeconds: 60 }),
    ],
  });
  sqs = new SQSClient({ endpoint: peer.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});

afterAll(async () => {
  sqs.destroy();
  await peer.close();
});

afterEach(() => peer.queues.forEach((q) => q.purge()));

const receive = (name: string, extra: object = {}) =>
  sqs.send(new ReceiveMessageCommand({ QueueUrl: awsUrl(name), MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'], ...extra }));
const error = (p: Promise<unknown>): Promise<any> => p.then(() => { throw new Error('expected an error'); }, (e) => e);

test('SendMessage and ReceiveMessage round-trip body, attributes and their MD5s', async () => {
  const attributes = { timestamp: { DataType: 'Number', StringValue: '1493147359900' } };
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: '{"key":"a.jpg"}', MessageAttributes: attributes }));
  // The digest moto's suite pins as what AWS answers for this attribute.
  expect(sent.MD5OfMessageAttributes).toBe('235c5c510d26fb653d073faed50ae77c');

  const { Messages } = await receive('jobs');
  expect(Messages).toHaveLength(1);
  const [m] = Messages!;
  expect(m).toMatchObject({
    MessageId: sent.MessageId,
    Body: '{"key":"a.jpg"}',
    MD5OfBody: sent.MD5OfMessageBody, // the SDK checks it against the body, too
    MessageAttributes: attributes,
    MD5OfMessageAttributes: '235c5c510d26fb653d073faed50ae77c',
    Attributes: { ApproximateReceiveCount: '1', SenderId: ACCOUNT },
  });
  expect(Number(m.Attributes!.SentTimestamp)).toBeLessThanOrEqual(Number(m.Attributes!.ApproximateFirstReceiveTimestamp));
  expect(md5OfMessageAttributes({ bin: { DataType: 'Binary', BinaryValue: Buffer.from('hi').toString('base64') } })).toMatch(/^[0-9a-f]{32}$/);

  // Attributes only when asked for.
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'x', MessageAttributes: attributes }));
  const plain = await sqs.send(new ReceiveMessageCommand({ QueueUrl: awsUrl('jobs') }));
  expect(plain.Messages![0].Attributes).toBeUndefined();
  expect(plain.Messages![0].MessageAttributes).toBeUndefined();
});

test('visibility timeout, receive count, and stale receipt handles', async () => {
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'job' }));
  const first = (await receive('jobs', { VisibilityTimeout: 60 })).Messages![0];
  expect(await receive('jobs')).not.toHaveProperty('Messages'); // in flight
  expect(peer.queue('jobs').inFlightCount).toBe(1);

  await clock.sleep(61_000);
  const second = (await receive('jobs')).Messages![0];
  expect(second.MessageId).toBe(first.MessageId);
  expect(second.Attributes!.ApproximateReceiveCount).toBe('2');
  expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
  expect(second.Attributes!.ApproximateFirstReceiveTimestamp).toBe(first.Attributes!.ApproximateFirstReceiveTimestamp);

  // An older receipt handle: DeleteMessage succeeds but does not delete; ChangeMessageVisibility is refused.
  await sqs.send(new DeleteMessageCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle: first.ReceiptHandle }));
  expect(peer.queue('jobs').inFlightCount).toBe(1);
  const stale = await error(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 10 })));
  expect(stale.name).toBe('InvalidParameterValue');
  expect(stale.message).toMatch(/Reason: Message does not exist or is not available for visibility timeout change/);

  await sqs.send(new DeleteMessageCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle: second.ReceiptHandle }));
  expect(peer.queue('jobs').messages()).toEqual([]);
  // Deleting again with the same handle is fine.
  await sqs.send(new DeleteMessageCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle: second.ReceiptHandle }));
});

test('ChangeMessageVisibility counts from now, caps at 12 h from the receive, and needs a message in flight', async () => {
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'job' }));
  const m = (await receive('jobs')).Messages![0];
  const change = (VisibilityTimeout: number, ReceiptHandle = m.ReceiptHandle) =>
    sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle, VisibilityTimeout }));

  await change(43000);
  await clock.sleep(300_000);
  const beyond = await error(change(43000)); // 300 s + 43000 s past the receive > 12 h
  expect(beyond.name).toBe('InvalidParameterValue');
  expect(beyond.message).toMatch(/Total VisibilityTimeout for the message is beyond the limit \[43200 seconds\]/);
  expect((await error(change(43201))).name).toBe('InvalidParameterValue');

  await change(0); // visible again at once
  const notInflight = await error(change(10));
  expect(notInflight).toBeInstanceOf(MessageNotInflight);
  expect(notInflight.name).toBe('MessageNotInflight');
  expect(notInflight.$metadata.httpStatusCode).toBe(400);

  const invalid = await error(change(10, 'not-a-handle'));
  expect(invalid).toBeInstanceOf(ReceiptHandleIsInvalid);
  expect(invalid.$metadata.httpStatusCode).toBe(404);
  expect((await error(sqs.send(new DeleteMessageCommand({ QueueUrl: awsUrl('jobs'), ReceiptHandle: 'nope' })))).name).toBe('ReceiptHandleIsInvalid');
});

test('errors the SDK maps: QueueDoesNotExist, InvalidParameterValue, batch errors', async () => {
  const missing = await error(sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('nope'), MessageBody: 'x' })));
  expect(missing).toBeInstanceOf(QueueDoesNotExist);
  expect(missing.message).toBe('The specified queue does not exist.');
  expect(missing.Code).toBe('AWS.SimpleQueueService.NonExistentQueue'); // the query code, from x-amzn-query-error
  expect((await error(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })))).name).toBe('QueueDoesNotExist');

  const tooMany = await error(sqs.send(new ReceiveMessageCommand({ QueueUrl: awsUrl('jobs'), MaxNumberOfMessages: 11 })));
  expect(tooMany.name).toBe('InvalidParameterValue');
  expect(tooMany.message).toMatch(/MaxNumberOfMessages/);
  expect((await error(sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'x'.repeat(262145) })))).name).toBe('InvalidParameterValue');
  expect((await error(sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'x', DelaySeconds: 901 })))).name).toBe('InvalidParameterValue');
  expect((await error(sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('jobs'), MessageBody: 'bell \u0007' })))).name).toBe('InvalidMessageContents');

  const dup = await error(sqs.send(new SendMessageBatchCommand({ QueueUrl: awsUrl('jobs'), Entries: [{ Id: 'a', MessageBody: '1' }, { Id: 'a', MessageBody: '2' }] })));
  expect(dup.name).toBe('BatchEntryIdsNotDistinct');
  expect((await error(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: awsUrl('jobs'), Entries: [] })))).name).toBe('EmptyBatchRequest');
});

test('batch operations answer per entry', async () => {
  const sent = await sqs.send(new SendMessageBatchCommand({
    QueueUrl: awsUrl('jobs'),
    Entries: [{ Id: 'a', MessageBody: '1' }, { Id: 'b', MessageBody: '2' }, { Id: 'c', MessageBody: '3', DelaySeconds: 1000 }],
  }));
  expect(sent.Successful!.map((e) => e.Id)).toEqual(['a', 'b']);
  expect(sent.Failed).toEqual([expect.objectContaining({ Id: 'c', SenderFault: true, Code: 'InvalidParameterValue' })]);

  const [m1, m2] = (await receive('jobs')).Messages!;
  const changed = await sqs.send(new ChangeMessageVisibilityBatchCommand({
    QueueUrl: awsUrl('jobs'),
    Entries: [{ Id: 'one', ReceiptHandle: m1.ReceiptHandle, VisibilityTimeout: 0 }, { Id: 'bad', ReceiptHandle: 'x', VisibilityTimeout: 0 }],
  }));
  expect(changed.Successful).toEqual([{ Id: 'one' }]);
  expect(changed.Failed).toEqual([expect.objectContaining({ Id: 'bad', Code: 'ReceiptHandleIsInvalid' })]);

  const deleted = await sqs.send(new DeleteMessageBatchCommand({
    QueueUrl: awsUrl('jobs'),
    Entries: [{ Id: 'two', ReceiptHandle: m2.ReceiptHandle }, { Id: 'bad', ReceiptHandle: 'x' }],
  }));
  expect(deleted.Successful).toEqual([{ Id: 'two' }]);
  expect(deleted.Failed![0].Code).toBe('ReceiptHandleIsInvalid');
  expect(peer.queue('jobs').visibleCount).toBe(1);
});

test('delay, counts and queue attributes', async () => {
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('work'), MessageBody: 'later', DelaySeconds: 600 }));
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('work'), MessageBody: 'now' }));
  await receive('work', { MaxNumberOfMessages: 1 });
  await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('work'), MessageBody: 'waiting' }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: awsUrl('work'), AttributeNames: ['All'] }));
  expect(Attributes).toMatchObject({
    ApproximateNumberOfMessages: '1',
    ApproximateNumberOfMessagesNotVisible: '1',
    ApproximateNumberOfMessagesDelayed: '1',
    VisibilityTimeout: '300',
    QueueArn: arn('work'),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn('work-dlq'), maxReceiveCount: 2 }),
  });
  const unknown = await error(sqs.send(new GetQueueAttributesCommand({ QueueUrl: awsUrl('work'), AttributeNames: ['Bogus' as any] })));
  expect(unknown.name).toBe('InvalidAttributeName');
  expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'work' }))).QueueUrl).toBe(peer.queue('work').url);
});

test('long polling waits on the simulated clock for a message', async () => {
  const started = clock.now();
  const empty = await receive('jobs', { WaitTimeSeconds: 2 });
  expect(empty.Messages).toBeUndefined();
  expect(clock.now() - started).toBeGreaterThanOrEqual(2000);

  const polling = receive('jobs', { WaitTimeSeconds: 20 });
  await clock.sleep(3000);
  peer.queue('jobs').send('arrived');
  expect((await polling).Messages!.map((m) => m.Body)).toEqual(['arrived']);
  expect((await error(receive('jobs', { WaitTimeSeconds: 21 }))).name).toBe('InvalidParameterValue');
});

test('redrive moves a message received maxReceiveCount times to the DLQ; StartMessageMoveTask moves it back', async () => {
  const attributes = { k: { DataType: 'String', StringValue: 'v' } };
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: awsUrl('work'), MessageBody: 'poison', MessageAttributes: attributes }));
  const sentAt = peer.queue('work').messages()[0].sentTimestamp;
  for (const count of ['1', '2']) {
    expect((await receive('work', { VisibilityTimeout: 0 })).Messages![0].Attributes!.ApproximateReceiveCount).toBe(count);
  }
  expect(await receive('work')).not.toHaveProperty('Messages'); // the third receive moves it instead
  expect(peer.queue('work').messages()).toEqual([]);

  const dead = (await receive('work-dlq', { VisibilityTimeout: 0 })).Messages![0];
  expect(dead).toMatchObject({ MessageId, Body: 'poison', MessageAttributes: attributes });
  expect(dead.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SentTimestamp: String(sentAt), DeadLetterQueueSourceArn: arn('work') });

  const notDlq = await error(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('jobs') })));
  expect(notDlq.name).toBe('InvalidParameterValue');
  expect((await error(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('nope') })))).name).toBe('ResourceNotFoundException');

  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn('work-dlq') }));
  expect(TaskHandle).toBeTruthy();
  const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn('work-dlq') }));
  expect(Results).toEqual([expect.objectContaining({ Status: 'COMPLETED', SourceArn: arn('work-dlq'), ApproximateNumberOfMessagesMoved: 1, ApproximateNumberOfMessagesToMove: 1 })]);
  expect(peer.queue('work-dlq').messages()).toEqual([]);
  const back = (await receive('work')).Messages![0];
  expect(back).toMatchObject({ Body: 'poison', MessageAttributes: attributes, Attributes: expect.objectContaining({ ApproximateReceiveCount: '1' }) });
  // Redriven messages are new messages with a new message ID (SQS Developer Guide, "Learn how to configure a
  // dead-letter queue redrive"), so execution names `<message id>-<receive count>` cannot repeat after a redrive.
  expect(back.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  expect(back.MessageId).not.toBe(MessageId);
});

test('retention drops expired messages; PurgeQueue once per 60 s', async () => {
  const q = peer.queue(arn('short-lived'));
  q.send('old');
  await clock.sleep(61_000);
  expect(q.messages()).toEqual([]);
  expect(q.receive(1)).toEqual([]);

  q.send('a');
  await sqs.send(new PurgeQueueCommand({ QueueUrl: awsUrl('short-lived') }));
  expect(q.visibleCount).toBe(0);
  expect((await error(sqs.send(new PurgeQueueCommand({ QueueUrl: awsUrl('short-lived') })))).name).toBe('PurgeQueueInProgress');
});

test('onAvailable fires when a delayed message becomes visible', async () => {
  const q = peer.queue('jobs');
  q.send('later', { delaySeconds: 5 });
  expect(q.delayedCount).toBe(1);
  await new Promise<void>((resolve) => {
    const off = q.onAvailable(() => {
      off();
      resolve();
    });
  });
  expect(q.visibleCount).toBe(1);
});
