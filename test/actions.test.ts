import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { pipelineStack } from './stacks';
import { AuditTrail, Outcome } from '../src';

const statementsOf = (json: any, rolePrefix: string) =>
  Object.values<any>(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref?.startsWith(rolePrefix)))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
const actionsOn = (statements: any[], action: string) =>
  statements.filter((s) => [].concat(s.Action).includes(action as never)).map((s) => JSON.stringify(s.Resource));

describe('defaults', () => {
  const { template, json, pipeline } = pipelineStack({ inputPrefix: 'in/' });
  const sm = statementsOf(json, 'IcsStateMachineRole');

  test('an audit bucket is created: encrypted, TLS-only, private, versioned, retained', () => {
    expect(pipeline.auditBucket).toBeDefined();
    // images, audit records, and the access logs of both
    template.resourceCountIs('AWS::S3::Bucket', 3);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
      LoggingConfiguration: Match.anyValue(),
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: Match.absent(),
    });
  });

  test('the state machine may put audit records into its delivery stream only, and write no audit object', () => {
    const streams = actionsOn(sm, 'firehose:PutRecord');
    expect(streams).toHaveLength(1);
    expect(JSON.parse(streams[0])).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IcsAuditStream[0-9A-F]+$/), 'Arn'] });
    expect(actionsOn(sm, 's3:PutObject')).toEqual([]);
  });

  test('tagging is on, scoped to the input prefix; the function may read tags of its prefix', () => {
    expect(actionsOn(sm, 's3:PutObjectTagging')).toEqual([expect.stringMatching(/IcsBucket.*\/in\/\*/)]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ICS_TAG_OBJECTS: 'true', ICS_FLAGGED_LABELS: '["motorcycle","pickup_truck","tank"]' }) },
    });
  });

  test('result events go to the default bus', () => {
    const put = sm.find((s) => s.Action === 'events:PutEvents');
    expect(JSON.stringify(put.Resource)).toContain(':event-bus/default');
  });

  test('no quarantine, so no delete permission', () => {
    expect(actionsOn(sm, 's3:DeleteObject')).toEqual([]);
  });
});

describe('options', () => {
  test('quarantine into the same bucket: copy to its prefix, delete from the input prefix only', () => {
    const { json, template } = pipelineStack({ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' } });
    const sm = statementsOf(json, 'IcsStateMachineRole');
    expect(actionsOn(sm, 's3:PutObject')).toEqual(expect.arrayContaining([expect.stringMatching(/IcsBucket.*\/quarantine\/\*/)]));
    expect(actionsOn(sm, 's3:DeleteObject')).toEqual([expect.stringMatching(/IcsBucket.*\/in\/\*/)]);
    expect(actionsOn(sm, 's3:GetObjectVersion')).toEqual([expect.stringMatching(/IcsBucket.*\/in\/\*/)]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ICS_QUARANTINE_PREFIX: 'quarantine/' }) },
    });
  });

  test('quarantine into another bucket needs no input prefix', () => {
    const { json } = pipelineStack({}, (stack) => ({
      quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'q/', bucket: s3.Bucket.fromBucketName(stack, 'Q', 'quarantine-bucket') },
    }));
    expect(actionsOn(statementsOf(json, 'IcsStateMachineRole'), 's3:PutObject')).toEqual(expect.arrayContaining([expect.stringContaining('quarantine-bucket/q/*')]));
  });

  test('audit trail in your bucket with your prefix and retention; or off', () => {
    const own = pipelineStack({}, (stack) => ({
      auditTrail: { bucket: s3.Bucket.fromBucketName(stack, 'A', 'audit-bucket'), prefix: 'audit/ics/', delivery: AuditTrail.objectPerImage() },
    }));
    own.template.resourceCountIs('AWS::S3::Bucket', 2); // images and their access logs
    expect(actionsOn(statementsOf(own.json, 'IcsStateMachineRole'), 's3:PutObject')).toEqual([expect.stringContaining('audit-bucket/audit/ics/*')]);
    expect(own.definition.States.WriteAuditRecord.Parameters['Key.$']).toMatch(/^States\.Format\('audit\/ics\/\{\}\/\{\}\/\{\}\/\{\}\.json'/);

    pipelineStack({ auditTrail: { retention: Duration.days(2555) } }).template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 2555, Status: 'Enabled' })] },
    });

    const off = pipelineStack({ auditTrail: { enabled: false } });
    expect(off.pipeline.auditBucket).toBeUndefined();
    expect(off.definition.States.WriteAuditRecord).toBeUndefined();
  });

  test('result events on your bus, or off', () => {
    const { json, definition } = pipelineStack({}, (stack) => ({ resultEvents: { eventBus: new events.EventBus(stack, 'Bus') } }));
    expect(definition.States.PublishResultEvent.Parameters.Entries[0].EventBusName).toMatch(/Bus/);
    expect(JSON.stringify(statementsOf(json, 'IcsStateMachineRole').find((s) => s.Action === 'events:PutEvents').Resource)).toContain('Bus');
    expect(pipelineStack({ resultEvents: { enabled: false } }).definition.States.PublishResultEvent).toBeUndefined();
  });

  test('tagging off: no tag permission, no TagObject state, the handler reads no tags', () => {
    const { json, definition, template } = pipelineStack({ tagObjects: false });
    expect(actionsOn(statementsOf(json, 'IcsStateMachineRole'), 's3:PutObjectTagging')).toEqual([]);
    expect(definition.States.TagObject).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ICS_TAG_OBJECTS: 'false' }) } });
  });

  test('alert routes: each topic gets its outcomes; alertTopics and alerts combine', () => {
    const { definition, pipeline } = pipelineStack({}, (stack) => {
      const all = new sns.Topic(stack, 'All');
      return { alertTopics: [all], alerts: [{ topic: new sns.Topic(stack, 'Accepted'), outcomes: [Outcome.ACCEPTED] }] };
    });
    expect(pipeline.alertTopics).toHaveLength(2);
    const routed = Object.keys(definition.States).filter((s) => /^Alert(Flagged|LowConfidence|Error|Accepted)\d$/.test(s)).sort();
    expect(routed).toEqual(['AlertAccepted1', 'AlertError1', 'AlertFlagged1', 'AlertLowConfidence1']);
  });

  test('alertEmails subscribe the created topic', () => {
    pipelineStack({ alertEmails: ['security@example.com'] }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email', Endpoint: 'security@example.com',
    });
  });
});

describe('validation', () => {
  test.each([
    [{ quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'q/' } }, /quarantine into the pipeline's own bucket needs inputPrefix/],
    [{ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'in/q/' } }, /must not overlap inputPrefix/],
    [{ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.ERROR], prefix: 'q/' } }, /cannot include ERROR/],
    [{ inputPrefix: 'in/', quarantine: { outcomes: [], prefix: 'q/' } }, /quarantine.outcomes must name at least one outcome/],
    [{ inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: '' } }, /quarantine.prefix must be non-empty/],
    [{ auditTrail: { prefix: "it's/" } }, /auditTrail.prefix must not start with "\/" or contain/],
    [{ alertEmails: ['a@example.com'], alertTopics: [] }, /alertEmails subscribes the topic the pipeline creates/],
  ])('%o', (props, message) => {
    expect(() => pipelineStack(props as any)).toThrow(message);
  });

  test('an alert route without outcomes', () => {
    expect(() => pipelineStack({}, (stack) => ({ alerts: [{ topic: new sns.Topic(stack, 'T'), outcomes: [] }] })))
      .toThrow(/alerts\[0\].outcomes must name at least one outcome/);
  });
});
