import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnTemplate, findResource, stateMachineDefinition } from '../local/src/template-resolver';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps } from '../src';

export const VEHICLE_LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];

/** Props of the ICS reference configuration. */
export const icsProps = (): ImageClassificationPipelineProps => ({
  classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
  classLabels: VEHICLE_LABELS,
  confidenceThreshold: 0.94,
  flaggedLabels: ['motorcycle', 'pickup_truck', 'tank'],
});

/** A stack with one pipeline, in a fixed environment so templates are comparable. */
export function pipelineStack(
  props: Partial<ImageClassificationPipelineProps> = {},
  configure?: (stack: Stack) => Partial<ImageClassificationPipelineProps>,
) {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const pipeline = new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props, ...configure?.(stack) });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as CfnTemplate;
  return {
    app,
    stack,
    pipeline,
    template,
    json,
    /** The state machine definition with intrinsics resolved locally. */
    get definition(): any {
      return stateMachineDefinition(json, findResource(json, 'AWS::StepFunctions::StateMachine', 'IcsStateMachine'));
    },
  };
}
