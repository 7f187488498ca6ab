import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { emfSink } from './metrics';
import { pendingRecord } from './review-metrics';
import { PENDING, PENDING_INDEX, ReviewAttribute } from '../review/decisions';

const table = process.env.ICS_REVIEW_TABLE!;
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const metrics = emfSink(process.env);

const query = (extra: Record<string, unknown>) => new QueryCommand({
  TableName: table,
  IndexName: PENDING_INDEX,
  KeyConditionExpression: '#p = :p',
  ExpressionAttributeNames: { '#p': ReviewAttribute.PENDING },
  ExpressionAttributeValues: { ':p': PENDING },
  ...extra,
});

/** Every 5 minutes (an EventBridge schedule): how many reviews wait, and how long the oldest has waited. */
export const handler = async (): Promise<{ pending: number; oldestCreatedAt?: string }> => {
  // The pending index holds only pending items, oldest first: the first item is the oldest, a COUNT query counts them.
  const oldest = await ddb.send(query({ Limit: 1, ScanIndexForward: true }));
  const oldestCreatedAt = oldest.Items?.[0]?.[ReviewAttribute.CREATED_AT] as string | undefined;
  let pending = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(query({ Select: 'COUNT', ExclusiveStartKey }));
    pending += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  metrics.emit(pendingRecord(metrics.record(), pending, oldestCreatedAt, new Date()));
  return { pending, ...(oldestCreatedAt ? { oldestCreatedAt } : {}) };
};
