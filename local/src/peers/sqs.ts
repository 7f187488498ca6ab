import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { readBody, startLoopbackServer } from './loopback-server';
import type { ScaledClock } from '../clock';
import { gated, Gateway } from '../gateway/gateway';
import { SQS_BINDING } from '../gateway/services';

/** A message attribute as SQS's JSON protocol carries it (`BinaryValue` in base64). */
export interface SqsMessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

export interface LocalQueueOptions {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default 345600 (4 days) */
  readonly retentionSeconds?: number;
  /** @default 262144 (256 KiB), SQS's default MaximumMessageSize; at most 1 MiB */
  readonly maximumMessageSize?: number;
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

/** What ReceiveMessage returns for one message, with every system attribute. */
export interface LocalReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly Body: string;
  readonly MD5OfBody: string;
  readonly Attributes: {
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp: string;
    readonly ApproximateFirstReceiveTimestamp: string;
    readonly SenderId: string;
    readonly DeadLetterQueueSourceArn?: string;
  };
  readonly MessageAttributes?: Record<string, SqsMessageAttributeValue>;
  readonly MD5OfMessageAttributes?: string;
}

/** One message as the queue holds it, for assertions. */
export interface LocalMessageSnapshot {
  readonly messageId: string;
  readonly body: string;
  readonly state: 'visible' | 'inflight' | 'delayed';
  readonly receiveCount: number;
  readonly sentTimestamp: number;
  readonly messageAttributes: Record<string, SqsMessageAttributeValue>;
  /** The queue a dead-letter queue's message came from. */
  readonly deadLetterSourceArn?: string;
}

/**
 * An SQS error: `code` is the shape name the JSON protocol puts in `__type` (and the SDK's error name); the query
 * code and status of each come from the SQS model (`aws.protocols#awsQueryError`), see {@link ERRORS}.
 */
export class SqsError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/** Query-compatible code (`x-amzn-query-error`) and HTTP status per error, as @aws-sdk/client-sqs models them. */
const ERRORS: Record<string, [string, number]> = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  PurgeQueueInProgress: ['AWS.SimpleQueueService.PurgeQueueInProgress', 403],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  ResourceNotFoundException: ['ResourceNotFoundException', 404],
  // Not modeled (InvalidParameterValue, MissingParameter, InvalidAction...): the code itself, 400.
};

const MAX_VISIBILITY_S = 43200;
const ALLOWED_CHARS = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

interface Stored {
  readonly id: string;
  readonly body: string;
  readonly md5: string;
  readonly attributes: Record<string, SqsMessageAttributeValue>;
  readonly senderId: string;
  /** SentTimestamp. Retention counts from it, also in a dead-letter queue (standard queues keep the enqueue time). */
  sentAt: number;
  /** When it entered this queue: ApproximateAgeOfOldestMessage counts from it. */
  enqueuedAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** Latest receive; undefined while never received here (a message not yet visible is then delayed). */
  receivedAt?: number;
  /** Serial of the latest receive: only that receipt handle deletes or changes visibility. */
  receipt: number;
  deadLetterSourceArn?: string;
  timer?: NodeJS.Timeout;
}

/** A message as it enters another queue (moved or redriven): visible now and never received there. */
function unreceived(m: Stored, now: number): Stored {
  return { ...m, enqueuedAt: now, visibleAt: now, receiveCount: 0, firstReceiveAt: undefined, receivedAt: undefined, receipt: 0, timer: undefined };
}

/** An SQS standard queue on the simulated clock. */
export class LocalQueue {
  public readonly name: string;
  public readonly url: string;
  public readonly arn: string;
  public readonly visibilityTimeoutSeconds: number;
  public readonly retentionSeconds: number;
  public readonly maximumMessageSize: number;
  public readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
  /** @internal */ public lastPurge = -Infinity;
  private readonly stored = new Map<string, Stored>();
  private readonly listeners = new Set<() => void>();
  private receipts = 0;

  /** @internal created by startSqs, which resolves dead-letter queues by ARN */
  constructor(options: LocalQueueOptions, private readonly clock: ScaledClock, private readonly resolve: (arn: string) => LocalQueue | undefined) {
    this.name = options.name;
    this.url = options.url;
    this.arn = options.arn;
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.retentionSeconds = options.retentionSeconds ?? 4 * 86400;
    this.maximumMessageSize = options.maximumMessageSize ?? 262144;
    this.redrive = options.redrive;
    checkRange('VisibilityTimeout', this.visibilityTimeoutSeconds, 0, MAX_VISIBILITY_S);
  }

  /** SendMessage; returns the message id. */
  public send(body: string, opts: { delaySeconds?: number; messageAttributes?: Record<string, SqsMessageAttributeValue> } = {}): string {
    const delay = opts.delaySeconds ?? 0;
    checkRange('DelaySeconds', delay, 0, 900);
    const attributes = opts.messageAttributes ?? {};
    validateAttributes(attributes);
    if (!body) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (!ALLOWED_CHARS.test(body)) {
      throw new SqsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
    }
    if (messageSize(body, attributes) > this.maximumMessageSize) {
      throw new SqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${this.maximumMessageSize} bytes.`);
    }
    const now = this.now();
    const id = randomUUID();
    this.admit({
      id,
      body,
      md5: md5(body),
      attributes,
      senderId: this.arn.split(':')[4] ?? '123456789012',
      sentAt: now,
      enqueuedAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      receipt: 0,
    });
    return id;
  }

  /**
   * ReceiveMessage (one short poll). Every receive counts, gets a new receipt handle and hides the message for the
   * visibility timeout; a message already received maxReceiveCount times is moved to the dead-letter queue instead.
   */
  public receive(max: number, visibilityTimeoutSeconds = this.visibilityTimeoutSeconds): LocalReceivedMessage[] {
    checkRange('MaxNumberOfMessages', max, 1, 10);
    checkRange('VisibilityTimeout', visibilityTimeoutSeconds, 0, MAX_VISIBILITY_S);
    const now = this.now();
    const out: LocalReceivedMessage[] = [];
    for (const m of this.live(now)) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      if (this.redrive && m.receiveCount >= this.redrive.maxReceiveCount) {
        this.moveToDeadLetterQueue(m, now);
        continue;
      }
      m.receiveCount++;
      m.firstReceiveAt ??= now;
      m.receivedAt = now;
      m.receipt = ++this.receipts;
      m.visibleAt = now + visibilityTimeoutSeconds * 1000;
      this.wakeAt(m);
      out.push(this.view(m));
    }
    return out;
  }

  /**
   * DeleteMessage. With a handle of an older receive it succeeds without deleting (SQS: "the request succeeds, but the
   * message might not be deleted"); a message already deleted succeeds too.
   */
  public delete(receiptHandle: string): void {
    const [id, receipt] = this.parseHandle(receiptHandle);
    const m = this.stored.get(id);
    if (m && m.receipt === receipt) this.drop(m);
  }

  /** ChangeMessageVisibility: the new timeout counts from now, and at most 12 hours from the receive. */
  public changeVisibility(receiptHandle: string, seconds: number): void {
    checkRange('VisibilityTimeout', seconds, 0, MAX_VISIBILITY_S);
    const [id, receipt] = this.parseHandle(receiptHandle);
    const m = this.stored.get(id);
    const now = this.now();
    if (!m || m.receipt !== receipt || this.expired(m, now)) {
      throw new SqsError('InvalidParameterValue',
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    }
    if (m.visibleAt <= now) throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    if (now + seconds * 1000 > m.receivedAt! + MAX_VISIBILITY_S * 1000) {
      throw new SqsError('InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_S} seconds]`);
    }
    m.visibleAt = now + seconds * 1000;
    this.wakeAt(m);
  }

  /** ApproximateNumberOfMessages. */
  public get visibleCount(): number {
    return this.count('visible');
  }

  /** ApproximateNumberOfMessagesNotVisible. */
  public get inFlightCount(): number {
    return this.count('inflight');
  }

  /** ApproximateNumberOfMessagesDelayed. */
  public get delayedCount(): number {
    return this.count('delayed');
  }

  /** ApproximateAgeOfOldestMessage: since the oldest message entered this queue (for a DLQ: since it was moved). */
  public oldestMessageAgeSeconds(): number {
    const now = this.now();
    let oldest = now;
    for (const m of this.live(now)) oldest = Math.min(oldest, m.enqueuedAt);
    return Math.floor((now - oldest) / 1000);
  }

  /** Calls `listener` whenever a message may have become visible (sent, delay or visibility timeout over). */
  public onAvailable(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  public messages(): LocalMessageSnapshot[] {
    const now = this.now();
    return [...this.live(now)].map((m) => ({
      messageId: m.id,
      body: m.body,
      state: this.state(m, now),
      receiveCount: m.receiveCount,
      sentTimestamp: Math.floor(m.sentAt),
      messageAttributes: m.attributes,
      ...(m.deadLetterSourceArn && { deadLetterSourceArn: m.deadLetterSourceArn }),
    }));
  }

  /** @internal PurgeQueue */
  public purge(): void {
    for (const m of [...this.stored.values()]) this.drop(m);
  }

  /**
   * @internal StartMessageMoveTask from this (dead-letter) queue: moves every visible message to `destination`, or
   * back to the queue it was dead-lettered from. Returns how many moved and how many had no known source.
   */
  public redriveTo(destination?: LocalQueue): { moved: number; unknownSource: number } {
    const now = this.now();
    let moved = 0;
    let unknownSource = 0;
    for (const m of [...this.live(now)]) {
      if (m.visibleAt > now) continue;
      const target = destination ?? (m.deadLetterSourceArn ? this.resolve(m.deadLetterSourceArn) : undefined);
      if (!target) {
        unknownSource++;
        continue;
      }
      this.drop(m);
      // A redriven message is sent anew: visible now, never received, with a fresh retention period and a new message
      // ID (SQS Developer Guide, "Learn how to configure a dead-letter queue redrive": redriven messages "are assigned a
      // new messageID and enqueueTime"). Moving into the dead-letter queue keeps the ID.
      target.admit({ ...unreceived(m, now), id: randomUUID(), sentAt: now, deadLetterSourceArn: undefined });
      moved++;
    }
    return { moved, unknownSource };
  }

  /** @internal stops timers and listeners */
  public dispose(): void {
    for (const m of this.stored.values()) clearTimeout(m.timer);
    this.listeners.clear();
  }

  private admit(m: Stored): void {
    this.stored.set(m.id, m);
    if (m.visibleAt > this.now()) this.wakeAt(m);
    else this.notify();
  }

  private moveToDeadLetterQueue(m: Stored, now: number): void {
    const dlq = this.resolve(this.redrive!.deadLetterTargetArn)!;
    this.drop(m);
    dlq.admit({ ...unreceived(m, now), deadLetterSourceArn: this.arn });
  }

  private drop(m: Stored): void {
    clearTimeout(m.timer);
    this.stored.delete(m.id);
  }

  /** Messages within retention, in send order; expired ones are dropped on the way. */
  private *live(now: number): Generator<Stored> {
    for (const m of this.stored.values()) {
      if (this.expired(m, now)) this.drop(m);
      else yield m;
    }
  }

  private expired(m: Stored, now: number): boolean {
    return now - m.sentAt >= this.retentionSeconds * 1000;
  }

  private state(m: Stored, now: number): LocalMessageSnapshot['state'] {
    if (m.visibleAt <= now) return 'visible';
    return m.receivedAt === undefined ? 'delayed' : 'inflight';
  }

  private count(state: LocalMessageSnapshot['state']): number {
    const now = this.now();
    let n = 0;
    for (const m of this.live(now)) if (this.state(m, now) === state) n++;
    return n;
  }

  /** One timer per message, for the moment it becomes visible, so pollers wake instead of spinning. */
  private wakeAt(m: Stored): void {
    clearTimeout(m.timer);
    m.timer = this.clock.setTimeout(() => {
      m.timer = undefined;
      // Node timers can fire a millisecond early, which a scaled clock turns into seconds: wait out the rest.
      if (m.visibleAt > this.now()) this.wakeAt(m);
      else this.notify();
    }, m.visibleAt - this.now());
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private view(m: Stored): LocalReceivedMessage {
    const hasAttributes = Object.keys(m.attributes).length > 0;
    return {
      MessageId: m.id,
      ReceiptHandle: Buffer.from(JSON.stringify([this.arn, m.id, m.receipt, randomBytes(8).toString('hex')])).toString('base64'),
      Body: m.body,
      MD5OfBody: m.md5,
      Attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(Math.floor(m.sentAt)),
        ApproximateFirstReceiveTimestamp: String(Math.floor(m.firstReceiveAt!)),
        SenderId: m.senderId,
        ...(m.deadLetterSourceArn && { DeadLetterQueueSourceArn: m.deadLetterSourceArn }),
      },
      ...(hasAttributes && { MessageAttributes: m.attributes, MD5OfMessageAttributes: md5OfMessageAttributes(m.attributes) }),
    };
  }

  /** Receipt handles are opaque to clients; here they name the queue, the message and the receive. */
  private parseHandle(handle: string): [string, number] {
    try {
      const [arn, id, receipt] = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as [string, string, number];
      if (arn === this.arn && typeof id === 'string' && typeof receipt === 'number') return [id, receipt];
    } catch {
      // not one of ours
    }
    throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
  }

  private now(): number {
    return this.clock.now();
  }
}

export interface SqsPeer {
  /** Endpoint URL for `new SQSClient({ endpoint })`. */
  readonly url: string;
  readonly queues: LocalQueue[];
  /** The queue with this URL, ARN or name (or a URL whose last path segment is its name); else QueueDoesNotExist. */
  queue(urlOrArnOrName: string): LocalQueue;
  close(): Promise<void>;
}

export interface SqsPeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  readonly queues: readonly LocalQueueOptions[];
  readonly clock: ScaledClock;
  /** @default a random free port */
  readonly port?: number;
}

interface MoveTask {
  readonly TaskHandle: string;
  readonly Status: 'COMPLETED' | 'FAILED';
  readonly SourceArn: string;
  readonly DestinationArn?: string;
  readonly MaxNumberOfMessagesPerSecond?: number;
  readonly ApproximateNumberOfMessagesMoved: number;
  readonly ApproximateNumberOfMessagesToMove: number;
  readonly FailureReason?: string;
  readonly StartedTimestamp: number;
}

type Input = Record<string, any>;

/**
 * SQS on loopback, speaking the AWS JSON 1.0 protocol `@aws-sdk/client-sqs` 3.x uses (`X-Amz-Target:
 * AmazonSQS.<Operation>`). Errors are answered as SQS documents for that protocol: `__type` names the error shape,
 * `x-amzn-query-error` carries the query code the SDK maps back to its modeled exception.
 */
export async function startSqs(options: SqsPeerOptions): Promise<SqsPeer> {
  const { clock } = options;
  const byArn = new Map<string, LocalQueue>();
  const queues = options.queues.map((q) => new LocalQueue(q, clock, (arn) => byArn.get(arn)));
  for (const q of queues) {
    if (byArn.has(q.arn) || queues.some((o) => o !== q && o.name === q.name)) throw new Error(`duplicate queue ${q.name}`);
    byArn.set(q.arn, q);
  }
  for (const q of queues) {
    if (q.redrive && !byArn.has(q.redrive.deadLetterTargetArn)) {
      throw new Error(`queue ${q.name}: dead-letter target ${q.redrive.deadLetterTargetArn} is not a queue of this peer`);
    }
  }

  const find = (ref: string): LocalQueue => {
    const q = queues.find((o) => o.url === ref || o.arn === ref || o.name === ref) ??
      queues.find((o) => o.name === ref.replace(/\/+$/, '').split('/').pop());
    if (!q) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return q;
  };
  const queueOf = (input: Input): LocalQueue => find(required(input, 'QueueUrl'));
  const tasks: MoveTask[] = [];
  const waiters = new Set<() => void>();
  let closed = false;

  /** Long polling: wait on the simulated clock until a message may be visible, the wait is over or the client left. */
  const receive = async (q: LocalQueue, input: Input, res: http.ServerResponse): Promise<LocalReceivedMessage[]> => {
    const max = input.MaxNumberOfMessages ?? 1;
    const visibility = input.VisibilityTimeout ?? q.visibilityTimeoutSeconds;
    const wait = input.WaitTimeSeconds ?? 0;
    checkRange('WaitTimeSeconds', wait, 0, 20);
    const deadline = clock.now() + wait * 1000;
    for (;;) {
      const got = q.receive(max, visibility);
      const left = deadline - clock.now();
      if (got.length || left <= 0 || closed || res.destroyed) return got;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          off();
          clearTimeout(timer);
          waiters.delete(done);
          res.off('close', done);
          resolve();
        };
        const off = q.onAvailable(done);
        const timer = clock.setTimeout(done, left);
        waiters.add(done);
        res.once('close', done);
      });
    }
  };

  const operations: Record<string, (input: Input, res: http.ServerResponse) => unknown> = {
    SendMessage: (input) => sent(queueOf(input), input),
    SendMessageBatch: (input) => {
      const q = queueOf(input);
      const entries = batchEntries(input);
      const total = entries.reduce((n, e) => n + messageSize(e.MessageBody ?? '', e.MessageAttributes ?? {}), 0);
      if (total > q.maximumMessageSize) {
        throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${q.maximumMessageSize} bytes. You have sent ${total} bytes.`);
      }
      return perEntry(entries, (e) => sent(q, e));
    },
    ReceiveMessage: async (input, res) => {
      const q = queueOf(input);
      const messages = await receive(q, input, res);
      if (!messages.length) return {};
      const systemNames = new Set<string>([...input.AttributeNames ?? [], ...input.MessageSystemAttributeNames ?? []]);
      const attributeNames: string[] = input.MessageAttributeNames ?? [];
      return { Messages: messages.map((m) => wireMessage(m, systemNames, attributeNames)) };
    },
    DeleteMessage: (input) => {
      queueOf(input).delete(required(input, 'ReceiptHandle'));
      return {};
    },
    DeleteMessageBatch: (input) => {
      const q = queueOf(input);
      return perEntry(batchEntries(input), (e) => {
        q.delete(required(e, 'ReceiptHandle'));
        return {};
      });
    },
    ChangeMessageVisibility: (input) => {
      queueOf(input).changeVisibility(required(input, 'ReceiptHandle'), input.VisibilityTimeout);
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const q = queueOf(input);
      return perEntry(batchEntries(input), (e) => {
        q.changeVisibility(required(e, 'ReceiptHandle'), e.VisibilityTimeout);
        return {};
      });
    },
    GetQueueAttributes: (input) => ({ Attributes: queueAttributes(queueOf(input), input.AttributeNames ?? []) }),
    GetQueueUrl: (input) => ({ QueueUrl: find(required(input, 'QueueName')).url }),
    ListQueues: (input) => ({ QueueUrls: queues.filter((q) => q.name.startsWith(input.QueueNamePrefix ?? '')).map((q) => q.url) }),
    PurgeQueue: (input) => {
      const q = queueOf(input);
      // "Only one PurgeQueue operation on a queue is allowed every 60 seconds."
      if (clock.now() - q.lastPurge < 60_000) {
        throw new SqsError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${q.name} is allowed every 60 seconds.`);
      }
      q.lastPurge = clock.now();
      q.purge();
      return {};
    },
    StartMessageMoveTask: (input) => {
      const sourceArn = required(input, 'SourceArn');
      const source = byArn.get(sourceArn);
      if (!source) throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
      if (!queues.some((q) => q.redrive?.deadLetterTargetArn === sourceArn)) {
        throw new SqsError('InvalidParameterValue', 'Source queue must be configured as a Dead Letter Queue.');
      }
      const destination = input.DestinationArn === undefined ? undefined : byArn.get(input.DestinationArn);
      if (input.DestinationArn !== undefined && !destination) {
        throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the DestinationArn parameter doesn\'t exist.');
      }
      const toMove = source.visibleCount;
      const startedAt = Math.floor(clock.now());
      // The move is asynchronous in SQS; here it is done before the answer, so the task is already over.
      const { moved, unknownSource } = source.redriveTo(destination);
      const task: MoveTask = {
        TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
        Status: unknownSource ? 'FAILED' : 'COMPLETED',
        SourceArn: sourceArn,
        ...(input.DestinationArn && { DestinationArn: input.DestinationArn }),
        ...(input.MaxNumberOfMessagesPerSecond !== undefined && { MaxNumberOfMessagesPerSecond: input.MaxNumberOfMessagesPerSecond }),
        ApproximateNumberOfMessagesMoved: moved,
        ApproximateNumberOfMessagesToMove: toMove,
        ...(unknownSource && { FailureReason: 'CouldNotDetermineMessageSource' }),
        StartedTimestamp: startedAt,
      };
      tasks.unshift(task);
      return { TaskHandle: task.TaskHandle };
    },
    ListMessageMoveTasks: (input) => {
      const sourceArn = required(input, 'SourceArn');
      if (!byArn.has(sourceArn)) throw new SqsError('ResourceNotFoundException', 'The resource that you specified for the SourceArn parameter doesn\'t exist.');
      const max = input.MaxResults ?? 1;
      checkRange('MaxResults', max, 1, 10);
      // Most recent first; a TaskHandle is only listed while a task runs, and these never are.
      return { Results: tasks.filter((t) => t.SourceArn === sourceArn).slice(0, max).map(({ TaskHandle: _, ...t }) => t) };
    },
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const target = req.headers['x-amz-target'];
      const operation = typeof target === 'string' && target.startsWith('AmazonSQS.') ? operations[target.slice('AmazonSQS.'.length)] : undefined;
      if (!operation) throw new SqsError('InvalidAction', `The action ${String(target)} is not valid for this endpoint.`);
      const body = (await readBody(req, 2 * 1024 * 1024)).toString('utf8');
      let input: Input;
      try {
        input = JSON.parse(body || '{}');
      } catch {
        throw new SqsError('SerializationException', 'The request body is not valid JSON.');
      }
      const output = await operation(input, res);
      if (res.destroyed) return;
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': randomUUID() });
      res.end(JSON.stringify(output));
    } catch (err) {
      // Anything but SQS's own errors is a failure of the peer: answered InternalError (500) and recorded by the server.
      if (!(err instanceof SqsError)) throw err;
      sendError(res, err);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, SQS_BINDING, handle), options.port, (res, err) => {
    sendError(res, new SqsError('InternalError', String((err as Error)?.message ?? err)));
  }, 'sqs');
  return {
    url: server.url,
    queues,
    queue: find,
    async close() {
      closed = true;
      for (const done of [...waiters]) done();
      queues.forEach((q) => q.dispose());
      await server.close();
    },
  };
}

function sent(q: LocalQueue, input: Input): object {
  const body = required(input, 'MessageBody');
  const attributes: Record<string, SqsMessageAttributeValue> = input.MessageAttributes ?? {};
  const id = q.send(body, { delaySeconds: input.DelaySeconds, messageAttributes: attributes });
  return {
    MessageId: id,
    MD5OfMessageBody: md5(body),
    ...(Object.keys(attributes).length && { MD5OfMessageAttributes: md5OfMessageAttributes(attributes) }),
  };
}

/** Batch entries, checked as SQS does: 1 to 10, distinct ids of at most 80 alphanumerics, hyphens or underscores. */
function batchEntries(input: Input): Input[] {
  const entries: Input[] = input.Entries ?? [];
  if (!entries.length) throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  if (entries.length > 10) throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  const ids = new Set<string>();
  for (const e of entries) {
    if (typeof e.Id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(e.Id)) {
      throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
    }
    if (ids.has(e.Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${e.Id} repeated.`);
    ids.add(e.Id);
  }
  return entries;
}

/** A batch answers per entry: `Successful` with the entry's result, `Failed` with the error's query code. */
function perEntry(entries: Input[], run: (entry: Input) => object): object {
  const Successful: object[] = [];
  const Failed: object[] = [];
  for (const e of entries) {
    try {
      Successful.push({ Id: e.Id, ...run(e) });
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      Failed.push({ Id: e.Id, SenderFault: true, Code: (ERRORS[err.code] ?? [err.code])[0], Message: err.message });
    }
  }
  return { Successful, Failed };
}

/** A message as ReceiveMessage answers: only the system and message attributes the request names. */
function wireMessage(m: LocalReceivedMessage, systemNames: Set<string>, attributeNames: string[]): object {
  const all = systemNames.has('All');
  const Attributes = Object.fromEntries(Object.entries(m.Attributes).filter(([k]) => all || systemNames.has(k)));
  const wanted = (name: string): boolean =>
    attributeNames.some((n) => n === 'All' || n === '.*' || n === name || (n.endsWith('.*') && name.startsWith(n.slice(0, -1))));
  const MessageAttributes = Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).filter(([k]) => wanted(k)));
  const hasAttributes = Object.keys(MessageAttributes).length > 0;
  return {
    MessageId: m.MessageId,
    ReceiptHandle: m.ReceiptHandle,
    MD5OfBody: m.MD5OfBody,
    Body: m.Body,
    ...(Object.keys(Attributes).length && { Attributes }),
    ...(hasAttributes && { MessageAttributes, MD5OfMessageAttributes: md5OfMessageAttributes(MessageAttributes) }),
  };
}

function queueAttributes(q: LocalQueue, names: string[]): Record<string, string> {
  const attributes: Record<string, () => string | undefined> = {
    ApproximateNumberOfMessages: () => String(q.visibleCount),
    ApproximateNumberOfMessagesNotVisible: () => String(q.inFlightCount),
    ApproximateNumberOfMessagesDelayed: () => String(q.delayedCount),
    VisibilityTimeout: () => String(q.visibilityTimeoutSeconds),
    MessageRetentionPeriod: () => String(q.retentionSeconds),
    MaximumMessageSize: () => String(q.maximumMessageSize),
    DelaySeconds: () => '0',
    ReceiveMessageWaitTimeSeconds: () => '0',
    QueueArn: () => q.arn,
    RedrivePolicy: () => {
      const r = q.redrive;
      return r && JSON.stringify({ deadLetterTargetArn: r.deadLetterTargetArn, maxReceiveCount: r.maxReceiveCount });
    },
  };
  const wanted = names.includes('All') ? Object.keys(attributes) : names;
  const out: Record<string, string> = {};
  for (const name of wanted) {
    if (!(name in attributes)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const value = attributes[name]();
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function validateAttributes(attributes: Record<string, SqsMessageAttributeValue>): void {
  const names = Object.keys(attributes);
  if (names.length > 10) throw new SqsError('InvalidParameterValue', `Number of message attributes [${names.length}] exceeds the allowed maximum [10].`);
  for (const [name, v] of Object.entries(attributes)) {
    const type = /^(String|Number|Binary)(\..+)?$/.exec(v?.DataType ?? '')?.[1];
    if (!type) throw new SqsError('InvalidParameterValue', `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    const value = type === 'Binary' ? v.BinaryValue : v.StringValue;
    if (!value) throw new SqsError('InvalidParameterValue', `Message (user) attribute '${name}' must contain a non-empty value of type '${type}'.`);
  }
}

/** What counts toward MaximumMessageSize: the body plus each attribute's name, type and value. */
function messageSize(body: string, attributes: Record<string, SqsMessageAttributeValue>): number {
  let size = Buffer.byteLength(body);
  for (const [name, v] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(v.DataType) +
      (v.BinaryValue !== undefined ? Buffer.from(v.BinaryValue, 'base64').length : Buffer.byteLength(v.StringValue ?? ''));
  }
  return size;
}

function md5(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/**
 * MD5OfMessageAttributes as SQS computes it: for each attribute in name order, the name, the data type (each as a
 * 4-byte big-endian length and UTF-8 bytes), a transport byte (1 string, 2 binary) and the length-prefixed value.
 */
export function md5OfMessageAttributes(attributes: Record<string, SqsMessageAttributeValue>): string {
  const lengthPrefixed = (b: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const parts: Buffer[] = [];
  for (const name of Object.keys(attributes).sort()) {
    const v = attributes[name];
    const binary = v.BinaryValue !== undefined;
    parts.push(
      lengthPrefixed(Buffer.from(name)),
      lengthPrefixed(Buffer.from(v.DataType)),
      Buffer.from([binary ? 2 : 1]),
      lengthPrefixed(binary ? Buffer.from(v.BinaryValue!, 'base64') : Buffer.from(v.StringValue ?? '')),
    );
  }
  return md5(Buffer.concat(parts));
}

function required(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  return value;
}

function checkRange(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new SqsError('InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`);
  }
}

function sendError(res: http.ServerResponse, e: SqsError): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const [queryCode, status] = ERRORS[e.code] ?? [e.code, e.code === 'InternalError' ? 500 : 400];
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'x-amzn-RequestId': randomUUID(),
    'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`,
  });
  res.end(JSON.stringify({ __type: `com.amazonaws.sqs#${e.code}`, message: e.message }));
}
