import { ArnFormat, AspectPriority, Aspects, Duration, Names, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { AlertRoute, AuditTrailOptions, DEFAULT_ALERT_OUTCOMES, QuarantineOptions, ResultEventOptions } from './actions';
import { BulkMode, BulkModeType } from './bulk-mode';
import { Classifier, ClassifierKind } from './classifier';
import { createAccessLogsBucket } from './compliance/access-logs';
import { Acknowledgement, acknowledge, ACKNOWLEDGEMENTS } from './compliance/acknowledgements';
import { NagV2Metadata, writeNagV2Metadata } from './compliance/nag-v2-metadata';
import { ACKNOWLEDGE_PRIORITY, PolicyAcknowledgements } from './compliance/policy-acknowledgements';
import { ClassifyFunction } from './handlers/classify-function';
import { ClassifyEnv } from './handlers/config';
import { DEFAULT_METRICS_NAMESPACE, MetricsEnv } from './handlers/metrics';
import { SummarizeFunction } from './handlers/summarize-function';
import { PipelineMonitoring } from './monitoring';
import { MonitoringOptions } from './monitoring-options';
import { Outcome } from './outcomes';
import { validatePipelineProps } from './pipeline-validation';
import { ResponseFormat } from './response-format';
import { DistributedBulkWorkflow, InlineBulkWorkflow } from './workflow/bulk';
import { DEFAULT_INPUT_SUFFIXES, keyFilterPattern } from './workflow/key-filter';
import { PerImageWorkflow, PerImageWorkflowProps } from './workflow/per-image';

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
   * One JSON result record per classification in S3, for compliance and Athena.
   *
   * @default - on, in a created bucket under `results/`
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
   * Memory of the classify function in MB. It buffers one image and waits on the endpoint, so it
   * needs little.
   *
   * @default 512
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
   * must allow them already. Principals that upload to the created bucket need `kms:GenerateDataKey` on it
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
   * state transition; Express delivers at least once and its executions are inspected through the
   * state machine's log group. STANDARD gives exactly-once execution, full execution history in the
   * console and no 5-minute limit.
   *
   * @default sfn.StateMachineType.EXPRESS
   */
  readonly workflowType?: sfn.StateMachineType;
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
 * Classifies every image uploaded to a bucket with a SageMaker endpoint, inside a Step Functions
 * workflow, and alerts on flagged, low-confidence and failed images.
 *
 * S3 "Object Created" (EventBridge) → state machine: Classify (one Lambda invocation: read the
 * object, sniff its format, invoke the endpoint) → Decide (Choice states) → alert (SNS service
 * integration) → succeed, or fail with a named error.
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
  /** The EventBridge rule that starts an execution per upload. */
  public readonly rule: events.Rule;
  /** Receives upload events EventBridge could not deliver to the state machine after retries. */
  public readonly deadLetterQueue: sqs.Queue;
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
  /** The KMS key that encrypts what the pipeline creates (the given `encryptionKey`, or the created one). */
  public readonly encryptionKey: kms.IKey;
  /** Receives the S3 server access logs of the created buckets; undefined when the pipeline creates no bucket. */
  public readonly serverAccessLogsBucket?: s3.IBucket;

  private readonly monitoring: PipelineMonitoring;

  constructor(scope: Construct, id: string, props: ImageClassificationPipelineProps) {
    super(scope, id);

    const inputSuffixes = props.inputSuffixes ?? DEFAULT_INPUT_SUFFIXES;
    const workflowType = props.workflowType ?? sfn.StateMachineType.EXPRESS;
    const handlerTimeout = props.handlerTimeout ?? Duration.seconds(30);
    const handlerMemorySize = props.handlerMemorySize ?? 512;
    const maxImageSize = props.maxImageSize ?? Size.mebibytes(6);
    const topK = props.topK ?? 5;
    const bulkMode = props.bulkMode ?? BulkMode.none();
    this.confidenceThreshold = props.confidenceThreshold ?? 0.8;

    const bringsTopics = props.alertTopics !== undefined || props.alerts !== undefined;
    const auditEnabled = props.auditTrail?.enabled ?? true;
    const auditPrefix = props.auditTrail?.prefix ?? 'results/';

    const binding = props.classifier.bind(this, { confidenceThreshold: this.confidenceThreshold });
    const usesFunction = binding.config.kind === ClassifierKind.SAGEMAKER_ENDPOINT;
    const classLabels = props.classLabels ?? binding.config.classLabels;
    const flaggedLabels = props.flaggedLabels ?? binding.config.defaultFlaggedLabels ?? [];
    const problems = [
      ...binding.problems,
      ...validatePipelineProps({
        classLabels,
        classLabelsRequired: usesFunction,
        flaggedLabels,
        confidenceThreshold: this.confidenceThreshold,
        inputPrefix: props.inputPrefix,
        inputSuffixes,
        handlerMemorySize,
        handlerTimeout,
        maxImageSize,
        topK,
        workflowType,
        alertRouteOutcomes: (props.alerts ?? []).map((r) => r.outcomes ?? DEFAULT_ALERT_OUTCOMES),
        alertEmailsWithOwnTopics: (props.alertEmails?.length ?? 0) > 0 && bringsTopics,
        quarantine: props.quarantine && {
          outcomes: props.quarantine.outcomes,
          prefix: props.quarantine.prefix,
          sameBucket: props.quarantine.bucket === undefined || props.quarantine.bucket === props.bucket,
        },
        auditPrefix,
        auditEnabled,
        bulkMode,
      }),
    ];
    if (problems.length > 0) {
      throw new Error(
        `Invalid ImageClassificationPipeline props at ${this.node.path}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    }
    const endpoint = binding.config;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    const key = props.encryptionKey ?? new kms.Key(this, 'EncryptionKey', {
      description: 'Encrypts an image classification pipeline (cdk-image-classification-pipeline)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.encryptionKey = key;
    const bucketEncryption = { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true };
    const logGroupProps = { retention: logRetention, encryptionKey: key };
    {
      // CloudWatch Logs encrypts with the key only if its policy lets the service use it for this account's groups.
      key.addToResourcePolicy(new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }));
    }

    const createsBuckets = !props.bucket || (auditEnabled && !props.auditTrail?.bucket);
    this.serverAccessLogsBucket = props.serverAccessLogsBucket ?? (createsBuckets ? createAccessLogsBucket(this) : undefined);
    const accessLogs = {
      serverAccessLogsBucket: this.serverAccessLogsBucket,
      targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
    };

    // Both created buckets: encrypted with the key, access-logged, TLS-only, private, versioned, retained.
    const secureBucket: s3.BucketProps = {
      ...bucketEncryption,
      ...accessLogs,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.bucket = props.bucket ?? new s3.Bucket(this, 'Bucket', {
      ...secureBucket,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      eventBridgeEnabled: true,
    });
    if (props.bucket && props.enableEventBridgeNotification !== false) {
      props.bucket.enableEventBridgeNotification();
      const notifications = props.bucket.node.tryFindChild('Notifications');
      if (notifications) {
        acknowledge(notifications, ACKNOWLEDGEMENTS.notificationsHandler);
        notifications.node.findAll().forEach(writeNagV2Metadata);
      }
    }

    const alertRoutes = [
      ...(props.alertTopics ?? []).map((topic) => ({ topic, outcomes: DEFAULT_ALERT_OUTCOMES })),
      ...(props.alerts ?? []).map((r) => ({ topic: r.topic, outcomes: r.outcomes ?? DEFAULT_ALERT_OUTCOMES })),
    ];
    if (!bringsTopics) {
      const topic = new sns.Topic(this, 'AlertTopic', {
        displayName: 'Image classification alerts',
        masterKey: key,
        enforceSSL: true,
      });
      const emails = props.alertEmails ?? [];
      if (emails.length > 0) {
        // Alerts SNS cannot deliver to an address (after its retries) are kept here instead of dropped.
        this.alertDeadLetterQueue = this.deadLetterQueueOf('AlertDeadLetterQueue', key, ACKNOWLEDGEMENTS.alertDeadLetterQueue);
        // SNS writes to the encrypted queue with the key, for this account's topics (naming the topic, which the
        // key encrypts, would make key and topic depend on each other).
        key.addToResourcePolicy(new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }));
      }
      for (const email of emails) {
        topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.alertDeadLetterQueue }));
      }
      alertRoutes.push({ topic, outcomes: DEFAULT_ALERT_OUTCOMES });
    }
    this.alertTopics = [...new Set(alertRoutes.map((r) => r.topic))];

    if (auditEnabled) {
      this.auditBucket = props.auditTrail?.bucket ?? new s3.Bucket(this, 'AuditBucket', {
        ...secureBucket,
        lifecycleRules: props.auditTrail?.retention ? [{ expiration: props.auditTrail.retention }] : undefined,
      });
    }
    const tagObjects = props.tagObjects ?? true;

    const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const metricsPipeline = Names.uniqueResourceName(this, { maxLength: 200, separator: '-' });
    if (usesFunction) {
      this.functionLogGroup = new logs.LogGroup(this, 'ClassifyFunctionLogs', logGroupProps);
      this.classifyFunction = new ClassifyFunction(this, 'ClassifyFunction', {
        description: `Classifies one image with SageMaker endpoint ${endpoint.endpointName} (cdk-image-classification-pipeline)`,
        architecture: lambda.Architecture.ARM_64,
        memorySize: handlerMemorySize,
        timeout: handlerTimeout,
        tracing: lambda.Tracing.ACTIVE,
        logGroup: this.functionLogGroup,
        role: this.functionRole('ClassifyFunctionServiceRole', this.functionLogGroup),
        environmentEncryption: key,
        environment: {
          [ClassifyEnv.ENDPOINT_NAME]: endpoint.endpointName!,
          ...(endpoint.endpointRegion ? { [ClassifyEnv.ENDPOINT_REGION]: endpoint.endpointRegion } : {}),
          ...(endpoint.variantName ? { [ClassifyEnv.TARGET_VARIANT]: endpoint.variantName } : {}),
          ...(endpoint.contentType ? { [ClassifyEnv.CONTENT_TYPE]: endpoint.contentType } : {}),
          [ClassifyEnv.RESPONSE_FORMAT]: endpoint.responseFormat ?? ResponseFormat.AUTO,
          [ClassifyEnv.CLASS_LABELS]: JSON.stringify(classLabels),
          [ClassifyEnv.CONFIDENCE_THRESHOLD]: String(this.confidenceThreshold),
          [ClassifyEnv.MAX_IMAGE_BYTES]: String(maxImageSize.toBytes()),
          [ClassifyEnv.TOP_K]: String(topK),
          [ClassifyEnv.FLAGGED_LABELS]: JSON.stringify(flaggedLabels),
          [ClassifyEnv.TAG_OBJECTS]: String(tagObjects),
          ...(props.quarantine ? { [ClassifyEnv.QUARANTINE_PREFIX]: props.quarantine.prefix } : {}),
          [MetricsEnv.NAMESPACE]: metricsNamespace,
          [MetricsEnv.PIPELINE]: metricsPipeline,
        },
      });
      // GetObject (of a version) and its tags under the input prefix; ListBucket so a missing key reads as
      // NoSuchKey (ObjectNotFound, and the form-decoded key fallback) rather than AccessDenied.
      grantReadObjects(this.bucket, this.classifyFunction, `${props.inputPrefix ?? ''}*`, { versionsAndTags: true, listBucket: true });
      props.classifier.grantInvoke(this, this.classifyFunction);
      acknowledgeFunction(this.classifyFunction);
    }

    const perImage: PerImageWorkflowProps = {
      classifyFunction: this.classifyFunction,
      rekognition: binding.config.rekognition && {
        config: binding.config.rekognition,
        moderation: binding.config.kind === ClassifierKind.REKOGNITION_MODERATION,
        topK,
      },
      flaggedLabels,
      confidenceThreshold: this.confidenceThreshold,
      failOnLowConfidence: props.failOnLowConfidence ?? true,
      modelEndpoint: endpoint.modelId,
      alertRoutes,
      bucket: this.bucket,
      inputPrefix: props.inputPrefix ?? '',
      tagObjects,
      quarantine: props.quarantine && {
        outcomes: props.quarantine.outcomes,
        bucket: props.quarantine.bucket ?? this.bucket,
        prefix: props.quarantine.prefix,
      },
      audit: this.auditBucket && { bucket: this.auditBucket, prefix: auditPrefix },
      resultEvents: (props.resultEvents?.enabled ?? true) ? { eventBus: props.resultEvents?.eventBus } : undefined,
    };
    const workflow = new PerImageWorkflow(this, 'Workflow', perImage);

    this.stateMachineLogGroup = new logs.LogGroup(this, 'StateMachineLogs', logGroupProps);
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(workflow.startState),
      stateMachineType: workflowType,
      // Express stops at 5 minutes; a Standard execution that is still running after an hour is stuck.
      timeout: workflowType === sfn.StateMachineType.EXPRESS ? Duration.minutes(5) : Duration.hours(1),
      tracingEnabled: true,
      logs: {
        destination: this.stateMachineLogGroup,
        level: sfn.LogLevel.ALL,
        // Inputs and results carry keys, labels and scores, never image bytes or secrets.
        includeExecutionData: true,
      },
    });

    if (bulkMode.type !== BulkModeType.NONE) {
      const resultsLocation = this.auditBucket ? `s3://${this.auditBucket.bucketName}/${auditPrefix}` : undefined;
      const bulkResultsPrefix = 'bulk-results';
      const summarizeLogs = new logs.LogGroup(this, 'SummarizeFunctionLogs', logGroupProps);
      this.summarizeFunction = new SummarizeFunction(this, 'SummarizeFunction', {
        description: 'Summarizes a bulk image classification batch (cdk-image-classification-pipeline)',
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: Duration.minutes(5),
        tracing: lambda.Tracing.ACTIVE,
        logGroup: summarizeLogs,
        role: this.functionRole('SummarizeFunctionServiceRole', summarizeLogs),
        environmentEncryption: key,
      });
      acknowledgeFunction(this.summarizeFunction);
      const shared = {
        perImage,
        alertPerItem: bulkMode.alertPerItem ?? false,
        summarizeFunction: this.summarizeFunction,
        digestTopics: this.alertTopics,
        resultsLocation,
      };
      const bulk = bulkMode.type === BulkModeType.INLINE
        ? new InlineBulkWorkflow(this, 'Bulk', { ...shared, defaultBucket: this.bucket.bucketName, maxConcurrency: bulkMode.maxConcurrency ?? 40 })
        : new DistributedBulkWorkflow(this, 'Bulk', {
          ...shared,
          bucket: this.bucket,
          maxConcurrency: bulkMode.maxConcurrency ?? 1000,
          toleratedFailurePercentage: bulkMode.toleratedFailurePercentage ?? 10,
          executionType: bulkMode.executionType ?? sfn.StateMachineType.EXPRESS,
          itemBatchSize: bulkMode.itemBatchSize,
          resultsBucket: this.auditBucket!,
          resultsPrefix: bulkResultsPrefix,
        });
      if (bulkMode.type === BulkModeType.DISTRIBUTED) {
        // The summary reads the result writer's manifest and result files.
        grantReadObjects(this.auditBucket!, this.summarizeFunction, `${bulkResultsPrefix}/*`);
      }
      // Batches outlast Express's 5 minutes and a Distributed Map needs a Standard parent; an inline batch may opt in.
      const expressBulk = bulkMode.type === BulkModeType.INLINE && bulkMode.executionType === sfn.StateMachineType.EXPRESS;
      this.bulkStateMachine = new sfn.StateMachine(this, 'BulkStateMachine', {
        definitionBody: sfn.DefinitionBody.fromChainable(bulk.startState),
        stateMachineType: expressBulk ? sfn.StateMachineType.EXPRESS : sfn.StateMachineType.STANDARD,
        timeout: expressBulk ? Duration.minutes(5) : Duration.hours(24),
        tracingEnabled: true,
        logs: {
          destination: new logs.LogGroup(this, 'BulkStateMachineLogs', logGroupProps),
          level: sfn.LogLevel.ALL,
          includeExecutionData: true,
        },
      });
    }

    this.deadLetterQueue = this.deadLetterQueueOf('DeadLetterQueue', key, ACKNOWLEDGEMENTS.eventDeadLetterQueue);

    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine,
      stateMachineLogGroup: this.stateMachineLogGroup,
      functionLogGroup: this.functionLogGroup,
      deadLetterQueue: this.deadLetterQueue,
      alertDeadLetterQueue: this.alertDeadLetterQueue,
      emf: this.classifyFunction && { namespace: metricsNamespace, pipeline: metricsPipeline },
      options: props.monitoring ?? {},
    });
    this.alarms = this.monitoring.alarms;
    this.dashboard = this.monitoring.dashboard;

    const keyFilter = keyFilterPattern(props.inputPrefix, inputSuffixes);
    this.rule = new events.Rule(this, 'UploadRule', {
      description: 'Starts an image classification for each image uploaded to the bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          ...(keyFilter ? { object: { key: keyFilter } } : {}),
        },
      },
    });
    this.rule.addTarget(new targets.SfnStateMachine(this.stateMachine, {
      input: events.RuleTargetInput.fromObject({
        bucket: events.EventField.fromPath('$.detail.bucket.name'),
        key: events.EventField.fromPath('$.detail.object.key'),
        object: events.EventField.fromPath('$.detail.object'),
      }),
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    }));

    {
      // EventBridge writes undeliverable upload events to the KMS-encrypted dead-letter queue.
      key.addToResourcePolicy(new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { ArnLike: { 'aws:SourceArn': Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) } },
      }));
      // The SDK integrations (tagging, quarantine, audit records) act on the KMS-encrypted buckets.
      // S3 SSE-KMS and SNS need Decrypt to read and GenerateDataKey to write; nothing calls Encrypt directly.
      key.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
      if (this.bulkStateMachine) key.grant(this.bulkStateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
    }
    if (!usesFunction && props.bucket?.encryptionKey && props.bucket.encryptionKey !== key) {
      // Rekognition reads the images with the state machine's role: an imported bucket's own key must let it decrypt.
      for (const machine of [this.stateMachine, this.bulkStateMachine]) if (machine) props.bucket.encryptionKey.grantDecrypt(machine);
    }

    for (const created of [props.bucket ? undefined : this.bucket, props.auditTrail?.bucket ? undefined : this.auditBucket]) {
      if (created) acknowledge(created, ACKNOWLEDGEMENTS.bucketReplication);
    }
    // Before rule packs that run as aspects at the default priority (cdk-nag 2.x): acknowledge, then write metadata.
    Aspects.of(this).add(new PolicyAcknowledgements(this), { priority: ACKNOWLEDGE_PRIORITY });
    Aspects.of(this).add(new NagV2Metadata(this), { priority: AspectPriority.MUTATING });
  }

  /**
   * A role for one of the pipeline's functions that may write only to the function's own log group, instead
   * of the AWS managed basic execution role (logs on every group in the account).
   */
  private functionRole(id: string, logGroup: logs.ILogGroup): iam.Role {
    const role = new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    return role;
  }

  /** An encrypted, TLS-only queue that keeps what could not be delivered for 14 days (the longest SQS allows). */
  private deadLetterQueueOf(id: string, key: kms.IKey, acknowledgement: Acknowledgement): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(queue, acknowledgement);
    return queue;
  }

  /**
   * Grants permission to start a classification by hand (`StartExecution` with
   * `{ "bucket": "...", "key": "..." }`).
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Images with the given outcome (single-image executions; counted from the state machine's log). */
  public metricOutcome(outcome: Outcome, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricOutcome(outcome, props);
  }

  /** Executions that failed for the pipeline's own reasons (audit record, result event, alert, timeout). */
  public metricInfrastructureFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricInfrastructureFailures(props);
  }

  /** Alerts published (each topic an alert goes to counts once; from the state machine's log). */
  public metricAlertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricAlertsPublished(props);
  }

  /** Endpoint call latency in milliseconds, from the classify function's log (p99 by default). */
  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.monitoring.metricModelLatency(props);
  }

  /** Upload events waiting in the dead-letter queue. */
  public metricDeadLetterQueueDepth(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }
}

/** Grants reading objects under `pattern` (and decrypting them), naming each action instead of `s3:GetObject*`. */
function grantReadObjects(
  bucket: s3.IBucket, grantee: iam.IGrantable, pattern: string, opts: { versionsAndTags?: boolean; listBucket?: boolean } = {},
) {
  const actions = opts.versionsAndTags
    ? ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']
    : ['s3:GetObject'];
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects(pattern)] }));
  if (opts.listBucket) {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  }
  bucket.encryptionKey?.grantDecrypt(grantee);
}

/** Function findings that are wrong for this design (see compliance/acknowledgements.ts). */
function acknowledgeFunction(fn: lambda.Function) {
  acknowledge(fn, ACKNOWLEDGEMENTS.functionOutsideVpc);
  acknowledge(fn, ACKNOWLEDGEMENTS.functionConcurrency);
  acknowledge(fn, ACKNOWLEDGEMENTS.functionDeadLetterQueue);
}
