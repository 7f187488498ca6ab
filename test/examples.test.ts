import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BringYourOwnEndpointStack } from '../examples/bring-your-own/stack';

const synth = () => Template.fromStack(new BringYourOwnEndpointStack(new App(), 'IcsBringYourOwnEndpoint')).toJSON();

describe('examples', () => {
  test('bring-your-own endpoint and topic: synthesizes, uses them, and is deterministic', () => {
    const first = synth();
    expect(synth()).toEqual(first);

    const template = Template.fromJSON(first);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    // Only the app's own ops topic: the pipeline created none of its own.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const definition = JSON.stringify(first.Resources[Object.keys(first.Resources).find((id) => id.startsWith('IcsStateMachine') && first.Resources[id].Type === 'AWS::StepFunctions::StateMachine')!]);
    expect(definition).toContain('security-alerts');
    expect(definition).toContain('OpsTopic');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { ICS_ENDPOINT_NAME: 'vehicles', ICS_CONFIDENCE_THRESHOLD: '0.94' } },
    });
  });
});
