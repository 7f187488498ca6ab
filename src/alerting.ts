import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlertRoute, DEFAULT_ALERT_OUTCOMES } from './actions';
import { ACKNOWLEDGEMENTS } from './compliance/acknowledgements';
import { secureDeadLetterQueue } from './dead-letter-queue';
import { Outcome } from './outcomes';

/** What the alerting part needs of the pipeline's props. */
export interface AlertingOptions {
  readonly alertTopics?: sns.ITopic[];
  readonly alerts?: AlertRoute[];
  readonly alertEmails?: string[];
}

/** Topics and the outcomes each hears about. */
export interface PipelineAlerting {
  readonly routes: Array<{ readonly topic: sns.ITopic; readonly outcomes: Outcome[] }>;
  /** Every topic that gets alerts, once each. */
  readonly topics: sns.ITopic[];
  /** Keeps alerts SNS could not deliver to the `alertEmails` addresses; undefined without them. */
  readonly deadLetterQueue?: sqs.Queue;
}

/**
 * The alert routes: the topics given in `alertTopics` (FLAGGED, LOW_CONFIDENCE, ERROR) and `alerts`, or else one
 * created topic (pipeline key, TLS-only) with the `alertEmails` subscriptions and their dead-letter queue.
 */
export function createAlerting(scope: Construct, props: AlertingOptions, key: kms.IKey): PipelineAlerting {
  const routes = [
    ...(props.alertTopics ?? []).map((topic) => ({ topic, outcomes: DEFAULT_ALERT_OUTCOMES })),
    ...(props.alerts ?? []).map((r) => ({ topic: r.topic, outcomes: r.outcomes ?? DEFAULT_ALERT_OUTCOMES })),
  ];
  let deadLetterQueue: sqs.Queue | undefined;
  if (props.alertTopics === undefined && props.alerts === undefined) {
    const topic = new sns.Topic(scope, 'AlertTopic', { displayName: 'Image classification alerts', masterKey: key, enforceSSL: true });
    const emails = props.alertEmails ?? [];
    if (emails.length > 0) {
      // Alerts SNS cannot deliver to an address (after its retries) are kept here instead of dropped.
      deadLetterQueue = secureDeadLetterQueue(scope, 'AlertDeadLetterQueue', key, ACKNOWLEDGEMENTS.alertDeadLetterQueue);
      // SNS writes to the encrypted queue with the key, for this account's topics (naming the topic, which the
      // key encrypts, would make key and topic depend on each other).
      key.addToResourcePolicy(new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
      }));
    }
    for (const email of emails) topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue }));
    routes.push({ topic, outcomes: DEFAULT_ALERT_OUTCOMES });
  }
  return { routes, topics: [...new Set(routes.map((r) => r.topic))], deadLetterQueue };
}
