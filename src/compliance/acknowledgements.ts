import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * A cdk-nag finding the pipeline acknowledges on a resource it creates, with the reason an auditor reads.
 *
 * Acknowledgements go through aws-cdk-lib's `Validations.of(resource).acknowledge()`, which cdk-nag 3
 * reads; each is applied to the named resources only, never to the consumer's stack. The README's
 * Security section is generated from this file (`scripts/acknowledgements.ts`).
 */
export interface Acknowledgement {
  /** Rule ids, one per rule pack that reports the same thing. */
  readonly rules: string[];
  /** Which resources the pipeline acknowledges it on (documentation). */
  readonly appliesTo: string;
  /** Why the finding is wrong for this design, or how it is covered instead. */
  readonly reason: string;
}

const packs = (...ids: string[]) => (rule: string) => ids.map((id) => `${id}-${rule}`);
const HIPAA_NIST_PCI = packs('HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321');
const HIPAA_NIST = packs('HIPAA.Security', 'NIST.800.53.R5');

/** Findings acknowledged on whole resources. */
export const ACKNOWLEDGEMENTS = {
  functionOutsideVpc: {
    rules: HIPAA_NIST_PCI('LambdaInsideVPC'),
    appliesTo: 'classify, summarize and dispatch functions',
    reason: 'The functions call only AWS APIs (S3, SageMaker Runtime, Step Functions, SQS, DynamoDB, CloudWatch Logs, X-Ray) over TLS with IAM '
      + 'authorization and reach no private network resource. A VPC would add NAT or interface endpoints the construct '
      + 'cannot assume, and no control over this traffic.',
  },
  functionConcurrency: {
    rules: HIPAA_NIST('LambdaConcurrency'),
    appliesTo: 'classify, summarize and dispatch functions',
    reason: 'Step Functions invokes the classify function once per image and the summarize function once per batch; '
      + 'their concurrency is bounded by the ingest queue\'s event source mapping (MaximumConcurrency, which also caps '
      + 'the dispatch function), the bulk Map\'s maxConcurrency and the endpoint. A reserved '
      + 'concurrency would throttle images into ERROR outcomes and take from the account\'s unreserved pool (accounts at '
      + 'the default limit cannot deploy one).',
  },
  functionDeadLetterQueue: {
    rules: [...HIPAA_NIST('LambdaDLQ'), 'Serverless-LambdaDLQ'],
    appliesTo: 'classify, summarize and dispatch functions',
    reason: 'Step Functions and the ingest queue\'s event source mapping invoke the functions synchronously; a Lambda '
      + 'dead-letter queue receives only failed asynchronous invocations (ingest messages that fail every receive move '
      + 'to the ingest dead-letter queue). The workflow retries and catches every failure and records it as an ERROR outcome '
      + 'with an alert and an audit record; upload events that cannot start an execution go to the pipeline\'s '
      + 'dead-letter queue.',
  },
  roleDefaultPolicy: {
    rules: HIPAA_NIST_PCI('IAMNoInlinePolicy'),
    appliesTo: 'the policies of the roles the pipeline creates (functions, state machines, EventBridge target, '
      + 'Distributed Map, bucket notifications)',
    reason: 'Each policy is attached to exactly one role the pipeline creates for one purpose and holds that role\'s '
      + 'least-privilege grants; a customer managed policy would hold the same statements in a separate object that '
      + 'nothing else attaches.',
  },
  bucketReplication: {
    rules: HIPAA_NIST_PCI('S3BucketReplicationEnabled'),
    appliesTo: 'created buckets (images, audit records, access logs, endpoint data capture)',
    reason: 'Cross-Region replication needs a destination bucket in another Region and a replication role that '
      + 'belong to the platform\'s backup design, not to one pipeline. The buckets are versioned and retained on stack '
      + 'deletion; add a replication rule where your policy requires a copy in another Region.',
  },
  accessLogsTarget: {
    rules: ['AwsSolutions-S1', ...HIPAA_NIST_PCI('S3BucketLoggingEnabled')],
    appliesTo: 'the created server access logs bucket',
    reason: 'It is the server access log target of the pipeline\'s buckets; logging it into itself would log its own '
      + 'log deliveries without end.',
  },
  accessLogsSseS3: {
    rules: HIPAA_NIST_PCI('S3DefaultEncryptionKMS'),
    appliesTo: 'the created server access logs bucket',
    reason: 'S3 server access logging delivers only to target buckets encrypted with SSE-S3 (SSE-KMS is not supported '
      + 'for the target). The logs hold request metadata (keys, requesters), never images or results.',
  },
  eventDeadLetterQueue: {
    rules: ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'],
    appliesTo: 'the dead-letter queue',
    reason: 'The queue is itself a dead-letter queue: the EventBridge rule target\'s, for upload events that could not '
      + 'start an execution after 185 retries. The rules recognize only queues that another SQS queue redrives to.',
  },
  ingestDeadLetterQueue: {
    rules: ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'],
    appliesTo: 'the ingest dead-letter queue (queued ingestion)',
    reason: 'The queue is itself a dead-letter queue: the ingest queue\'s redrive target, for upload messages that failed '
      + 'every receive. The rules recognize only queues that another SQS queue redrives to.',
  },
  ingestEventSourceMappingDestination: {
    rules: ['Serverless-LambdaEventSourceMappingDestination'],
    appliesTo: 'the dispatch function\'s event source mapping on the ingest queue (queued ingestion)',
    reason: 'Lambda supports on-failure destinations for stream and Kafka sources only; for an SQS source the queue\'s '
      + 'redrive policy is the failure destination: a message that fails every receive moves to the ingest dead-letter queue, '
      + 'which has an alarm.',
  },
  alarmsWithoutTopic: {
    rules: HIPAA_NIST('CloudWatchAlarmAction'),
    appliesTo: 'the default alarms, only when `monitoring.alarmTopic` is not set',
    reason: 'Without `monitoring.alarmTopic` the alarms are created without actions, for the dashboard and for the '
      + 'consumer to route (`pipeline.alarms`). With an alarm topic they notify on ALARM and OK and this '
      + 'acknowledgement is not made.',
  },
  endpointLocalStorage: {
    rules: HIPAA_NIST_PCI('SageMakerEndpointConfigurationKMSKeyConfigured'),
    appliesTo: 'a ClassifierEndpoint\'s configuration on an instance type with local (NVMe) storage and no `encryptionKey`',
    reason: 'SageMaker encrypts local instance storage itself, in hardware, and CreateEndpointConfig rejects a KmsKeyId '
      + 'for these instance types. Every other ClassifierEndpoint configuration is encrypted with a customer managed key.',
  },
  alertDeadLetterQueue: {
    rules: ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy'],
    appliesTo: 'the alert dead-letter queue (created with `alertEmails`)',
    reason: 'The queue is itself a dead-letter queue: the email subscriptions\' redrive target, for alerts SNS could not '
      + 'deliver. The rules recognize only queues that another SQS queue redrives to.',
  },
  idempotencyTableBackup: {
    rules: HIPAA_NIST_PCI('DynamoDBInBackupPlan'),
    appliesTo: 'the idempotency table (queued ingestion)',
    reason: 'The table holds only the dispatch function\'s idempotency records, each expiring by TTL after the '
      + 'idempotency window (24 hours by default); results live in the audit trail. Point-in-time recovery is on; an '
      + 'AWS Backup plan would keep copies of records whose only purpose is to expire.',
  },
  reviewTableBackup: {
    rules: HIPAA_NIST_PCI('DynamoDBInBackupPlan'),
    appliesTo: 'the review table (`review`)',
    reason: 'Point-in-time recovery keeps continuous backups of the review items for 35 days, deletion protection is on '
      + 'and the table is retained when the stack is deleted; every decision is also written to the feedback manifest in '
      + 'the audit bucket. Which AWS Backup plan (vault, schedule, retention) a table belongs to is the account\'s choice: '
      + 'add `pipeline.reviewTable` to yours.',
  },
  consolePublicRoutes: {
    rules: ['AwsSolutions-APIG4', 'AwsSolutions-COG4'],
    appliesTo: 'the console\'s three public routes (`GET /`, `GET /static/{file}`, `GET /config.json`)',
    reason: 'They serve the console\'s page, its script and style, and the public sign-in settings (user pool and app client '
      + 'IDs), which a browser needs before it has a token. They read nothing else; every `/api/` route requires a Cognito '
      + 'JWT (the HTTP API\'s JWT authorizer) and the function checks the user\'s group.',
  },
  userPoolMfa: {
    rules: ['AwsSolutions-COG2'],
    appliesTo: 'the console\'s user pool, when the construct creates it',
    reason: 'MFA is optional (TOTP) in the created pool: the console signs in with a password over TLS, users are created by '
      + 'administrators only, and tokens last an hour. Bring a user pool that requires MFA (`console.userPool`) to enforce it.',
  },
  userPoolThreatProtection: {
    rules: ['AwsSolutions-COG3', 'AwsSolutions-COG8'],
    appliesTo: 'the console\'s user pool, when the construct creates it',
    reason: 'Threat protection (advanced security) needs the Cognito Plus feature plan, billed per monthly active user; a '
      + 'pool of admin-created operators does not warrant it by default. Bring a pool with the Plus plan to use it.',
  },
  reviewMetricsSchedule: {
    rules: ['Serverless-EventBusDLQ'],
    appliesTo: 'the 5-minute schedule that measures pending reviews (`review`)',
    reason: 'The schedule invokes a measurement that changes nothing: an invocation that fails after EventBridge\'s retries '
      + 'is simply followed by the next one 5 minutes later, and a dead-letter queue would only collect timestamps. A '
      + 'lasting failure shows as missing PendingReviews data on the dashboard.',
  },
  notificationsHandler: {
    rules: ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', ...HIPAA_NIST_PCI('IAMNoInlinePolicy')],
    appliesTo: 'aws-cdk-lib\'s bucket-notifications custom resource, which turns on EventBridge notifications: its handler '
      + '(one per stack) and the policy it gets for the bucket',
    reason: 'The custom resource belongs to aws-cdk-lib and runs only during deployments. Its role uses the AWS managed '
      + 'basic execution policy for its own logs and an inline policy allowing PutBucketNotification on the bucket; the '
      + 'construct cannot change that provider.',
  },
  stateMachineLogLevel: {
    rules: ['AwsSolutions-SF1'],
    appliesTo: 'the per-image and bulk state machines, when `logLevel` is below ALL (the default with queued ingestion)',
    reason: 'At level ERROR Step Functions logs every failed execution and every failed task (caught ones too) with its '
      + 'input and error; every image\'s result is kept in the audit trail, and the outcome, alert and label metrics come '
      + 'from the dispatch function. Logging every state of every image (ALL) would cost about as much as the '
      + 'classification itself and record nothing the audit trail does not. Set `logLevel: sfn.LogLevel.ALL` to trace '
      + 'each execution\'s states.',
  },
} satisfies Record<string, Acknowledgement>;

/** Acknowledges every rule of `ack` on `scope` (and so on the resources under it). */
export function acknowledge(scope: IConstruct, ack: Acknowledgement): void {
  for (const id of ack.rules) Validations.of(scope).acknowledge({ id, reason: ack.reason });
}
