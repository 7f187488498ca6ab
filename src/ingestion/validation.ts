import { Duration, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { QUEUED_DEFAULTS } from './defaults';
import { Ingestion, IngestionType } from './ingestion';
import { CIRCUIT_DEFAULTS } from '../handlers/circuit-breaker';
import { retrySpanSeconds } from '../handlers/dispatch';

/** What the classifier says about concurrency (from its binding). */
export interface ClassifierConcurrency {
  /** Most requests the model serves at once, when known. */
  readonly limit?: number;
  /** The default cap when the limit is not known. */
  readonly fallback?: number;
  /** How the limit reads in an error, e.g. "the ClassifierEndpoint's serverless maxConcurrency". */
  readonly source: string;
}

/** The event source mapping's MaximumConcurrency range. */
const MIN_CONCURRENCY = 2;
const MAX_CONCURRENCY = 1000;

/** The cap queued ingestion uses: the given one, or what the classifier serves, or its fallback (10). */
export function resolveMaxConcurrency(ingestion: Ingestion, classifier: ClassifierConcurrency): number {
  return ingestion.queuedOptions?.maxConcurrency ?? classifier.limit ?? classifier.fallback ?? 10;
}

/** The default ingestion: queued, except with a STANDARD workflow (StartSyncExecution runs Express machines only). */
export function defaultIngestion(workflowType: sfn.StateMachineType): Ingestion {
  return workflowType === sfn.StateMachineType.STANDARD ? Ingestion.direct() : Ingestion.queued();
}

/** Every problem with the ingestion props, for the pipeline's one aggregated error. */
export function validateIngestion(
  ingestion: Ingestion | undefined,
  ctx: { readonly workflowType: sfn.StateMachineType; readonly classifier: ClassifierConcurrency },
): string[] {
  const problems: string[] = [];
  if (!ingestion || ingestion.type !== IngestionType.QUEUED) return problems;
  if (ctx.workflowType === sfn.StateMachineType.STANDARD) {
    problems.push('ingestion: Ingestion.queued() needs an EXPRESS workflow (the dispatch function runs each image with '
      + 'StartSyncExecution, which Express machines alone support); use Ingestion.direct() with workflowType STANDARD');
  }
  const o = ingestion.queuedOptions ?? {};
  const known = (v: number | undefined): v is number => v !== undefined && !Token.isUnresolved(v);
  const intIn = (name: string, v: number | undefined, min: number, max: number) => {
    if (known(v) && !(Number.isInteger(v) && v >= min && v <= max)) problems.push(`ingestion.${name} must be an integer from ${min} to ${max}, got ${v}`);
  };
  const seconds = (d: Duration | undefined) => (d && !Token.isUnresolved(d.toSeconds()) ? d.toSeconds() : undefined);

  const concurrency = resolveMaxConcurrency(ingestion, ctx.classifier);
  if (o.maxConcurrency !== undefined) {
    intIn('maxConcurrency', o.maxConcurrency, MIN_CONCURRENCY, MAX_CONCURRENCY);
    if (known(o.maxConcurrency) && known(ctx.classifier.limit) && o.maxConcurrency > ctx.classifier.limit) {
      problems.push(`ingestion.maxConcurrency ${o.maxConcurrency} exceeds what the endpoint serves at once (${ctx.classifier.limit}, `
        + `${ctx.classifier.source}): the excess would be throttled`);
    }
  } else if (known(concurrency) && concurrency < MIN_CONCURRENCY) {
    problems.push(`ingestion: the endpoint serves ${concurrency} invocation at a time (${ctx.classifier.source}), but the ingest `
      + `queue's event source mapping runs at least ${MIN_CONCURRENCY} at once: raise the endpoint's concurrency to ${MIN_CONCURRENCY} `
      + 'or more, or use Ingestion.direct()');
  }
  intIn('batchSize', o.batchSize, 1, 10);
  intIn('dispatchMemorySize', o.dispatchMemorySize, 128, 10_240);
  intIn('maxReceiveCount', o.maxReceiveCount, 1, 1000);
  const window = seconds(o.maxBatchingWindow);
  if (window !== undefined && window > 300) problems.push(`ingestion.maxBatchingWindow must be at most 5 minutes, got ${window} seconds`);
  const retention = seconds(o.retention);
  const receives = o.maxReceiveCount ?? QUEUED_DEFAULTS.maxReceiveCount;
  // The longest a message can spend in its receives' backoff, when the receive limit is known.
  const span = known(receives) ? retrySpanSeconds(receives, QUEUED_DEFAULTS.backoffBase.toSeconds(), QUEUED_DEFAULTS.backoffMax.toSeconds(), 'max') : undefined;
  const retentionInRange = retention !== undefined && retention >= 60 && retention <= 14 * 86_400;
  if (retention !== undefined) {
    if (!retentionInRange) {
      problems.push(`ingestion.retention must be from 1 minute to 14 days, got ${retention} seconds`);
    } else if (span !== undefined) {
      if (retention < span + 3600) {
        problems.push(`ingestion.retention (${retention} seconds) must exceed the backoff of ${o.maxReceiveCount ?? QUEUED_DEFAULTS.maxReceiveCount} `
          + `receives by an hour (at least ${span + 3600} seconds), or messages could expire before their last attempt`);
      }
    }
  }
  const idem = seconds(o.idempotencyWindow);
  if (idem !== undefined && (idem < 3600 || idem > 30 * 86_400)) {
    problems.push(`ingestion.idempotencyWindow must be from 1 hour to 30 days, got ${idem} seconds`);
  }
  const breaker = o.circuitBreaker ?? {};
  if (breaker.enabled !== false) {
    intIn('circuitBreaker.failureThreshold', breaker.failureThreshold, 2, 100);
    const failureWindow = seconds(breaker.failureWindow);
    if (failureWindow !== undefined && (failureWindow < 60 || failureWindow > 3600)) {
      problems.push(`ingestion.circuitBreaker.failureWindow must be from 1 minute to 1 hour, got ${failureWindow} seconds`);
    }
    const probe = seconds(breaker.probeInterval);
    if (probe !== undefined && (probe < 5 || probe > 900)) {
      problems.push(`ingestion.circuitBreaker.probeInterval must be from 5 seconds to 15 minutes, got ${probe} seconds`);
    }
    const hold = seconds(breaker.maxHold) ?? CIRCUIT_DEFAULTS.maxHoldSeconds;
    if (hold < 60 || hold > 12 * 3600) {
      problems.push(`ingestion.circuitBreaker.maxHold must be from 1 minute to 12 hours, got ${hold} seconds`);
    } else if (retention !== undefined && retentionInRange && span !== undefined) {
      // Held, then the receives with their backoff: all of it inside the queue's retention, or a message could expire.
      if (retention < hold + span + 3600) {
        problems.push(`ingestion.retention (${retention} seconds) must exceed the circuit breaker's maxHold (${hold} seconds) plus the backoff of the `
          + `receives by an hour (at least ${hold + span + 3600} seconds), or held messages could expire`);
      }
    }
  }
  const age = seconds(o.oldestMessageAgeAlarmThreshold);
  if (age !== undefined && age < 60) problems.push(`ingestion.oldestMessageAgeAlarmThreshold must be at least 1 minute, got ${age} seconds`);
  return problems;
}
