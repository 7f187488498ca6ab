import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { deliveredTo, SNS_MESSAGE_PROTOCOLS, SnsSink, startSnsSink, subjectProblem } from '../../src/peers/sns';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:security-alerts';
let sink: SnsSink;
let client: SNSClient;

beforeAll(async () => {
  sink = await startSnsSink({ topics: [TOPIC] });
  client = new SNSClient({ endpoint: sink.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await sink.close();
});

test('records a Publish with subject and message attributes', async () => {
  const message = JSON.stringify({ outcome: 'FLAGGED', key: 'uploads/a b+c%ü.jpg' });
  const res = await client.send(new PublishCommand({
    TopicArn: TOPIC,
    Subject: 'ICS FLAGGED',
    Message: message,
    MessageAttributes: {
      outcome: { DataType: 'String', StringValue: 'FLAGGED' },
      label: { DataType: 'String', StringValue: 'motorcycle' },
      confidence: { DataType: 'Number', StringValue: '0.97' },
    },
  }));
  expect(res.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  expect(sink.messages[sink.messages.length - 1]).toEqual({
    messageId: res.MessageId,
    topicArn: TOPIC,
    subject: 'ICS FLAGGED',
    message,
    rawMessage: message,
    byProtocol: Object.fromEntries(SNS_MESSAGE_PROTOCOLS.map((p) => [p, message])),
    messageAttributes: {
      outcome: { dataType: 'String', stringValue: 'FLAGGED' },
      label: { dataType: 'String', stringValue: 'motorcycle' },
      confidence: { dataType: 'Number', stringValue: '0.97' },
    },
    protocol: 'query',
  });
});

test('an unknown topic is NotFoundException', async () => {
  const err = await client.send(new PublishCommand({ TopicArn: `${TOPIC}-nope`, Message: 'x' })).catch((e) => e);
  expect(err.name).toBe('NotFoundException');
  expect(err.$metadata.httpStatusCode).toBe(404);
  expect(err.message).toBe('Topic does not exist');
});

test('failTopic makes a known topic NotFound until cleared', async () => {
  sink.failTopic(TOPIC);
  const count = sink.messages.length;
  expect((await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' })).catch((e) => e)).name).toBe('NotFoundException');
  sink.failTopic(TOPIC, false);
  await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' }));
  expect(sink.messages.length).toBe(count + 1);
});

test('an empty message is InvalidParameterException', async () => {
  const err = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: '' })).catch((e) => e);
  expect(err.name).toBe('InvalidParameterException');
});

test('also accepts the AWS JSON 1.0 protocol', async () => {
  const res = await fetch(sink.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSimpleNotificationService.Publish' },
    body: JSON.stringify({ TopicArn: TOPIC, Message: 'hi', MessageAttributes: { outcome: { DataType: 'String', StringValue: 'ERROR' } } }),
  });
  expect(res.status).toBe(200);
  const { MessageId } = await res.json() as { MessageId: string };
  expect(sink.messages[sink.messages.length - 1]).toMatchObject({
    messageId: MessageId, message: 'hi', protocol: 'json', messageAttributes: { outcome: { dataType: 'String', stringValue: 'ERROR' } },
  });
  const missing = await fetch(sink.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSimpleNotificationService.Publish' },
    body: JSON.stringify({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:other', Message: 'hi' }),
  });
  expect(missing.status).toBe(404);
  expect(missing.headers.get('x-amzn-query-error')).toBe('NotFound;Sender');
});

describe('MessageStructure json: one message per protocol', () => {
  const last = () => sink.messages[sink.messages.length - 1];
  const publishJson = (message: string) => client.send(new PublishCommand({ TopicArn: TOPIC, Message: message, MessageStructure: 'json' }));

  test('email and sms get their entries; every other protocol gets default, which is also `message`', async () => {
    const entries = { default: '{"outcome":"FLAGGED"}', email: 'FLAGGED: motorcycle\nImage: s3://b/k', sms: 'FLAGGED', lambda: 42 };
    await publishJson(JSON.stringify(entries));
    expect(last()).toMatchObject({ message: entries.default, messageStructure: 'json', rawMessage: JSON.stringify(entries) });
    expect(deliveredTo(last(), 'email')).toBe(entries.email);
    expect(deliveredTo(last(), 'sms')).toBe('FLAGGED');
    // A value that is not a string is ignored: that protocol gets default.
    for (const p of ['sqs', 'lambda', 'http', 'https', 'firehose', 'email-json'] as const) expect(deliveredTo(last(), p)).toBe(entries.default);
  });

  test.each([
    ['no default entry', JSON.stringify({ email: 'x' }), 'Invalid parameter: Message Structure - No default entry in JSON message body'],
    ['a default that is not a string', JSON.stringify({ default: { a: 1 } }), 'Invalid parameter: Message Structure - No default entry in JSON message body'],
    ['not JSON', '{default: x}', 'Invalid parameter: Message Structure - JSON message body failed to parse'],
  ])('%s is InvalidParameter', async (_name, message, text) => {
    const count = sink.messages.length;
    const err = await publishJson(message).catch((e) => e);
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toBe(text);
    expect(sink.messages).toHaveLength(count);
  });
});

describe('subjects follow SNS\'s rule', () => {
  test.each([
    ['FLAGGED: motorcycle 97% - cams/gate-1.jpg', undefined],
    ['!quoted', undefined],
    ['x'.repeat(99), undefined],
    ['', 'empty'],
    ['x'.repeat(100), '100 characters (at most 99)'],
    ['a\nb', 'a line break'],
    ['a\tb', 'a control character'],
    ['caméra', 'a character outside printable ASCII'],
    [' leading space', 'does not begin with a letter, number or punctuation mark'],
  ])('%j: %s', (subject, problem) => {
    expect(subjectProblem(subject)).toBe(problem);
  });

  test('an invalid subject is InvalidParameter and nothing is published', async () => {
    const count = sink.messages.length;
    for (const subject of ['a\nb', 'x'.repeat(100), 'ü', '']) {
      const err = await client.send(new PublishCommand({ TopicArn: TOPIC, Subject: subject, Message: 'x' })).catch((e) => e);
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe('Invalid parameter: Subject');
    }
    expect(sink.messages).toHaveLength(count);
  });
});

test('the 256 KiB limit counts the message attributes too', async () => {
  const attributes = { outcome: { DataType: 'String', StringValue: 'FLAGGED' } };
  const attributeBytes = 'outcome'.length + 'String'.length + 'FLAGGED'.length;
  await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x'.repeat(262_144 - attributeBytes), MessageAttributes: attributes }));
  const err = await client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x'.repeat(262_145 - attributeBytes), MessageAttributes: attributes }))
    .catch((e) => e);
  expect(err.name).toBe('InvalidParameterException');
  expect(err.message).toBe('Invalid parameter: Message too long');
});
