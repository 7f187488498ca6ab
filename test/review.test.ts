import { createHash } from 'node:crypto';
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { icsProps, pipelineStack, VEHICLE_LABELS } from './stacks';
import { CfnTemplate, findResource, resolveIntrinsics, stateMachineDefinition } from '../local/src/template-resolver';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Outcome } from '../src';
import { REKOGNITION_IMAGE_LIMITS } from '../src/rekognition';
import { ConsoleRoute, PUBLIC_ROUTES } from '../src/review/console-api';
import { reviewIdOf } from '../src/review/decisions';
import { CONSOLE_MAX_LABELS_ENV_CHARS } from '../src/review/validation';

/** Review and console with quarantine into the pipeline's own bucket (needs an input prefix). */
const FULL: Partial<ImageClassificationPipelineProps> = {
  inputPrefix: 'uploads/',
  quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' },
  review: {},
  console: {},
};
const REVIEW_STATES = [
  'ShouldReview', 'ReviewId', 'ReviewIdUnversioned', 'OpenReview', 'ReviewFailed',
  'CheckRelease', 'ReleaseMarkerId', 'ConsumeRelease', 'MarkReleased',
];
const RELEASED_CONDITION = {
  And: [{ Variable: '$.actions.released', IsPresent: true }, { Variable: '$.actions.released', BooleanEquals: true }],
};

const resourcesOf = (json: any, type: string): Array<[string, any]> => Object.entries<any>(json.Resources).filter(([, r]) => r.Type === type);
const idOf = (json: any, type: string, prefix: string) => findResource(json, type, prefix);
const resolve = (json: any, value: unknown) => resolveIntrinsics(value, json as CfnTemplate);
const arnOf = (json: any, id: string) => resolve(json, { 'Fn::GetAtt': [id, 'Arn'] });
/** Statements of the policies attached to the role whose logical ID starts with `rolePrefix`, intrinsics resolved. */
const statementsOf = (json: any, rolePrefix: string): any[] => resourcesOf(json, 'AWS::IAM::Policy')
  .filter(([, r]) => r.Properties.Roles.some((role: any) => role.Ref?.startsWith(rolePrefix)))
  .flatMap(([, r]) => resolve(json, r.Properties.PolicyDocument.Statement));
const list = (v: unknown): string[] => ([] as string[]).concat(v as any);
/** Statements without the function basics (its log group, X-Ray). */
const grants = (statements: any[]) => statements.filter((s) => !list(s.Action).some((a) => a.startsWith('logs:') || a.startsWith('xray:')));
const consoleSettings = (json: any) => {
  const fn = json.Resources[idOf(json, 'AWS::Lambda::Function', 'IcsConsoleApiFunction')];
  return JSON.parse(resolve(json, fn.Properties.Environment.Variables.ICS_CONSOLE_SETTINGS));
};
/** States reachable from `start`, following Next, Default, Choices and Catch. */
function reachable(definition: any, start: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string | undefined) => {
    if (!name || seen.has(name)) return;
    seen.add(name);
    const s = definition.States[name];
    [s.Next, s.Default, ...(s.Choices ?? []).map((c: any) => c.Next), ...(s.Catch ?? []).map((c: any) => c.Next)].forEach(visit);
  };
  visit(start);
  return seen;
}
/** The message of the props error, and its problems (one per `  - ` line). */
function propsError(props: Partial<ImageClassificationPipelineProps>, configure?: (stack: Stack) => Partial<ImageClassificationPipelineProps>) {
  let message = '';
  try {
    pipelineStack(props, configure);
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toMatch(/^Invalid ImageClassificationPipeline props at TestStack\/Ics:\n/);
  return { message, problems: message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, '')) };
}
/** A stack where the test may use the pipeline before synthesis. */
function synth(props: Partial<ImageClassificationPipelineProps>, after?: (stack: Stack, pipeline: ImageClassificationPipeline) => void) {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const pipeline = new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props });
  after?.(stack, pipeline);
  return { stack, pipeline, json: Template.fromStack(stack).toJSON() };
}

describe('the review table', () => {
  const { template, json, pipeline } = pipelineStack({ review: {} });

  test('keyed by reviewId, on demand, encrypted with the pipeline\'s key, PITR, deletion protection, retained', () => {
    const tableId = idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable');
    const table = json.Resources[tableId] as any;
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'reviewId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [idOf(json, 'AWS::KMS::Key', 'IcsEncryptionKey'), 'Arn'] } },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(pipeline.reviewTable).toBeDefined();
    expect(Stack.of(pipeline).getLogicalId(pipeline.reviewTable!.node.defaultChild as any)).toBe(tableId);
  });

  test('two sparse indexes: pending-by-age (pending, createdAt) and decided-by-time (decided, decidedAt)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'reviewId', KeyType: 'HASH' }],
      AttributeDefinitions: Match.arrayEquals([
        { AttributeName: 'reviewId', AttributeType: 'S' },
        { AttributeName: 'pending', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
        { AttributeName: 'decided', AttributeType: 'S' },
        { AttributeName: 'decidedAt', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: 'pending-by-age',
          KeySchema: [{ AttributeName: 'pending', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'decided-by-time',
          KeySchema: [{ AttributeName: 'decided', KeyType: 'HASH' }, { AttributeName: 'decidedAt', KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });
});

describe('the workflow with review: {}', () => {
  const { json, definition } = pipelineStack(FULL);
  const states = definition.States;

  test('ShouldReview → ReviewId (versioned) / ReviewIdUnversioned → OpenReview, for LOW_CONFIDENCE by default', () => {
    const next = states.OpenReview.Next;
    expect(states.ShouldReview.Type).toBe('Choice');
    expect(states.ShouldReview.Choices).toEqual([
      { ...RELEASED_CONDITION, Next: next },
      { And: [{ Variable: '$.result.outcome', StringEquals: 'LOW_CONFIDENCE' }, { Variable: '$.result.versionId', IsPresent: true }], Next: 'ReviewId' },
      { Variable: '$.result.outcome', StringEquals: 'LOW_CONFIDENCE', Next: 'ReviewIdUnversioned' },
    ]);
    expect(states.ShouldReview.Default).toBe(next);
    expect(states.ReviewId).toMatchObject({ Type: 'Pass', ResultPath: '$.review', Next: 'OpenReview' });
    expect(states.ReviewIdUnversioned).toMatchObject({ Type: 'Pass', ResultPath: '$.review', Next: 'OpenReview' });
    expect(next).toBe('RouteAlerts');
  });

  test('OpenReview: a conditional PutItem of the pending item into the review table', () => {
    const open = states.OpenReview;
    expect(open.Type).toBe('Task');
    expect(open.Resource).toBe('arn:aws:states:::dynamodb:putItem');
    expect(open.ResultPath).toBeNull();
    expect(open.Parameters).toEqual({
      TableName: idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable'),
      ConditionExpression: 'attribute_not_exists(#id)',
      ExpressionAttributeNames: { '#id': 'reviewId' },
      Item: {
        reviewId: { 'S.$': '$.review.id' },
        status: { S: 'PENDING' },
        pending: { S: 'PENDING' },
        createdAt: { 'S.$': '$.result.classifiedAt' },
        bucket: { 'S.$': '$.result.bucket' },
        key: { 'S.$': '$.result.key' },
        outcome: { 'S.$': '$.result.outcome' },
        result: { 'S.$': 'States.JsonToString($.result)' },
      },
    });
  });

  test('a duplicate delivery (ConditionalCheckFailed) is never retried and moves on; other failures end in ActionFailed', () => {
    const open = states.OpenReview;
    expect(open.Retry[0]).toEqual({ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], MaxAttempts: 0 });
    expect(open.Retry.slice(1).flatMap((r: any) => r.ErrorEquals)).not.toContain('DynamoDB.ConditionalCheckFailedException');
    expect(open.Catch).toEqual([
      { ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: null, Next: open.Next },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.actionError', Next: 'ReviewFailed' },
    ]);
    expect(states.ReviewFailed).toMatchObject({
      Type: 'Pass', ResultPath: '$.result.error', Parameters: { name: 'ActionFailed', action: 'Review' },
    });
  });

  test('ReviewId is States.Hash of States.Format(\'{}/{}@{}\', bucket, key, versionId): reviewIdOf()', () => {
    expect(states.ReviewId.Parameters).toEqual({
      'id.$': "States.Hash(States.Format('{}/{}@{}', $.result.bucket, $.result.key, $.result.versionId), 'SHA-256')",
    });
    expect(states.ReviewIdUnversioned.Parameters).toEqual({ 'id.$': "States.Hash(States.Format('{}/{}@', $.result.bucket, $.result.key), 'SHA-256')" });

    // Evaluate the two intrinsics for a sample, as Step Functions does (hex digest of the UTF-8 string).
    const sample: Record<string, string> = { '$.result.bucket': 'images', '$.result.key': 'uploads/cars/ü 1.jpg', '$.result.versionId': '3HL4kqtJlcpXroDTDmJ' };
    const evaluate = (expression: string) => {
      const m = /^States\.Hash\(States\.Format\('([^']*)'((?:, \$[.\w]+)*)\), 'SHA-256'\)$/.exec(expression);
      expect(m).not.toBeNull();
      const args = m![2].split(', ').filter((a) => a !== '').map((p) => sample[p]);
      expect(args.every((a) => a !== undefined)).toBe(true);
      let i = 0;
      const text = m![1].replace(/\{\}/g, () => args[i++]);
      expect(i).toBe(args.length);
      return createHash('sha256').update(text, 'utf8').digest('hex');
    };
    const bucket = sample['$.result.bucket'];
    const key = sample['$.result.key'];
    expect(evaluate(states.ReviewId.Parameters['id.$'])).toBe(reviewIdOf(bucket, key, sample['$.result.versionId']));
    expect(evaluate(states.ReviewIdUnversioned.Parameters['id.$'])).toBe(reviewIdOf(bucket, key));
  });

  test('quarantine comes before review, so the review records the quarantine location', () => {
    expect(reachable(definition, 'ShouldQuarantine').has('ShouldReview')).toBe(true);
    expect(reachable(definition, 'ShouldReview').has('ShouldQuarantine')).toBe(false);
    expect(reachable(definition, 'ShouldReview').has('CopyToQuarantine')).toBe(false);
    expect(states.RecordQuarantine).toMatchObject({ ResultPath: '$.result.quarantine', Next: 'ShouldReview' });
    expect(states.ShouldQuarantine.Default).toBe('ShouldReview');
    // The item holds the whole result, quarantine location included.
    expect(states.OpenReview.Parameters.Item.result).toEqual({ 'S.$': 'States.JsonToString($.result)' });
  });

  test('a released image (RELEASED) skips quarantine, review and non-ERROR alerts: the first branch of each Choice', () => {
    expect(states.ShouldQuarantine.Choices[0]).toEqual({ ...RELEASED_CONDITION, Next: states.ShouldQuarantine.Default });
    expect(states.ShouldReview.Choices[0]).toEqual({ ...RELEASED_CONDITION, Next: states.ShouldReview.Default });
    expect(states.RouteAlerts.Choices[0]).toEqual({
      And: [RELEASED_CONDITION, { Not: { Variable: '$.result.outcome', StringEquals: 'ERROR' } }],
      Next: states.RouteAlerts.Default,
    });
    // ERROR still alerts.
    expect(states.RouteAlerts.Choices.slice(1).map((c: any) => c.StringEquals)).toContain('ERROR');
  });

  test('the state machine role may PutItem on the review table (open a review) and UpdateItem (consume a release), nothing else on it', () => {
    const tableId = idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable');
    const statements = statementsOf(json, 'IcsStateMachineRole');
    const dynamo = statements.filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: `arn:aws:dynamodb:eu-west-1:111111111111:table/${tableId}` },
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: `arn:aws:dynamodb:eu-west-1:111111111111:table/${tableId}` },
    ]);
    expect(statements.filter((s) => JSON.stringify(s.Resource).includes(tableId))).toEqual(dynamo);
  });

  test('a release is trusted only by consuming its marker: CheckRelease → marker ID → conditional UpdateItem → MarkReleased', () => {
    expect(states.CheckRelease.Choices).toEqual([{ Variable: '$.actions.release', IsPresent: true, Next: 'ReleaseMarkerId' }]);
    expect(states.ReleaseMarkerId.Parameters['id.$'])
      .toBe("States.Hash(States.Format('{}/{}@release:{}', $.result.bucket, $.result.key, $.actions.release.ref), 'SHA-256')");
    expect(states.ConsumeRelease).toMatchObject({
      Resource: 'arn:aws:states:::dynamodb:updateItem',
      Parameters: {
        Key: { reviewId: { 'S.$': '$.releaseMarker.id' } },
        UpdateExpression: 'SET #consumedBy = :execution, #consumedAt = :now',
        // Bound to the copy the console made, before its expiry by the workflow's own clock, once (or again by the same execution).
        ConditionExpression: '#kind = :kind AND #releasedCopy = :copy AND #validUntil > :now'
          + ' AND (attribute_not_exists(#consumedBy) OR #consumedBy = :execution)',
        ExpressionAttributeNames: {
          '#kind': 'kind', '#releasedCopy': 'releasedCopy', '#validUntil': 'validUntil', '#consumedBy': 'consumedBy', '#consumedAt': 'consumedAt',
        },
        ExpressionAttributeValues: {
          ':kind': { S: 'RELEASE' },
          ':copy': { 'S.$': '$.actions.release.copy' },
          ':now': { 'S.$': '$$.State.EnteredTime' },
          ':execution': { 'S.$': '$$.Execution.Id' },
        },
      },
      ResultPath: null,
      Next: 'MarkReleased',
    });
    // A marker not written yet (the console writes it after its copy) is tried again shortly; then, or on any other
    // failure, the release is not honoured and the image is handled as any upload.
    expect(states.ConsumeRelease.Retry[0]).toMatchObject({ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], MaxAttempts: 2 });
    expect(states.ConsumeRelease.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseMarker.error', Next: states.CheckRelease.Default }]);
    expect(states.MarkReleased).toMatchObject({ Result: true, ResultPath: '$.actions.released' });
  });

  test('only the state machine, the console and the review metrics roles reach the review table', () => {
    const tableId = idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable');
    const roles = resourcesOf(json, 'AWS::IAM::Policy')
      .filter(([, r]) => JSON.stringify(r.Properties.PolicyDocument).includes(tableId))
      .flatMap(([, r]) => r.Properties.Roles.map((role: any) => role.Ref.replace(/[0-9A-F]{8}$/, '')));
    expect(roles.sort()).toEqual(['IcsConsoleApiFunctionServiceRole', 'IcsReviewMetricsFunctionServiceRole', 'IcsStateMachineRole']);
  });
});

describe('custom review outcomes', () => {
  test('several outcomes: an Or in both branches', () => {
    const { definition } = pipelineStack({ review: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE] } });
    const or = { Or: [{ Variable: '$.result.outcome', StringEquals: 'FLAGGED' }, { Variable: '$.result.outcome', StringEquals: 'LOW_CONFIDENCE' }] };
    expect(definition.States.ShouldReview.Choices.slice(1)).toEqual([
      { And: [or, { Variable: '$.result.versionId', IsPresent: true }], Next: 'ReviewId' },
      { ...or, Next: 'ReviewIdUnversioned' },
    ]);
    expect(definition.States.ShouldReview.Comment).toBe('Outcomes reviewed by people: FLAGGED, LOW_CONFIDENCE.');
  });

  test('ACCEPTED only', () => {
    const { definition, pipeline } = pipelineStack({ review: { outcomes: [Outcome.ACCEPTED] } });
    expect(definition.States.ShouldReview.Choices[2]).toEqual({ Variable: '$.result.outcome', StringEquals: 'ACCEPTED', Next: 'ReviewIdUnversioned' });
    expect(definition.States.ShouldReview.Choices).toHaveLength(3);
    expect(pipeline.reviewTable).toBeDefined();
  });
});

describe('without review', () => {
  const plain = pipelineStack();
  const reviewOnly = pipelineStack({ review: {} });
  const typesOf = (json: any) => Object.values<any>(json.Resources).map((r) => r.Type);

  test('no review states, no RELEASED branch, no review or console resources', () => {
    const text = JSON.stringify(plain.definition);
    for (const name of REVIEW_STATES) expect(plain.definition.States[name]).toBeUndefined();
    expect(text).not.toContain('$.actions.released');
    expect(text).not.toContain('dynamodb:putItem');
    expect(Object.keys(plain.json.Resources).filter((id) => /Review|Console/.test(id))).toEqual([]);
    for (const type of ['AWS::Cognito::UserPool', 'AWS::Cognito::UserPoolClient', 'AWS::Cognito::UserPoolGroup', 'AWS::ApiGatewayV2::Api']) {
      expect(typesOf(plain.json)).not.toContain(type);
    }
    expect(resourcesOf(plain.json, 'AWS::DynamoDB::Table').map(([id]) => id)).toEqual([expect.stringMatching(/^IcsIngestionIdempotencyTable/)]);
    expect(plain.pipeline.reviewTable).toBeUndefined();
    expect(plain.pipeline.consoleUrl).toBeUndefined();
    expect(plain.pipeline.userPool).toBeUndefined();
    expect(plain.pipeline.userPoolClient).toBeUndefined();
    expect(plain.pipeline.consoleFunction).toBeUndefined();
  });

  test('with quarantine but without review: ShouldQuarantine has no RELEASED branch', () => {
    const { definition } = pipelineStack({ inputPrefix: 'uploads/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' } });
    expect(definition.States.ShouldQuarantine.Choices).toEqual([{ Variable: '$.result.outcome', StringEquals: 'FLAGGED', Next: 'CopyToQuarantine' }]);
    expect(JSON.stringify(definition)).not.toContain('$.actions.released');
  });

  test('review adds only its own resources: every resource of the pipeline without review is there unchanged in type', () => {
    const before = Object.fromEntries(Object.entries<any>(plain.json.Resources).map(([id, r]) => [id, r.Type]));
    const after = Object.fromEntries(Object.entries<any>(reviewOnly.json.Resources).map(([id, r]) => [id, r.Type]));
    for (const [id, type] of Object.entries(before)) expect([id, after[id]]).toEqual([id, type]);
    const added = Object.keys(after).filter((id) => !(id in before)).map((id) => `${id.replace(/[0-9A-F]{8}$/, '')} ${after[id]}`);
    expect(added.sort()).toEqual([
      'IcsOldestPendingReviewAlarm AWS::CloudWatch::Alarm',
      'IcsReviewMetricsFunction AWS::Lambda::Function',
      'IcsReviewMetricsFunctionLogGroup AWS::Logs::LogGroup',
      'IcsReviewMetricsFunctionServiceRole AWS::IAM::Role',
      'IcsReviewMetricsFunctionServiceRoleDefaultPolicy AWS::IAM::Policy',
      'IcsReviewMetricsSchedule AWS::Events::Rule',
      expect.stringMatching(/^IcsReviewMetricsScheduleAllowEventRule\w+ AWS::Lambda::Permission$/),
      'IcsReviewTable AWS::DynamoDB::Table',
    ]);
  });

  test('the resources a pipeline without review shares with one with review are identical, except the workflow', () => {
    const changed = Object.keys(plain.json.Resources).filter((id) =>
      JSON.stringify(plain.json.Resources[id]) !== JSON.stringify((reviewOnly.json.Resources as any)[id]));
    // The dashboard (review widgets), the state machine (review states) and its role's policy (PutItem).
    expect(changed.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['IcsMonitoringDashboard', 'IcsStateMachine', 'IcsStateMachineRoleDefaultPolicy']);
  });

  test('review without console: no user pool, API, console function or event bus grant', () => {
    const types = typesOf(reviewOnly.json);
    expect(types).not.toContain('AWS::Cognito::UserPool');
    expect(types).not.toContain('AWS::ApiGatewayV2::Api');
    expect(reviewOnly.pipeline.consoleUrl).toBeUndefined();
    expect(reviewOnly.pipeline.consoleFunction).toBeUndefined();
    expect(reviewOnly.pipeline.reviewTable).toBeDefined();
    for (const name of REVIEW_STATES) expect(reviewOnly.definition.States[name]).toBeDefined();
  });

  test('the metric and grant methods need review', () => {
    expect(() => plain.pipeline.metricPendingReviews()).toThrow('metricPendingReviews() needs human review; this pipeline has no `review` prop');
    expect(() => plain.pipeline.metricOldestPendingReviewAge()).toThrow(/metricOldestPendingReviewAge\(\) needs human review/);
    expect(() => plain.pipeline.metricReviewAgreement('bus')).toThrow(/metricReviewAgreement\(\) needs human review/);
    expect(() => plain.pipeline.grantReviewReadWrite(new iam.AccountRootPrincipal())).toThrow(/grantReviewReadWrite\(\) needs human review/);
  });
});

describe('IAM of the console and the review metrics function', () => {
  const { json } = pipelineStack(FULL);
  const tableArn = arnOf(json, idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable'));
  const keyArn = arnOf(json, idOf(json, 'AWS::KMS::Key', 'IcsEncryptionKey'));
  const bucketArn = arnOf(json, idOf(json, 'AWS::S3::Bucket', 'IcsBucket'));
  const auditArn = arnOf(json, idOf(json, 'AWS::S3::Bucket', 'IcsAuditBucket'));
  const consoleStatements = statementsOf(json, 'IcsConsoleApiFunctionServiceRole');

  test('the console function: exactly its grants', () => {
    expect(grants(consoleStatements)).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: tableArn },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [`${tableArn}/index/pending-by-age`, `${tableArn}/index/decided-by-time`] },
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging'],
        Resource: `${bucketArn}/uploads/*`,
      },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: `${bucketArn}/uploads/*` },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:PutObjectTagging', 's3:DeleteObject'], Resource: `${bucketArn}/quarantine/*` },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${auditArn}/feedback/*` },
      // A missing key reads 404, not 403 (an upload not there yet, a release already copied)
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: [bucketArn, auditArn] },
      // A quarantined upload's status: its review is keyed by the version under the delete marker
      { Effect: 'Allow', Action: 's3:ListBucketVersions', Resource: bucketArn },
      { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyArn },
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: 'arn:aws:events:eu-west-1:111111111111:event-bus/default' },
      { Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*' },
    ]);
  });

  test('the console function: no action or bucket-wide wildcards; * only for X-Ray and GetMetricData', () => {
    const actions = consoleStatements.flatMap((s) => list(s.Action));
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    const starred = consoleStatements.filter((s) => list(s.Resource).includes('*')).flatMap((s) => list(s.Action));
    expect(starred.sort()).toEqual(['cloudwatch:GetMetricData', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const bucketLevel = ['s3:ListBucket', 's3:ListBucketVersions'];
    const objectStatements = consoleStatements.filter((s) => list(s.Action).some((a) => a.startsWith('s3:') && !bucketLevel.includes(a)));
    for (const resource of objectStatements.flatMap((s) => list(s.Resource))) {
      expect(resource).toMatch(/^arn:aws:s3:::[a-z0-9]+\/(uploads|quarantine|feedback)\/\*$/);
    }
    // ListBucket (key names, no content) on the buckets themselves only
    const listing = consoleStatements.filter((s) => list(s.Action).some((a) => bucketLevel.includes(a)));
    expect(listing.flatMap((s) => list(s.Action))).toEqual(bucketLevel);
    for (const resource of listing.flatMap((s) => list(s.Resource))) expect(resource).toMatch(/^arn:aws:s3:::[a-z0-9]+$/);
    const kms = consoleStatements.filter((s) => list(s.Action).some((a) => a.startsWith('kms:')));
    expect(kms.flatMap((s) => list(s.Resource))).toEqual([keyArn]);
    expect(kms.flatMap((s) => list(s.Action)).sort()).toEqual(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']);
  });

  test('the review metrics function: Query on the pending index only, and Decrypt', () => {
    expect(grants(statementsOf(json, 'IcsReviewMetricsFunctionServiceRole'))).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: `${tableArn}/index/pending-by-age` },
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn },
    ]);
  });

  test('with a bucket you bring and no quarantine: no PutObject on images (no uploads)', () => {
    const byo = pipelineStack({ inputPrefix: 'uploads/', review: {}, console: {} }, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Images', 'images') }));
    const statements = grants(statementsOf(byo.json, 'IcsConsoleApiFunctionServiceRole'));
    const imageActions = statements.filter((s) => list(s.Resource).some((r) => r.includes(':::images/'))).flatMap((s) => list(s.Action));
    expect(imageActions).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging', 's3:PutObjectTagging']);
    expect(statements.flatMap((s) => list(s.Resource)).filter((r) => r.includes(':::images'))).toEqual(['arn:aws:s3:::images/uploads/*', 'arn:aws:s3:::images']);
  });

  test('result events off: no PutEvents', () => {
    const off = pipelineStack({ ...FULL, resultEvents: { enabled: false } });
    expect(statementsOf(off.json, 'IcsConsoleApiFunctionServiceRole').flatMap((s) => list(s.Action))).not.toContain('events:PutEvents');
    expect(consoleSettings(off.json).eventBus).toBeUndefined();
  });

  test('grantReviewReadWrite() grants the table and its indexes', () => {
    const { json: granted } = synth({ review: {} }, (stack, pipeline) => {
      const role = new iam.Role(stack, 'Tooling', { assumedBy: new iam.AccountRootPrincipal() });
      pipeline.grantReviewReadWrite(role);
    });
    const statements = statementsOf(granted, 'Tooling');
    const arn = arnOf(granted, idOf(granted, 'AWS::DynamoDB::Table', 'IcsReviewTable'));
    const dynamo = statements.find((s) => list(s.Action).includes('dynamodb:UpdateItem'));
    expect(list(dynamo.Action)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem']));
    expect(list(dynamo.Resource)).toEqual([arn, `${arn}/index/*`]);
    // The table is encrypted with the pipeline's key: the grant includes it.
    expect(statements.some((s) => list(s.Action).includes('kms:Decrypt'))).toBe(true);
  });
});

describe('the console', () => {
  const { template, json, pipeline } = pipelineStack(FULL);
  const poolId = idOf(json, 'AWS::Cognito::UserPool', 'IcsConsoleUserPool');
  const clientId = idOf(json, 'AWS::Cognito::UserPoolClient', 'IcsConsoleUserPoolClient');
  const apiId = idOf(json, 'AWS::ApiGatewayV2::Api', 'IcsConsoleApi');
  const authorizerId = idOf(json, 'AWS::ApiGatewayV2::Authorizer', 'IcsConsoleApi');
  const fnId = idOf(json, 'AWS::Lambda::Function', 'IcsConsoleApiFunction');

  test('a user pool: admin-created users only, min 12 characters, optional MFA, deletion protection, retained', () => {
    const pool = json.Resources[poolId] as any;
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: { PasswordPolicy: { MinimumLength: 12, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      DeletionProtection: 'ACTIVE',
    });
    expect(pool.DeletionPolicy).toBe('Retain');
    expect(pool.UpdateReplacePolicy).toBe('Retain');
  });

  test('the groups: reviewers and viewers by default, named by review.reviewersGroupName and console.viewersGroupName, or none to create', () => {
    const names = (j: any) => resourcesOf(j, 'AWS::Cognito::UserPoolGroup').map(([, r]) => r.Properties.GroupName).sort();
    expect(names(json)).toEqual(['reviewers', 'viewers']);
    expect(consoleSettings(json).groups).toEqual({ reviewers: 'reviewers', viewers: 'viewers' });
    const named = pipelineStack({ ...FULL, review: { reviewersGroupName: 'moderators' }, console: { viewersGroupName: 'auditors' } });
    expect(names(named.json)).toEqual(['auditors', 'moderators']);
    expect(consoleSettings(named.json).groups).toEqual({ reviewers: 'moderators', viewers: 'auditors' });
    const none = pipelineStack({ ...FULL, console: { createGroups: false } });
    expect(names(none.json)).toEqual([]);
    expect(() => pipelineStack({ ...FULL, review: { reviewersGroupName: 'team' }, console: { viewersGroupName: 'team' } }))
      .toThrow(/review.reviewersGroupName and console.viewersGroupName must differ/);
    expect(() => pipelineStack({ ...FULL, review: { reviewersGroupName: 'two words' } })).toThrow(/group names must be 1 to 128 characters without spaces/);
  });

  test('an app client without secret, password sign-in, no user existence errors', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      UserPoolId: { Ref: poolId },
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH']),
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
  });

  test('the reviewers and viewers groups', () => {
    const groups = resourcesOf(json, 'AWS::Cognito::UserPoolGroup').map(([, r]) => r.Properties);
    expect(groups.map((g) => g.GroupName).sort()).toEqual(['reviewers', 'viewers']);
    for (const g of groups) expect(g.UserPoolId).toEqual({ Ref: poolId });
  });

  test('an HTTP API with a $default stage: auto deploy, throttling, JSON access logs', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP', Description: 'Image classification console (TestStack/Ics)' });
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const [, stage] = resourcesOf(json, 'AWS::ApiGatewayV2::Stage')[0];
    expect(stage.Properties).toMatchObject({
      ApiId: { Ref: apiId },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [expect.stringMatching(/^IcsConsoleApiAccessLogs/), 'Arn'] } },
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    expect(Object.values(format).every((v) => typeof v === 'string' && v.startsWith('$context.'))).toBe(true);
    // The access logs are encrypted with the pipeline's key.
    const logs = json.Resources[stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]] as any;
    expect(logs.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [idOf(json, 'AWS::KMS::Key', 'IcsEncryptionKey'), 'Arn'] });
  });

  test('a JWT authorizer: the pool\'s issuer, the client as audience', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    expect((json.Resources[authorizerId] as any).Properties).toEqual({
      ApiId: { Ref: apiId },
      AuthorizerType: 'JWT',
      Name: 'CognitoAuthorizer',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Audience: [{ Ref: clientId }],
        Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: poolId }]] },
      },
    });
  });

  test('one route per ConsoleRoute: the public ones without authorization, the others with the JWT authorizer', () => {
    const routes = resourcesOf(json, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(Object.values(ConsoleRoute).sort());
    expect(PUBLIC_ROUTES).toEqual(['GET /', 'GET /static/{file}', 'GET /config.json']);
    const integrationId = idOf(json, 'AWS::ApiGatewayV2::Integration', 'IcsConsoleApi');
    for (const route of routes) {
      expect(route.ApiId).toEqual({ Ref: apiId });
      expect(route.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
      if (PUBLIC_ROUTES.includes(route.RouteKey)) {
        expect([route.RouteKey, route.AuthorizationType, route.AuthorizerId]).toEqual([route.RouteKey, 'NONE', undefined]);
      } else {
        expect(route.RouteKey).toMatch(/^(GET|POST) \/api\//);
        expect([route.RouteKey, route.AuthorizationType, route.AuthorizerId]).toEqual([route.RouteKey, 'JWT', { Ref: authorizerId }]);
      }
    }
  });

  test('one AWS_PROXY integration (payload 2.0) to the console function, which API Gateway may invoke', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ApiId: { Ref: apiId }, IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    const permissions = resourcesOf(json, 'AWS::Lambda::Permission').map(([, r]) => r.Properties)
      .filter((p) => JSON.stringify(p.FunctionName).includes(fnId));
    expect(permissions).toHaveLength(Object.values(ConsoleRoute).length);
    for (const p of permissions) expect(p.Principal).toBe('apigateway.amazonaws.com');
  });

  test('the console function: arm64, traced, environment encrypted with the pipeline\'s key', () => {
    expect((json.Resources[fnId] as any).Properties).toMatchObject({
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Timeout: 15,
      KmsKeyArn: { 'Fn::GetAtt': [idOf(json, 'AWS::KMS::Key', 'IcsEncryptionKey'), 'Arn'] },
    });
  });

  test('the bucket\'s CORS rule allows only the API\'s endpoint, PUT and GET', () => {
    const bucket = json.Resources[idOf(json, 'AWS::S3::Bucket', 'IcsBucket')] as any;
    expect(bucket.Properties.CorsConfiguration.CorsRules).toEqual([expect.objectContaining({
      AllowedMethods: ['PUT', 'GET'],
      AllowedOrigins: [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }],
      AllowedHeaders: ['content-type'],
    })]);
  });

  test('no CORS configuration on the API without allowedOrigins', () => {
    expect((json.Resources[apiId] as any).Properties.CorsConfiguration).toBeUndefined();
  });

  test('the pipeline exposes the console', () => {
    expect(Stack.of(pipeline).resolve(pipeline.consoleUrl)).toEqual({ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] });
    expect(Stack.of(pipeline).resolve(pipeline.userPool!.userPoolId)).toEqual({ Ref: poolId });
    expect(Stack.of(pipeline).resolve(pipeline.userPoolClient!.userPoolClientId)).toEqual({ Ref: clientId });
    expect(Stack.of(pipeline).getLogicalId(pipeline.consoleFunction!.node.defaultChild as any)).toBe(fnId);
  });

  test('ICS_CONSOLE_SETTINGS: labels, review outcomes, uploads, sizes, buckets, prefixes', () => {
    const settings = consoleSettings(json);
    expect(settings).toEqual({
      title: 'TestStack/Ics',
      userPoolId: poolId,
      userPoolClientId: clientId,
      reviewTable: idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable'),
      classLabels: VEHICLE_LABELS,
      reviewOutcomes: ['LOW_CONFIDENCE'],
      bucket: idOf(json, 'AWS::S3::Bucket', 'IcsBucket').toLowerCase(),
      inputPrefix: 'uploads/',
      inputSuffixes: expect.arrayContaining(['.jpg', '.png']),
      uploads: true,
      maxUploadBytes: 6 * 1024 * 1024,
      // No uploadFormats: every format the classify function recognizes.
      quarantine: { bucket: idOf(json, 'AWS::S3::Bucket', 'IcsBucket').toLowerCase(), prefix: 'quarantine/' },
      feedback: { bucket: idOf(json, 'AWS::S3::Bucket', 'IcsAuditBucket').toLowerCase(), prefix: 'feedback/' },
      eventBus: 'default',
      metrics: {
        namespace: 'ImageClassificationPipeline',
        pipeline: expect.stringMatching(/^TestStack-Ics-[0-9A-F]{8}$/),
        outcomesFrom: 'emf',
        logsNamespace: expect.stringMatching(/^ImageClassificationPipeline\/TestStack-Ics-[0-9A-F]{8}$/),
      },
      jobName: 'ics-review/TestStack/Ics',
      groups: { reviewers: 'reviewers', viewers: 'viewers' },
    });
  });

  test('ICS_CONSOLE_SETTINGS: custom outcomes, maxImageSize, uploads off, direct ingestion', () => {
    const { json: custom } = pipelineStack({
      review: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE] },
      console: { uploads: false },
      maxImageSize: Size.mebibytes(4),
    });
    const settings = consoleSettings(custom);
    expect(settings.reviewOutcomes).toEqual(['FLAGGED', 'LOW_CONFIDENCE']);
    expect(settings.maxUploadBytes).toBe(4 * 1024 * 1024);
    expect(settings.uploads).toBe(false);
    expect(settings.quarantine).toBeUndefined();
    expect(settings.inputPrefix).toBe('');
    // Uploads off: no CORS rule on the bucket.
    expect((custom.Resources[idOf(custom, 'AWS::S3::Bucket', 'IcsBucket')] as any).Properties.CorsConfiguration).toBeUndefined();
  });

  test('a bring-your-own bucket: uploads false, no CORS rule', () => {
    const byo = pipelineStack({ inputPrefix: 'uploads/', review: {}, console: {} }, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Images', 'images') }));
    const settings = consoleSettings(byo.json);
    expect(settings.uploads).toBe(false);
    expect(settings.bucket).toBe('images');
    for (const [, b] of resourcesOf(byo.json, 'AWS::S3::Bucket')) expect(b.Properties.CorsConfiguration).toBeUndefined();
  });

  test('a bring-your-own user pool: no pool created, but the client and the groups in it', () => {
    const byo = pipelineStack(FULL, (stack) => ({ console: { userPool: cognito.UserPool.fromUserPoolId(stack, 'Pool', 'eu-west-1_AbCdEf123') } }));
    const t = byo.template;
    t.resourceCountIs('AWS::Cognito::UserPool', 0);
    t.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    t.hasResourceProperties('AWS::Cognito::UserPoolClient', { UserPoolId: 'eu-west-1_AbCdEf123', GenerateSecret: false });
    const groups = resourcesOf(byo.json, 'AWS::Cognito::UserPoolGroup').map(([, r]) => r.Properties);
    expect(groups.map((g) => [g.GroupName, g.UserPoolId]).sort()).toEqual([['reviewers', 'eu-west-1_AbCdEf123'], ['viewers', 'eu-west-1_AbCdEf123']]);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: Match.objectLike({
        Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/eu-west-1_AbCdEf123']] },
      }),
    });
    expect(consoleSettings(byo.json).userPoolId).toBe('eu-west-1_AbCdEf123');
    expect(byo.pipeline.userPool!.userPoolId).toBe('eu-west-1_AbCdEf123');
  });

  test('allowedOrigins: a CORS configuration on the API for exactly those origins', () => {
    const { json: cors } = pipelineStack({ ...FULL, console: { allowedOrigins: ['https://ops.example.com', 'https://admin.example.org:8443'] } });
    const api = resourcesOf(cors, 'AWS::ApiGatewayV2::Api')[0][1];
    expect(api.Properties.CorsConfiguration).toEqual({
      AllowOrigins: ['https://ops.example.com', 'https://admin.example.org:8443'],
      AllowMethods: ['GET', 'POST'],
      AllowHeaders: ['authorization', 'content-type'],
      MaxAge: 600,
    });
  });
});

describe('pending review monitoring', () => {
  const { template, json, pipeline } = pipelineStack({ review: {} });
  const metricsFnId = idOf(json, 'AWS::Lambda::Function', 'IcsReviewMetricsFunction');
  const alarmId = idOf(json, 'AWS::CloudWatch::Alarm', 'IcsOldestPendingReviewAlarm');
  const pipelineName = (json.Resources[alarmId] as any).Properties.Dimensions[0].Value;

  test('a schedule every 5 minutes runs the review metrics function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [metricsFnId, 'Arn'] } })],
    });
    const fn = (json.Resources[metricsFnId] as any).Properties;
    expect(fn).toMatchObject({
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      KmsKeyArn: { 'Fn::GetAtt': [idOf(json, 'AWS::KMS::Key', 'IcsEncryptionKey'), 'Arn'] },
      Environment: { Variables: expect.objectContaining({ ICS_REVIEW_TABLE: { Ref: idOf(json, 'AWS::DynamoDB::Table', 'IcsReviewTable') } }) },
    });
  });

  test('OldestPendingReviewAlarm: above 1 day by default, in pipeline.alarms, without actions without an alarm topic', () => {
    expect((json.Resources[alarmId] as any).Properties).toMatchObject({
      Namespace: 'ImageClassificationPipeline',
      MetricName: 'OldestPendingReviewAge',
      Dimensions: [{ Name: 'Pipeline', Value: expect.stringMatching(/^TestStack-Ics-[0-9A-F]{8}$/) }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 86400,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect((json.Resources[alarmId] as any).Properties.AlarmActions).toBeUndefined();
    expect(pipeline.alarms.map((a) => Stack.of(a).getLogicalId(a.node.defaultChild as any))).toContain(alarmId);
  });

  test('maxPendingAge sets the threshold; an alarm topic gets ALARM and OK', () => {
    const { json: custom, pipeline: p } = pipelineStack({ review: { maxPendingAge: Duration.hours(2) } },
      (stack) => ({ monitoring: { alarmTopic: new sns.Topic(stack, 'Ops') } }));
    const id = idOf(custom, 'AWS::CloudWatch::Alarm', 'IcsOldestPendingReviewAlarm');
    const props = (custom.Resources[id] as any).Properties;
    expect(props.Threshold).toBe(7200);
    expect(props.AlarmDescription).toBe('A review has waited more than 2 hours for a decision');
    const topic = { Ref: idOf(custom, 'AWS::SNS::Topic', 'Ops') };
    expect(props.AlarmActions).toEqual([topic]);
    expect(props.OKActions).toEqual([topic]);
    expect(p.alarms.map((a) => a.node.id)).toContain('OldestPendingReviewAlarm');
  });

  test('monitoring.alarms: false creates no review alarm (and pipeline.alarms stays empty); the measurement stays', () => {
    const { template: off, pipeline: p } = pipelineStack({ review: {}, monitoring: { alarms: false } });
    off.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(p.alarms).toEqual([]);
    off.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    expect(p.metricOldestPendingReviewAge().metricName).toBe('OldestPendingReviewAge');
  });

  test('the dashboard shows pending reviews, the oldest one\'s age against the threshold, and the alarm', () => {
    const dashboard = resourcesOf(json, 'AWS::CloudWatch::Dashboard')[0][1];
    const body = JSON.parse(resolve(json, dashboard.Properties.DashboardBody));
    const widget = (title: string) => body.widgets.find((w: any) => w.properties.title === title)?.properties;
    expect(widget('Pending reviews').metrics).toEqual([['ImageClassificationPipeline', 'PendingReviews', 'Pipeline', pipelineName, expect.objectContaining({ stat: 'Maximum' })]]);
    expect(widget('Oldest pending review (s)').metrics[0].slice(0, 4)).toEqual(['ImageClassificationPipeline', 'OldestPendingReviewAge', 'Pipeline', pipelineName]);
    expect(widget('Oldest pending review (s)').annotations.horizontal).toEqual([expect.objectContaining({ value: 86400 })]);
    expect(widget('Alarms').alarms).toContain(arnOf(json, alarmId));
  });

  test('metricPendingReviews() and metricOldestPendingReviewAge(): Maximum every 5 minutes by Pipeline', () => {
    for (const [metric, name] of [[pipeline.metricPendingReviews(), 'PendingReviews'], [pipeline.metricOldestPendingReviewAge(), 'OldestPendingReviewAge']] as const) {
      expect(metric.namespace).toBe('ImageClassificationPipeline');
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ Pipeline: pipelineName });
      expect(metric.statistic).toBe('Maximum');
      expect(metric.period.toSeconds()).toBe(300);
    }
    const custom = pipeline.metricPendingReviews({ period: Duration.hours(1), statistic: 'Average' });
    expect([custom.period.toSeconds(), custom.statistic, custom.metricName]).toEqual([3600, 'Average', 'PendingReviews']);
  });

  test('metricReviewAgreement(label): Average of ReviewAgreement by Pipeline and Label', () => {
    const metric = pipeline.metricReviewAgreement('bus');
    expect(metric.namespace).toBe('ImageClassificationPipeline');
    expect(metric.metricName).toBe('ReviewAgreement');
    expect(metric.dimensions).toEqual({ Pipeline: pipelineName, Label: 'bus' });
    expect(metric.statistic).toBe('Average');
    expect(pipeline.metricReviewAgreement('tank', { period: Duration.days(1) }).period.toSeconds()).toBe(86400);
  });

  test('a custom metrics namespace is used by the metrics, the alarm and the function', () => {
    const { json: ns, pipeline: p } = pipelineStack({ review: {}, metricsNamespace: 'Vehicles' });
    expect(p.metricPendingReviews().namespace).toBe('Vehicles');
    expect(p.metricReviewAgreement('bus').namespace).toBe('Vehicles');
    expect((ns.Resources[idOf(ns, 'AWS::CloudWatch::Alarm', 'IcsOldestPendingReviewAlarm')] as any).Properties.Namespace).toBe('Vehicles');
    const fn = (ns.Resources[idOf(ns, 'AWS::Lambda::Function', 'IcsReviewMetricsFunction')] as any).Properties;
    expect(fn.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Vehicles');
  });
});

describe('validation: every problem in the one props error', () => {
  test('console without review', () => {
    expect(propsError({ console: {} }).problems).toEqual(['console needs review (the console shows and decides the review queue): set review: {} for the defaults']);
  });

  test('review.outcomes empty', () => {
    expect(propsError({ review: { outcomes: [] } }).problems).toEqual(['review.outcomes must name at least one outcome']);
  });

  test('review.outcomes with ERROR', () => {
    expect(propsError({ review: { outcomes: [Outcome.LOW_CONFIDENCE, Outcome.ERROR] } }).problems)
      .toEqual(['review.outcomes cannot include ERROR (an image that could not be classified has no label to review)']);
  });

  test('an outcome that never occurs', () => {
    expect(propsError({ review: { outcomes: [Outcome.FLAGGED] }, flaggedLabels: [] }).problems)
      .toEqual(['review.outcomes: FLAGGED never occurs (no label is flagged)']);
    expect(propsError({ review: {}, confidenceThreshold: 0 }).problems)
      .toEqual(['review.outcomes: LOW_CONFIDENCE never occurs (confidenceThreshold is 0)']);
    expect(propsError({ review: { outcomes: [Outcome.ACCEPTED] }, flaggedLabels: VEHICLE_LABELS }).problems)
      .toEqual(['review.outcomes: ACCEPTED never occurs (every class label is flagged)']);
    expect(propsError({ review: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE] }, flaggedLabels: [], confidenceThreshold: 0 }).problems)
      .toEqual(['review.outcomes: FLAGGED, LOW_CONFIDENCE never occurs (no label is flagged; confidenceThreshold is 0)']);
  });

  test('maxPendingAge under 5 minutes (5 minutes is fine)', () => {
    expect(propsError({ review: { maxPendingAge: Duration.minutes(4) } }).problems)
      .toEqual(['review.maxPendingAge must be at least 5 minutes (pending reviews are measured every 5 minutes), got 4 minutes']);
    expect(propsError({ review: { maxPendingAge: Duration.seconds(299) } }).problems[0]).toMatch(/^review\.maxPendingAge must be at least 5 minutes/);
    expect(() => pipelineStack({ review: { maxPendingAge: Duration.minutes(5) } })).not.toThrow();
  });

  test('review with quarantine and a Rekognition classifier', () => {
    const { problems } = propsError({
      classifier: Classifier.rekognitionModeration(),
      classLabels: undefined,
      flaggedLabels: undefined,
      inputPrefix: 'uploads/',
      quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'quarantine/' },
      review: {},
    });
    expect(problems).toEqual([
      expect.stringMatching(/^review with quarantine needs a SageMaker classifier: a released image is recognized by the classify function/),
    ]);
    // Rekognition without quarantine, or quarantine with SageMaker, is fine.
    const moderation = { classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined };
    expect(() => pipelineStack({ ...moderation, review: {} })).not.toThrow();
  });

  test('console with the audit trail off', () => {
    expect(propsError({ review: {}, console: {}, auditTrail: { enabled: false } }).problems)
      .toEqual(['console needs the audit trail: decisions are written as a feedback manifest under feedback/ in the audit bucket']);
    // Review alone does not need it.
    expect(() => pipelineStack({ review: {}, auditTrail: { enabled: false } })).not.toThrow();
  });

  test('ICS_CONSOLE_SETTINGS with a Rekognition classifier: uploads only in the formats Rekognition reads', () => {
    const { json: rekognition } = pipelineStack({
      classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'] }), classLabels: undefined, flaggedLabels: undefined, review: {}, console: {},
    });
    expect(consoleSettings(rekognition).uploadFormats).toEqual(REKOGNITION_IMAGE_LIMITS.formats);
  });

  test('console without class labels (a Rekognition labels classifier without labels)', () => {
    const rekognition = { classifier: Classifier.rekognitionLabels(), classLabels: undefined, flaggedLabels: undefined };
    expect(propsError({ ...rekognition, review: {}, console: {} }).problems)
      .toEqual(['console needs classLabels: a reviewer confirms or corrects a label among them']);
    expect(() => pipelineStack({
      classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'] }), classLabels: undefined, flaggedLabels: undefined, review: {}, console: {},
    })).not.toThrow();
  });

  test('console with class labels too long for its function\'s environment', () => {
    const labels = (n: number) => Array.from({ length: n }, (_, i) => `label-${String(i).padStart(4, '0')}`);
    const tooMany = labels(200); // 2,601 characters as JSON
    expect(propsError({ classLabels: tooMany, flaggedLabels: [], review: {}, console: {} }).problems).toEqual([
      `console: classLabels are too long for the console function's environment (${JSON.stringify(tooMany).length} characters as JSON; `
        + `at most ${CONSOLE_MAX_LABELS_ENV_CHARS} fit beside the resource names in Lambda's 4 KB)`,
    ]);
    // Review alone keeps the classify function's own limit.
    expect(() => pipelineStack({ classLabels: tooMany, flaggedLabels: [], review: {} })).not.toThrow();
  });

  test('the longest labels the console accepts fit Lambda\'s 4 KB environment, with every name at AWS\'s longest', () => {
    // Labels of 11 characters (14 as JSON with quotes and comma), as many as fit: just under the limit.
    const labels = Array.from({ length: Math.floor((CONSOLE_MAX_LABELS_ENV_CHARS - 1) / 14) }, (_, i) => `label-${String(i).padStart(5, '0')}`);
    expect(JSON.stringify(labels).length).toBeLessThanOrEqual(CONSOLE_MAX_LABELS_ENV_CHARS);
    expect(JSON.stringify(labels).length).toBeGreaterThan(CONSOLE_MAX_LABELS_ENV_CHARS - 20);
    const { json } = synth({
      classLabels: labels,
      flaggedLabels: [],
      inputPrefix: 'uploads/',
      quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
      review: {},
      console: {},
    });
    // What each reference becomes once deployed, at the longest AWS allows: bucket names 63, table names 255, user pool IDs
    // 55, app client IDs 128, event bus names 256 characters; anything else 64.
    const longest: Record<string, number> = {
      'AWS::S3::Bucket': 63, 'AWS::DynamoDB::Table': 255, 'AWS::Cognito::UserPool': 55, 'AWS::Cognito::UserPoolClient': 128, 'AWS::Events::EventBus': 256,
    };
    const deployed = (v: any): string => {
      if (typeof v === 'string') return v;
      if (v?.Ref) return 'x'.repeat(longest[json.Resources[v.Ref]?.Type] ?? 64);
      if (v?.['Fn::GetAtt']) return 'x'.repeat(longest[json.Resources[v['Fn::GetAtt'][0]]?.Type] ?? 64);
      if (v?.['Fn::Join']) return v['Fn::Join'][1].map(deployed).join(v['Fn::Join'][0]);
      throw new Error(`unexpected value ${JSON.stringify(v)}`);
    };
    const [, fn] = Object.entries<any>(json.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.includes('ConsoleApiFunction'))!;
    const variables: Record<string, unknown> = fn.Properties.Environment.Variables;
    const bytes = Object.entries(variables).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(deployed(v)), 0);
    expect(bytes).toBeGreaterThan(JSON.stringify(labels).length + 800); // the labels and the names are in it
    expect(bytes).toBeLessThanOrEqual(4096);
  });

  test('console.uploads: true with a bucket you bring', () => {
    const { problems } = propsError({ review: {}, console: { uploads: true } }, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Images', 'images') }));
    expect(problems).toEqual([expect.stringMatching(/^console\.uploads with a bucket you bring: the browser PUTs to the bucket, which needs a CORS rule/)]);
  });

  test.each(['*', 'http://ops.example.com', 'https://ops.example.com/', 'https://ops.example.com/console', 'https://*.example.com', 'ops.example.com'])(
    'allowedOrigins %s', (origin) => {
      expect(propsError({ review: {}, console: { allowedOrigins: ['https://ok.example.com', origin] } }).problems)
        .toEqual([`console.allowedOrigins must be https origins without paths or wildcards, got "${origin}"`]);
    });

  test('several problems come together in one error', () => {
    const { problems } = propsError({
      review: { outcomes: [Outcome.ERROR, Outcome.FLAGGED], maxPendingAge: Duration.minutes(1) },
      flaggedLabels: [],
      auditTrail: { enabled: false },
      console: { uploads: true, allowedOrigins: ['*', 'http://a.example.com'] },
    }, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Images', 'images') }));
    expect(problems).toEqual([
      'review.outcomes cannot include ERROR (an image that could not be classified has no label to review)',
      'review.outcomes: FLAGGED never occurs (no label is flagged)',
      'review.maxPendingAge must be at least 5 minutes (pending reviews are measured every 5 minutes), got 1 minute',
      'console needs the audit trail: decisions are written as a feedback manifest under feedback/ in the audit bucket',
      expect.stringMatching(/^console\.uploads with a bucket you bring/),
      'console.allowedOrigins must be https origins without paths or wildcards, got "*"',
      'console.allowedOrigins must be https origins without paths or wildcards, got "http://a.example.com"',
    ]);
  });

  test('review problems join the other props problems', () => {
    const { problems } = propsError({ console: {}, topK: 0 });
    expect(problems).toContain('console needs review (the console shows and decides the review queue): set review: {} for the defaults');
    expect(problems.length).toBeGreaterThan(1);
  });
});

test('the synthesized template is deterministic', () => {
  const a = pipelineStack(FULL).json;
  const b = pipelineStack(FULL).json;
  expect(JSON.stringify(b)).toEqual(JSON.stringify(a));
  expect(stateMachineDefinition(a as CfnTemplate, findResource(a as CfnTemplate, 'AWS::StepFunctions::StateMachine', 'IcsStateMachine')))
    .toEqual(stateMachineDefinition(b as CfnTemplate, findResource(b as CfnTemplate, 'AWS::StepFunctions::StateMachine', 'IcsStateMachine')));
});
