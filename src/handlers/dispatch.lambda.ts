import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  CircuitView, circuitFromItem, circuitRequests, CLOSED, failureMember, handlerClock, HoldDecision, holdDecision, PROBE_FIELD, shouldOpen,
} from './circuit-breaker';
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
const dynamodb = new DynamoDBClient({});
const clock = handlerClock(process.env);
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
  /** @param classifierFailure the execution deferred a transient classification failure (what the breaker counts) */
  constructor(message: string, public readonly classifierFailure = false) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** A message held while the breaker was open, given back (visible at once) before the invocation's time runs out. */
class Released extends Error {
  constructor() {
    super('Held while the circuit breaker is open; given back to the queue before the invocation ends');
    this.name = 'Released';
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
    _upload: Record<string, string>, input: Record<string, unknown>, deferTransient: boolean, name: string, record: EmfRecord, probe: boolean,
  ): Promise<Dispatched> => {
    const out = await sfn.send(new StartSyncExecutionCommand({
      stateMachineArn: config.stateMachineArn,
      // Named after the message and its receive: logs, the execution and its audit record lead back to the message.
      name,
      input: JSON.stringify({ ...input, [DEFER_FIELD]: deferTransient, ...(probe ? { [PROBE_FIELD]: true } : {}) }),
    })).catch((err: Error) => {
      throw new RetryLater(`StartSyncExecution failed: ${err.name}: ${err.message}`);
    });
    // Stored as the idempotency record's response: DynamoDB takes no undefined attribute values.
    const end: Dispatched = JSON.parse(JSON.stringify({ executionArn: out.executionArn, status: out.status, error: out.error, cause: out.cause }));
    // Logged once per upload below ("Upload dispatched"), or as "Upload deferred" with its reason: no line of its own.
    if (!isFinal(end)) throw new RetryLater(`${end.error}: ${end.cause ?? ''}`, true);
    // Counted here, once per upload: a duplicate delivery gets the stored end and never reaches this line. The
    // output is not stored with the end (it would grow every idempotency record).
    const outcome = outcomeOfExecution({ ...end, output: out.output });
    outcomeRecord(record, outcome, config);
    // The classifier answered (a classified outcome): the breaker closes, or forgets its failures.
    if (outcome.outcome !== undefined && outcome.outcome !== 'ERROR') await classifierAnswered();
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
  // An execution may take the state machine's whole timeout: do not start one the function cannot wait for.
  const runMs = (config.executionTimeoutSeconds + 10) * 1000;
  try {
    if (context.getRemainingTimeInMillis() < runMs) throw new RetryLater('Not enough time left in this invocation to wait for an execution');
    // Records run one after another in an environment, so the flag belongs to this record.
    duplicateDelivery = false;
    // The upload's metrics, one EMF record: outcome (added when its execution ends), attempts and latency.
    const uploadMetrics = metrics.record();
    let probes = 0;
    let end: Dispatched | undefined;
    let startedAt = 0;
    while (!end) {
      const step = await circuitStep(() => ({ now: clock.now(), sentAt, lastAttempt, remainingMs: context.getRemainingTimeInMillis(), runMs }));
      if (step.action === 'release') throw new Released();
      const probe = step.action === 'probe';
      if (probe && !(await takeProbe())) continue;
      if (probe) probes++;
      startedAt = clock.now();
      try {
        const name = executionName(record.messageId, receiveCount, probes);
        end = await runUpload(idempotencyPayload(upload), input, !lastAttempt, name, uploadMetrics, probe);
      } catch (err) {
        if (!(err instanceof RetryLater && err.classifierFailure)) throw err;
        // A failed probe: the breaker stays open and this message stays held, without spending a receive.
        if (probe) continue;
        await classifierFailed(upload);
        throw err;
      }
    }
    if (!duplicateDelivery) {
      metrics.emit(dispatchedRecord(uploadMetrics, {
        attempts: receiveCount, queueWaitMs: Math.max(0, startedAt - sentAt), endToEndMs: Math.max(0, clock.now() - sentAt),
      }));
    }
    // DEBUG: the audit trail and the metrics cover every upload; at the default level a dispatched upload writes no line.
    logger.debug('Upload dispatched', { executionArn: end.executionArn, status: end.status, error: end.error, attempts: receiveCount, probes });
  } catch (err) {
    if (!(err instanceof RetryLater || err instanceof IdempotencyAlreadyInProgressError || err instanceof Released)) {
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

/** This environment's view of the circuit breaker: read at its first message (so it survives cold starts), then kept. */
let circuit: CircuitView | undefined;

/**
 * What to do with the current message: run it, probe with it, or give it back; while the breaker is open and the
 * message may be held, waits here, reading the breaker every few seconds. A failing breaker read never blocks an
 * image: it runs as it would without a breaker.
 */
async function circuitStep(context: () => Parameters<typeof holdDecision>[2]): Promise<HoldDecision> {
  if (!config.circuit.enabled) return { action: 'run', reason: 'closed' };
  try {
    circuit ??= await readCircuit();
    let step = holdDecision(circuit, config.circuit, context());
    while (step.action === 'wait') {
      await clock.sleep(step.ms);
      circuit = await readCircuit();
      step = holdDecision(circuit, config.circuit, context());
    }
    if (step.action === 'run' && step.reason !== 'closed') logger.info('Circuit breaker open: running the upload anyway', { reason: step.reason });
    return step;
  } catch (err) {
    logger.warn('Circuit breaker unreadable: running the upload', { errorName: (err as Error).name });
    circuit = CLOSED;
    return { action: 'run', reason: 'closed' };
  }
}

async function readCircuit(): Promise<CircuitView> {
  const out = await dynamodb.send(new GetItemCommand(circuitRequests.read(config.idempotencyTable)));
  return circuitFromItem(out.Item);
}

/** A conditional update: the new (or old) item, or undefined when its condition did not hold. */
async function updateCircuit(request: UpdateItemCommandInput): Promise<Record<string, any> | undefined> {
  try {
    return (await dynamodb.send(new UpdateItemCommand(request))).Attributes ?? {};
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return undefined;
    throw err;
  }
}

/** The probe lease: true when this holder runs the probe of this interval. */
async function takeProbe(): Promise<boolean> {
  const item = await updateCircuit(circuitRequests.takeProbe(config.idempotencyTable, clock.now(), config.circuit.probeIntervalMs))
    .catch(() => undefined);
  if (!item) {
    // Another holder probes (or the breaker closed): its next probe time, or the closed state, comes with a fresh read.
    circuit = await readCircuit().catch(() => circuit);
    return false;
  }
  circuit = circuitFromItem(item);
  // The breaker is still open at each probe: the alarm's metric has a point every probe interval while images wait.
  metrics.emit(metrics.record().add(DispatchMetric.CIRCUIT_PROBES, 'Count', 1).add(DispatchMetric.CIRCUIT_OPEN, 'None', 1));
  logger.info('Circuit breaker probe', { openForMs: clock.now() - (circuit.openedAt ?? clock.now()) });
  return true;
}

/** A transient classification failure (after the workflow's retries): counts toward opening the breaker. */
async function classifierFailed(upload: Upload): Promise<void> {
  if (!config.circuit.enabled) return;
  const { idempotencyTable: table, circuit: c } = config;
  try {
    const member = failureMember(upload);
    const now = clock.now();
    const item = await updateCircuit(circuitRequests.startFailures(table, member, now, c.failureWindowMs))
      ?? await updateCircuit(circuitRequests.addFailure(table, member, now));
    // Neither applies: the breaker is open already.
    circuit = item ? circuitFromItem(item) : await readCircuit();
    if (!shouldOpen(circuit, c)) return;
    const opened = await updateCircuit(circuitRequests.open(table, c.failureThreshold, now, c.probeIntervalMs));
    circuit = opened ? circuitFromItem(opened) : await readCircuit();
    if (opened) {
      logger.warn('Circuit breaker opened: the classifier failed transiently for several images; holding uploads and probing', {
        failures: c.failureThreshold, probeIntervalSeconds: c.probeIntervalMs / 1000,
      });
      metrics.emit(metrics.record().add(DispatchMetric.CIRCUIT_OPEN, 'None', 1));
    }
  } catch (err) {
    logger.warn('Circuit breaker not updated', { errorName: (err as Error).name });
  }
}

/** The classifier answered: an open breaker closes (the holders continue), a closed one forgets its failures. */
async function classifierAnswered(): Promise<void> {
  if (!config.circuit.enabled || !circuit || (!circuit.open && circuit.failing === 0)) return;
  try {
    const old = await updateCircuit(circuitRequests.succeed(config.idempotencyTable, clock.now()));
    const wasOpen = circuit.open || old?.state?.S === 'open';
    circuit = CLOSED;
    if (old?.state?.S === 'open') {
      logger.warn('Circuit breaker closed: the classifier answered', { openForMs: clock.now() - Number(old.openedAt?.N ?? clock.now()) });
      metrics.emit(metrics.record().add(DispatchMetric.CIRCUIT_OPEN, 'None', 0));
    } else if (wasOpen) {
      logger.debug('Circuit breaker closed by another invocation');
    }
  } catch (err) {
    logger.warn('Circuit breaker not updated', { errorName: (err as Error).name });
  }
}

/** Sets the message's next attempt time with exponential backoff and jitter; the batch reports it as failed. */
async function deferMessage(record: SQSRecord, upload: Upload, receiveCount: number, err: Error): Promise<void> {
  let seconds = backoffSeconds(receiveCount, config.backoffBaseSeconds, config.backoffMaxSeconds);
  if (err instanceof Released) {
    // Visible at once: the next invocation holds it again (one receive per invocation held).
    seconds = 0;
    logger.info('Upload given back while the circuit breaker is open', { attempts: receiveCount });
  } else {
    // With the breaker open no lane receives it until the breaker closes: back no later than the next probe, so that
    // it drains with the backlog instead of sitting out a long backoff after the recovery.
    // (A message held longer than maxHold is tried as usual, with its backoff.)
    const heldTooLong = clock.now() - Number(record.attributes.SentTimestamp) > config.circuit.maxHoldMs;
    if (circuit?.open && !heldTooLong) seconds = Math.min(seconds, Math.ceil(config.circuit.probeIntervalMs / 1000));
    logger.warn('Upload deferred', { key: upload.key, attempts: receiveCount, retryInSeconds: seconds, reason: err.message });
    batchMetrics.add(DispatchMetric.DEFERRED, 'Count', 1);
  }
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
