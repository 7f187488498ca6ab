// AWS's own ASL validator (the AWS Toolkit's language service), which re-exports vscode-json-languageservice's TextDocument.
import { getLanguageService, TextDocument } from 'amazon-states-language-service';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CfnTemplate, findResource, stateMachineDefinition } from '../../local/src/template-resolver';
import {
  BankSecurityPipeline, BulkMode, Classifier, ImageClassificationPipelineProps, Outcome, SchoolModerationPipeline, WorkflowStep,
} from '../../src';
import { pipelineStack } from '../stacks';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

const fnArn = (stack: Stack, name: string) => `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:${name}`;
const importedFunction = (stack: Stack, id: string) => lambda.Function.fromFunctionArn(stack, id, fnArn(stack, id.toLowerCase()));
const expressMachine = (stack: Stack, id: string) => new sfn.StateMachine(stack, id, {
  stateMachineType: sfn.StateMachineType.EXPRESS,
  definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Pass`)),
});

/** Diagnostics of AWS's own validator (the AWS Toolkit's language service) for a definition. */
async function awsAslDiagnostics(definition: unknown): Promise<string[]> {
  const ls = getLanguageService({});
  const doc = TextDocument.create('file:///definition.asl.json', 'json', 0, JSON.stringify(definition, null, 2));
  const diagnostics = await ls.doValidation(doc, ls.parseJSONDocument(doc));
  return diagnostics.map((d: any) => `${d.range.start.line + 1}: ${d.message}`);
}

/** Every state machine of the template, by logical ID, with intrinsics resolved. */
function definitions(json: CfnTemplate): Record<string, any> {
  return Object.fromEntries(Object.entries(json.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => [id, stateMachineDefinition(json, id)]));
}

/** The state machine role's policy statements that hold `action`. */
function statementsWith(json: any, action: string): any[] {
  return Object.values<any>(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .filter((s: any) => [s.Action].flat().includes(action));
}

describe('WorkflowStep.lambda', () => {
  const { definition, json } = pipelineStack({}, (s) => ({
    steps: [
      WorkflowStep.lambda(importedFunction(s, 'AssetRegister')),
      WorkflowStep.lambda(importedFunction(s, 'Ticket'), {
        name: 'openTicket',
        outcomes: [Outcome.FLAGGED],
        timeout: Duration.seconds(15),
        retry: { maxAttempts: 3, interval: Duration.seconds(2), backoffRate: 1.5 },
      }),
      WorkflowStep.lambda(importedFunction(s, 'NoRetry'), { retry: { maxAttempts: 0 } }),
    ],
  }));

  test('invokes the function with { step, result }, its answer measured before it is stored under result.steps.<name>', () => {
    expect(definition.States['Step-AssetRegister']).toEqual({
      Type: 'Task',
      Comment: expect.any(String),
      Resource: 'arn:aws:lambda:eu-west-1:111111111111:function:assetregister',
      Parameters: { 'step': 'AssetRegister', 'result.$': '$.result' },
      TimeoutSeconds: 10,
      ResultSelector: { 'value.$': '$' },
      ResultPath: '$.stepAnswer',
      Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.stepError', Next: 'Step-AssetRegister-StepFailed' }],
      Next: 'Step-AssetRegister-Measure',
    });
    expect(definition.States['Step-AssetRegister-Record']).toMatchObject({ Type: 'Pass', InputPath: '$.stepAnswer.value', ResultPath: '$.result.steps.AssetRegister' });
    expect(definition.States['Step-AssetRegister-CheckSize'].Choices).toEqual([
      { Variable: '$.stepAnswerCharacters', NumericGreaterThan: WorkflowStep.MAX_OUTPUT_CHARACTERS, Next: 'Step-AssetRegister-TooLarge' },
    ]);
    expect(definition.States['Step-AssetRegister-StepFailed']).toMatchObject({
      Parameters: { 'name': 'StepFailed', 'step': 'AssetRegister', 'cause.$': "States.Format('{}: {}', $.stepError.Error, $.stepError.Cause)" },
      ResultPath: '$.result.error',
      Next: 'MarkStepError',
    });
    expect(definition.States.MarkStepError).toMatchObject({ Result: 'ERROR', ResultPath: '$.result.outcome', Next: 'RouteAlerts' });
  });

  test('name, outcomes, timeout and retry options', () => {
    expect(definition.States['Step-openTicket']).toMatchObject({
      TimeoutSeconds: 15,
      Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 1.5 }],
    });
    expect(definition.States['Step-openTicket-ShouldRun'].Choices).toEqual([{ Variable: '$.result.outcome', StringEquals: 'FLAGGED', Next: 'Step-openTicket' }]);
    expect(definition.States['Step-AssetRegister-ShouldRun'].Choices[0].Or.map((c: any) => c.StringEquals)).toEqual(['FLAGGED', 'ACCEPTED', 'LOW_CONFIDENCE']);
    expect(definition.States['Step-NoRetry'].Retry).toBeUndefined();
  });

  test('in order between the decision and the actions; ERROR images skip them unless a step asks', () => {
    for (const outcome of ['Flagged', 'Accepted', 'LowConfidence']) expect(definition.States[outcome].Next).toBe('InitSteps');
    expect(definition.States.InitSteps).toMatchObject({ Result: {}, ResultPath: '$.result.steps', Next: 'Step-AssetRegister-ShouldRun' });
    expect(definition.States['Step-AssetRegister-ShouldRun'].Default).toBe('Step-openTicket-ShouldRun');
    expect(definition.States['Step-openTicket-ShouldRun'].Default).toBe('Step-NoRetry-ShouldRun');
    expect(definition.States['Step-NoRetry-ShouldRun'].Default).toBe('ShouldTag');
    expect(definition.States.ClassificationFailed.Next).toBe('RouteAlerts');
    expect(definition.States.AfterSteps).toBeUndefined();
  });

  test('the state machine may invoke exactly these functions', () => {
    const invoke = statementsWith(json, 'lambda:InvokeFunction');
    const resources = invoke.flatMap((s) => [s.Resource].flat()).map((r) => JSON.stringify(r)).filter((r) => /assetregister|ticket|noretry/.test(r));
    expect(resources).toHaveLength(3);
    // No `<function ARN>:*` (aws-cdk-lib's LambdaInvoke grants that): the ARN as given, qualified or not.
    expect(resources.filter((r) => r.includes(':*'))).toEqual([]);
  });
});

describe('WorkflowStep.expressStateMachine', () => {
  const { definition, json } = pipelineStack({}, (s) => ({ steps: [WorkflowStep.expressStateMachine(expressMachine(s, 'Review'), { outcomes: [Outcome.FLAGGED, Outcome.ERROR] })] }));

  test('starts the machine synchronously through the AWS SDK integration inside a Parallel that is retried as a whole', () => {
    expect(definition.States['Step-Review-Input']).toMatchObject({ Parameters: { 'step': 'Review', 'result.$': '$.result' }, ResultPath: '$.stepInput' });
    const run = definition.States['Step-Review'];
    expect(run).toMatchObject({
      Type: 'Parallel',
      ResultSelector: { 'value.$': '$[0].value' },
      ResultPath: '$.stepAnswer',
      Next: 'Step-Review-Measure',
      Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2, IntervalSeconds: 1, BackoffRate: 2 }],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.stepError', Next: 'Step-Review-Failed' }],
    });
    const branch = run.Branches[0];
    expect(branch.StartAt).toBe('Step-Review-Start');
    expect(branch.States['Step-Review-Start']).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:sfn:startSyncExecution',
      Parameters: { 'StateMachineArn': expect.stringMatching(/:stateMachine:Review/), 'Input.$': 'States.JsonToString($.stepInput)' },
      TimeoutSeconds: 10,
      ResultPath: '$',
      Next: 'Step-Review-Status',
    });
    // StartSyncExecution answers FAILED rather than failing: the branch fails with the execution's error, so the retry applies.
    expect(branch.States['Step-Review-Status'].Choices.map((c: any) => c.Next)).toEqual(['Step-Review-Output', 'Step-Review-ExecutionFailed']);
    expect(branch.States['Step-Review-Status'].Default).toBe('Step-Review-EndedCause');
    expect(branch.States['Step-Review-ExecutionFailed']).toEqual({ Type: 'Fail', ErrorPath: '$.Error', CausePath: '$.Cause' });
    expect(branch.States['Step-Review-ExecutionEnded']).toMatchObject({ Type: 'Fail', Error: 'ExecutionFailed', CausePath: '$.cause' });
    expect(branch.States['Step-Review-Output']).toMatchObject({ Parameters: { 'value.$': 'States.StringToJson($.Output)' }, End: true });
  });

  test('a step for ERROR: the error paths go through the steps, and ERROR images leave them for the alerts', () => {
    expect(definition.States.ClassificationFailed.Next).toBe('InitSteps');
    expect(definition.States.InvalidInput.Next).toBe('InitSteps');
    expect(definition.States.AfterSteps).toMatchObject({ Choices: [{ Variable: '$.result.outcome', StringEquals: 'ERROR', Next: 'RouteAlerts' }], Default: 'ShouldTag' });
    expect(definition.States['Step-Review-Failed'].Choices[0]).toMatchObject({ StringEquals: 'ERROR', Next: 'Step-Review-FailedOnError' });
  });

  test('the state machine may start exactly this machine\'s executions', () => {
    const review = { Ref: findResource(json, 'AWS::StepFunctions::StateMachine', 'Review') };
    const start = statementsWith(json, 'states:StartSyncExecution').filter((s) => JSON.stringify(s.Resource).includes(review.Ref));
    expect(start).toEqual([{ Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: review }]);
  });
});

describe('WorkflowStep.override', () => {
  const { definition } = pipelineStack({}, (s) => ({
    steps: [WorkflowStep.override(WorkflowStep.lambda(importedFunction(s, 'SecondModel'), { outcomes: [Outcome.FLAGGED] }), { allowedOutcomes: [Outcome.ACCEPTED] })],
  }));

  test('a changed, allowed outcome with a reason is applied by a JSONata Pass state; any other change fails the step', () => {
    const check = definition.States['Step-SecondModel-CheckOverride'];
    expect(check.Choices.map((c: any) => c.Next)).toEqual(['Step-SecondModel-Override', 'Step-SecondModel-InvalidOverride']);
    expect(check.Default).toBe('ShouldTag');
    expect(JSON.stringify(check.Choices[0])).toContain('"StringEquals":"ACCEPTED"');
    expect(definition.States['Step-SecondModel-Override']).toMatchObject({ Type: 'Pass', QueryLanguage: 'JSONata', Next: 'ShouldTag' });
    expect(definition.States['Step-SecondModel-Override'].Output).toContain('"overrides"');
    expect(definition.States['Step-SecondModel-InvalidOverride']).toMatchObject({ Parameters: { Error: 'InvalidOverride' }, Next: 'Step-SecondModel-StepFailed' });
  });

  test('cannot wrap an override', () => {
    expect(() => WorkflowStep.override(WorkflowStep.override(WorkflowStep.lambda(lambda.Function.fromFunctionName(new Stack(), 'F', 'f')))))
      .toThrow(/already overrides/);
  });
});

describe('definitions with steps are valid ASL (asl-validator and AWS\'s language service)', () => {
  const steps = (s: Stack) => [
    WorkflowStep.lambda(importedFunction(s, 'Enrich')),
    WorkflowStep.override(WorkflowStep.lambda(importedFunction(s, 'Confirm'), { outcomes: [Outcome.FLAGGED] })),
    WorkflowStep.expressStateMachine(expressMachine(s, 'Review'), { outcomes: [Outcome.ERROR, Outcome.LOW_CONFIDENCE], timeout: Duration.seconds(5) }),
  ];
  test.each<[string, Partial<ImageClassificationPipelineProps>]>([
    ['SageMaker', {}],
    ['Rekognition', { classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'] }), classLabels: undefined, flaggedLabels: ['Truck'] }],
    ['bulk inline', { bulkMode: BulkMode.inline() }],
    ['bulk distributed', { bulkMode: BulkMode.distributed() }],
    ['STANDARD workflow', { workflowType: sfn.StateMachineType.STANDARD }],
  ])('%s', async (_name, props) => {
    const { json } = pipelineStack(props, (s) => ({ steps: steps(s) }));
    const machines = definitions(json);
    const pipelineMachines = Object.entries(machines).filter(([id]) => id.startsWith('Ics'));
    expect(pipelineMachines.length).toBeGreaterThan(0);
    for (const [id, definition] of pipelineMachines) {
      const result = aslValidator(definition);
      expect([id, result.errorsText()]).toEqual([id, '']);
      expect([id, await awsAslDiagnostics(definition)]).toEqual([id, []]);
      // Every definition of the pipeline (the bulk item processors included, whose state names a distributed map prefixes) runs the steps.
      expect([id, /"(\w+:)?Step-Enrich"/.test(JSON.stringify(definition))]).toEqual([id, true]);
    }
  });
});

describe('validation: every problem with the steps in one error', () => {
  const invalid = (props: Partial<ImageClassificationPipelineProps>, configure: (s: Stack) => Partial<ImageClassificationPipelineProps>) => {
    try {
      pipelineStack(props, configure);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected the props to be refused');
  };

  test('names, outcomes that never occur, override rules, Standard machines, retries', () => {
    const message = invalid({ flaggedLabels: [] }, (s) => ({
      steps: [
        WorkflowStep.lambda(importedFunction(s, 'A'), { name: 'same' }),
        WorkflowStep.lambda(importedFunction(s, 'B'), { name: 'same', timeout: Duration.seconds(1) }),
        WorkflowStep.lambda(importedFunction(s, 'C'), { name: 'not-valid', timeout: Duration.seconds(1) }),
        WorkflowStep.lambda(importedFunction(s, 'D'), { outcomes: [Outcome.FLAGGED], timeout: Duration.seconds(1) }),
        WorkflowStep.override(WorkflowStep.lambda(importedFunction(s, 'E'), { outcomes: [Outcome.ERROR], timeout: Duration.seconds(1) }), { allowedOutcomes: [Outcome.ERROR] }),
        WorkflowStep.expressStateMachine(new sfn.StateMachine(s, 'Std', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(s, 'P')) }), { timeout: Duration.seconds(1) }),
        WorkflowStep.lambda(importedFunction(s, 'G'), { timeout: Duration.millis(1500), retry: { maxAttempts: -1, interval: Duration.millis(10), backoffRate: 0.5 } }),
      ],
    }));
    expect(message).toContain('steps must have unique names; repeated: same');
    expect(message).toContain('steps[2] (not-valid): the name must be 1 to 40 letters, digits and _');
    expect(message).toContain('steps[3] (D): runs for FLAGGED, which never occurs (no label is flagged)');
    expect(message).toContain('steps[4] (E): an override step cannot run for ERROR images');
    expect(message).toContain('steps[4] (E): override allowedOutcomes cannot include ERROR');
    expect(message).toContain('steps[5] (Std): the state machine is STANDARD');
    expect(message).toContain('steps[6] (G): timeout must be a whole number of seconds');
    expect(message).toContain('steps[6] (G): retry maxAttempts must be a non-negative integer, got -1');
    expect(message).toContain('steps[6] (G): retry interval must be a whole number of seconds');
    expect(message).toContain('steps[6] (G): retry backoffRate must be at least 1, got 0.5');
  });

  test('an outcome an earlier override can produce is one a later step may run for', () => {
    expect(() => pipelineStack({ flaggedLabels: [] }, (s) => ({
      steps: [
        WorkflowStep.override(WorkflowStep.lambda(importedFunction(s, 'Escalate'), { outcomes: [Outcome.LOW_CONFIDENCE] }), { allowedOutcomes: [Outcome.FLAGGED] }),
        WorkflowStep.lambda(importedFunction(s, 'Ticket'), { outcomes: [Outcome.FLAGGED] }),
      ],
    }))).not.toThrow();
  });

  test('the worst case of every step must fit Express\'s 5 minutes; STANDARD has no such limit', () => {
    const fourSteps = (s: Stack) => ({ steps: ['A', 'B', 'C', 'D'].map((id) => WorkflowStep.lambda(importedFunction(s, id))) });
    expect(invalid({}, fourSteps)).toContain('steps can take 132 seconds together');
    expect(() => pipelineStack({ workflowType: sfn.StateMachineType.STANDARD }, fourSteps)).not.toThrow();
  });

  test('at most 10 steps', () => {
    expect(invalid({ workflowType: sfn.StateMachineType.STANDARD }, (s) => ({
      steps: Array.from({ length: 11 }, (_, i) => WorkflowStep.lambda(importedFunction(s, `S${i}`))),
    }))).toContain('steps: at most 10, got 11');
  });
});

describe('presets accept steps like every other option', () => {
  test.each([
    ['BankSecurityPipeline', (s: Stack, steps: WorkflowStep[]) => new BankSecurityPipeline(s, 'Bank', { classifier: Classifier.sagemakerEndpoint({ endpointName: 'v' }), steps })],
    ['SchoolModerationPipeline', (s: Stack, steps: WorkflowStep[]) => new SchoolModerationPipeline(s, 'School', { steps })],
  ])('%s', (_name, build) => {
    const stack = new Stack(new App(), 'Preset', { env: { account: '111111111111', region: 'eu-west-1' } });
    build(stack, [WorkflowStep.lambda(importedFunction(stack, 'Enrich'))]);
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const machine = Object.keys(json.Resources).find((id) => json.Resources[id].Type === 'AWS::StepFunctions::StateMachine' && !id.includes('Bulk'))!;
    expect(Object.keys(stateMachineDefinition(json, machine).States)).toContain('Step-Enrich');
  });
});
