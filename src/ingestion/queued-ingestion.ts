import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { QUEUED_DEFAULTS } from './defaults';
import { EVENT_RETRY_ATTEMPTS } from './direct-ingestion';
import { idempotencyTable } from './idempotency-table';
import { CircuitBreakerOptions, QueuedIngestionOptions } from './ingestion';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';
import { secureDeadLetterQueue } from '../dead-letter-queue';
import { FunctionLoggingOptions } from '../function-logging';
import { acknowledgeFunction, functionLoggingProps, functionRole } from '../functions';
import { CIRCUIT_DEFAULTS, CircuitEnv } from '../handlers/circuit-breaker';
import { DispatchEnv } from '../handlers/dispatch';
import { DispatchFunction } from '../handlers/dispatch-function';
import { DispatchMetric } from '../handlers/dispatch-metrics';
import { EmfDimension, MetricsEnv } from '../handlers/metrics';

/** The dispatch function's circuit breaker settings (src/handlers/circuit-breaker.ts). */
function circuitEnvironment(o: CircuitBreakerOptions = {}): Record<string, string> {
  if (o.enabled === false) return { [CircuitEnv.ENABLED]: 'false' };
  return {
    [CircuitEnv.FAILURE_THRESHOLD]: String(o.failureThreshold ?? CIRCUIT_DEFAULTS.failureThreshold),
    [CircuitEnv.FAILURE_WINDOW_SECONDS]: String(o.failureWindow?.toSeconds() ?? CIRCUIT_DEFAULTS.failureWindowSeconds),
    [CircuitEnv.PROBE_INTERVAL_SECONDS]: String(o.probeInterval?.toSeconds() ?? CIRCUIT_DEFAULTS.probeIntervalSeconds),
    [CircuitEnv.MAX_HOLD_SECONDS]: String(o.maxHold?.toSeconds() ?? CIRCUIT_DEFAULTS.maxHoldSeconds),
  };
}

/** A batch runs its executions one after another, so the dispatch function may wait for several. */
const DISPATCH_TIMEOUT = Duration.minutes(15);

/** Properties of {@link QueuedIngestion}. */
export interface QueuedIngestionProps {
  readonly options: QueuedIngestionOptions;
  /** The cap in force (given, or the classifier's default). */
  readonly maxConcurrency: number;
  /** The rule that matches uploads; its target becomes the ingest queue. */
  readonly rule: events.Rule;
  /** Where EventBridge puts events it could not send to the queue. */
  readonly eventDeadLetterQueue: sqs.IQueue;
  /** The per-image (Express) state machine. */
  readonly stateMachine: sfn.IStateMachine;
  /** The state machine's timeout: the longest one execution can take. */
  readonly executionTimeout: Duration;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Log format and levels of the dispatch function. */
  readonly functionLogging?: FunctionLoggingOptions;
  readonly metricsNamespace: string;
  readonly metricsPipeline: string;
  /** Topics each outcome alerts, for the dispatch function's `AlertsPublished` metric. */
  readonly alertsPerOutcome: Record<string, number>;
  /** The dispatch function publishes classification errors (no classify function does: Rekognition). */
  readonly errorMetrics: boolean;
}

/**
 * Queued ingestion: upload rule → SQS ingest queue (pipeline key, TLS-only, dead-letter queue) → event source
 * mapping (MaximumConcurrency, partial batch responses) → dispatch function → StartSyncExecution per image, with
 * Powertools idempotency records in DynamoDB so one upload has one set of effects.
 */
export class QueuedIngestion extends Construct {
  /** The queue uploads wait in. */
  public readonly queue: sqs.Queue;
  /** Messages that failed every receive. Redrive them with `StartMessageMoveTask` once the cause is fixed. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Runs each queued image's execution. */
  public readonly dispatchFunction: lambda.Function;
  /** Powertools idempotency records, one per upload. */
  public readonly idempotencyTable: dynamodb.Table;
  /** Age of the oldest message above which the backlog alarm fires. */
  public readonly oldestMessageAgeAlarmThreshold: Duration;
  /** Whether the dispatch function's circuit breaker is on. */
  public readonly circuitBreakerEnabled: boolean;
  private readonly metricsNamespace: string;
  private readonly metricsPipeline: string;

  constructor(scope: Construct, id: string, props: QueuedIngestionProps) {
    super(scope, id);
    const o = props.options;
    this.circuitBreakerEnabled = o.circuitBreaker?.enabled !== false;
    this.metricsNamespace = props.metricsNamespace;
    this.metricsPipeline = props.metricsPipeline;
    const maxReceiveCount = o.maxReceiveCount ?? QUEUED_DEFAULTS.maxReceiveCount;
    this.oldestMessageAgeAlarmThreshold = o.oldestMessageAgeAlarmThreshold ?? QUEUED_DEFAULTS.oldestMessageAgeAlarmThreshold;
    this.deadLetterQueue = secureDeadLetterQueue(this, 'DeadLetterQueue', props.encryptionKey, ACKNOWLEDGEMENTS.ingestDeadLetterQueue);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: o.retention ?? QUEUED_DEFAULTS.retention,
      // AWS's guidance for Lambda consumers: six times the function timeout, so throttled batches are not received again
      // while still in flight. Deferred messages set their own, shorter visibility.
      visibilityTimeout: Duration.seconds(DISPATCH_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.idempotencyTable = idempotencyTable(this, 'IdempotencyTable', props.encryptionKey);

    const logGroup = new logs.LogGroup(this, 'DispatchFunctionLogs', { retention: props.logRetention, encryptionKey: props.encryptionKey });
    this.dispatchFunction = new DispatchFunction(this, 'DispatchFunction', {
      description: 'Runs each queued image classification with bounded concurrency, backoff and deduplication (cdk-image-classification-pipeline)',
      architecture: lambda.Architecture.ARM_64,
      memorySize: o.dispatchMemorySize ?? QUEUED_DEFAULTS.dispatchMemorySize,
      timeout: DISPATCH_TIMEOUT,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      ...functionLoggingProps(props.functionLogging),
      role: functionRole(this, 'DispatchFunctionServiceRole', logGroup),
      environmentEncryption: props.encryptionKey,
      environment: {
        [DispatchEnv.STATE_MACHINE_ARN]: props.stateMachine.stateMachineArn,
        [DispatchEnv.QUEUE_URL]: this.queue.queueUrl,
        [DispatchEnv.MAX_RECEIVE_COUNT]: String(maxReceiveCount),
        [DispatchEnv.IDEMPOTENCY_TABLE]: this.idempotencyTable.tableName,
        [DispatchEnv.IDEMPOTENCY_WINDOW_SECONDS]: String((o.idempotencyWindow ?? QUEUED_DEFAULTS.idempotencyWindow).toSeconds()),
        [DispatchEnv.BACKOFF_BASE_SECONDS]: String(QUEUED_DEFAULTS.backoffBase.toSeconds()),
        [DispatchEnv.BACKOFF_MAX_SECONDS]: String(QUEUED_DEFAULTS.backoffMax.toSeconds()),
        [DispatchEnv.EXECUTION_TIMEOUT_SECONDS]: String(props.executionTimeout.toSeconds()),
        [DispatchEnv.ALERTS_PER_OUTCOME]: JSON.stringify(props.alertsPerOutcome),
        ...circuitEnvironment(o.circuitBreaker),
        ...(props.errorMetrics ? { [DispatchEnv.ERROR_METRICS]: 'true' } : {}),
        [MetricsEnv.NAMESPACE]: props.metricsNamespace,
        [MetricsEnv.PIPELINE]: props.metricsPipeline,
      },
    });
    acknowledgeFunction(this.dispatchFunction);
    props.stateMachine.grantStartSyncExecution(this.dispatchFunction);
    // Exactly what Powertools' DynamoDB persistence layer calls.
    this.idempotencyTable.grant(this.dispatchFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    // The table and the queue are encrypted with the pipeline's key: reading needs Decrypt, writing a data key.
    props.encryptionKey.grant(this.dispatchFunction, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    // Receive, delete and ChangeMessageVisibility (deferred messages) on the ingest queue.
    this.dispatchFunction.addEventSource(new SqsEventSource(this.queue, {
      batchSize: o.batchSize ?? QUEUED_DEFAULTS.batchSize,
      maxBatchingWindow: o.maxBatchingWindow,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
    }));
    acknowledge(this.dispatchFunction, ACKNOWLEDGEMENTS.ingestEventSourceMappingDestination);

    // The whole S3 event is the message: the dispatch function reads key, version and sequencer from it.
    props.rule.addTarget(new targets.SqsQueue(this.queue, {
      deadLetterQueue: props.eventDeadLetterQueue,
      retryAttempts: EVENT_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(24),
    }));
    // aws-cdk-lib leaves out the aws:SourceArn condition for KMS-encrypted queues: only the upload rule may send.
    this.queue.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [this.queue.queueArn],
      conditions: { ArnNotEquals: { 'aws:SourceArn': props.rule.ruleArn } },
    }));
  }

  /**
   * Images waiting in the ingest queue: visible messages plus those in flight (being classified, or deferred with
   * backoff after a transient failure).
   */
  public metricBacklog(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      label: 'Ingest backlog',
      ...props,
      expression: 'visible + inFlight',
      usingMetrics: {
        visible: this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum' }),
        inFlight: this.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum' }),
      },
    });
  }

  /** Age in seconds of the oldest message in the ingest queue. */
  public metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', ...props });
  }

  /**
   * The circuit breaker: 1 while it is open (written when it opens and at each probe), 0 when it closes (Maximum).
   */
  public metricCircuitBreakerOpen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.dispatchMetric(DispatchMetric.CIRCUIT_OPEN, { statistic: 'Maximum', ...props });
  }

  /** Images an open circuit breaker let through to test the classifier (Sum). */
  public metricCircuitBreakerProbes(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.dispatchMetric(DispatchMetric.CIRCUIT_PROBES, { statistic: 'Sum', ...props });
  }

  private dispatchMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      ...props,
      dimensionsMap: { [EmfDimension.PIPELINE]: this.metricsPipeline, ...props.dimensionsMap },
    });
  }

  /** Messages in the ingest dead-letter queue. */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }
}
