import { CircuitConfig, readCircuitConfig } from './circuit-breaker';

/**
 * Pure logic of the dispatch function (queued ingestion): what an ingest-queue message means, which upload it
 * is, whether an execution's end is final, and how long a deferred message waits. Shared by the handler, the
 * construct (environment names, input field) and tests; it imports no SDK.
 */

/** Environment variables the construct sets on the dispatch function. */
export const DispatchEnv = {
  STATE_MACHINE_ARN: 'ICS_STATE_MACHINE_ARN',
  QUEUE_URL: 'ICS_INGEST_QUEUE_URL',
  /** The ingest queue's redrive `maxReceiveCount`: the receive that is the message's last attempt. */
  MAX_RECEIVE_COUNT: 'ICS_MAX_RECEIVE_COUNT',
  IDEMPOTENCY_TABLE: 'ICS_IDEMPOTENCY_TABLE',
  /** How long one upload's effects are deduplicated, in seconds. */
  IDEMPOTENCY_WINDOW_SECONDS: 'ICS_IDEMPOTENCY_WINDOW_SECONDS',
  BACKOFF_BASE_SECONDS: 'ICS_BACKOFF_BASE_SECONDS',
  BACKOFF_MAX_SECONDS: 'ICS_BACKOFF_MAX_SECONDS',
  /** Seconds one execution may take (the state machine's timeout): no new execution starts with less time left. */
  EXECUTION_TIMEOUT_SECONDS: 'ICS_EXECUTION_TIMEOUT_SECONDS',
  /** `true` against a loopback Step Functions endpoint, where the SDK's `sync-` host prefix cannot resolve. */
  SFN_DISABLE_HOST_PREFIX: 'ICS_SFN_DISABLE_HOST_PREFIX',
  /** JSON object: how many topics each outcome alerts (for the `AlertsPublished` metric). */
  ALERTS_PER_OUTCOME: 'ICS_ALERTS_PER_OUTCOME',
  /** `true` to publish `ClassificationErrors` from ERROR ends (no classify function publishes them: Rekognition). */
  ERROR_METRICS: 'ICS_ERROR_METRICS',
} as const;

/**
 * Field of the execution input that asks the workflow to end a transient classification failure as
 * {@link DEFERRED_ERROR} (no alert, no audit record) instead of ERROR: the message has receives left.
 */
export const DEFER_FIELD = 'deferTransientErrors';

/** The error a deferred execution fails with; its cause is `<transient error name>: <cause>`. */
export const DEFERRED_ERROR = 'ClassificationDeferred';

/** The upload an S3 "Object Created" event names: what one set of effects belongs to. */
export interface Upload {
  readonly bucket?: string;
  readonly key?: string;
  readonly versionId?: string;
  readonly sequencer?: string;
}

/** What the dispatch function makes of one ingest-queue message. */
export interface IngestMessage {
  readonly upload: Upload;
  /** The execution input, shaped as the direct rule target shapes it: `{ bucket, key, object }`. */
  readonly input: Record<string, unknown>;
}

/**
 * Reads an ingest-queue message: the EventBridge event as the rule delivered it. A body that is not an S3 event
 * still becomes an execution, whose ValidateInput state records it as ERROR `InvalidInput` (alerted, audited):
 * nothing is dropped here.
 */
export function parseIngestMessage(body: string): IngestMessage {
  let event: any;
  try {
    event = JSON.parse(body);
  } catch {
    event = undefined;
  }
  const detail = event?.detail ?? {};
  const object = detail.object ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const upload: Upload = {
    bucket: str(detail.bucket?.name),
    key: str(object.key),
    versionId: str(object['version-id']),
    sequencer: str(object.sequencer),
  };
  const input = event && typeof event === 'object'
    ? { bucket: detail.bucket?.name, key: object.key, object: detail.object }
    : { body };
  return { upload, input };
}

/**
 * The idempotency payload of an upload: bucket, key, version and sequencer. A re-upload has a new version
 * (versioned bucket) or a new sequencer (any bucket), so it is classified again; a redelivery has neither.
 */
export function idempotencyPayload(upload: Upload): Record<string, string> {
  return {
    bucket: upload.bucket ?? '',
    key: upload.key ?? '',
    versionId: upload.versionId ?? '',
    sequencer: upload.sequencer ?? '',
  };
}

/**
 * The execution's name: the message id and its receive count (`<message id>-<n>`), so an execution, its log records
 * and its audit record (`results/yyyy/mm/dd/<name>.json`) lead back to the ingest message and the attempt.
 */
export function executionName(messageId: string, receiveCount: number, probe = 0): string {
  // Step Functions names: 1–80 characters of letters, digits, '-' and '_'. A message held while the circuit breaker
  // is open may run several probes within one receive: `-p<n>` keeps their names apart.
  return `${messageId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)}-${receiveCount}${probe > 0 ? `-p${probe}` : ''}`;
}

/** How an execution ended, as StartSyncExecution reports it. */
export interface ExecutionEnd {
  readonly status?: string;
  readonly error?: string;
  readonly cause?: string;
}

/**
 * Whether an execution's end is final. Only a deferred classification (transient error with receives left) is
 * tried again; every other end — a result, a named ERROR, `LowConfidence`, a failed action, alert or audit
 * write, a timeout — may already have had effects, so it is done and never re-run.
 */
export function isFinal(end: ExecutionEnd): boolean {
  return !(end.status === 'FAILED' && end.error === DEFERRED_ERROR);
}

/** Whether the message's receive is its last attempt (the queue moves it to the DLQ after this one). */
export function isLastAttempt(receiveCount: number, maxReceiveCount: number): boolean {
  return receiveCount >= maxReceiveCount;
}

/**
 * Seconds a deferred message stays invisible before its next attempt: exponential in the attempt number, capped,
 * with "equal jitter" (half fixed, half random), so a fleet of deferred messages spreads out while every wait
 * still grows — the total over `maxReceiveCount` attempts has a known lower bound (see {@link retrySpanSeconds}).
 */
export function backoffSeconds(receiveCount: number, baseSeconds: number, maxSeconds: number, random = Math.random): number {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
  // SQS takes whole seconds, 0 to 43,200 (12 hours).
  return Math.min(43_200, Math.ceil(ceiling / 2 + random() * (ceiling / 2)));
}

/**
 * Seconds a message waits between its first and last attempt in total: with every jitter at its minimum
 * (`'min'`, the shortest outage it rides out) or at its maximum (`'max'`, the longest it can sit in the queue).
 */
export function retrySpanSeconds(maxReceiveCount: number, baseSeconds: number, maxSeconds: number, jitter: 'min' | 'max' = 'min'): number {
  let total = 0;
  for (let n = 1; n < maxReceiveCount; n++) total += backoffSeconds(n, baseSeconds, maxSeconds, () => (jitter === 'min' ? 0 : 1));
  return total;
}

/** The dispatch function's configuration, parsed once per cold start. */
export interface DispatchConfig {
  readonly stateMachineArn: string;
  readonly queueUrl: string;
  readonly maxReceiveCount: number;
  readonly idempotencyTable: string;
  readonly idempotencyWindowSeconds: number;
  readonly backoffBaseSeconds: number;
  readonly backoffMaxSeconds: number;
  readonly executionTimeoutSeconds: number;
  readonly disableHostPrefix: boolean;
  readonly alertsPerOutcome: Record<string, number>;
  readonly errorMetrics: boolean;
  /** The circuit breaker's settings. */
  readonly circuit: CircuitConfig;
}

/** Reads and checks the configuration; a bad value is a deployment bug and fails the cold start loudly. */
export function readDispatchConfig(env: Record<string, string | undefined>): DispatchConfig {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name];
    if (!v) problems.push(`${name} is required`);
    return v ?? '';
  };
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 0) problems.push(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return v;
  };
  let alertsPerOutcome: Record<string, number> = {};
  try {
    const parsed = JSON.parse(env[DispatchEnv.ALERTS_PER_OUTCOME] || '{}');
    if (!parsed || typeof parsed !== 'object' || Object.values(parsed).some((n) => !Number.isInteger(n) || (n as number) < 0)) throw new Error();
    alertsPerOutcome = parsed;
  } catch {
    problems.push(`${DispatchEnv.ALERTS_PER_OUTCOME} must be a JSON object of non-negative integers, got ${JSON.stringify(env[DispatchEnv.ALERTS_PER_OUTCOME])}`);
  }
  const config: DispatchConfig = {
    stateMachineArn: str(DispatchEnv.STATE_MACHINE_ARN),
    queueUrl: str(DispatchEnv.QUEUE_URL),
    idempotencyTable: str(DispatchEnv.IDEMPOTENCY_TABLE),
    maxReceiveCount: int(DispatchEnv.MAX_RECEIVE_COUNT, 20),
    idempotencyWindowSeconds: int(DispatchEnv.IDEMPOTENCY_WINDOW_SECONDS, 86_400),
    backoffBaseSeconds: int(DispatchEnv.BACKOFF_BASE_SECONDS, 10),
    backoffMaxSeconds: int(DispatchEnv.BACKOFF_MAX_SECONDS, 900),
    executionTimeoutSeconds: int(DispatchEnv.EXECUTION_TIMEOUT_SECONDS, 300),
    disableHostPrefix: env[DispatchEnv.SFN_DISABLE_HOST_PREFIX] === 'true',
    alertsPerOutcome,
    errorMetrics: env[DispatchEnv.ERROR_METRICS] === 'true',
    circuit: readCircuitConfig(env, problems),
  };
  if (problems.length > 0) throw new Error(`Invalid dispatch handler configuration: ${problems.join('; ')}`);
  return config;
}
