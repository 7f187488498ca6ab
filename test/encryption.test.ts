import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { pipelineStack } from './stacks';
import { BulkMode } from '../src';

describe('a customer managed key encrypts everything the pipeline creates', () => {
  const { template, json } = pipelineStack({ bulkMode: BulkMode.inline() }, (stack) => ({ encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) }));
  const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
  const resources = (type: string) => Object.values<any>(json.Resources).filter((r) => r.Type === type).map((r) => r.Properties);

  test('image and audit buckets: SSE-KMS with bucket keys; the access-log bucket SSE-S3 (all S3 log delivery accepts)', () => {
    const buckets = resources('AWS::S3::Bucket');
    expect(buckets).toHaveLength(3);
    const [logs, ...data] = [buckets.find((b) => !b.LoggingConfiguration), ...buckets.filter((b) => b.LoggingConfiguration)];
    for (const bucket of data) {
      expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
      ]);
    }
    expect(data).toHaveLength(2);
    expect(logs.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }]);
  });

  test('topic, queues, idempotency table, every log group and every function\'s environment', () => {
    expect(resources('AWS::SNS::Topic').map((t) => t.KmsMasterKeyId)).toEqual([keyArn]);
    // The upload events' dead-letter queue, the ingest queue and its dead-letter queue.
    expect(resources('AWS::SQS::Queue').map((q) => q.KmsMasterKeyId)).toEqual([keyArn, keyArn, keyArn]);
    expect(resources('AWS::DynamoDB::Table').map((t) => t.SSESpecification.KMSMasterKeyId)).toEqual([keyArn]);
    const groups = resources('AWS::Logs::LogGroup');
    // classify, summarize, dispatch, the state machines and the audit delivery stream's errors
    expect(groups.length).toBe(6);
    for (const g of groups) expect(g.KmsKeyId).toEqual(keyArn);
    // classify, summarize and dispatch
    const functions = resources('AWS::Lambda::Function').filter((f) => f.Runtime.startsWith('nodejs'));
    expect(functions).toHaveLength(3);
    for (const f of functions) expect(f.KmsKeyArn).toEqual(keyArn);
  });

  test('the key policy lets CloudWatch Logs and EventBridge use it, scoped to this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
          Match.objectLike({
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  test('both state machines may use the key for their S3 and SNS integrations', () => {
    for (const role of ['IcsStateMachineRole', 'IcsBulkStateMachineRole']) {
      const statements = Object.values<any>(json.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref?.startsWith(role)))
        .flatMap((r) => r.Properties.PolicyDocument.Statement);
      expect(statements).toEqual(expect.arrayContaining([
        expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn }),
      ]));
    }
  });

  test('without a key: one customer managed key with rotation is created and used the same way', () => {
    const plain = pipelineStack({ bulkMode: BulkMode.inline() });
    plain.template.resourceCountIs('AWS::KMS::Key', 1);
    plain.template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
    const created = { 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] };
    const props = (type: string) => Object.values<any>(plain.json.Resources).filter((r) => r.Type === type).map((r) => r.Properties);
    expect(props('AWS::SNS::Topic').map((t) => t.KmsMasterKeyId)).toEqual([created]);
    // The upload events' dead-letter queue, the ingest queue and its dead-letter queue.
    expect(props('AWS::SQS::Queue').map((q) => q.KmsMasterKeyId)).toEqual([created, created, created]);
    expect(props('AWS::DynamoDB::Table').map((t) => t.SSESpecification.KMSMasterKeyId)).toEqual([created]);
    for (const g of props('AWS::Logs::LogGroup')) expect(g.KmsKeyId).toEqual(created);
    expect(props('AWS::S3::Bucket').filter((b) => JSON.stringify(b).includes('aws:kms'))).toHaveLength(2);
    expect(plain.pipeline.encryptionKey).toBeDefined();
  });

  test('server access logs of the created buckets go to the logs bucket, partitioned, through a bucket policy', () => {
    const logsBucket = { Ref: expect.stringMatching(/^IcsAccessLogsBucket/) };
    const logged = resources('AWS::S3::Bucket').filter((b) => b.LoggingConfiguration);
    expect(logged.map((b) => b.LoggingConfiguration)).toEqual([
      { DestinationBucketName: logsBucket, TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } } },
      { DestinationBucketName: logsBucket, TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } } },
    ]);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: Match.stringLikeRegexp('^IcsAccessLogsBucket') },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' })]) },
    });
    expect(JSON.stringify(json)).not.toContain('LogDeliveryWrite');
  });
});
