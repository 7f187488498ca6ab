/**
 * Synthesizes the bring-your-own-endpoint example and prints what the pipeline built: the README's
 * first command, runnable without an AWS account.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BringYourOwnEndpointStack } from './bring-your-own/stack';
import { CfnTemplate, findResource, stateMachineDefinition } from '../local/src/template-resolver';

const app = new App({ outdir: 'examples/bring-your-own/cdk.out' });
const stack = new BringYourOwnEndpointStack(app, 'IcsBringYourOwnEndpoint');
const assembly = app.synth();
const template = Template.fromStack(stack).toJSON() as CfnTemplate;

const resources = Object.entries<any>(template.Resources);
console.log(`Synthesized ${stack.stackName} to ${assembly.directory}: ${resources.length} resources\n`);
for (const [logicalId, r] of resources) {
  console.log(`  ${r.Type.padEnd(40)} ${logicalId}`);
}

const smId = findResource(template, 'AWS::StepFunctions::StateMachine');
const definition = stateMachineDefinition(template, smId);
console.log(`\nState machine ${smId} (${template.Resources[smId].Properties.StateMachineType}), start at ${definition.StartAt}:`);
for (const [name, state] of Object.entries<any>(definition.States)) {
  const next = state.Next ?? (state.Type === 'Choice' ? 'choice' : state.End ? 'end' : state.Type);
  console.log(`  ${name.padEnd(24)} ${state.Type.padEnd(8)} → ${next}`);
}
