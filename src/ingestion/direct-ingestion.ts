import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** EventBridge's most retries of a target (24 hours of backoff). */
export const EVENT_RETRY_ATTEMPTS = 185;

/**
 * Direct ingestion: the upload rule starts one execution per event, `{ bucket, key, object }` as input.
 * EventBridge retries the start for 24 hours and keeps what it cannot deliver in the dead-letter queue.
 */
export function startExecutionsDirectly(rule: events.Rule, stateMachine: sfn.IStateMachine, deadLetterQueue: sqs.IQueue): void {
  rule.addTarget(new targets.SfnStateMachine(stateMachine, {
    input: events.RuleTargetInput.fromObject({
      bucket: events.EventField.fromPath('$.detail.bucket.name'),
      key: events.EventField.fromPath('$.detail.object.key'),
      object: events.EventField.fromPath('$.detail.object'),
    }),
    deadLetterQueue,
    retryAttempts: EVENT_RETRY_ATTEMPTS,
    maxEventAge: Duration.hours(24),
  }));
}
