import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BulkMode, ImageClassificationPipeline, ImageClassificationPipelineProps, Outcome } from '../../../src';
import { CONFIGURATIONS, pipelineApp } from '../../../test/compliance/nag';
import { icsProps } from '../../../test/stacks';
import { planCalls, PlannedCall } from '../../src/iam/plan';
import { ExternalPolicies, TemplatePolicies, TemplatePoliciesOptions } from '../../src/iam/template-policies';
import { CfnTemplate } from '../../src/template-resolver';

const IMPORTED_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const IMPORTED_BUCKET = 'arn:aws:s3:::my-images';

/** A bucket you bring, encrypted with its own key (the key is part of the IBucket, as the README asks). */
const broughtBucket = (stack: Stack) => s3.Bucket.fromBucketAttributes(stack, 'Images', {
  bucketName: 'my-images', encryptionKey: kms.Key.fromKeyArn(stack, 'ImagesKey', IMPORTED_KEY),
});

/** Only the services the README's Permissions section lists, as a platform team's boundary would. */
const README_SERVICES = ['s3', 'kms', 'sns', 'sqs', 'states', 'lambda', 'logs', 'xray', 'events', 'dynamodb', 'firehose', 'sagemaker', 'rekognition', 'cloudwatch'];

const withPipeline = (props: (stack: Stack) => Partial<ImageClassificationPipelineProps>) => (stack: Stack) => {
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props(stack) });
};

/** The matrix beyond the cdk-nag configurations: brought buckets with their own key, and a boundary. */
const MATRIX: Array<[string, (stack: Stack) => void, ExternalPolicies?]> = [
  ...CONFIGURATIONS.map(([name, build]): [string, (stack: Stack) => void] => [name, build]),
  ...[true, false].map((bucketKey): [string, (stack: Stack) => void, ExternalPolicies] => [
    `a bucket you bring with its own key (bucket key ${bucketKey ? 'on' : 'off'}), with quarantine, review and console`,
    withPipeline((stack) => ({
      bucket: broughtBucket(stack), inputPrefix: 'in/', quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' }, review: {}, console: {},
    })),
    { encryption: { [IMPORTED_BUCKET]: { keyArn: IMPORTED_KEY, bucketKey } } },
  ]),
  ['distributed bulk mode with a manifest on a bucket you bring with its own key',
    withPipeline((stack) => ({ bucket: broughtBucket(stack), inputPrefix: 'in/', bulkMode: BulkMode.distributed() })),
    { encryption: { [IMPORTED_BUCKET]: { keyArn: IMPORTED_KEY, bucketKey: true } } }],
  ['a stack-wide permissions boundary allowing only the services the README lists', (stack) => {
    withPipeline(() => ({ review: {}, console: {}, bulkMode: BulkMode.distributed() }))(stack);
    iam.PermissionsBoundary.of(stack).apply(new iam.ManagedPolicy(stack, 'Boundary', {
      statements: [new iam.PolicyStatement({ actions: README_SERVICES.map((s) => `${s}:*`), resources: ['*'] })],
    }));
  }],
];

const describeCall = (c: PlannedCall) => `${c.caller} | ${c.where} | ${c.call.request.action} ${c.call.request.resource}: ${c.decision.reason} (${c.decision.missing.join(', ')})`;

function plan(build: (stack: Stack) => void, options: TemplatePoliciesOptions = {}) {
  const { stack } = pipelineApp(build);
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const policies = new TemplatePolicies(template, options);
  return { template, policies, calls: planCalls(template, policies) };
}

describe('every call each principal of the pipeline makes is allowed by the synthesized policies', () => {
  test.each(MATRIX.map(([name, build, external]) => ({ name, build, external })))('$name', ({ build, external }) => {
    const { calls } = plan(build, { external });
    expect(calls.length).toBeGreaterThan(20);
    expect(calls.filter((c) => !c.decision.allowed).map(describeCall)).toEqual([]);
  });
});

describe('the plan covers the pipeline and catches what AWS would deny', () => {
  test('the default pipeline: each principal and the calls on its behalf', () => {
    const { calls } = plan(withPipeline(() => ({})));
    const actions = new Set(calls.map((c) => `${c.caller.split(' ')[0].replace(/[0-9A-F]{8}$/, '')} ${c.call.request.action}`));
    for (const expected of [
      'IcsClassifyFunction s3:GetObject', 'IcsClassifyFunction kms:Decrypt', 'IcsClassifyFunction sagemaker:InvokeEndpoint',
      'IcsStateMachine sns:Publish', 'IcsStateMachine kms:GenerateDataKey', 'IcsStateMachine firehose:PutRecord', 'IcsStateMachine events:PutEvents',
      'IcsIngestionDispatchFunction states:StartSyncExecution', 'IcsIngestionDispatchFunction sqs:ReceiveMessage', 'IcsIngestionDispatchFunction dynamodb:PutItem',
      'events.amazonaws.com sqs:SendMessage', 'IcsAuditStream s3:PutObject', 'IcsAuditStream kms:GenerateDataKey',
    ]) expect([expected, actions.has(expected)]).toEqual([expected, true]);
  });

  test('the audit stream asks KMS with the bucket ARN as encryption context (the audit bucket has a bucket key)', () => {
    const { calls } = plan(withPipeline(() => ({})));
    const kmsCall = calls.find((c) => c.caller.startsWith('IcsAuditStream') && c.call.request.action === 'kms:GenerateDataKey')!;
    expect(kmsCall.call.request.context['kms:EncryptionContext:aws:s3:arn']).toMatch(/^arn:aws:s3:::icsauditbucket[0-9a-f]{8}$/);
    expect(kmsCall.call.request.context['kms:ViaService']).toBe('s3.eu-west-1.amazonaws.com');
    expect(kmsCall.decision.allowed).toBe(true);
  });

  test('removing one statement from a role denies exactly the calls it allowed', () => {
    const { template } = plan(withPipeline(() => ({})));
    const [id, policy] = Object.entries<any>(template.Resources).find(([logicalId]) => logicalId.startsWith('IcsClassifyFunctionServiceRoleDefaultPolicy'))!;
    const document = policy.Properties.PolicyDocument;
    document.Statement = document.Statement.filter((s: any) => !([] as string[]).concat(s.Action).includes('s3:GetObject'));
    const policies = new TemplatePolicies(template);
    const denied = planCalls(template, policies).filter((c) => !c.decision.allowed);
    expect(id).toBeDefined();
    expect(denied.map((c) => [c.call.request.action, c.decision.reason, c.decision.missing])).toEqual([
      // The bucket has a policy (TLS only), which allows nothing either.
      ['s3:GetObjectTagging', 'ImplicitDeny', ['identity', 'resource']],
      ['s3:GetObject', 'ImplicitDeny', ['identity', 'resource']],
    ]);
  });

  test('a boundary without SNS denies the alerts, and an SCP denying KMS denies every encrypted call', () => {
    const build = withPipeline(() => ({}));
    const noSns = plan(build, { boundary: { Statement: [{ Effect: 'Allow', NotAction: 'sns:*', Resource: '*' }] } });
    expect([...new Set(noSns.calls.filter((c) => !c.decision.allowed).map((c) => `${c.call.request.action} ${c.decision.missing}`))]).toEqual(['sns:Publish boundary']);
    const scp = plan(build, { scps: [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'kms:*', Resource: '*' }] }] });
    const denied = scp.calls.filter((c) => !c.decision.allowed);
    expect(new Set(denied.map((c) => c.call.request.action.split(':')[0]))).toEqual(new Set(['kms']));
    // Services act as themselves, outside the account's SCPs.
    expect(denied.every((c) => c.call.request.principal.kind === 'role')).toBe(true);
  });

  test('a key you bring is assumed to have the default key policy, and the run says so', () => {
    const { policies } = plan(MATRIX.find(([name]) => name.includes('bucket key on'))![1], { external: { encryption: { [IMPORTED_BUCKET]: { keyArn: IMPORTED_KEY, bucketKey: true } } } });
    expect([...policies.assumptions]).toEqual([`key ${IMPORTED_KEY} is not in the template: its key policy is assumed to be the default, which delegates to the account`]);
  });
});
