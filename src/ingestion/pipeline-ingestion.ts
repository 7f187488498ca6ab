import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { startExecutionsDirectly } from './direct-ingestion';
import { Ingestion, IngestionType } from './ingestion';
import { QueuedIngestion } from './queued-ingestion';
import { uploadRule } from './upload-rule';
import { ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';
import { secureDeadLetterQueue } from '../dead-letter-queue';
import { FunctionLoggingOptions } from '../function-logging';
import { OutcomeMetricsConfig } from '../handlers/dispatch-metrics';
import { PipelineClassification } from '../workflow/classification';

/** Settings of the ingestion part, resolved from the pipeline's props. */
export interface IngestionPartProps {
  readonly ingestion: Ingestion;
  readonly maxConcurrency: number;
  readonly bucket: s3.IBucket;
  readonly inputPrefix?: string;
  readonly inputSuffixes: string[];
  readonly classification: PipelineClassification;
  readonly key: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly functionLogging?: FunctionLoggingOptions;
  readonly metrics: { readonly namespace: string; readonly pipeline: string };
  readonly outcomeMetrics: OutcomeMetricsConfig;
}

/** How uploads reach the workflow. */
export interface PipelineIngestion {
  /** Matches the uploads to classify. */
  readonly rule: events.Rule;
  /** Upload events EventBridge could not deliver to its target. */
  readonly deadLetterQueue: sqs.Queue;
  /** Queued ingestion's queue, dispatch function and idempotency table; undefined with direct ingestion. */
  readonly queued?: QueuedIngestion;
}

/**
 * The ingestion part: the upload rule and its dead-letter queue in the pipeline's own scope, and either the
 * queued path (`Ingestion` construct) or the rule starting executions directly.
 */
export function createIngestion(scope: Construct, props: IngestionPartProps): PipelineIngestion {
  const deadLetterQueue = secureDeadLetterQueue(scope, 'DeadLetterQueue', props.key, ACKNOWLEDGEMENTS.eventDeadLetterQueue);
  const rule = uploadRule(scope, 'UploadRule', props.bucket, props.inputPrefix, props.inputSuffixes);
  let queued: QueuedIngestion | undefined;
  if (props.ingestion.type === IngestionType.QUEUED) {
    queued = new QueuedIngestion(scope, 'Ingestion', {
      options: props.ingestion.queuedOptions ?? {},
      maxConcurrency: props.maxConcurrency,
      rule,
      eventDeadLetterQueue: deadLetterQueue,
      stateMachine: props.classification.stateMachine,
      executionTimeout: props.classification.executionTimeout,
      encryptionKey: props.key,
      logRetention: props.logRetention,
      functionLogging: props.functionLogging,
      metricsNamespace: props.metrics.namespace,
      metricsPipeline: props.metrics.pipeline,
      ...props.outcomeMetrics,
    });
  } else {
    startExecutionsDirectly(rule, props.classification.stateMachine, deadLetterQueue);
  }
  // EventBridge writes to the KMS-encrypted queues: the ingest queue, and the dead-letter queue for undeliverable events.
  props.key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal('events.amazonaws.com')],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: ['*'],
    conditions: { ArnLike: { 'aws:SourceArn': Stack.of(scope).formatArn({ service: 'events', resource: 'rule', resourceName: '*' }) } },
  }));
  return { rule, deadLetterQueue, queued };
}
