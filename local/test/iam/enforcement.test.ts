import { AdminCreateUserCommand, CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion, Outcome } from 'cdk-image-classification-pipeline';
import { images } from '../../../test/handlers/fixtures';
import { icsProps } from '../../../test/stacks';
import { Gateway } from '../../src/gateway/gateway';
import { TemplatePolicies } from '../../src/iam/template-policies';
import { functionModel } from '../../src/models/function-model';
import { startCognito } from '../../src/peers/cognito';
import { LocalPipeline } from '../../src/runner';
import { CfnTemplate } from '../../src/template-resolver';

const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];

function synth(props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Iam');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** The template with the statements granting `action` removed from the policies of roles whose ID starts with `role`. */
function without(template: CfnTemplate, role: string, action: string): CfnTemplate {
  const copy = JSON.parse(JSON.stringify(template)) as CfnTemplate;
  for (const [id, r] of Object.entries<any>(copy.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy' || !id.startsWith(role)) continue;
    const document = r.Properties.PolicyDocument;
    document.Statement = document.Statement
      .map((s: any) => ({ ...s, Action: ([] as string[]).concat(s.Action).filter((a) => a !== action) }))
      .filter((s: any) => s.Action.length > 0);
  }
  return copy;
}

const start = (template: CfnTemplate) => LocalPipeline.start({ template, models: { vehicles: functionModel(() => FLAGGED) } });

describe('every call carries its identity and is authorized as AWS would authorize it', () => {
  test('the default pipeline runs end to end with no denial, and its audit trail is delivered (bucket key context)', async () => {
    const local = await start(synth());
    try {
      const run = await local.upload('cams/gate-1.jpg', images.jpeg);
      expect(run.result.outcome).toBe('FLAGGED');
      expect(run.alerts).toHaveLength(1);
      expect(await local.readAuditTrail()).toHaveLength(1);
      expect(local.denials).toEqual([]);
      // Calls were authorized, as their principals: the classify role, the state machine role, the stream's role.
      const principals = new Set(local.gateway.records.map((r) => r.principal.split('/').pop()!.replace(/[0-9A-F]{8}$/, '')));
      expect(principals).toEqual(new Set([
        'IcsClassifyFunctionServiceRole', 'IcsStateMachineRole', 'IcsAuditStreamRole', 'IcsIngestionDispatchFunctionServiceRole', 'events.amazonaws.com',
      ]));
    } finally {
      await local.close();
    }
  });

  test('the audit stream\'s KMS statement of earlier releases (object ARNs only) cannot deliver: S3 asks KMS with the bucket ARN', async () => {
    const template = synth();
    for (const r of Object.values<any>(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      for (const s of r.Properties.PolicyDocument.Statement) {
        const like = s.Condition?.StringLike?.['kms:EncryptionContext:aws:s3:arn'];
        if (like) s.Condition.StringLike['kms:EncryptionContext:aws:s3:arn'] = like.filter((v: any) => JSON.stringify(v).includes('/'));
      }
    }
    const local = await start(template);
    try {
      await local.upload('cams/gate-1.jpg', images.jpeg);
      await expect(local.flushAuditTrail()).rejects.toThrow(/not authorized to perform: kms:GenerateDataKey/);
      expect(local.denials.map((d) => [d.principal.split('/').pop()!.replace(/[0-9A-F]{8}$/, ''), d.action, d.decision.reason])).toEqual([
        ['IcsAuditStreamRole', 'kms:GenerateDataKey', 'ImplicitDeny'],
      ]);
    } finally {
      local.gateway.denials.length = 0;
      await local.close().catch(() => undefined);
    }
  });

  test('without the classify role\'s s3:GetObject the image ends ERROR with the error S3\'s AccessDenied gives, and only that call is denied', async () => {
    const local = await start(without(synth({ ingestion: Ingestion.direct() }), 'IcsClassifyFunctionServiceRole', 's3:GetObject'));
    try {
      const run = await local.upload('cams/gate-1.jpg', images.jpeg);
      expect(run.status).toBe('FAILED');
      expect(run.result).toMatchObject({ outcome: 'ERROR', error: { name: 'ObjectAccessDenied' } });
      expect(run.alerts).toHaveLength(1);
      expect([...new Set(local.denials.map((d) => `${d.action} ${d.resource}`))]).toEqual([`s3:GetObject arn:aws:s3:::${local.bucketName}/cams/gate-1.jpg`]);
      expect(local.denials[0].message).toMatch(/^User: arn:aws:sts::123456789012:assumed-role\/IcsClassifyFunctionServiceRole[0-9A-F]{8}\/IcsClassifyFunction[0-9A-F]{8} is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::.* because no identity-based policy allows the s3:GetObject action$/);
    } finally {
      await local.close();
    }
  });

  test('without the state machine role\'s sns:Publish a FLAGGED image cannot alert: SNS.AuthorizationErrorException, as on AWS', async () => {
    const local = await start(without(synth({ ingestion: Ingestion.direct() }), 'IcsStateMachineRole', 'sns:Publish'));
    try {
      const run = await local.upload('cams/gate-1.jpg', images.jpeg);
      expect(run.alerts).toHaveLength(0);
      expect(JSON.stringify(run.history)).toContain('SNS.AuthorizationErrorException');
      expect([...new Set(local.denials.map((d) => d.action))]).toEqual(['sns:Publish']);
    } finally {
      await local.close();
    }
  });

  test('a bucket policy you pass is enforced with S3\'s request keys: one requiring SSE headers denies quarantine\'s copy', async () => {
    const template = synth({
      ingestion: Ingestion.direct(),
      bucket: s3.Bucket.fromBucketName(new Stack(), 'Images', 'my-images'),
      inputPrefix: 'cams/',
      quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' },
    });
    const local = await LocalPipeline.start({
      template,
      models: { vehicles: functionModel(() => FLAGGED) },
      iam: {
        external: {
          buckets: {
            'arn:aws:s3:::my-images': {
              Statement: [{
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:PutObject',
                Resource: 'arn:aws:s3:::my-images/*',
                Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
              }],
            },
          },
        },
      },
    });
    try {
      const run = await local.upload('cams/gate-1.jpg', images.jpeg);
      expect(run.result).toMatchObject({ outcome: 'ERROR', error: { name: 'ActionFailed' } });
      expect(local.denials.map((d) => [d.action, d.decision.reason])).toContainEqual(['s3:PutObject', 'ExplicitDeny']);
      expect(local.denials[0].message).toMatch(/with an explicit deny in a resource-based policy$/);
    } finally {
      await local.close();
    }
  });

  test('unsigned and wrongly signed requests are refused by every peer, as each service refuses them', async () => {
    const local = await start(synth({ ingestion: Ingestion.direct() }));
    try {
      await local.upload('cams/gate-1.jpg', images.jpeg);
      // S3: unsigned GET and LIST are the anonymous principal, which nothing allows.
      for (const path of [`/${local.bucketName}/cams/gate-1.jpg`, `/${local.bucketName}?list-type=2`]) {
        const res = await fetch(`${local.s3.url}${path}`);
        expect([path, res.status, /<Code>AccessDenied<\/Code>/.test(await res.text())]).toEqual([path, 403, true]);
      }
      const wrong = new S3Client({ endpoint: local.s3.url, region: 'us-east-1', forcePathStyle: true, credentials: { ...local.gateway.operatorCredentials, secretAccessKey: 'wrong' } });
      await expect(wrong.send(new GetObjectCommand({ Bucket: local.bucketName, Key: 'cams/gate-1.jpg' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
      const unknown = new S3Client({ endpoint: local.s3.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' } });
      await expect(unknown.send(new ListObjectsV2Command({ Bucket: local.bucketName }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
      // The JSON and query services: a signature is required.
      for (const [url, target] of [[local.sagemaker.url, undefined], [local.sns.url, undefined], [local.firehose!.url, 'Firehose_20150804.PutRecord']]) {
        const res = await fetch(`${url}/`, { method: 'POST', headers: target ? { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' } : {}, body: '{}' });
        expect([url, res.status]).toEqual([url, expect.any(Number)]);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(await res.text()).toMatch(/MissingAuthenticationToken/);
      }
      const sns = new SNSClient({ endpoint: local.sns.url, region: 'us-east-1', credentials: { ...local.gateway.operatorCredentials, secretAccessKey: 'wrong' } });
      await expect(sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
      for (const c of [wrong, unknown, sns]) c.destroy();
    } finally {
      await local.close();
    }
  });

  test('Cognito behind the gateway: sign-in needs no signature, an unsigned Admin* call is refused', async () => {
    const gateway = new Gateway({ policies: new TemplatePolicies(synth()) });
    const cognito = await startCognito({ gateway, users: [{ username: 'rita', password: 'Reviewer-Pass1', groups: [] }] });
    const unsigned = new CognitoIdentityProviderClient({
      endpoint: cognito.url,
      region: 'us-east-1',
      maxAttempts: 1,
      // No credentials: the SDK signs nothing (what anyone on the machine could send).
      credentials: { accessKeyId: '', secretAccessKey: '' },
      signer: { sign: async (request: any) => request },
    });
    try {
      const signIn = await unsigned.send(new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'localconsoleclient000000000', AuthParameters: { USERNAME: 'rita', PASSWORD: 'Reviewer-Pass1' },
      }));
      expect(signIn.AuthenticationResult?.IdToken).toBeDefined();
      await expect(unsigned.send(new AdminCreateUserCommand({ UserPoolId: 'us-east-1_LocalPool', Username: 'mallory' })))
        .rejects.toMatchObject({ name: 'MissingAuthenticationTokenException' });
      const signed = new CognitoIdentityProviderClient({ endpoint: cognito.url, region: 'us-east-1', maxAttempts: 1, credentials: gateway.operatorCredentials });
      await signed.send(new AdminCreateUserCommand({ UserPoolId: 'us-east-1_LocalPool', Username: 'olivia' }));
      signed.destroy();
    } finally {
      unsigned.destroy();
      await cognito.close();
    }
  });
});
