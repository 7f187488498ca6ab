import * as s3 from 'aws-cdk-lib/aws-s3';
import { pipelineStack } from './stacks';
import { BulkMode, Outcome } from '../src';

/**
 * Where a wildcard resource is unavoidable: these services have no resource-level permissions for the
 * actions the construct needs.
 */
const NO_RESOURCE_LEVEL = [/^xray:/, /^logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups)$/];

describe('IAM: no wildcard resource except where the service has no resource-level permissions', () => {
  test.each([
    ['defaults', {}],
    ['every action and both bulk modes\' inputs', { inputPrefix: 'in/', quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'q/' }, bulkMode: BulkMode.inline() }],
    ['distributed bulk', { bulkMode: BulkMode.distributed({ itemBatchSize: 10 }) }],
  ])('%s', (_name, props) => {
    const { json } = pipelineStack(props as any);
    const statements = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    expect(statements.length).toBeGreaterThan(5);
    for (const statement of statements) {
      const resources = [].concat(statement.Resource);
      if (resources.some((r) => r === '*')) {
        for (const action of [].concat(statement.Action) as string[]) {
          expect([action, NO_RESOURCE_LEVEL.some((re) => re.test(action))]).toEqual([action, true]);
        }
      }
      // No action wildcards beyond the Get*/List* families CDK grants use.
      for (const action of [].concat(statement.Action) as string[]) {
        expect(action === '*' || /^[a-z0-9-]+:\*$/.test(action)).toBe(false);
      }
    }
  });

  test('an imported bucket is granted by name', () => {
    const { json } = pipelineStack({}, (stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'B', 'images') }));
    const wildcards = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((st) => [].concat(st.Resource).includes('*' as never))
      .flatMap((st) => [].concat(st.Action) as string[]);
    expect(wildcards.filter((a) => a.startsWith('s3:'))).toEqual([]);
  });
});
