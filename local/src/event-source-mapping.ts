import type { SQSRecord } from 'aws-lambda';
import type { ScaledClock } from './clock';
import type { LocalQueue, LocalReceivedMessage } from './peers/sqs';

/** A record of Lambda's SQS event, in the documented shape. */
export type SqsRecord = SQSRecord;

export interface EventSourceMappingOptions {
  readonly queue: LocalQueue;
  /** 1 to 10000; above 10 needs a batching window of at least 1 s, as Lambda requires. @default 10 */
  readonly batchSize?: number;
  /** 0 to 300. @default 0 */
  readonly maximumBatchingWindowSeconds?: number;
  /** 2 to 1000. @default 1000 */
  readonly maximumConcurrency?: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`. */
  readonly reportBatchItemFailures: boolean;
  /** The function's timeout; an invocation still running after it fails the batch. */
  readonly functionTimeoutSeconds: number;
  /** @default the queue ARN's region */
  readonly region?: string;
  readonly clock: ScaledClock;
  invoke(event: { Records: SqsRecord[] }): Promise<unknown>;
}

export interface EventSourceMapping {
  readonly invocations: number;
  readonly maxConcurrentInvocations: number;
  /** Stops polling; resolves once the batches already received have been processed. */
  stop(): Promise<void>;
  /**
   * Resolves when the queue holds no visible, delayed or in-flight message and no batch is being processed, and has
   * stayed so for `idleMs` simulated milliseconds (default 0).
   */
  drained(opts?: { idleMs?: number }): Promise<void>;
}

/** How often (simulated ms) `drained` looks at the queue. */
const DRAIN_POLL_MS = 10;

/**
 * Lambda's SQS event source mapping over a LocalQueue: pollers receive with the queue's visibility timeout, gather a
 * batch (up to batchSize, or until the batching window passes), invoke, and delete what succeeded. A failed batch is
 * left alone and comes back when its visibility timeout expires, so the queue's redrive policy applies.
 *
 * Pollers are started as the backlog needs them, up to maximumConcurrency, and sleep on `queue.onAvailable` when idle.
 */
export function startEventSourceMapping(options: EventSourceMappingOptions): EventSourceMapping {
  const { queue, clock } = options;
  const batchSize = options.batchSize ?? 10;
  const window = options.maximumBatchingWindowSeconds ?? 0;
  const maxConcurrency = options.maximumConcurrency ?? 1000;
  validate(options, batchSize, window, maxConcurrency);
  const region = options.region ?? queue.arn.split(':')[3] ?? 'us-east-1';

  let stopped = false;
  let pollers = 0;
  let busy = 0; // pollers holding a batch: gathering, invoking or deleting
  let gathering = 0; // pollers waiting in a batching window: they get new messages first
  let waking = 0; // idle pollers resumed but not yet running: they will take what is visible
  let active = 0;
  let invocations = 0;
  let maxConcurrentInvocations = 0;
  const idle: Array<() => void> = [];
  const waits = new Set<() => void>();
  const running = new Set<Promise<void>>();

  /** Resume an idle poller, or start one if all are busy and the concurrency allows. */
  const wake = (): void => {
    if (stopped) return;
    const next = idle.shift();
    if (next) {
      waking++;
      return next();
    }
    if (pollers >= maxConcurrency) return;
    pollers++;
    const p = poll().finally(() => {
      pollers--;
      running.delete(p);
    });
    running.add(p);
  };

  /** Resolves on a possibly visible message, after `ms` simulated ms, or on stop. */
  const waitAvailable = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        off();
        clearTimeout(timer);
        waits.delete(done);
        resolve();
      };
      const off = queue.onAvailable(done);
      const timer = clock.setTimeout(done, ms);
      waits.add(done);
    });

  /** Tops a batch up to batchSize: with no window, from what is visible now; else until the window (from the first record) passes. */
  const fill = async (batch: LocalReceivedMessage[]): Promise<void> => {
    const deadline = clock.now() + window * 1000;
    while (batch.length < batchSize) {
      const more = queue.receive(Math.min(10, batchSize - batch.length));
      if (more.length) {
        batch.push(...more);
        continue;
      }
      const left = deadline - clock.now();
      if (left <= 0 || stopped) return;
      gathering++;
      await waitAvailable(left).finally(() => gathering--);
    }
  };

  const invoke = async (records: SqsRecord[]): Promise<{ ok: true; result: unknown } | { ok: false }> => {
    active++;
    invocations++;
    maxConcurrentInvocations = Math.max(maxConcurrentInvocations, active);
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = clock.setTimeout(() => reject(new Error('Task timed out')), options.functionTimeoutSeconds * 1000);
      });
      const result = await Promise.race([Promise.resolve().then(() => options.invoke({ Records: records })), timeout]);
      // The response crosses Lambda as JSON: what does not serialize is an invalid response.
      return { ok: true, result: result === undefined ? undefined : JSON.parse(JSON.stringify(result) ?? 'null') };
    } catch {
      return { ok: false }; // a function error or timeout fails the whole batch
    } finally {
      clearTimeout(timer);
      active--;
    }
  };

  const handleBatch = async (batch: LocalReceivedMessage[]): Promise<void> => {
    const records = batch.map((m) => toRecord(m, queue.arn, region));
    const outcome = await invoke(records);
    if (!outcome.ok) return;
    const failed = options.reportBatchItemFailures ? failedItems(outcome.result, new Set(batch.map((m) => m.MessageId))) : new Set<string>();
    if (failed === 'all') return;
    for (const m of batch) if (!failed.has(m.MessageId)) queue.delete(m.ReceiptHandle);
  };

  const poll = async (): Promise<void> => {
    while (!stopped) {
      const batch = queue.receive(Math.min(10, batchSize));
      if (!batch.length) {
        await new Promise<void>((resolve) => idle.push(resolve));
        waking--;
        continue;
      }
      busy++;
      try {
        await fill(batch);
        if (queue.visibleCount > 0) wake(); // more backlog: another poller takes the next batch
        await handleBatch(batch);
      } finally {
        busy--;
      }
    }
  };

  // A new message goes to a poller already waiting for one; only otherwise does it wake (or start) another.
  const unsubscribe = queue.onAvailable(() => gathering === 0 && waking === 0 && wake());
  wake();

  return {
    get invocations() {
      return invocations;
    },
    get maxConcurrentInvocations() {
      return maxConcurrentInvocations;
    },
    async stop() {
      stopped = true;
      unsubscribe();
      for (let resume = idle.shift(); resume; resume = idle.shift()) {
        waking++;
        resume();
      }
      [...waits].forEach((done) => done());
      await Promise.all([...running]);
    },
    async drained({ idleMs = 0 } = {}) {
      let quietSince: number | undefined;
      for (;;) {
        const quiet = busy === 0 && queue.visibleCount + queue.inFlightCount + queue.delayedCount === 0;
        if (!quiet) quietSince = undefined;
        else if (clock.now() - (quietSince ??= clock.now()) >= idleMs) return;
        await clock.sleep(DRAIN_POLL_MS);
      }
    },
  };
}

/**
 * The partial batch response, as Lambda documents it: no response, an empty response or a null/empty
 * `batchItemFailures` is complete success; an entry without a non-empty `itemIdentifier` of this batch, or any other
 * malformed response, fails the whole batch.
 */
function failedItems(result: unknown, ids: Set<string>): Set<string> | 'all' {
  if (result === undefined || result === null) return new Set();
  if (typeof result !== 'object' || Array.isArray(result)) return 'all';
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

function toRecord(m: LocalReceivedMessage, eventSourceARN: string, awsRegion: string): SqsRecord {
  const { DeadLetterQueueSourceArn: _, ...attributes } = m.Attributes;
  return {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body,
    attributes,
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [name, {
        ...(v.StringValue !== undefined && { stringValue: v.StringValue }),
        ...(v.BinaryValue !== undefined && { binaryValue: v.BinaryValue }),
        stringListValues: [],
        binaryListValues: [],
        dataType: v.DataType,
      }]),
    ),
    md5OfBody: m.MD5OfBody,
    ...(m.MD5OfMessageAttributes && { md5OfMessageAttributes: m.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
}

/** CreateEventSourceMapping's checks for an SQS source. */
function validate(options: EventSourceMappingOptions, batchSize: number, window: number, maxConcurrency: number): void {
  const fail = (message: string): never => {
    throw new Error(`InvalidParameterValueException: ${message}`);
  };
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10000) fail(`BatchSize ${batchSize} must be between 1 and 10000`);
  if (!Number.isInteger(window) || window < 0 || window > 300) fail(`MaximumBatchingWindowInSeconds ${window} must be between 0 and 300`);
  if (batchSize > 10 && window < 1) fail('Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) fail(`MaximumConcurrency ${maxConcurrency} must be between 2 and 1000`);
  if (!(options.functionTimeoutSeconds > 0 && options.functionTimeoutSeconds <= 900)) fail(`function timeout ${options.functionTimeoutSeconds} must be between 1 and 900 seconds`);
  if (options.queue.visibilityTimeoutSeconds < options.functionTimeoutSeconds) {
    fail(`Queue visibility timeout: ${options.queue.visibilityTimeoutSeconds} seconds is less than Function timeout: ${options.functionTimeoutSeconds} seconds`);
  }
}
