import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BankSecurityStack } from '../examples/bank-security/stack';
import { BringYourOwnEndpointStack } from '../examples/bring-your-own/stack';
import { DeployTheModelStack } from '../examples/deploy-the-model/stack';
import { LogisticsDamageStack } from '../examples/logistics-damage/stack';
import { ProductTaggingStack } from '../examples/product-tagging/stack';
import { SchoolModerationStack } from '../examples/school-moderation/stack';

type StackClass = new (scope: App, id: string) => Stack;
const synth = (cls: StackClass) => Template.fromStack(new cls(new App(), 'Example')).toJSON();

describe('examples', () => {
  test.each<[string, StackClass]>([
    ['bank-security', BankSecurityStack],
    ['school-moderation', SchoolModerationStack],
    ['logistics-damage', LogisticsDamageStack],
    ['product-tagging', ProductTaggingStack],
    ['deploy-the-model', DeployTheModelStack],
    ['bring-your-own', BringYourOwnEndpointStack],
  ])('%s synthesizes, and two synths are identical', (_name, cls) => {
    const first = synth(cls);
    expect(synth(cls)).toEqual(first);
    Template.fromJSON(first).resourceCountIs('AWS::StepFunctions::StateMachine', cls === LogisticsDamageStack ? 2 : 1);
  });

  test('bring-your-own endpoint and topic: uses them and creates no topic of its own', () => {
    const first = synth(BringYourOwnEndpointStack);
    const template = Template.fromJSON(first);
    // Only the app's own ops topic: the pipeline created none of its own.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const definition = JSON.stringify(first.Resources[Object.keys(first.Resources).find((id) => id.startsWith('IcsStateMachine') && first.Resources[id].Type === 'AWS::StepFunctions::StateMachine')!]);
    expect(definition).toContain('security-alerts');
    expect(definition).toContain('OpsTopic');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ICS_ENDPOINT_NAME: 'vehicles', ICS_CONFIDENCE_THRESHOLD: '0.94' } },
    });
  });

  test('deploy-the-model: the pipeline invokes the endpoint created beside it', () => {
    const template = Template.fromJSON(synth(DeployTheModelStack));
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ICS_CONTENT_TYPE: 'application/x-image' } },
    });
  });
});
