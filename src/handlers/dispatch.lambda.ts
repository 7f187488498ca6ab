import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  backoffSeconds, DEFER_FIELD, ExecutionEnd, executionName, idempotencyPayload, isFinal, isLastAttempt, parseIngestMessage, readDispatchConfig,
  Upload,
} from './dispatch';
import { DispatchMetric, dispatchedRecord, outcomeOfExecution, outcomeRecord } from './dispatch-metrics';
import { EmfRecord, emfSink } from './metrics';

// Created once per execution environment and reused across invocations.
const config = readDispatchConfig(process.env);
const logger = new Logger({ serviceName: 'image-classification-pipeline' });
const metrics = emfSink(process.env);
const sfn = new SFNClient({ disableHostPrefix: config.disableHostPrefix });
const sqs = new SQSClient({});
const processor = new BatchProcessor(EventType.SQS);

const idempotency = new IdempotencyConfig({
  expiresAfterSeconds: config.idempotencyWindowSeconds,
  // Called when a redelivery finds the upload done: counted, and answered with the stored end.
  responseHook: (response) => {
    duplicateDelivery = true;
    batchMetrics.add(DispatchMetric.DUPLICATES_SUPPRESSED, 'Count', 1);
    logger.debug('Duplicate delivery: the upload was dispatched already');
    return response;
  },
});
/** Set by the response hook: the current record was a duplicate, so its attempts and latency are not counted again. */
let duplicateDelivery = false;
/** Deferrals and suppressed duplicates of the current batch, written once per batch. */
let batchMetrics: EmfRecord = metrics.record();
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: config.idempotencyTable });

/** A deferred classification or a Step Functions API failure: the message is tried again later. */
class RetryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** What the idempotency record keeps of an upload's (final) execution. */
interface Dispatched extends ExecutionEnd {
  readonly executionArn?: string;
}

/**
 * Runs one upload's execution synchronously, at most once per upload for the idempotency window: a redelivery
 * gets the stored end instead. A thrown error removes the in-progress record, so the upload can run again.
 */
const runUpload = makeIdempotent(
  async (
    _upload: Record<string, string>, input: Record<string, unknown>, deferTransient: boolean, name: string, record: EmfRecord,
  ): Promise<Dispatched> => {
    const out = await sfn.send(new StartSyncExecutionCommand({
      stateMachineArn: config.stateMachineArn,
      // Named after the message and its receive: logs, the execution and its audit record lead back to the message.
      name,
      input: JSON.stringify({ ...input, [DEFER_FIELD]: deferTransient }),
    })).catch((err: Error) => {
      throw new RetryLater(`StartSyncExecution failed: ${err.name}: ${err.message}`);
    });
    // Stored as the idempotency record's response: DynamoDB takes no undefined attribute values.
    const end: Dispatched = JSON.parse(JSON.stringify({ executionArn: out.executionArn, status: out.status, error: out.error, cause: out.cause }));
    // Logged once per upload below ("Upload dispatched"), or as "Upload deferred" with its reason: no line of its own.
    if (!isFinal(end)) throw new RetryLater(`${end.error}: ${end.cause ?? ''}`);
    // Counted here, once per upload: a duplicate delivery gets the stored end and never reaches this line. The
    // output is not stored with the end (it would grow every idempotency record).
    outcomeRecord(record, outcomeOfExecution({ ...end, output: out.output }), config);
    return end;
  },
  { persistenceStore, config: idempotency, dataIndexArgument: 0 },
);

async function dispatchRecord(record: SQSRecord, context: Context): Promise<void> {
  const { upload, input } = parseIngestMessage(record.body);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);
  const lastAttempt = isLastAttempt(receiveCount, config.maxReceiveCount);
  logger.appendKeys({ bucket: upload.bucket, key: upload.key, versionId: upload.versionId, messageId: record.messageId });
  const sentAt = Number(record.attributes.SentTimestamp);
  const startedAt = Date.now();
  try {
    // An execution may take the state machine's whole timeout: do not start one the function cannot wait for.
    if (context.getRemainingTimeInMillis() < (config.executionTimeoutSeconds + 10) * 1000) {
      throw new RetryLater('Not enough time left in this invocation to wait for an execution');
    }
    // Records run one after another in an environment, so the flag belongs to this record.
    duplicateDelivery = false;
    // The upload's metrics, one EMF record: outcome (added when its execution ends), attempts and latency.
    const uploadMetrics = metrics.record();
    const end = await runUpload(idempotencyPayload(upload), input, !lastAttempt, executionName(record.messageId, receiveCount), uploadMetrics);
    if (!duplicateDelivery) {
      metrics.emit(dispatchedRecord(uploadMetrics, {
        attempts: receiveCount, queueWaitMs: Math.max(0, startedAt - sentAt), endToEndMs: Math.max(0, Date.now() - sentAt),
      }));
    }
    // DEBUG: the audit trail and the metrics cover every upload; at the default level a dispatched upload writes no line.
    logger.debug('Upload dispatched', { executionArn: end.executionArn, status: end.status, error: end.error, attempts: receiveCount });
  } catch (err) {
    if (!(err instanceof RetryLater || err instanceof IdempotencyAlreadyInProgressError)) {
      // Idempotency store or unexpected failure: the message is retried by visibility timeout, and after its
      // last receive lands in the ingest dead-letter queue.
      logger.error('Upload not dispatched', { errorName: (err as Error).name, errorMessage: (err as Error).message, attempts: receiveCount });
    }
    await deferMessage(record, upload, receiveCount, err as Error);
    throw err;
  } finally {
    logger.resetKeys();
  }
}

/** Sets the message's next attempt time with exponential backoff and jitter; the batch reports it as failed. */
async function deferMessage(record: SQSRecord, upload: Upload, receiveCount: number, err: Error): Promise<void> {
  const seconds = backoffSeconds(receiveCount, config.backoffBaseSeconds, config.backoffMaxSeconds);
  logger.warn('Upload deferred', { key: upload.key, attempts: receiveCount, retryInSeconds: seconds, reason: err.message });
  batchMetrics.add(DispatchMetric.DEFERRED, 'Count', 1);
  try {
    await sqs.send(new ChangeMessageVisibilityCommand({
      QueueUrl: config.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds,
    }));
  } catch (e) {
    // The message still returns after the queue's visibility timeout.
    logger.warn('Could not change the message visibility', { errorName: (e as Error).name });
  }
}

/** Entry point: one batch of ingest-queue messages, processed one after another (in-flight ≤ the mapping's concurrency). */
export async function handler(event: SQSEvent, context: Context) {
  idempotency.registerLambdaContext(context);
  try {
    return await processPartialResponse(event, (record: SQSRecord) => dispatchRecord(record, context), processor, {
      context,
      processInParallel: false,
      // A batch whose every message was deferred is a normal answer, not a function error.
      throwOnFullBatchFailure: false,
    });
  } finally {
    // Deferrals and duplicates are counted per record and written once per batch.
    metrics.emit(batchMetrics);
    batchMetrics = metrics.record();
  }
}
