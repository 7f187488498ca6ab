import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AuditTrailOptions } from './audit/audit-trail';
import { createAccessLogsBucket } from './compliance/access-logs';
import { acknowledge, ACKNOWLEDGEMENTS } from './compliance/acknowledgements';
import { writeNagV2Metadata } from './compliance/nag-v2-metadata';

/** What the storage part needs of the pipeline's props. */
export interface StorageOptions {
  readonly bucket?: s3.IBucket;
  readonly enableEventBridgeNotification?: boolean;
  readonly auditTrail?: AuditTrailOptions;
  readonly encryptionKey?: kms.IKey;
  readonly serverAccessLogsBucket?: s3.IBucket;
  readonly logRetention: logs.RetentionDays;
}

/** The pipeline's key, buckets and log group settings. */
export interface PipelineStorage {
  /** Encrypts everything the pipeline creates. */
  readonly key: kms.IKey;
  /** The bucket whose uploads are classified (created or given). */
  readonly bucket: s3.IBucket;
  /** The audit records' bucket; undefined when the audit trail is off. */
  readonly auditBucket?: s3.IBucket;
  readonly auditPrefix: string;
  readonly serverAccessLogsBucket?: s3.IBucket;
  /** Retention and key of every log group the pipeline creates. */
  readonly logGroupProps: logs.LogGroupProps;
}

/**
 * The pipeline's storage, created in the pipeline's own scope (logical IDs stay those of earlier releases): the
 * customer managed key, the image bucket (or EventBridge notifications on a given one), the audit bucket and the
 * server access logs bucket. Created buckets are encrypted with the key, access-logged, TLS-only, private,
 * versioned and retained.
 */
export function createStorage(scope: Construct, props: StorageOptions): PipelineStorage {
  const key = props.encryptionKey ?? new kms.Key(scope, 'EncryptionKey', {
    description: 'Encrypts an image classification pipeline (cdk-image-classification-pipeline)',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch Logs encrypts with the key only if its policy lets the service use it for this account's groups.
  const stack = Stack.of(scope);
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: {
        'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      },
    },
  }));

  const auditEnabled = props.auditTrail?.enabled ?? true;
  const createsBuckets = !props.bucket || (auditEnabled && !props.auditTrail?.bucket);
  const serverAccessLogsBucket = props.serverAccessLogsBucket ?? (createsBuckets ? createAccessLogsBucket(scope) : undefined);
  const secureBucket: s3.BucketProps = {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: key,
    bucketKeyEnabled: true,
    serverAccessLogsBucket,
    targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
  };

  const bucket = props.bucket ?? new s3.Bucket(scope, 'Bucket', {
    ...secureBucket,
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    eventBridgeEnabled: true,
  });
  if (props.bucket && props.enableEventBridgeNotification !== false) {
    props.bucket.enableEventBridgeNotification();
    const notifications = props.bucket.node.tryFindChild('Notifications');
    if (notifications) {
      acknowledge(notifications, ACKNOWLEDGEMENTS.notificationsHandler);
      notifications.node.findAll().forEach(writeNagV2Metadata);
    }
  }

  const auditBucket = auditEnabled
    ? props.auditTrail?.bucket ?? new s3.Bucket(scope, 'AuditBucket', {
      ...secureBucket,
      lifecycleRules: props.auditTrail?.retention ? [{ expiration: props.auditTrail.retention }] : undefined,
    })
    : undefined;

  for (const created of [props.bucket ? undefined : bucket, props.auditTrail?.bucket ? undefined : auditBucket]) {
    if (created) acknowledge(created, ACKNOWLEDGEMENTS.bucketReplication);
  }
  return {
    key,
    bucket,
    auditBucket,
    auditPrefix: props.auditTrail?.prefix ?? 'results/',
    serverAccessLogsBucket,
    logGroupProps: { retention: props.logRetention, encryptionKey: key },
  };
}
