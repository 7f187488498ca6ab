import { MetricsSink } from './metrics';

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
