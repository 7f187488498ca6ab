import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { PROBE_FIELD } from '../handlers/circuit-breaker';

/**
 * The execution input's `probe: true`: queued ingestion's circuit breaker testing the classifier, which the workflow
 * calls once, without its transient retries (src/handlers/circuit-breaker.ts).
 */
export function isProbe(): sfn.Condition {
  return sfn.Condition.and(sfn.Condition.isPresent(`$.${PROBE_FIELD}`), sfn.Condition.booleanEquals(`$.${PROBE_FIELD}`, true));
}

/**
 * Retries of a transient classification failure within one execution. Queued ingestion retries fewer times: the
 * queue tries the image again with backoff, and every retry of a dead endpoint is a call the circuit breaker (which
 * counts deferred images) cannot spare.
 */
export function transientRetryAttempts(queued: boolean): number {
  return queued ? 2 : 4;
}
