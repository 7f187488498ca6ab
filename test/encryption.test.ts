import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { pipelineStack } from './stacks';
import { BulkMode } from '../src';

describe('a customer managed key encrypts everything the pipeline creates', () => {
  const { template, json } = pipelineStack({ bulkMode: BulkMode.inline() }, (stack) => ({ encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) }));
  const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
  const resources = (type: string) => Object.values<any>(json.Resources).filter((r) => r.Type === type).map((r) => r.Properties);

  test('buckets: SSE-KMS with bucket keys', () => {
    for (const bucket of resources('AWS::S3::Bucket')) {
      expect(bucket.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
      ]);
    }
    expect(resources('AWS::S3::Bucket')).toHaveLength(2);
  });

  test('topic, dead-letter queue, every log group and both functions\' environments', () => {
    expect(resources('AWS::SNS::Topic').map((t) => t.KmsMasterKeyId)).toEqual([keyArn]);
    expect(resources('AWS::SQS::Queue').map((q) => q.KmsMasterKeyId)).toEqual([keyArn]);
    const groups = resources('AWS::Logs::LogGroup');
    expect(groups.length).toBe(4);
    for (const g of groups) expect(g.KmsKeyId).toEqual(keyArn);
    const functions = resources('AWS::Lambda::Function').filter((f) => f.Runtime === 'nodejs22.x');
    expect(functions).toHaveLength(2);
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
        expect.objectContaining({ Action: expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*']), Resource: keyArn }),
      ]));
    }
  });

  test('without a key: AWS managed encryption everywhere', () => {
    const plain = pipelineStack();
    expect(JSON.stringify(plain.json)).not.toContain('aws:kms');
    plain.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });
});
