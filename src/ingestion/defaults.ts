import { Duration } from 'aws-cdk-lib';

/** Defaults of {@link QueuedIngestionOptions} other than `maxConcurrency`, which depends on the classifier. */
export const QUEUED_DEFAULTS = {
  batchSize: 10,
  /** The dispatch function waits on I/O; its peak memory with a full batch is measured by the bench (figure 3). */
  dispatchMemorySize: 128,
  maxReceiveCount: 20,
  retention: Duration.days(4),
  idempotencyWindow: Duration.hours(24),
  oldestMessageAgeAlarmThreshold: Duration.minutes(30),
  /** First backoff of a deferred message; it doubles per receive up to `backoffMax` (equal jitter). */
  backoffBase: Duration.seconds(10),
  backoffMax: Duration.minutes(15),
} as const;
