import { Duration } from 'aws-cdk-lib';

/** How uploads reach the per-image workflow. */
export enum IngestionType {
  /** Through an SQS ingest queue and a dispatch function: bounded concurrency, backoff, exactly-once effects. */
  QUEUED = 'QUEUED',
  /** The upload rule starts each execution itself: lowest latency, at-least-once, no concurrency cap. */
  DIRECT = 'DIRECT',
}

/**
 * Options for {@link Ingestion.queued}.
 */
export interface QueuedIngestionOptions {
  /**
   * Most images classified at the same time (the event source mapping's `MaximumConcurrency`, 2 to 1,000; each
   * dispatch invocation runs its batch one image after another). Size it to what the model serves at once: a
   * burst beyond it waits in the queue instead of being throttled.
   *
   * @default - from the classifier: a `ClassifierEndpoint`'s serverless `maxConcurrency`, or 4 per instance of its
   * largest instance count; 10 for an endpoint you bring; 5 for Rekognition (its lowest default TPS quota)
   */
  readonly maxConcurrency?: number;

  /**
   * Messages per dispatch invocation, 1 to 10. Larger batches mean fewer invocations; the images of a batch
   * are classified one after another.
   *
   * @default 10
   */
  readonly batchSize?: number;

  /**
   * Memory of the dispatch function in MB (128 to 10,240). The function waits for each execution it starts, so its
   * memory is billed for the whole execution, the model's latency included: at 128 MB each second of execution costs
   * $1.67 per million images (arm64, us-east-1), half of what 256 MB costs. Its peak use with a full batch is in
   * `npm run bench` (figure 3); raise it only if its logs report a Max Memory Used near this.
   *
   * @default 128
   */
  readonly dispatchMemorySize?: number;

  /**
   * How long the event source mapping gathers messages before invoking the dispatch function (up to 5 minutes).
   * Adds up to this much latency to each image, for fuller batches.
   *
   * @default - no batching window: invoke as soon as messages are available
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * Receives of a message before it moves to the ingest dead-letter queue (2 to 1,000). Transient failures
   * (throttling, endpoint unavailable or not ready, S3 5xx, Lambda throttles) send the message back with
   * exponential backoff (10 s doubling to 15 minutes, with jitter); only its last receive records ERROR. With
   * the default, an image waits out at least 100 minutes of outage before it is recorded as ERROR.
   *
   * @default 20
   */
  readonly maxReceiveCount?: number;

  /**
   * How long the ingest queue keeps a message (1 minute to 14 days). Must exceed the time the receives and
   * their backoff can take.
   *
   * @default Duration.days(4)
   */
  readonly retention?: Duration;

  /**
   * How long one upload (bucket, key, version, sequencer) is deduplicated: a redelivery within this window has
   * no second alert, tag write, quarantine move, audit record or result event. At least 1 hour, at most 30 days.
   *
   * @default Duration.hours(24)
   */
  readonly idempotencyWindow?: Duration;

  /**
   * Alarm when the oldest message in the ingest queue is older than this (an outage, or a backlog the
   * concurrency cannot drain).
   *
   * @default Duration.minutes(30)
   */
  readonly oldestMessageAgeAlarmThreshold?: Duration;

  /**
   * The circuit breaker between the ingest queue and the classifier: when several images fail transiently in a
   * short time (the endpoint or Rekognition is down, throttling, or not ready), the dispatch function stops running
   * executions, holds the messages it has and leaves the rest unreceived (they spend no receives), tests the
   * classifier with one image per probe interval, and resumes at full concurrency when a probe classifies.
   *
   * @default - on, with the defaults of {@link CircuitBreakerOptions}
   */
  readonly circuitBreaker?: CircuitBreakerOptions;
}

/**
 * Options of queued ingestion's circuit breaker. Its state is one item in the idempotency table, shared by every
 * dispatch invocation; the `CircuitBreakerOpen` metric and alarm show it.
 */
export interface CircuitBreakerOptions {
  /**
   * Turn the breaker off: every message is tried with its own backoff, as each fails.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Transient classification failures (each an image deferred after the workflow's own retries) within
   * `failureWindow` that open the breaker, of at least two different images: one image failing again and again
   * never opens it, and an image that fails for its own reasons (a bad file, a model error) never counts.
   *
   * @default 3
   */
  readonly failureThreshold?: number;

  /**
   * How close together the failures must be.
   *
   * @default Duration.minutes(5)
   */
  readonly failureWindow?: Duration;

  /**
   * How often an open breaker lets one image through to test the classifier (one call, no retries). A successful
   * probe closes the breaker: at most this long (plus a few seconds) passes between the classifier's recovery and
   * the backlog draining at full concurrency. The first probe follows the opening by one interval.
   *
   * @default Duration.seconds(20)
   */
  readonly probeInterval?: Duration;

  /**
   * Longest an upload is held by an open breaker, from its arrival in the queue. An older upload is tried as
   * usual (backoff, then ERROR on its last receive), so an outage longer than this ends the documented way. A held
   * message also spends one receive per dispatch invocation that holds it (about every 10 minutes), and on its
   * last receive it runs and ends ERROR: with the default `maxReceiveCount` (20) that is also about 3 hours.
   *
   * @default Duration.hours(3)
   */
  readonly maxHold?: Duration;
}

/**
 * How uploads reach the per-image workflow. Use a static factory: `Ingestion.queued()` (the default) or
 * `Ingestion.direct()`.
 */
export abstract class Ingestion {
  /**
   * Uploads wait in an encrypted SQS ingest queue; a dispatch function runs each image's Express execution
   * synchronously, never more at once than the model can serve, retries transient failures with backoff, and
   * deduplicates redeliveries (Powertools idempotency, DynamoDB). The default.
   */
  public static queued(options: QueuedIngestionOptions = {}): Ingestion {
    return new ConfiguredIngestion(IngestionType.QUEUED, options);
  }

  /**
   * The upload rule starts each execution itself (EventBridge retries with a dead-letter queue). Lowest latency
   * and cost, but at-least-once (a redelivered event runs again, with its alert and audit record) and no
   * concurrency cap (a burst beyond the model's capacity ends ERROR `EndpointThrottled` after the workflow's retries).
   */
  public static direct(): Ingestion {
    return new ConfiguredIngestion(IngestionType.DIRECT, {});
  }

  /** Which kind of ingestion this is. */
  public abstract readonly type: IngestionType;
  /** Queued only: its options as given. */
  public abstract readonly queuedOptions?: QueuedIngestionOptions;
}

class ConfiguredIngestion extends Ingestion {
  public readonly queuedOptions?: QueuedIngestionOptions;

  constructor(public readonly type: IngestionType, options: QueuedIngestionOptions) {
    super();
    this.queuedOptions = type === IngestionType.QUEUED ? options : undefined;
  }
}
