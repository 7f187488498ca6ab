import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CONFIGURATIONS, pipelineApp } from './nag';
import { Classifier, ImageClassificationPipeline } from '../../src';
import { ACKNOWLEDGEMENTS } from '../../src/compliance/acknowledgements';

/** The `cdk_nag` metadata of every resource, as cdk-nag 2.x reads it from the template. */
const suppressionsOf = (template: Template) => Object.fromEntries(Object.entries<any>(template.toJSON().Resources)
  .filter(([, r]) => r.Metadata?.cdk_nag)
  .map(([id, r]) => [id, r.Metadata.cdk_nag.rules_to_suppress as Array<{ id: string; reason: string; applies_to?: string[] }>]));

describe('cdk-nag 2.x: the acknowledgements are in the template as cdk_nag metadata too', () => {
  test('whole-rule acknowledgements by id, IAM5 findings as applies_to of one rule, each with its reason', () => {
    const { stack } = pipelineApp();
    const template = Template.fromStack(stack);
    const byResource = suppressionsOf(template);
    const fnId = Object.keys(byResource).find((id) => id.startsWith('IcsClassifyFunction') && template.toJSON().Resources[id].Type === 'AWS::Lambda::Function')!;
    expect(byResource[fnId]).toEqual(expect.arrayContaining([
      { id: 'HIPAA.Security-LambdaInsideVPC', reason: ACKNOWLEDGEMENTS.functionOutsideVpc.reason },
      { id: 'Serverless-LambdaDLQ', reason: ACKNOWLEDGEMENTS.functionDeadLetterQueue.reason },
    ]));
    const iam5 = Object.values(byResource).flat().filter((s) => s.id === 'AwsSolutions-IAM5');
    expect(iam5.length).toBeGreaterThan(0);
    for (const s of iam5) expect(s.applies_to!.every((f) => /^(Resource|Action)::/.test(f))).toBe(true);
    expect(iam5.flatMap((s) => s.applies_to)).toContain('Resource::*');
    // The stack-wide bucket-notifications handler the pipeline causes is covered too.
    expect(Object.keys(byResource).some((id) => id.startsWith('BucketNotificationsHandler'))).toBe(true);
  });

  test.each(CONFIGURATIONS.map(([name]) => name))('%s: every resource that cdk-nag 3 sees acknowledged carries the same rules', (name) => {
    const { stack } = pipelineApp(CONFIGURATIONS.find(([n]) => n === name)![1]);
    const byResource = suppressionsOf(Template.fromStack(stack));
    for (const rules of Object.values(byResource)) {
      const ids = rules.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const r of rules) expect(r.reason.length).toBeGreaterThanOrEqual(10);
    }
    expect(Object.keys(byResource).length).toBeGreaterThan(0);
  });

  test('a consumer\'s own suppressions on the same resource are kept', () => {
    let pipeline!: ImageClassificationPipeline;
    const { stack } = pipelineApp((s) => {
      pipeline = new ImageClassificationPipeline(s, 'Ics', { classifier: Classifier.sagemakerEndpoint({ endpointName: 'v' }), classLabels: ['a'] });
      (pipeline.classifyFunction!.node.defaultChild as lambda.CfnFunction).addMetadata('cdk_nag', { rules_to_suppress: [{ id: 'AwsSolutions-L1', reason: 'our platform pins the runtime' }] });
    });
    const template = Template.fromStack(stack);
    const fn = stack.getLogicalId(pipeline.classifyFunction!.node.defaultChild as lambda.CfnFunction);
    expect(suppressionsOf(template)[fn]).toEqual(expect.arrayContaining([
      { id: 'AwsSolutions-L1', reason: 'our platform pins the runtime' },
      expect.objectContaining({ id: 'HIPAA.Security-LambdaInsideVPC' }),
    ]));
  });
});
