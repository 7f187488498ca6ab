import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SnsSink, startSnsSink } from '../../src/peers/sns';

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
