import { EmfDimension, EmfMetric, EmfRecord, errorDimension } from './metrics';
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
  /** The circuit breaker: 1 when it opens and at each failed probe, 0 when it closes (alarm: Maximum ≥ 1). */
  CIRCUIT_OPEN: 'CircuitBreakerOpen',
  /** Images the open breaker let through to test the classifier. */
  CIRCUIT_PROBES: 'CircuitBreakerProbes',
} as const;

/** What the metrics need of one dispatched upload. */
export interface DispatchedUpload {
  readonly attempts: number;
  readonly queueWaitMs: number;
  readonly endToEndMs: number;
}

/** Adds one upload whose execution ended for good (a duplicate delivery is counted as suppressed instead). */
export function dispatchedRecord(record: EmfRecord, upload: DispatchedUpload): EmfRecord {
  return record
    .add(DispatchMetric.ATTEMPTS, 'Count', upload.attempts)
    .add(DispatchMetric.QUEUE_WAIT, 'Milliseconds', upload.queueWaitMs)
    .add(DispatchMetric.END_TO_END_LATENCY, 'Milliseconds', upload.endToEndMs);
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
  /** The endpoint call's milliseconds and the image's bytes, when the result has them (SageMaker classifiers). */
  readonly modelLatencyMs?: number;
  readonly sizeBytes?: number;
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

/** What the metrics take from a result record: label, confidence, and the endpoint's latency and image size when present. */
function classified(result: any): Pick<ExecutionOutcome, 'label' | 'confidence' | 'modelLatencyMs' | 'sizeBytes'> {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return JSON.parse(JSON.stringify({
    label: typeof result?.label === 'string' ? result.label : undefined,
    confidence: num(result?.confidence),
    modelLatencyMs: num(result?.modelLatencyMs),
    sizeBytes: num(result?.sizeBytes),
  }));
}

/**
 * The outcome of a final execution, read from what StartSyncExecution returns: a SUCCEEDED execution's output is
 * the result; `LowConfidence` carries the result as its cause; any other workflow error name is an ERROR image
 * (the Failed state names the classification error); the three pipeline failures and a timed-out execution are
 * infrastructure failures, whose image outcome the end does not carry.
 */
export function outcomeOfExecution(end: FinalExecution): ExecutionOutcome {
  if (end.status === 'SUCCEEDED') {
    const result = parseObject(end.output);
    return { outcome: result?.outcome, ...classified(result), infrastructureFailure: false };
  }
  if (end.status !== 'FAILED' || INFRASTRUCTURE_FAIL_ERRORS.includes(end.error ?? '')) return { infrastructureFailure: true };
  if (end.error === LOW_CONFIDENCE_ERROR) {
    const result = parseObject(end.cause);
    return { outcome: Outcome.LOW_CONFIDENCE, ...classified(result), infrastructureFailure: false };
  }
  return { outcome: Outcome.ERROR, errorName: end.error, infrastructureFailure: false };
}

/** What the dispatch function publishes about outcomes (the construct decides; see `DispatchEnv`). */
export interface OutcomeMetricsConfig {
  /** Topics each outcome alerts: an execution that got past its alert states published this many. */
  readonly alertsPerOutcome: Record<string, number>;
  /**
   * Publish `ClassificationErrors` by error name from ERROR ends: only when no classify function publishes them (it counts
   * every attempt's error, deferred ones too, so the endpoint errors alarm sees an outage while images wait).
   */
  readonly errorMetrics: boolean;
}

/**
 * Adds the metrics of one final execution (a duplicate delivery is never counted), all the per-image metrics with queued
 * ingestion (the classify function publishes only its errors then): `Images` by `Outcome`, `AlertsPublished`, `ImagesClassified`
 * and `Confidence` by `Label`, `ModelLatency` and `ImageBytes` when the result has them, and with `errorMetrics`
 * `ClassificationErrors` by `ErrorName`. Infrastructure failures are counted by the state machine log's metric filter (ExecutionFailed and ExecutionTimedOut are logged
 * at every level but OFF), not here.
 */
export function outcomeRecord(record: EmfRecord, end: ExecutionOutcome, config: OutcomeMetricsConfig): EmfRecord {
  if (!end.outcome) return record;
  const alerts = config.alertsPerOutcome[end.outcome] ?? 0;
  if (alerts > 0) record.add(EmfMetric.ALERTS_PUBLISHED, 'Count', alerts);
  record.add(EmfMetric.IMAGES, 'Count', 1, { [EmfDimension.OUTCOME]: end.outcome });
  if (end.label !== undefined && end.confidence !== undefined) {
    record.add(EmfMetric.IMAGES_CLASSIFIED, 'Count', 1, { [EmfDimension.LABEL]: end.label });
    record.add(EmfMetric.CONFIDENCE, 'None', end.confidence, { [EmfDimension.LABEL]: end.label });
  }
  if (end.modelLatencyMs !== undefined) record.add(EmfMetric.MODEL_LATENCY, 'Milliseconds', end.modelLatencyMs);
  if (end.sizeBytes !== undefined) record.add(EmfMetric.IMAGE_BYTES, 'Bytes', end.sizeBytes);
  if (config.errorMetrics && end.errorName) {
    record.add(EmfMetric.CLASSIFICATION_ERRORS, 'Count', 1, { [EmfDimension.ERROR_NAME]: errorDimension({ name: end.errorName }) });
  }
  return record;
}
