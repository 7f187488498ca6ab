import { AspectPriority, Aspects, Duration, Names, Size } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AlertRoute, QuarantineOptions, ResultEventOptions } from './actions';
import { createAlerting } from './alerting';
import { createAuditResources } from './audit/audit-resources';
import { AuditTrailOptions } from './audit/audit-trail';
import { BulkMode } from './bulk-mode';
import { Classifier, ClassifierKind } from './classifier';
import { NagV2Metadata } from './compliance/nag-v2-metadata';
import { ACKNOWLEDGE_PRIORITY, PolicyAcknowledgements } from './compliance/policy-acknowledgements';
import { FunctionLoggingOptions } from './function-logging';
import { DEFAULT_METRICS_NAMESPACE, EmfDimension } from './handlers/metrics';
import { ReviewMetric } from './handlers/review-metrics';
import { Ingestion, IngestionType } from './ingestion/ingestion';
import { createIngestion } from './ingestion/pipeline-ingestion';
import { metricFilterNamespace, PipelineMonitoring } from './monitoring';
import { MonitoringOptions } from './monitoring-options';
import { Outcome } from './outcomes';
import { resolveSettings } from './pipeline-settings';
import { REKOGNITION_IMAGE_LIMITS } from './rekognition';
import { createReview } from './review/pipeline-review';
import { ConsoleOptions, ReviewOptions } from './review/review-options';
import { createStorage } from './storage';
import { createClassification } from './workflow/classification';
import { WorkflowStep } from './workflow/steps';

/**
 * Options of an {@link ImageClassificationPipeline} other than its classifier, shared with the domain presets
 * (`BankSecurityPipeline`, ...), which choose their own defaults for them.
 */
export interface ImageClassificationPipelineOptions {
  /**
   * Class labels in the order of the model's output: label `i` names score `i`. Required for SageMaker
   * classifiers; Rekognition classifiers return label names themselves.
   *
   * @default - the classifier's own labels (Rekognition moderation categories, or `rekognitionLabels`' `labels`)
   */
  readonly classLabels?: string[];

  /**
   * The top label's score must reach this value for the image to be FLAGGED or ACCEPTED; below it
   * the image is LOW_CONFIDENCE. Between 0 and 1.
   *
   * @default 0.8
   */
  readonly confidenceThreshold?: number;

  /**
   * Labels that raise an alert when they are the top label with enough confidence (outcome FLAGGED).
   * Each must be one of `classLabels` when the labels are known.
   *
   * @default - every moderation category with `Classifier.rekognitionModeration()`; otherwise no label is flagged
   */
  readonly flaggedLabels?: string[];

  /**
   * Topics that receive FLAGGED, LOW_CONFIDENCE and ERROR alerts. Pass an empty list (and no `alerts`)
   * for no alerts. Use `alerts` to choose the outcomes per topic.
   *
   * @default - without `alerts` either, one topic is created, encrypted with the AWS managed SNS key and TLS-only
   */
  readonly alertTopics?: sns.ITopic[];

  /**
   * Topics with the outcomes each is alerted about, e.g. security gets FLAGGED only, operations ERROR only.
   * Adds to `alertTopics`.
   *
   * @default - no routes beyond `alertTopics`
   */
  readonly alerts?: AlertRoute[];

  /**
   * Email addresses subscribed to the alert topic the pipeline creates (not to topics you bring).
   *
   * @default - no subscriptions
   */
  readonly alertEmails?: string[];

  /**
   * Tag each classified object with `ics:label`, `ics:confidence` and `ics:outcome`, keeping its own
   * tags. An object that already has more than 7 tags of its own is left untagged and its result says
   * `tagging: SKIPPED_TAG_LIMIT` (S3 allows 10).
   *
   * @default true
   */
  readonly tagObjects?: boolean;

  /**
   * Move images with the given outcomes to a quarantine location (copy the classified version, then
   * delete the original), e.g. to take flagged uploads out of view.
   *
   * @default - no quarantine
   */
  readonly quarantine?: QuarantineOptions;

  /**
   * One JSON result record per classification in S3, for compliance and Athena: through a Firehose delivery
   * stream (GZIP JSON lines) or one object per image, with a Glue table and Athena named queries over them.
   *
   * @default - on: `AuditTrail.deliveryStream()` into a created bucket under `results/`, with the Glue table and queries
   */
  readonly auditTrail?: AuditTrailOptions;

  /**
   * `ImageClassified` events on EventBridge for every result.
   *
   * @default - on, to the default event bus
   */
  readonly resultEvents?: ResultEventOptions;

  /**
   * The bucket images are uploaded to.
   *
   * A bucket you bring must send events to EventBridge; the pipeline turns that on (see
   * `enableEventBridgeNotification`). If it is encrypted with a customer managed KMS key that is not
   * part of the `IBucket` (e.g. imported by name), also grant the classify function `kms:Decrypt`.
   *
   * @default - a bucket is created: versioned, encrypted (SSE-S3), TLS-only, all public access
   * blocked, ACLs disabled, EventBridge notifications on, retained on stack deletion
   */
  readonly bucket?: s3.IBucket;

  /**
   * Turn on EventBridge notifications on a bucket you bring (a custom resource that edits the
   * bucket's notification configuration and keeps its existing notifications). Set `false` when the
   * bucket already sends events to EventBridge.
   *
   * @default true
   */
  readonly enableEventBridgeNotification?: boolean;

  /**
   * Only keys under this prefix are classified, and the classify function may read only them.
   *
   * @default - every key in the bucket
   */
  readonly inputPrefix?: string;

  /**
   * Only keys ending with one of these suffixes trigger classification (case-insensitive without
   * `inputPrefix`; with it, the lower- and upper-case spellings). An empty list matches every key.
   * The real format is always sniffed from the bytes; this filter only saves executions.
   *
   * @default ['.jpg', '.jpeg', '.png', '.gif', '.webp', '.bmp', '.tif', '.tiff']
   */
  readonly inputSuffixes?: string[];

  /**
   * When true, a LOW_CONFIDENCE image alerts and then fails the execution (error `LowConfidence`);
   * when false the execution succeeds with the outcome recorded.
   *
   * @default true
   */
  readonly failOnLowConfidence?: boolean;

  /**
   * Largest image the classify function reads; larger objects end as ERROR `ImageTooLarge`.
   * At most 6 MiB, SageMaker's InvokeEndpoint payload limit (serverless endpoints accept 4 MB).
   *
   * @default Size.mebibytes(6)
   */
  readonly maxImageSize?: Size;

  /**
   * How many of the best labels the result lists in `topK`.
   *
   * @default 5
   */
  readonly topK?: number;

  /**
   * Memory of the classify function in MB (128 to 10,240). It buffers one image and waits for the endpoint, and
   * Lambda bills this memory for the wait: each second of model latency costs $3.33 per million images at 256 MB
   * (arm64, us-east-1). Its peak with the largest image (6 MiB) is about 120 MiB; more memory also means more CPU,
   * which shortens only the function's own work (reading, hashing and sending the image).
   *
   * @default 256
   */
  readonly handlerMemorySize?: number;

  /**
   * Timeout of one classify invocation (reading the image and the endpoint call).
   * At most 30 seconds with an EXPRESS workflow so retries finish within Express's 5-minute limit.
   *
   * @default Duration.seconds(30)
   */
  readonly handlerTimeout?: Duration;

  /**
   * Retention of the function's and the state machine's logs.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What the state machines log, always with execution data. `ERROR` logs failed executions and failed tasks
   * (caught ones too) with their inputs, and nothing for an image that succeeds; `ALL` logs every state of every
   * execution (about 17 KiB per image, $8–9 per 1M images in CloudWatch Logs). With queued ingestion the outcome
   * and alert metrics come from the dispatch function; with direct ingestion they are metric filters on state
   * exits, which Step Functions logs only at `ALL`.
   *
   * @default - sfn.LogLevel.ERROR with queued ingestion; sfn.LogLevel.ALL with direct ingestion
   */
  readonly logLevel?: sfn.LogLevel;

  /**
   * What the pipeline's functions log (Lambda's JSON format, filtered by level): by default their warnings, errors and
   * one metrics record per image, and not Lambda's per-invocation start and report lines.
   *
   * @default - application level INFO, system level WARN
   */
  readonly functionLogging?: FunctionLoggingOptions;

  /**
   * Classify many images in one execution with a second, bulk state machine (`bulkStateMachine`) that
   * runs the same per-image workflow on each and summarizes the batch.
   *
   * @default BulkMode.none()
   */
  readonly bulkMode?: BulkMode;

  /**
   * A customer managed KMS key that encrypts everything the pipeline creates: the image and audit buckets,
   * the alert topic, the dead-letter queue, the log groups and the functions' environment. The pipeline adds
   * key policy statements for CloudWatch Logs and EventBridge (dead-letter delivery); an imported key's policy
   * must allow them already. The audit delivery stream is encrypted with it too: Firehose creates a grant with the
   * deploying principal's rights, so that principal needs `kms:CreateGrant` and `kms:DescribeKey` on an imported
   * key. Principals that upload to the created bucket need `kms:GenerateDataKey` on it
   * (`pipeline.bucket.grantPut(uploader)` grants both).
   *
   * @default - a customer managed key with automatic rotation is created (`pipeline.encryptionKey`), retained on stack deletion
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Where S3 server access logs of the buckets the pipeline creates go (keys partitioned by source account,
   * Region, bucket and date). S3 delivers access logs only to a bucket encrypted with SSE-S3.
   *
   * @default - when the pipeline creates a bucket, a logs bucket is created too: SSE-S3, versioned, TLS-only,
   * all public access blocked, retained on stack deletion (`pipeline.serverAccessLogsBucket`)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * CloudWatch namespace of the classify function's embedded-format metrics (`ImagesClassified` and
   * `Confidence` by label, `ModelLatency`, `ImageBytes`, `ClassificationErrors` by error name). Every metric
   * has a `Pipeline` dimension, so pipelines can share the namespace.
   *
   * @default 'ImageClassificationPipeline'
   */
  readonly metricsNamespace?: string;

  /**
   * Alarms and a dashboard built from the pipeline's own logs and metrics.
   *
   * @default - alarms and dashboard on, alarms without actions
   */
  readonly monitoring?: MonitoringOptions;

  /**
   * EXPRESS (default) runs each image for a fraction of a cent less than STANDARD, which bills every
   * state transition; an Express execution runs at most once when started synchronously (queued ingestion) and at
   * least once when started asynchronously (direct ingestion), and is inspected through the state machine's log group. STANDARD gives exactly-once execution, full execution history in the
   * console and no 5-minute limit.
   *
   * @default sfn.StateMachineType.EXPRESS
   */
  readonly workflowType?: sfn.StateMachineType;

  /**
   * How uploads reach the workflow. `Ingestion.queued()` puts them in an SQS ingest queue: never more images in
   * flight than the model serves, transient failures retried with backoff for over an hour and a half, one set of
   * effects per upload however often it is delivered. `Ingestion.direct()` lets the upload rule start each
   * execution: lowest latency, at-least-once, no concurrency cap.
   *
   * @default - Ingestion.queued(); Ingestion.direct() when `workflowType` is STANDARD (queued runs Express executions
   * synchronously)
   */
  readonly ingestion?: Ingestion;

  /**
   * Your own steps, run in order inside the per-image workflow after the decision and before the actions and
   * alerts (bulk items run them too): `WorkflowStep.lambda(fn)`, `WorkflowStep.expressStateMachine(machine)`, and
   * `WorkflowStep.override(step)` for a step that may change the outcome. Each answer is stored under
   * `result.steps.<name>`; a step that fails after its retries turns the image into ERROR `StepFailed`. At most 10.
   *
   * @default - no steps
   */
  readonly steps?: WorkflowStep[];

  /**
   * Human review: images with the given outcomes (default LOW_CONFIDENCE) get a review item (pending → decided) in a
   * DynamoDB table (`reviewTable`), written by the workflow. Decisions (in the console, or through its API) tag the
   * image, can release a quarantined image, and append a SageMaker Ground Truth line to the feedback manifest.
   *
   * @default - no human review
   */
  readonly review?: ReviewOptions;

  /**
   * The operator console (needs `review`): a web app behind Amazon Cognito and a JWT-authorized HTTP API, with
   * outcomes over time, the review queue and uploads. Its address is `consoleUrl`.
   *
   * @default - no console
   */
  readonly console?: ConsoleOptions;
}

/**
 * Properties for an {@link ImageClassificationPipeline}.
 */
export interface ImageClassificationPipelineProps extends ImageClassificationPipelineOptions {
  /**
   * The model that classifies each image.
   *
   * @example Classifier.sagemakerEndpoint({ endpointName: 'vehicles' })
   */
  readonly classifier: Classifier;
}

/**
 * Classifies every image uploaded to a bucket with a SageMaker endpoint (or Rekognition), inside a Step
 * Functions workflow, and alerts on flagged, low-confidence and failed images.
 *
 * S3 "Object Created" (EventBridge) → ingest queue → dispatch function (or the rule itself, with direct
 * ingestion) → state machine: Classify (one Lambda invocation: read the object, sniff its format, invoke the
 * endpoint) → Decide (Choice states) → act and alert (service integrations) → succeed, or fail with a named error.
 */
export class ImageClassificationPipeline extends Construct {
  /** The bucket whose uploads are classified. */
  public readonly bucket: s3.IBucket;
  /** The per-image state machine. Start it with `{ "bucket": "...", "key": "..." }` to classify one image by hand. */
  public readonly stateMachine: sfn.StateMachine;
  /** The function that reads an image and invokes the endpoint; undefined with a Rekognition classifier (no Lambda). */
  public readonly classifyFunction?: lambda.Function;
  /** Keeps alerts SNS could not deliver to the `alertEmails` addresses; undefined without them. */
  public readonly alertDeadLetterQueue?: sqs.Queue;
  /** The topics that receive alerts (the created one, or those given in `alertTopics` and `alerts`). */
  public readonly alertTopics: sns.ITopic[];
  /** The bulk state machine; undefined without `bulkMode`. Start it with `{ "images": [{ "key": "..." }] }`. */
  public readonly bulkStateMachine?: sfn.StateMachine;
  /** Summarizes bulk batches; undefined without `bulkMode`. */
  public readonly summarizeFunction?: lambda.Function;
  /** The bucket audit records are written to; undefined when the audit trail is off. */
  public readonly auditBucket?: s3.IBucket;
  /** The Firehose delivery stream audit records go through; undefined with `AuditTrail.objectPerImage()` or no audit trail. */
  public readonly auditDeliveryStreamName?: string;
  /** The Glue database of the audit table; undefined when the catalog is off. */
  public readonly auditDatabaseName?: string;
  /** The Glue table over the audit records (`audit_records`); undefined when the catalog is off. */
  public readonly auditTableName?: string;
  /** The Athena workgroup holding the named queries; undefined when the catalog is off. */
  public readonly auditWorkGroupName?: string;
  /** The EventBridge rule that matches uploads (its target is the ingest queue, or the state machine with direct ingestion). */
  public readonly rule: events.Rule;
  /** Receives upload events EventBridge could not deliver to its target after retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The queue uploads wait in; undefined with direct ingestion. */
  public readonly ingestQueue?: sqs.Queue;
  /** Upload messages that failed every receive; undefined with direct ingestion. Redrive with `StartMessageMoveTask`. */
  public readonly ingestDeadLetterQueue?: sqs.Queue;
  /** Runs each queued image's execution (bounded concurrency, backoff, deduplication); undefined with direct ingestion. */
  public readonly dispatchFunction?: lambda.Function;
  /** The dispatch function's idempotency records (one per upload); undefined with direct ingestion. */
  public readonly idempotencyTable?: dynamodb.Table;
  /** Most images classified at the same time with queued ingestion; undefined with direct ingestion. */
  public readonly maxConcurrency?: number;
  /** The state machine's execution log group (Express executions are inspected here). */
  public readonly stateMachineLogGroup: logs.LogGroup;
  /** The classify function's log group; undefined with a Rekognition classifier. */
  public readonly functionLogGroup?: logs.LogGroup;
  /** The default alarms (empty when `monitoring.alarms` is false). */
  public readonly alarms: cloudwatch.Alarm[];
  /** The dashboard; undefined when `monitoring.dashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The confidence threshold in force. */
  public readonly confidenceThreshold: number;
  /** The review items (human review); undefined without `review`. */
  public readonly reviewTable?: dynamodb.Table;
  /** The console's address (its HTTP API's endpoint); undefined without `console`. */
  public readonly consoleUrl?: string;
  /** The user pool the console's users sign in to (created, or the one given); undefined without `console`. */
  public readonly userPool?: cognito.IUserPool;
  /** The console's app client; undefined without `console`. */
  public readonly userPoolClient?: cognito.UserPoolClient;
  /** Serves the console and its API; undefined without `console`. */
  public readonly consoleFunction?: lambda.Function;
  /** The KMS key that encrypts what the pipeline creates (the given `encryptionKey`, or the created one). */
  public readonly encryptionKey: kms.IKey;
  /** Receives the S3 server access logs of the created buckets; undefined when the pipeline creates no bucket. */
  public readonly serverAccessLogsBucket?: s3.IBucket;

  private readonly monitoring: PipelineMonitoring;
  private readonly review?: ReturnType<typeof createReview>;
  private readonly metricsConfig: { readonly namespace: string; readonly pipeline: string };

  constructor(scope: Construct, id: string, props: ImageClassificationPipelineProps) {
    super(scope, id);
    const settings = resolveSettings(this, props);
    this.metricsConfig = {
      namespace: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
      pipeline: Names.uniqueResourceName(this, { maxLength: 200, separator: '-' }),
    };
    this.confidenceThreshold = settings.confidenceThreshold;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const metrics = this.metricsConfig;

    // Storage: the key, the image bucket, the audit bucket, the access logs bucket.
    const storage = createStorage(this, { ...props, logRetention });
    this.encryptionKey = storage.key;
    this.bucket = storage.bucket;
    this.auditBucket = storage.auditBucket;
    this.serverAccessLogsBucket = storage.serverAccessLogsBucket;

    // Audit trail: the delivery stream (or one object per image) and the Glue table with Athena queries.
    const audit = storage.auditBucket && createAuditResources(this, {
      options: props.auditTrail,
      bucket: storage.auditBucket,
      prefix: storage.auditPrefix,
      key: storage.key,
      logGroupProps: storage.logGroupProps,
    });
    this.auditDeliveryStreamName = audit?.deliveryStream?.deliveryStreamName;
    this.auditDatabaseName = audit?.catalog?.databaseName;
    this.auditTableName = audit?.catalog?.tableName;
    this.auditWorkGroupName = audit?.catalog?.workGroupName;

    // Actions: who hears about which outcome.
    const alerting = createAlerting(this, props, storage.key);
    this.alertTopics = alerting.topics;
    this.alertDeadLetterQueue = alerting.deadLetterQueue;

    // Human review: the review table, its metrics, and the console.
    const resultEvents = props.console && (props.resultEvents?.enabled ?? true)
      ? props.resultEvents?.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultEventBus', 'default')
      : undefined;
    this.review = settings.reviewOutcomes && props.review && createReview(this, {
      review: props.review,
      outcomes: settings.reviewOutcomes,
      console: props.console,
      title: this.node.path,
      classLabels: settings.classLabels,
      bucket: this.bucket,
      ownBucket: props.bucket === undefined,
      inputPrefix: props.inputPrefix ?? '',
      inputSuffixes: settings.inputSuffixes,
      maxUploadBytes: settings.maxImageSize.toBytes(),
      // Uploads only in formats the classifier reads: Rekognition's, or (by default) all the classify function recognizes.
      uploadFormats: settings.endpoint.rekognition ? [...REKOGNITION_IMAGE_LIMITS.formats] : undefined,
      quarantine: props.quarantine && { bucket: props.quarantine.bucket ?? this.bucket, prefix: props.quarantine.prefix },
      auditBucket: this.auditBucket,
      eventBus: resultEvents,
      metrics: {
        ...metrics,
        outcomesFrom: settings.ingestion.type === IngestionType.QUEUED ? 'emf' : 'logs',
        logsNamespace: metricFilterNamespace(metrics.pipeline),
      },
      key: storage.key,
      logGroupProps: storage.logGroupProps,
      functionLogging: props.functionLogging,
      alarmTopic: props.monitoring?.alarmTopic,
      alarm: props.monitoring?.alarms ?? true,
    });
    this.reviewTable = this.review?.table;
    this.consoleUrl = this.review?.console?.url;
    this.userPool = this.review?.console?.userPool;
    this.userPoolClient = this.review?.console?.userPoolClient;
    this.consoleFunction = this.review?.console?.apiFunction;

    // Classification: the classify function, the per-image workflow and the bulk workflow.
    const classification = createClassification(this, {
      classifier: props.classifier,
      endpoint: settings.endpoint,
      perImage: {
        rekognition: settings.endpoint.rekognition && {
          config: settings.endpoint.rekognition,
          moderation: settings.endpoint.kind === ClassifierKind.REKOGNITION_MODERATION,
          topK: settings.topK,
        },
        flaggedLabels: settings.flaggedLabels,
        confidenceThreshold: settings.confidenceThreshold,
        failOnLowConfidence: props.failOnLowConfidence ?? true,
        modelEndpoint: settings.endpoint.modelId,
        alertRoutes: alerting.routes,
        consoleUrl: this.consoleUrl,
        bucket: this.bucket,
        inputPrefix: props.inputPrefix ?? '',
        tagObjects: settings.tagObjects,
        quarantine: props.quarantine && {
          outcomes: props.quarantine.outcomes,
          bucket: props.quarantine.bucket ?? this.bucket,
          prefix: props.quarantine.prefix,
        },
        audit: this.auditBucket && { bucket: this.auditBucket, prefix: storage.auditPrefix, deliveryStream: audit?.deliveryStream },
        resultEvents: (props.resultEvents?.enabled ?? true) ? { eventBus: props.resultEvents?.eventBus } : undefined,
        steps: settings.steps,
        review: this.review && { table: this.review.table, outcomes: this.review.outcomes },
      },
      classLabels: settings.classLabels,
      topK: settings.topK,
      maxImageSize: settings.maxImageSize,
      handlerMemorySize: settings.handlerMemorySize,
      handlerTimeout: settings.handlerTimeout,
      workflowType: settings.workflowType,
      logLevel: settings.logLevel,
      functionLogging: props.functionLogging,
      deferTransientErrors: settings.ingestion.type === IngestionType.QUEUED,
      bulkMode: settings.bulkMode,
      key: storage.key,
      logGroupProps: storage.logGroupProps,
      auditPrefix: storage.auditPrefix,
      metrics,
    });
    this.classifyFunction = classification.classifyFunction;
    this.functionLogGroup = classification.functionLogGroup;
    this.stateMachine = classification.stateMachine;
    this.stateMachineLogGroup = classification.stateMachineLogGroup;
    this.bulkStateMachine = classification.bulkStateMachine;
    this.summarizeFunction = classification.summarizeFunction;

    // Ingestion: the upload rule, and the ingest queue with its dispatch function (or the rule starting executions).
    const ingestion = createIngestion(this, {
      ingestion: settings.ingestion,
      maxConcurrency: settings.maxConcurrency,
      bucket: this.bucket,
      inputPrefix: props.inputPrefix,
      inputSuffixes: settings.inputSuffixes,
      classification,
      key: storage.key,
      logRetention,
      functionLogging: props.functionLogging,
      metrics,
      outcomeMetrics: {
        alertsPerOutcome: Object.fromEntries(Object.values(Outcome).map((o) => [o, alerting.routes.filter((r) => r.outcomes.includes(o)).length])),
        errorMetrics: !classification.classifyFunction,
      },
    });
    this.rule = ingestion.rule;
    this.deadLetterQueue = ingestion.deadLetterQueue;
    this.ingestQueue = ingestion.queued?.queue;
    this.ingestDeadLetterQueue = ingestion.queued?.deadLetterQueue;
    this.dispatchFunction = ingestion.queued?.dispatchFunction;
    this.idempotencyTable = ingestion.queued?.idempotencyTable;
    this.maxConcurrency = ingestion.queued ? settings.maxConcurrency : undefined;

    // Monitoring: metrics, alarms and the dashboard.
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine,
      stateMachineLogGroup: this.stateMachineLogGroup,
      deadLetterQueue: this.deadLetterQueue,
      alertDeadLetterQueue: this.alertDeadLetterQueue,
      ingestion: ingestion.queued,
      emf: metrics,
      classifyFunctionMetrics: this.classifyFunction !== undefined,
      review: this.review && {
        metricPending: this.review.metricPending,
        metricOldestAge: this.review.metricOldestAge,
        alarm: this.review.alarm,
        maxPendingAgeSeconds: this.review.maxPendingAgeSeconds,
      },
      logLevel: settings.logLevel,
      options: props.monitoring ?? {},
    });
    this.alarms = this.monitoring.alarms;
    this.dashboard = this.monitoring.dashboard;

    // Before rule packs that run as aspects at the default priority (cdk-nag 2.x): acknowledge, then write metadata.
    Aspects.of(this).add(new PolicyAcknowledgements(this), { priority: ACKNOWLEDGE_PRIORITY });
    Aspects.of(this).add(new NagV2Metadata(this), { priority: AspectPriority.MUTATING });
  }

  /**
   * Grants permission to start a classification by hand (`StartExecution` with
   * `{ "bucket": "...", "key": "..." }`).
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Images with the given outcome (single-image executions): the dispatch function's `Images` EMF metric with queued
   * ingestion, a metric filter on the state machine's log (level ALL) with direct ingestion.
   */
  public metricOutcome(outcome: Outcome, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricOutcome(outcome, props);
  }

  /** Executions that failed for the pipeline's own reasons (audit record, result event, alert, timeout). */
  public metricInfrastructureFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricInfrastructureFailures(props);
  }

  /** Alerts published (each topic an alert goes to counts once; from the dispatch function, or the log with direct ingestion). */
  public metricAlertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricAlertsPublished(props);
  }

  /** Endpoint call latency in milliseconds, from the classify function's EMF records (p99 by default; SageMaker classifiers). */
  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricModelLatency(props);
  }

  /** Upload events waiting in the dead-letter queue. */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /**
   * Images waiting in the ingest queue (visible, being classified or deferred with backoff). Queued ingestion only.
   */
  public metricBacklog(props?: cloudwatch.MathExpressionOptions): cloudwatch.IMetric {
    return this.queued('metricBacklog').metricBacklog(props);
  }

  /** Age in seconds of the oldest message in the ingest queue. Queued ingestion only. */
  public metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queued('metricOldestMessageAge').metricOldestMessageAge(props);
  }

  /** Upload messages in the ingest dead-letter queue (failed every receive). Queued ingestion only. */
  public metricIngestDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queued('metricIngestDeadLetterQueueDepth').metricDeadLetterQueueDepth(props);
  }

  /**
   * The ingest circuit breaker: 1 while it is open (written when it opens and at each probe), 0 when it closes
   * (Maximum). Queued ingestion only.
   */
  public metricCircuitBreakerOpen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queued('metricCircuitBreakerOpen').metricCircuitBreakerOpen(props);
  }

  /** Images the open circuit breaker let through to test the classifier (Sum). Queued ingestion only. */
  public metricCircuitBreakerProbes(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queued('metricCircuitBreakerProbes').metricCircuitBreakerProbes(props);
  }

  /** Reviews waiting for a decision, measured every 5 minutes (Maximum). Needs `review`. */
  public metricPendingReviews(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reviewPart('metricPendingReviews').metricPending.with(props ?? {});
  }

  /** Seconds the oldest pending review has waited, measured every 5 minutes (Maximum). Needs `review`. */
  public metricOldestPendingReviewAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.reviewPart('metricOldestPendingReviewAge').metricOldestAge.with(props ?? {});
  }

  /**
   * Reviewers' agreement with the model for images the model gave `modelLabel`: 1 per confirmed label, 0 per corrected one
   * (Average is the agreement rate). Written by the console's API with each decision. Needs `console`.
   */
  public metricReviewAgreement(modelLabel: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    this.reviewPart('metricReviewAgreement');
    return new cloudwatch.Metric({
      namespace: this.metricsConfig.namespace,
      metricName: ReviewMetric.AGREEMENT,
      dimensionsMap: { [EmfDimension.PIPELINE]: this.metricsConfig.pipeline, [EmfDimension.LABEL]: modelLabel },
      statistic: 'Average',
      ...props,
    });
  }

  /** Grants reading the review items and deciding them through the table (for your own review tooling). Needs `review`. */
  public grantReviewReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.reviewPart('grantReviewReadWrite').table.grantReadWriteData(grantee);
  }

  private reviewPart(method: string) {
    if (!this.review) throw new Error(`${method}() needs human review; this pipeline has no \`review\` prop`);
    return this.review;
  }

  private queued(method: string) {
    const queued = this.monitoring.ingestion;
    if (!queued) throw new Error(`${method}() needs queued ingestion; this pipeline uses Ingestion.direct()`);
    return queued;
  }
}
