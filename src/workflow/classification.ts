import { Duration, Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DistributedBulkWorkflow, InlineBulkWorkflow } from './bulk';
import { PerImageWorkflow, PerImageWorkflowProps } from './per-image';
import { BulkMode, BulkModeType } from '../bulk-mode';
import { Classifier, ClassifierConfig, ClassifierKind } from '../classifier';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';
import { FunctionLoggingOptions } from '../function-logging';
import { acknowledgeFunction, functionLoggingProps, functionRole } from '../functions';
import { ClassifyFunction } from '../handlers/classify-function';
import { ClassifyEnv } from '../handlers/config';
import { MetricsEnv } from '../handlers/metrics';
import { SummarizeFunction } from '../handlers/summarize-function';
import { ResponseFormat, ScoreType } from '../response-format';

/** Settings of the classification part, resolved from the pipeline's props. */
export interface ClassificationProps {
  readonly classifier: Classifier;
  readonly endpoint: ClassifierConfig;
  /** The per-image workflow's options other than the classify function, which this part creates. */
  readonly perImage: Omit<PerImageWorkflowProps, 'classifyFunction' | 'bulkItem' | 'deferTransientErrors'>;
  readonly classLabels: string[];
  /** Labels listed in a result's `topK`. */
  readonly topK: number;
  readonly maxImageSize: Size;
  readonly handlerMemorySize: number;
  readonly handlerTimeout: Duration;
  readonly workflowType: sfn.StateMachineType;
  /** Level of the state machines' logs (always with execution data: failures are logged with their inputs). */
  readonly logLevel: sfn.LogLevel;
  /** Log format and levels of the classify and summarize functions. */
  readonly functionLogging?: FunctionLoggingOptions;
  /** The per-image workflow defers transient failures to the ingest queue (queued ingestion). */
  readonly deferTransientErrors: boolean;
  readonly bulkMode: BulkMode;
  readonly key: kms.IKey;
  readonly logGroupProps: logs.LogGroupProps;
  readonly auditPrefix: string;
  readonly metrics: { readonly namespace: string; readonly pipeline: string };
}

/** The functions, state machines and log groups that classify images. */
export interface PipelineClassification {
  readonly classifyFunction?: lambda.Function;
  readonly functionLogGroup?: logs.LogGroup;
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineLogGroup: logs.LogGroup;
  /** The longest one per-image execution may run. */
  readonly executionTimeout: Duration;
  readonly bulkStateMachine?: sfn.StateMachine;
  readonly summarizeFunction?: lambda.Function;
}

/**
 * The classification part, in the pipeline's own scope: the classify function (SageMaker classifiers), the
 * per-image state machine and, with a bulk mode, the summarize function and the bulk state machine.
 */
export function createClassification(scope: Construct, props: ClassificationProps): PipelineClassification {
  const { endpoint, perImage, key, logGroupProps } = props;
  let classifyFunction: lambda.Function | undefined;
  let functionLogGroup: logs.LogGroup | undefined;
  if (endpoint.kind === ClassifierKind.SAGEMAKER_ENDPOINT) {
    functionLogGroup = new logs.LogGroup(scope, 'ClassifyFunctionLogs', logGroupProps);
    classifyFunction = new ClassifyFunction(scope, 'ClassifyFunction', {
      description: `Classifies one image with SageMaker endpoint ${endpoint.endpointName} (cdk-image-classification-pipeline)`,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.handlerMemorySize,
      timeout: props.handlerTimeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: functionLogGroup,
      ...functionLoggingProps(props.functionLogging),
      role: functionRole(scope, 'ClassifyFunctionServiceRole', functionLogGroup),
      environmentEncryption: key,
      environment: {
        [ClassifyEnv.ENDPOINT_NAME]: endpoint.endpointName!,
        ...(endpoint.endpointRegion ? { [ClassifyEnv.ENDPOINT_REGION]: endpoint.endpointRegion } : {}),
        ...(endpoint.variantName ? { [ClassifyEnv.TARGET_VARIANT]: endpoint.variantName } : {}),
        ...(endpoint.contentType ? { [ClassifyEnv.CONTENT_TYPE]: endpoint.contentType } : {}),
        [ClassifyEnv.RESPONSE_FORMAT]: endpoint.responseFormat ?? ResponseFormat.AUTO,
        ...(endpoint.scoreType && endpoint.scoreType !== ScoreType.PROBABILITIES ? { [ClassifyEnv.SCORE_TYPE]: endpoint.scoreType } : {}),
        [ClassifyEnv.CLASS_LABELS]: JSON.stringify(props.classLabels),
        [ClassifyEnv.CONFIDENCE_THRESHOLD]: String(perImage.confidenceThreshold),
        [ClassifyEnv.MAX_IMAGE_BYTES]: String(props.maxImageSize.toBytes()),
        [ClassifyEnv.TOP_K]: String(props.topK),
        [ClassifyEnv.FLAGGED_LABELS]: JSON.stringify(perImage.flaggedLabels),
        [ClassifyEnv.TAG_OBJECTS]: String(perImage.tagObjects),
        ...(perImage.quarantine ? { [ClassifyEnv.QUARANTINE_PREFIX]: perImage.quarantine.prefix } : {}),
        [MetricsEnv.NAMESPACE]: props.metrics.namespace,
        [MetricsEnv.PIPELINE]: props.metrics.pipeline,
      },
    });
    // GetObject (of a version) and its tags under the input prefix; ListBucket so a missing key reads as
    // NoSuchKey (ObjectNotFound, and the form-decoded key fallback) rather than AccessDenied.
    grantReadObjects(perImage.bucket, classifyFunction, `${perImage.inputPrefix}*`, { versionsAndTags: true, listBucket: true });
    props.classifier.grantInvoke(scope, classifyFunction);
    acknowledgeFunction(classifyFunction);
  }

  const fullPerImage: PerImageWorkflowProps = { ...perImage, classifyFunction };
  const workflow = new PerImageWorkflow(scope, 'Workflow', { ...fullPerImage, deferTransientErrors: props.deferTransientErrors });
  const express = props.workflowType === sfn.StateMachineType.EXPRESS;
  // Express stops at 5 minutes; a Standard execution that is still running after an hour is stuck.
  const executionTimeout = express ? Duration.minutes(5) : Duration.hours(1);
  const stateMachineLogGroup = new logs.LogGroup(scope, 'StateMachineLogs', logGroupProps);
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(workflow.startState),
    stateMachineType: props.workflowType,
    timeout: executionTimeout,
    tracingEnabled: true,
    logs: {
      destination: stateMachineLogGroup,
      level: props.logLevel,
      // Inputs and results carry keys, labels and scores, never image bytes or secrets; at ERROR only failures are logged.
      includeExecutionData: true,
    },
  });

  const bulk = props.bulkMode.type === BulkModeType.NONE ? undefined : createBulk(scope, props, fullPerImage);
  if (props.logLevel !== sfn.LogLevel.ALL) {
    for (const machine of [stateMachine, bulk?.stateMachine]) if (machine) acknowledge(machine, ACKNOWLEDGEMENTS.stateMachineLogLevel);
  }
  // The SDK integrations (tagging, quarantine, audit records) act on the KMS-encrypted buckets.
  // S3 SSE-KMS and SNS need Decrypt to read and GenerateDataKey to write; nothing calls Encrypt directly.
  const machines = [stateMachine, bulk?.stateMachine].filter((m): m is sfn.StateMachine => m !== undefined);
  for (const machine of machines) key.grant(machine, 'kms:Decrypt', 'kms:GenerateDataKey');
  // Keys other than the pipeline's, asked with the machines' credentials: S3 asks a bucket's own key (an imported
  // bucket with its key) when Rekognition reads an image, a bulk run reads a manifest or writes its results, or
  // quarantine copies an image; SNS asks a topic's own key when an alert is published (SNS Developer Guide, "Data
  // encryption": publishers need kms:GenerateDataKey and kms:Decrypt).
  const grants = new Map<kms.IKey, Set<string>>();
  const grant = (k: kms.IKey | undefined, ...actions: string[]) => {
    if (k && k !== key) grants.set(k, new Set([...grants.get(k) ?? [], ...actions]));
  };
  if (!classifyFunction || bulk !== undefined || perImage.quarantine) grant(perImage.bucket.encryptionKey, 'kms:Decrypt');
  grant(perImage.quarantine?.bucket.encryptionKey, 'kms:GenerateDataKey');
  for (const route of perImage.alertRoutes) grant(route.topic.masterKey, 'kms:Decrypt', 'kms:GenerateDataKey');
  for (const [other, actions] of grants) for (const machine of machines) other.grant(machine, ...actions);
  return {
    classifyFunction,
    functionLogGroup,
    stateMachine,
    stateMachineLogGroup,
    executionTimeout,
    bulkStateMachine: bulk?.stateMachine,
    summarizeFunction: bulk?.summarizeFunction,
  };
}

/** The bulk state machine and its summarize function. */
function createBulk(scope: Construct, props: ClassificationProps, perImage: PerImageWorkflowProps) {
  const { bulkMode, logGroupProps } = props;
  const auditBucket = perImage.audit?.bucket;
  const resultsLocation = auditBucket ? `s3://${auditBucket.bucketName}/${props.auditPrefix}` : undefined;
  const bulkResultsPrefix = 'bulk-results';
  const summarizeLogs = new logs.LogGroup(scope, 'SummarizeFunctionLogs', logGroupProps);
  const summarizeFunction = new SummarizeFunction(scope, 'SummarizeFunction', {
    description: 'Summarizes a bulk image classification batch (cdk-image-classification-pipeline)',
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: Duration.minutes(5),
    tracing: lambda.Tracing.ACTIVE,
    logGroup: summarizeLogs,
    ...functionLoggingProps(props.functionLogging),
    role: functionRole(scope, 'SummarizeFunctionServiceRole', summarizeLogs),
    environmentEncryption: props.key,
  });
  acknowledgeFunction(summarizeFunction);
  const shared = {
    perImage,
    alertPerItem: bulkMode.alertPerItem ?? false,
    summarizeFunction,
    digestTopics: [...new Set(perImage.alertRoutes.map((r) => r.topic))],
    resultsLocation,
  };
  const bulk = bulkMode.type === BulkModeType.INLINE
    ? new InlineBulkWorkflow(scope, 'Bulk', { ...shared, defaultBucket: perImage.bucket.bucketName, maxConcurrency: bulkMode.maxConcurrency ?? 40 })
    : new DistributedBulkWorkflow(scope, 'Bulk', {
      ...shared,
      bucket: perImage.bucket,
      maxConcurrency: bulkMode.maxConcurrency ?? 1000,
      toleratedFailurePercentage: bulkMode.toleratedFailurePercentage ?? 10,
      executionType: bulkMode.executionType ?? sfn.StateMachineType.EXPRESS,
      itemBatchSize: bulkMode.itemBatchSize,
      resultsBucket: auditBucket!,
      resultsPrefix: bulkResultsPrefix,
    });
  if (bulkMode.type === BulkModeType.DISTRIBUTED) {
    // The summary reads the result writer's manifest and result files.
    grantReadObjects(auditBucket!, summarizeFunction, `${bulkResultsPrefix}/*`);
  }
  // Batches outlast Express's 5 minutes and a Distributed Map needs a Standard parent; an inline batch may opt in.
  const expressBulk = bulkMode.type === BulkModeType.INLINE && bulkMode.executionType === sfn.StateMachineType.EXPRESS;
  const stateMachine = new sfn.StateMachine(scope, 'BulkStateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(bulk.startState),
    stateMachineType: expressBulk ? sfn.StateMachineType.EXPRESS : sfn.StateMachineType.STANDARD,
    timeout: expressBulk ? Duration.minutes(5) : Duration.hours(24),
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'BulkStateMachineLogs', logGroupProps),
      level: props.logLevel,
      includeExecutionData: true,
    },
  });
  return { stateMachine, summarizeFunction };
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
