import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { pendingReviewMonitoring, ReviewConsole } from './review-console';
import { ConsoleOptions, ReviewOptions } from './review-options';
import { reviewTable } from './review-table';
import { FunctionLoggingOptions } from '../function-logging';
import { Outcome } from '../outcomes';

/** Where decisions are written in the audit bucket (Ground Truth manifest lines). */
export const FEEDBACK_PREFIX = 'feedback/';

/** Human review's parts, created in the pipeline's scope. */
export interface PipelineReview {
  readonly table: dynamodb.Table;
  readonly outcomes: Outcome[];
  readonly console?: ReviewConsole;
  readonly metricsFunction: lambda.Function;
  /** Undefined when `monitoring.alarms` is false. */
  readonly alarm?: cloudwatch.Alarm;
  readonly maxPendingAgeSeconds: number;
  readonly metricPending: cloudwatch.Metric;
  readonly metricOldestAge: cloudwatch.Metric;
}

/** What human review needs of the pipeline. */
export interface PipelineReviewProps {
  readonly review: ReviewOptions;
  readonly outcomes: Outcome[];
  readonly console?: ConsoleOptions;
  readonly title: string;
  readonly classLabels: string[];
  readonly bucket: s3.IBucket;
  readonly ownBucket: boolean;
  readonly inputPrefix: string;
  readonly inputSuffixes: string[];
  readonly maxUploadBytes: number;
  /** The formats uploads may have (those the classifier reads). @default every format the classify function recognizes */
  readonly uploadFormats?: string[];
  readonly quarantine?: { readonly bucket: s3.IBucket; readonly prefix: string };
  readonly auditBucket?: s3.IBucket;
  /** The result events' bus; undefined when result events are off. */
  readonly eventBus?: events.IEventBus;
  readonly metrics: { readonly namespace: string; readonly pipeline: string; readonly outcomesFrom: 'emf' | 'logs'; readonly logsNamespace: string };
  readonly key: kms.IKey;
  readonly logGroupProps: logs.LogGroupProps;
  readonly functionLogging?: FunctionLoggingOptions;
  readonly alarmTopic?: sns.ITopic;
  /** Create the oldest-pending-review alarm (`monitoring.alarms`). */
  readonly alarm: boolean;
}

/** The review table, the pending-review measurement and alarm, and the console when asked for. */
export function createReview(scope: Construct, props: PipelineReviewProps): PipelineReview {
  const table = reviewTable(scope, 'ReviewTable', props.key);
  const maxPendingAge = props.review.maxPendingAge ?? Duration.hours(24);
  const monitoring = pendingReviewMonitoring(scope, {
    table,
    key: props.key,
    logGroupProps: props.logGroupProps,
    functionLogging: props.functionLogging,
    metrics: props.metrics,
    maxPendingAge,
    alarmTopic: props.alarmTopic,
    alarm: props.alarm,
  });
  const console = props.console && props.auditBucket ? new ReviewConsole(scope, 'Console', {
    options: props.console,
    reviewersGroupName: props.review.reviewersGroupName,
    title: props.title,
    table,
    classLabels: props.classLabels,
    reviewOutcomes: props.outcomes,
    bucket: props.bucket,
    ownBucket: props.ownBucket,
    inputPrefix: props.inputPrefix,
    inputSuffixes: props.inputSuffixes,
    maxUploadBytes: props.maxUploadBytes,
    uploadFormats: props.uploadFormats,
    quarantine: props.quarantine,
    feedback: { bucket: props.auditBucket, prefix: FEEDBACK_PREFIX },
    eventBus: props.eventBus,
    metrics: props.metrics,
    key: props.key,
    logGroupProps: props.logGroupProps,
    functionLogging: props.functionLogging,
  }) : undefined;
  return {
    table,
    outcomes: props.outcomes,
    console,
    metricsFunction: monitoring.fn,
    alarm: monitoring.alarm,
    maxPendingAgeSeconds: maxPendingAge.toSeconds(),
    metricPending: monitoring.metricPending,
    metricOldestAge: monitoring.metricOldestAge,
  };
}
