import * as net from 'node:net';
import { ConditionalCheckFailedException, DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBPeer, startDynamoDB } from '../../src/peers/dynamodb';

let peer: DynamoDBPeer;
let client: DynamoDBClient;

beforeAll(async () => {
  peer = await startDynamoDB({
    tables: [
      { tableName: 'Idempotency', partitionKey: 'id', ttlAttribute: 'expiration' },
      { tableName: 'Audit', partitionKey: 'pk', sortKey: 'sk' },
    ],
  });
  client = peer.client();
});

afterAll(async () => {
  client.destroy();
  await peer.close();
});

test('creates the tables ACTIVE and PAY_PER_REQUEST with their keys', async () => {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: 'Audit' }));
  expect(Table).toMatchObject({
    TableStatus: 'ACTIVE',
    BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  });
});

test('a conditional PutItem on an existing item raises ConditionalCheckFailedException', async () => {
  const put = () => client.send(new PutItemCommand({
    TableName: 'Idempotency',
    Item: { id: { S: 'upload#1' }, status: { S: 'INPROGRESS' }, expiration: { N: '100' } },
    ConditionExpression: 'attribute_not_exists(id)',
  }));
  await put();
  const err = await put().catch((e) => e);
  expect(err).toBeInstanceOf(ConditionalCheckFailedException);
  expect(err.name).toBe('ConditionalCheckFailedException');
  expect(err.$metadata.httpStatusCode).toBe(400);
  expect(await peer.scan('Idempotency')).toEqual([{ id: 'upload#1', status: 'INPROGRESS', expiration: 100 }]);
});

test('scan pages through every item; expireTtl deletes what is past its TTL', async () => {
  for (let i = 0; i < 30; i++) {
    await client.send(new PutItemCommand({ TableName: 'Audit', Item: { pk: { S: 'img' }, sk: { S: String(i).padStart(2, '0') }, blob: { S: 'x'.repeat(50_000) } } }));
  }
  const items = await peer.scan('Audit'); // 1.5 MB: more than one 1 MB Scan page
  expect(items).toHaveLength(30);

  await client.send(new PutItemCommand({ TableName: 'Idempotency', Item: { id: { S: 'upload#2' }, expiration: { N: '200' } } }));
  expect(await peer.expireTtl('Idempotency', 150)).toBe(1);
  expect((await peer.scan('Idempotency')).map((i) => i.id)).toEqual(['upload#2']);
  await expect(peer.expireTtl('Audit', 150)).rejects.toThrow(/no TTL attribute/);
});

test('a client that drops its connection mid-request fails that request only (dynalite rethrows it from a callback)', async () => {
  await new Promise<void>((resolve) => {
    const socket = net.connect(Number(new URL(peer.url).port), '127.0.0.1', () => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 1000\r\n\r\n{"Tab');
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('close', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 50));
  expect(peer.errors.at(-1)).toMatchObject({ method: 'POST', message: expect.stringMatching(/aborted/) });
  await client.send(new PutItemCommand({ TableName: 'Audit', Item: { pk: { S: 'after' }, sk: { S: 'abort' } } }));
  expect(await peer.scan('Audit')).toContainEqual({ pk: 'after', sk: 'abort' });
});
