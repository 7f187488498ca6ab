import { createHash } from 'node:crypto';

/**
 * Pure logic of queued ingestion's circuit breaker: when the classifier counts as down, what a dispatch invocation
 * does with a message while the breaker is open, and the breaker's state as one DynamoDB item. Shared by the dispatch
 * handler, the construct (environment names, defaults) and tests; it imports no SDK.
 *
 * The breaker is one item in the idempotency table, so every dispatch invocation (and every new execution
 * environment: the state survives cold starts) sees the same state. Closed: images run as usual. Opened by
 * `failureThreshold` deferrals for a transient classification failure within `failureWindow`, of at least
 * {@link MIN_DISTINCT_FAILURES} different uploads (one image failing again and again is not an outage). Open:
 * an invocation holds its message (no execution, no endpoint call) and, since its lane of the event source mapping is
 * busy holding, the queue's other messages stay unreceived and spend no receives (at MaximumConcurrency the mapping
 * stops reading the queue until an invocation ends: AWS Compute Blog, "Introducing maximum concurrency of AWS Lambda
 * functions when using Amazon SQS as an event source", 2023, which replaced throttling); one holder at a time, at most once
 * per `probeInterval`, runs its image as a probe (one classifier call, no in-workflow retries). A probe that classifies
 * closes the breaker, and every holder continues at once: the backlog drains at the mapping's full concurrency.
 */

/** Environment variables of the breaker (on the dispatch function). */
export const CircuitEnv = {
  /** `false` turns the breaker off. */
  ENABLED: 'ICS_CIRCUIT_ENABLED',
  FAILURE_THRESHOLD: 'ICS_CIRCUIT_FAILURE_THRESHOLD',
  FAILURE_WINDOW_SECONDS: 'ICS_CIRCUIT_FAILURE_WINDOW_SECONDS',
  PROBE_INTERVAL_SECONDS: 'ICS_CIRCUIT_PROBE_INTERVAL_SECONDS',
  MAX_HOLD_SECONDS: 'ICS_CIRCUIT_MAX_HOLD_SECONDS',
} as const;

/** Defaults, shared with the construct's documentation. */
export const CIRCUIT_DEFAULTS = {
  failureThreshold: 3,
  failureWindowSeconds: 300,
  probeIntervalSeconds: 20,
  maxHoldSeconds: 3 * 3600,
} as const;

/** Different uploads among the failures that open the breaker. */
export const MIN_DISTINCT_FAILURES = 2;

/** How often a holder reads the breaker: how soon after a successful probe the other holders continue. */
export const HOLD_POLL_MS = 5_000;

/** Field of the execution input that marks a probe: the workflow calls the classifier once, without its retries. */
export const PROBE_FIELD = 'probe';

/** The breaker's item in the idempotency table (Powertools' own ids are `<function>#<hash>`: no clash). */
export const CIRCUIT_ITEM_ID = 'ics#circuit-breaker';

/** The breaker's settings, read once per cold start. */
export interface CircuitConfig {
  readonly enabled: boolean;
  readonly failureThreshold: number;
  readonly failureWindowMs: number;
  readonly probeIntervalMs: number;
  readonly maxHoldMs: number;
}

/** Reads the breaker's settings; problems are returned for the dispatch configuration's one error. */
export function readCircuitConfig(env: Record<string, string | undefined>, problems: string[]): CircuitConfig {
  const positive = (name: string, fallback: number) => {
    const raw = env[name];
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    return v;
  };
  return {
    enabled: env[CircuitEnv.ENABLED] !== 'false',
    failureThreshold: positive(CircuitEnv.FAILURE_THRESHOLD, CIRCUIT_DEFAULTS.failureThreshold),
    failureWindowMs: positive(CircuitEnv.FAILURE_WINDOW_SECONDS, CIRCUIT_DEFAULTS.failureWindowSeconds) * 1000,
    probeIntervalMs: positive(CircuitEnv.PROBE_INTERVAL_SECONDS, CIRCUIT_DEFAULTS.probeIntervalSeconds) * 1000,
    maxHoldMs: positive(CircuitEnv.MAX_HOLD_SECONDS, CIRCUIT_DEFAULTS.maxHoldSeconds) * 1000,
  };
}

/** The breaker as one invocation last read or wrote it. */
export interface CircuitView {
  readonly open: boolean;
  /** Deferrals in the current failure window (closed breaker only). */
  readonly failing: number;
  /** Different uploads among them. */
  readonly distinct: number;
  /** Epoch ms the breaker opened (open only). */
  readonly openedAt?: number;
  /** Epoch ms from which the next probe may run (open only). */
  readonly nextProbeAt?: number;
}

/** A closed breaker that has seen no failure: what a missing item means. */
export const CLOSED: CircuitView = { open: false, failing: 0, distinct: 0 };

/** Reads the breaker's DynamoDB item (attribute values in DynamoDB's JSON). */
export function circuitFromItem(item: Record<string, any> | undefined): CircuitView {
  if (!item) return CLOSED;
  const num = (a: any) => (a?.N !== undefined ? Number(a.N) : undefined);
  const open = item.state?.S === 'open';
  return JSON.parse(JSON.stringify({
    open,
    failing: open ? 0 : num(item.failures) ?? 0,
    distinct: open ? 0 : (item.failing?.SS ?? []).length,
    openedAt: open ? num(item.openedAt) : undefined,
    nextProbeAt: open ? num(item.nextProbeAt) : undefined,
  }));
}

/** What a dispatch invocation does with a message before running it. */
export type HoldDecision =
  /** Run it as usual: the breaker is closed, or holding it longer would cost what the breaker protects. */
  | { readonly action: 'run'; readonly reason: 'closed' | 'last-attempt' | 'held-too-long' }
  /** Take the probe lease and, if won, run it as the probe. */
  | { readonly action: 'probe' }
  /** Keep holding: read the breaker again after this many ms. */
  | { readonly action: 'wait'; readonly ms: number }
  /** Give the message back to the queue (visible at once): the invocation needs its remaining time to end. */
  | { readonly action: 'release' };

/** What {@link holdDecision} needs to know of the message and the invocation. */
export interface HoldContext {
  readonly now: number;
  /** Epoch ms the message entered the queue (SQS `SentTimestamp`). */
  readonly sentAt: number;
  /** The queue moves the message to the dead-letter queue after this receive: it must not be given back. */
  readonly lastAttempt: boolean;
  /** Ms left in the invocation. */
  readonly remainingMs: number;
  /** Ms an execution may take, plus the margin the handler keeps: what running the message needs. */
  readonly runMs: number;
}

/**
 * Holding is bounded three ways, so an outage longer than the breaker's window still ends the documented way (ERROR
 * on the message's last receive, never a silent expiry): a message on its last receive runs; a message older than
 * `maxHold` runs (as an ordinary attempt, with backoff); an invocation gives its message back while it still has the
 * time to run one.
 */
export function holdDecision(view: CircuitView, config: CircuitConfig, c: HoldContext): HoldDecision {
  if (!view.open) return { action: 'run', reason: 'closed' };
  if (c.lastAttempt) return { action: 'run', reason: 'last-attempt' };
  if (c.now - c.sentAt > config.maxHoldMs) return { action: 'run', reason: 'held-too-long' };
  if (c.remainingMs < c.runMs + HOLD_POLL_MS) return { action: 'release' };
  const probeIn = (view.nextProbeAt ?? 0) - c.now;
  if (probeIn <= 0) return { action: 'probe' };
  return { action: 'wait', ms: Math.min(HOLD_POLL_MS, probeIn, c.remainingMs - c.runMs - HOLD_POLL_MS + 1) };
}

/** Whether the failures seen open the breaker. */
export function shouldOpen(view: CircuitView, config: CircuitConfig): boolean {
  return !view.open && view.failing >= config.failureThreshold && view.distinct >= MIN_DISTINCT_FAILURES;
}

/**
 * The breaker's id for an upload in its failure set: different images, not one image failing again, make an outage.
 * A hash of the upload's identity keeps set members short whatever the key's length.
 */
export function failureMember(upload: { bucket?: string; key?: string; versionId?: string; sequencer?: string }): string {
  const text = [upload.bucket, upload.key, upload.versionId, upload.sequencer].map((v) => v ?? '').join('\u0000');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** DynamoDB requests of the breaker: built here (pure), sent by the handler. */
export const circuitRequests = {
  read: (table: string) => ({ TableName: table, Key: { id: { S: CIRCUIT_ITEM_ID } }, ConsistentRead: true }),

  /**
   * A deferred upload while closed: a failure older than the window starts a new count, otherwise it adds to it (and
   * the upload joins the set of failing uploads).
   * Two conditional forms, tried in this order; each fails with ConditionalCheckFailedException when it does not apply.
   */
  startFailures: (table: string, member: string, now: number, windowMs: number) => ({
    TableName: table,
    Key: { id: { S: CIRCUIT_ITEM_ID } },
    UpdateExpression: 'SET failing = :m, failures = :one, lastFailureAt = :now',
    ConditionExpression: '(attribute_not_exists(#state) OR #state = :closed) AND (attribute_not_exists(lastFailureAt) OR lastFailureAt < :stale)',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: {
      ':m': { SS: [member] }, ':one': { N: '1' }, ':now': { N: String(now) }, ':closed': { S: 'closed' }, ':stale': { N: String(now - windowMs) },
    },
    ReturnValues: 'ALL_NEW' as const,
  }),
  addFailure: (table: string, member: string, now: number) => ({
    TableName: table,
    Key: { id: { S: CIRCUIT_ITEM_ID } },
    UpdateExpression: 'ADD failing :m, failures :one SET lastFailureAt = :now',
    ConditionExpression: 'attribute_not_exists(#state) OR #state = :closed',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':m': { SS: [member] }, ':one': { N: '1' }, ':now': { N: String(now) }, ':closed': { S: 'closed' } },
    ReturnValues: 'ALL_NEW' as const,
  }),

  /** Opens the breaker once the window holds `threshold` failures of different uploads; the first probe is due one interval later. */
  open: (table: string, threshold: number, now: number, probeIntervalMs: number) => ({
    TableName: table,
    Key: { id: { S: CIRCUIT_ITEM_ID } },
    UpdateExpression: 'SET #state = :open, openedAt = :now, nextProbeAt = :probeAt ADD opened :one REMOVE failing, failures, lastFailureAt',
    ConditionExpression: '(attribute_not_exists(#state) OR #state = :closed) AND failures >= :k AND size(failing) >= :distinct',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: {
      ':open': { S: 'open' },
      ':closed': { S: 'closed' },
      ':now': { N: String(now) },
      ':probeAt': { N: String(now + probeIntervalMs) },
      ':one': { N: '1' },
      ':k': { N: String(threshold) },
      ':distinct': { N: String(MIN_DISTINCT_FAILURES) },
    },
    ReturnValues: 'ALL_NEW' as const,
  }),

  /** The probe lease: one holder wins it per interval (the condition sees the others' writes). */
  takeProbe: (table: string, now: number, probeIntervalMs: number) => ({
    TableName: table,
    Key: { id: { S: CIRCUIT_ITEM_ID } },
    UpdateExpression: 'SET nextProbeAt = :next ADD probes :one',
    ConditionExpression: '#state = :open AND nextProbeAt <= :now',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':open': { S: 'open' }, ':now': { N: String(now) }, ':next': { N: String(now + probeIntervalMs) }, ':one': { N: '1' } },
    ReturnValues: 'ALL_NEW' as const,
  }),

  /**
   * The classifier answered: an open breaker closes, a closed one forgets its failures. Conditional, so that the
   * common case (closed, no failures) writes nothing when a stale view sends it.
   */
  succeed: (table: string, now: number) => ({
    TableName: table,
    Key: { id: { S: CIRCUIT_ITEM_ID } },
    UpdateExpression: 'SET #state = :closed, closedAt = :now REMOVE failing, failures, lastFailureAt, nextProbeAt, openedAt',
    ConditionExpression: '#state = :open OR attribute_exists(failing)',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':closed': { S: 'closed' }, ':open': { S: 'open' }, ':now': { N: String(now) } },
    ReturnValues: 'ALL_OLD' as const,
  }),
};

/** Epoch ms on the handler's clock: real time on Lambda; the kit's simulated time when it says so. */
export interface HandlerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Set by the testing kit only: `<real epoch ms>:<simulated epoch ms>:<real ms per simulated ms>`, so that the holder's
 * waits and the breaker's timestamps follow the kit's simulated clock (as SQS's timestamps and Lambda's remaining
 * time do there). Lambda never sets it.
 */
export const LOCAL_CLOCK_ENV = 'ICS_LOCAL_CLOCK';

/** The clock {@link LOCAL_CLOCK_ENV} describes, or the real one. */
export function handlerClock(env: Record<string, string | undefined>): HandlerClock {
  const [realStart, simulatedStart, scale] = (env[LOCAL_CLOCK_ENV] ?? '').split(':').map(Number);
  if (!(scale > 0) || !Number.isFinite(realStart) || !Number.isFinite(simulatedStart)) {
    return { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms))) };
  }
  return {
    now: () => simulatedStart + (Date.now() - realStart) / scale,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms * scale))),
  };
}
