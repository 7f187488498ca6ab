import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CONFIGURATIONS, pipelineApp } from './compliance/nag';
import { pipelineStack } from './stacks';
import { NO_RESOURCE_LEVEL_ACTIONS, WILDCARD_ACKNOWLEDGEMENTS, wildcardFindings } from '../src/compliance/wildcards';

const policiesOf = (json: any) => Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy').map((r) => r.Properties.PolicyDocument);

/** Policy documents per configuration, synthesized once for all tests. */
const documentsByConfiguration = new Map<string, any[]>();
const documentsOf = (name: string) => {
  if (!documentsByConfiguration.has(name)) {
    const configure = CONFIGURATIONS.find(([n]) => n === name)![1];
    documentsByConfiguration.set(name, policiesOf(Template.fromStack(pipelineApp(configure).stack).toJSON()));
  }
  return documentsByConfiguration.get(name)!;
};

describe('IAM: every wildcard is a documented, acknowledged case', () => {
  test.each(CONFIGURATIONS.map(([name]) => name))('%s', (name) => {
    const documents = documentsOf(name);
    const statements = documents.flatMap((d) => d.Statement);
    expect(statements.length).toBeGreaterThan(5);

    // `Resource: *` only for actions without resource-level permissions (X-Ray, log delivery, Rekognition detection).
    for (const statement of statements.filter((s: any) => [].concat(s.Resource).includes('*' as never))) {
      for (const action of [].concat(statement.Action) as string[]) {
        expect([action, NO_RESOURCE_LEVEL_ACTIONS.some((re) => re.test(action))]).toEqual([action, true]);
      }
    }
    // No action wildcards at all: every grant names its actions.
    expect(statements.flatMap((s: any) => [].concat(s.Action) as string[]).filter((a) => a.includes('*'))).toEqual([]);

    // Each wildcard cdk-nag's IAM5 would report is covered by exactly the acknowledgement whose reason the README lists.
    const uncovered = documents.flatMap((d) => wildcardFindings(d)).filter((f) => !f.acknowledgement).map((f) => f.wildcard);
    expect(uncovered).toEqual([]);
  });

  test('each wildcard acknowledgement is used by some configuration (no stale reasons)', () => {
    const used = new Set(CONFIGURATIONS.flatMap(([name]) => documentsOf(name).flatMap((d) => wildcardFindings(d)).map((f) => f.acknowledgement)));
    for (const ack of WILDCARD_ACKNOWLEDGEMENTS) expect([ack.finding, used.has(ack)]).toEqual([ack.finding, true]);
  });

  test('a wildcard outside the known cases is not acknowledged', () => {
    const findings = wildcardFindings({
      Statement: [
        { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::b/*' },
        { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'sns:Publish'], Resource: '*' },
        { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Fn', 'Arn'] }, ':*']] } },
      ],
    });
    expect(findings.map((f) => [f.wildcard, f.acknowledgement?.finding])).toEqual([
      ['Action::s3:*', undefined],
      ['Resource::arn:aws:s3:::b/*', undefined],
      ['Resource::*', undefined],
      ['Resource::<Fn.Arn>:*', 'AwsSolutions-IAM5[Resource::<function ARN>:*]'],
    ]);
  });

  test('an imported bucket is granted by name, never with a wildcard bucket', () => {
    const { json } = pipelineStack({}, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'B', 'images') }));
    const wildcards = policiesOf(json)
      .flatMap((d) => d.Statement)
      .filter((st: any) => [].concat(st.Resource).includes('*' as never))
      .flatMap((st: any) => [].concat(st.Action) as string[]);
    expect(wildcards.filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});
