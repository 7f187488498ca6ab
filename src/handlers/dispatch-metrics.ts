import { EmfDimension, EmfMetric, errorDimension, MetricsSink } from './metrics';
import { Outcome } from '../outcomes';

/**
 * EMF metrics of the dispatch function (queued ingestion), in the pipeline's metrics namespace with its
 * `Pipeline` dimension. Names are shared by the handler and the construct's dashboard.
 */
export const DispatchMetric = {
  /** Receives the message took until its execution ended for good (1 when nothing was deferred). */
  ATTEMPTS: 'DispatchAttempts',
  /** Milliseconds from the message entering the ingest queue to its final attempt starting. */
  QUEUE_WAIT: 'QueueWait',
  /** Milliseconds from the message entering the ingest queue to its execution's end. */
  END_TO_END_LATENCY: 'EndToEndLatency',
  /** Messages sent back to the queue with backoff (transient failure, or the upload in progress elsewhere). */
  DEFERRED: 'DispatchDeferred',
  /** Redeliveries of an upload already done within the idempotency window: no second execution, no effects. */
  DUPLICATES_SUPPRESSED: 'DuplicatesSuppressed',
} as const;

/** What the metrics need of one dispatched upload. */
export interface DispatchedUpload {
  readonly attempts: number;
  readonly queueWaitMs: number;
  readonly endToEndMs: number;
}

/** Publishes one upload whose execution ended for good; a duplicate delivery is counted as suppressed instead. */
export function publishDispatched(metrics: MetricsSink, upload: DispatchedUpload): void {
  metrics.addMetric(DispatchMetric.ATTEMPTS, 'Count', upload.attempts);
  metrics.addMetric(DispatchMetric.QUEUE_WAIT, 'Milliseconds', upload.queueWaitMs);
  metrics.addMetric(DispatchMetric.END_TO_END_LATENCY, 'Milliseconds', upload.endToEndMs);
  metrics.publishStoredMetrics();
}

/** Fail states of the per-image workflow that mean the pipeline, not the image, failed (infrastructure failures). */
export const INFRASTRUCTURE_FAIL_ERRORS = ['AuditWriteFailed', 'ResultEventFailed', 'AlertPublishFailed'];

/** The error a LOW_CONFIDENCE image fails its execution with (`failOnLowConfidence`); its cause is the result JSON. */
export const LOW_CONFIDENCE_ERROR = 'LowConfidence';

/** An execution's final end as StartSyncExecution reports it, with its output (a SUCCEEDED execution's result). */
export interface FinalExecution {
  readonly status?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly output?: string;
}

/** What the outcome metrics count of one final execution. */
export interface ExecutionOutcome {
  /** The image's outcome; undefined when the pipeline failed before it could finish (an infrastructure failure). */
  readonly outcome?: string;
  readonly label?: string;
  readonly confidence?: number;
  /** An ERROR image's error name (the execution's error). */
  readonly errorName?: string;
  /** The execution failed for the pipeline's own reasons (audit, result event, alert, execution timeout). */
  readonly infrastructureFailure: boolean;
}

const parseObject = (text: string | undefined): any => {
  try {
    const v = text === undefined ? undefined : JSON.parse(text);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The outcome of a final execution, read from what StartSyncExecution returns: a SUCCEEDED execution's output is
 * the result; `LowConfidence` carries the result as its cause; any other workflow error name is an ERROR image
 * (the Failed state names the classification error); the three pipeline failures and a timed-out execution are
 * infrastructure failures, whose image outcome the end does not carry.
 */
export function outcomeOfExecution(end: FinalExecution): ExecutionOutcome {
  if (end.status === 'SUCCEEDED') {
    const result = parseObject(end.output);
    return { outcome: result?.outcome, label: result?.label, confidence: result?.confidence, infrastructureFailure: false };
  }
  if (end.status !== 'FAILED' || INFRASTRUCTURE_FAIL_ERRORS.includes(end.error ?? '')) return { infrastructureFailure: true };
  if (end.error === LOW_CONFIDENCE_ERROR) {
    const result = parseObject(end.cause);
    return { outcome: Outcome.LOW_CONFIDENCE, label: result?.label, confidence: result?.confidence, infrastructureFailure: false };
  }
  return { outcome: Outcome.ERROR, errorName: end.error, infrastructureFailure: false };
}

/** What the dispatch function publishes about outcomes (the construct decides; see `DispatchEnv`). */
export interface OutcomeMetricsConfig {
  /** Topics each outcome alerts: an execution that got past its alert states published this many. */
  readonly alertsPerOutcome: Record<string, number>;
  /**
   * Publish `ImagesClassified` and `Confidence` by label and `ClassificationErrors` by error name (when no classify
   * function publishes them).
   */
  readonly labelMetrics: boolean;
}

/**
 * Publishes the outcome metrics of one final execution (a duplicate delivery is never counted): `Images` by
 * `Outcome`, `AlertsPublished`, and with `labelMetrics` the label and error-name metrics. Infrastructure failures are counted by
 * the state machine log's metric filter (ExecutionFailed is logged at every level but OFF), not here.
 */
export function publishExecutionOutcome(metrics: MetricsSink, end: ExecutionOutcome, config: OutcomeMetricsConfig): void {
  if (!end.outcome) return;
  const alerts = config.alertsPerOutcome[end.outcome] ?? 0;
  if (alerts > 0) {
    metrics.addMetric(EmfMetric.ALERTS_PUBLISHED, 'Count', alerts);
    metrics.publishStoredMetrics();
  }
  metrics.addDimension(EmfDimension.OUTCOME, end.outcome);
  metrics.addMetric(EmfMetric.IMAGES, 'Count', 1);
  metrics.publishStoredMetrics();
  if (config.labelMetrics && typeof end.label === 'string' && typeof end.confidence === 'number') {
    metrics.addDimension(EmfDimension.LABEL, end.label);
    metrics.addMetric(EmfMetric.IMAGES_CLASSIFIED, 'Count', 1);
    metrics.addMetric(EmfMetric.CONFIDENCE, 'None', end.confidence);
    metrics.publishStoredMetrics();
  }
  if (config.labelMetrics && end.errorName) {
    metrics.addDimension(EmfDimension.ERROR_NAME, errorDimension({ name: end.errorName }));
    metrics.addMetric(EmfMetric.CLASSIFICATION_ERRORS, 'Count', 1);
    metrics.publishStoredMetrics();
  }
}
