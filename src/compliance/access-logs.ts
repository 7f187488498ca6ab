import { RemovalPolicy, cx_api as cxapi } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from './acknowledgements';

/**
 * The target of the server access logs of the buckets a construct creates (SSE-S3: S3 delivers logs to nothing
 * else), created under `scope/AccessLogs`.
 */
export function createAccessLogsBucket(scope: Construct): s3.Bucket {
  const logsScope = new Construct(scope, 'AccessLogs');
  // aws-cdk-lib lets S3 deliver logs through a bucket policy, rather than the legacy LogDeliveryWrite ACL that
  // "bucket owner enforced" object ownership rejects, only under this flag: scoped here, the app needs no setting.
  logsScope.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
  const bucket = new s3.Bucket(logsScope, 'Bucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(bucket, ACKNOWLEDGEMENTS.accessLogsTarget);
  acknowledge(bucket, ACKNOWLEDGEMENTS.accessLogsSseS3);
  acknowledge(bucket, ACKNOWLEDGEMENTS.bucketReplication);
  return bucket;
}
