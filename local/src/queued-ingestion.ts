import { ScaledClock } from './clock';
import { EventSourceMapping, startEventSourceMapping } from './event-source-mapping';
import { Gateway } from './gateway/gateway';
import { DynamoDBPeer, DynamoTableOptions, startDynamoDB, tablesFromTemplate } from './peers/dynamodb';
import { LocalQueue, SqsPeer, startSqs } from './peers/sqs';
import { ExecutionRequest, ExecutionResult, StepFunctionsPeer, startStepFunctions } from './peers/stepfunctions';
import { CfnTemplate, LOCAL_ACCOUNT, resolveIntrinsics, resourceArn } from './template-resolver';

/** Queued ingestion as the template synthesizes it: the rule's SQS target, its redrive, the mapping and the table. */
export interface QueuedTopology {
  readonly queueId: string;
  readonly deadLetterQueueId: string;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly maxReceiveCount: number;
  readonly functionId: string;
  readonly functionTimeoutSeconds: number;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly maximumConcurrency?: number;
  readonly reportBatchItemFailures: boolean;
  /** Every table of the template (the idempotency table, the review table). */
  readonly tables: Array<DynamoTableOptions & { readonly id: string }>;
}

/** Reads the queued path from the template, starting at the rule target `targetArn` (`{ Fn::GetAtt: [queue, Arn] }`). */
export function queuedTopology(template: CfnTemplate, target: any): QueuedTopology | undefined {
  const queueId: string | undefined = target?.Arn?.['Fn::GetAtt']?.[0];
  const queue = queueId ? template.Resources[queueId] : undefined;
  if (!queueId || queue?.Type !== 'AWS::SQS::Queue') return undefined;
  const redrive = queue.Properties?.RedrivePolicy;
  const deadLetterQueueId: string | undefined = redrive?.deadLetterTargetArn?.['Fn::GetAtt']?.[0];
  const mapping = Object.values(template.Resources).find((r) =>
    r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties?.EventSourceArn?.['Fn::GetAtt']?.[0] === queueId);
  const functionId: string | undefined = mapping?.Properties?.FunctionName?.Ref;
  if (!deadLetterQueueId || !mapping || !functionId) {
    throw new Error(`The upload rule targets queue ${queueId}, but the local runner needs its redrive policy and an event source mapping to a function`);
  }
  const tables = tablesFromTemplate(template.Resources).map((t) => ({ ...t, id: t.tableName }));
  const p = mapping.Properties;
  return {
    queueId,
    deadLetterQueueId,
    visibilityTimeoutSeconds: queue.Properties?.VisibilityTimeout ?? 30,
    retentionSeconds: queue.Properties?.MessageRetentionPeriod ?? 345_600,
    maxReceiveCount: redrive.maxReceiveCount,
    functionId,
    functionTimeoutSeconds: template.Resources[functionId].Properties?.Timeout ?? 3,
    batchSize: p.BatchSize ?? 10,
    maximumBatchingWindowSeconds: p.MaximumBatchingWindowInSeconds ?? 0,
    maximumConcurrency: p.ScalingConfig?.MaximumConcurrency,
    reportBatchItemFailures: (p.FunctionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    tables,
  };
}

/** How a message left the ingest queue. */
export type MessageEnd = 'DELETED' | 'DEAD_LETTERED';

export interface LocalQueuedIngestionOptions {
  readonly topology: QueuedTopology;
  readonly template: CfnTemplate;
  readonly clock: ScaledClock;
  /** The gateway the queue, table and Step Functions peers answer behind. @default none */
  readonly gateway?: Gateway;
  /** Invokes the dispatch function (the runner's in-process Lambda) with an SQS event. */
  invokeDispatch(event: unknown, timeoutSeconds: number): Promise<unknown>;
  /** Runs one execution of a state machine of the template, as StartSyncExecution does. */
  startSync(req: ExecutionRequest): Promise<ExecutionResult>;
}

/**
 * The queued path on this machine: the ingest queue and its dead-letter queue (SQS peer), the event source
 * mapping feeding the dispatch function, StartSyncExecution (Step Functions peer, running the template's state
 * machine in the runner) and the idempotency table (DynamoDB through dynalite).
 */
export class LocalQueuedIngestion {
  public static async start(options: LocalQueuedIngestionOptions): Promise<LocalQueuedIngestion> {
    const { topology: t, template, clock } = options;
    const queueOptions = (id: string) => ({
      name: id,
      // The URL the template's Ref resolves to; the peer also matches it by its last path segment.
      url: resolveIntrinsics({ Ref: id }, template),
      arn: resourceArn(id, 'AWS::SQS::Queue'),
    });
    const gateway = options.gateway;
    const sqs = await startSqs({
      clock,
      gateway,
      queues: [
        { ...queueOptions(t.deadLetterQueueId), retentionSeconds: template.Resources[t.deadLetterQueueId].Properties?.MessageRetentionPeriod },
        {
          ...queueOptions(t.queueId),
          visibilityTimeoutSeconds: t.visibilityTimeoutSeconds,
          retentionSeconds: t.retentionSeconds,
          redrive: { deadLetterTargetArn: resourceArn(t.deadLetterQueueId, 'AWS::SQS::Queue'), maxReceiveCount: t.maxReceiveCount },
        },
      ],
    });
    const dynamodb = await startDynamoDB({ tables: t.tables, gateway });
    const stepFunctions = await startStepFunctions({ startSync: options.startSync, clock, gateway });
    return new LocalQueuedIngestion(options, sqs, dynamodb, stepFunctions);
  }

  /** The ingest queue. */
  public readonly queue: LocalQueue;
  /** Messages that failed every receive. */
  public readonly deadLetterQueue: LocalQueue;
  public readonly mapping: EventSourceMapping;
  /** What the template synthesized: queue settings, the mapping, the idempotency table. */
  public readonly topology: QueuedTopology;
  private readonly waiting = new Map<string, Array<(end: MessageEnd) => void>>();
  private watcher?: NodeJS.Timeout;

  private constructor(
    options: LocalQueuedIngestionOptions,
    public readonly sqs: SqsPeer,
    public readonly dynamodb: DynamoDBPeer,
    public readonly stepFunctions: StepFunctionsPeer,
  ) {
    const t = options.topology;
    this.topology = t;
    this.queue = sqs.queue(t.queueId);
    this.deadLetterQueue = sqs.queue(t.deadLetterQueueId);
    this.mapping = startEventSourceMapping({
      queue: this.queue,
      batchSize: t.batchSize,
      maximumBatchingWindowSeconds: t.maximumBatchingWindowSeconds,
      maximumConcurrency: t.maximumConcurrency,
      reportBatchItemFailures: t.reportBatchItemFailures,
      functionTimeoutSeconds: t.functionTimeoutSeconds,
      region: LOCAL_ACCOUNT.region,
      clock: options.clock,
      invoke: (event) => options.invokeDispatch(event, t.functionTimeoutSeconds),
    });
  }

  /** Endpoints the dispatch function's SDK clients use. */
  public get env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SQS: this.sqs.url,
      AWS_ENDPOINT_URL_SFN: this.stepFunctions.url,
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamodb.url,
      // StartSyncExecution's endpoint carries a `sync-` host prefix, which a loopback address cannot take.
      ICS_SFN_DISABLE_HOST_PREFIX: 'true',
    };
  }

  /** The ingest queue's URL on the SQS peer (SDK clients send requests to the queue URL's host). */
  public get queueUrlForClients(): string {
    return `${this.sqs.url}/${LOCAL_ACCOUNT.account}/${this.queue.name}`;
  }

  /** Sends an event to the ingest queue as the rule's SQS target does (the whole event is the body). */
  public send(event: unknown): string {
    return this.queue.send(JSON.stringify(event));
  }

  /** Resolves when the message has left the ingest queue: deleted (done) or moved to the dead-letter queue. */
  public whenDone(messageId: string): Promise<MessageEnd> {
    return new Promise((resolve) => {
      const list = this.waiting.get(messageId) ?? [];
      list.push(resolve);
      this.waiting.set(messageId, list);
      this.watch();
    });
  }

  public async close(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    await this.mapping.stop();
    await Promise.all([this.sqs.close(), this.dynamodb.close(), this.stepFunctions.close()]);
  }

  /** One watcher for every waiting caller: checks where their messages are every few milliseconds. */
  private watch() {
    if (this.watcher) return;
    this.watcher = setInterval(() => {
      const inQueue = new Set(this.queue.messages().map((m) => m.messageId));
      const inDlq = new Set(this.deadLetterQueue.messages().map((m) => m.messageId));
      for (const [id, resolvers] of this.waiting) {
        const end: MessageEnd | undefined = inDlq.has(id) ? 'DEAD_LETTERED' : inQueue.has(id) ? undefined : 'DELETED';
        if (!end) continue;
        this.waiting.delete(id);
        resolvers.forEach((r) => r(end));
      }
      if (this.waiting.size === 0) {
        clearInterval(this.watcher);
        this.watcher = undefined;
      }
    }, 5);
  }
}
