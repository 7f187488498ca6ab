import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { sdkIntegrationErrorNames, sdkIntegrationServiceName } from '../../local/src/integration-errors';
import { CfnTemplate, stateMachineDefinition } from '../../local/src/template-resolver';
import {
  BankSecurityPipeline, BulkMode, Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion,
  LogisticsDamagePipeline, Outcome, ProductTaggingPipeline, REKOGNITION_ERROR_NAMES, SchoolModerationPipeline, WorkflowStep,
} from '../../src';
import { ErrorName } from '../../src/handlers/errors';
import { icsProps } from '../stacks';

/**
 * Every Retry and Catch of every state machine any configuration synthesizes names errors that can happen: a
 * name AWS never emits (`S3.SlowDown`, or `S3.SlowDownException`: SlowDown is not in the S3 model, so it arrives
 * as `S3.S3Exception`) makes a retry that never fires.
 */

/** Step Functions' own error names (Amazon States Language; Distributed Map and JSONata errors included). */
const STATES_ERRORS = new Set([
  'States.ALL', 'States.Timeout', 'States.TaskFailed', 'States.Permissions', 'States.HeartbeatTimeout', 'States.ResultPathMatchFailure',
  'States.ParameterPathFailure', 'States.BranchFailed', 'States.NoChoiceMatched', 'States.IntrinsicFailure', 'States.QueryEvaluationError',
  'States.ExceedToleratedFailureThreshold', 'States.ItemReaderFailed', 'States.ResultWriterFailed', 'States.DataLimitExceeded', 'States.Runtime',
]);

/**
 * What a Lambda task can report: Lambda's service errors as Step Functions documents them for `lambda:invoke`
 * (the ones its guide says to retry, plus `ClientExecutionTimeoutException` and `Unknown`), the runtime's timeout,
 * and the names the bundled handlers throw (the classify function's {@link ErrorName}; the summarize function throws
 * no named errors, and the dispatch function's `RetryLater` goes to SQS, not to a state machine).
 */
const LAMBDA_ERRORS = new Set([
  'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException', 'Lambda.Unknown', 'Sandbox.Timedout',
  ...Object.values(ErrorName),
]);

/** `<Prefix>.<Name>Exception`: the form of AWS SDK integration errors and of optimized integrations' SDK errors. */
const exceptionOf = (prefix: string) => new RegExp(`^${prefix}\\.[A-Z][A-Za-z0-9]*Exception$`);

/**
 * The errors a Task state's integration can report, from its Resource ARN. AWS SDK integrations of the services the
 * kit knows: the codes the service's SDK model defines, its base exception (`S3.S3Exception`, for any code the model
 * does not define: recorded on AWS as `DynamoDb.DynamoDbException`, `SecretsManager.SecretsManagerException` in
 * LocalStack's error_handling/test_aws_sdk.snapshot.json) and `SdkClientException`; other services: the name's form.
 */
function taskErrors(resource: string): { form: string; accepts: (name: string) => boolean } {
  const sdk = /^arn:[\w-]+:states:::aws-sdk:([\w-]+):\w+(\.\w+)?$/.exec(resource);
  if (sdk) {
    const known = sdkIntegrationErrorNames(sdk[1]);
    if (known) return { form: `aws-sdk:${sdk[1]} (its SDK model's errors, ${known.at(-2)}, ${known.at(-1)})`, accepts: (n) => known.includes(n) };
    const re = exceptionOf(sdkIntegrationServiceName(sdk[1]));
    return { form: `aws-sdk:${sdk[1]} (${re.source})`, accepts: (n) => re.test(n) };
  }
  if (/^arn:[\w-]+:states:::lambda:invoke(\.\w+)?$/.test(resource) || /^arn:[\w-]+:lambda:/.test(resource)) {
    return { form: 'lambda:invoke (documented Lambda.* and handler errors)', accepts: (n) => LAMBDA_ERRORS.has(n) };
  }
  const optimized: Record<string, string> = { 'sns:publish': 'SNS', 'events:putEvents': 'EventBridge' };
  const op = /^arn:[\w-]+:states:::([\w-]+:\w+)(\.\w+)?$/.exec(resource)?.[1];
  if (op && optimized[op]) {
    const re = exceptionOf(optimized[op]);
    // A PutEvents response with a non-zero FailedEntryCount fails the task `EventBridge.FailedEntry`, no suffix
    // (Step Functions Developer Guide, "Add EventBridge events with Step Functions").
    const own = op === 'events:putEvents' ? ['EventBridge.FailedEntry'] : [];
    return { form: `${op} (${re.source})`, accepts: (n) => re.test(n) || own.includes(n) };
  }
  return { form: `${resource} (only States.* known)`, accepts: () => false };
}

/** The states of a graph: top level, Parallel branches, Map iterators and item processors (inline and distributed). */
function childGraphs(state: any): any[] {
  return [...(state.Branches ?? []), ...(state.Iterator ? [state.Iterator] : []), ...(state.ItemProcessor ? [state.ItemProcessor] : [])];
}

/** Whether `name` can come out of a graph: its Fail states' errors and its tasks' errors (nested graphs included). */
function graphEmits(graph: any, name: string): boolean {
  return Object.values<any>(graph.States ?? {}).some((s) => (s.Type === 'Fail' && s.Error === name)
    || (s.Type === 'Task' && taskErrors(s.Resource).accepts(name))
    || childGraphs(s).some((g) => graphEmits(g, name)));
}

/** Every ErrorEquals name that the state it is on cannot report, as `machine › state: Retry|Catch name — expected`. */
function impossibleErrorNames(machine: string, graph: any, path: string[] = []): string[] {
  const found: string[] = [];
  for (const [name, state] of Object.entries<any>(graph.States ?? {})) {
    const where = [...path, name].join(' › ');
    for (const field of ['Retry', 'Catch'] as const) {
      for (const error of (state[field] ?? []).flatMap((r: any) => r.ErrorEquals as string[])) {
        if (error.startsWith('States.')) {
          if (!STATES_ERRORS.has(error)) found.push(`${machine} › ${where}: ${field} ${error} — not a Step Functions error`);
        } else if (state.Type === 'Task') {
          const { form, accepts } = taskErrors(state.Resource);
          if (!accepts(error)) found.push(`${machine} › ${where}: ${field} ${error} — expected ${form}`);
        } else if (!childGraphs(state).some((g) => graphEmits(g, error))) {
          found.push(`${machine} › ${where}: ${field} ${error} — no state inside ${state.Type} can report it`);
        }
      }
    }
    childGraphs(state).forEach((g, i) => found.push(...impossibleErrorNames(machine, g, [...path, `${name}[${i}]`])));
  }
  return found;
}

/** Every state machine definition of a stack, by logical ID. */
function synthDefinitions(build: (stack: Stack) => ImageClassificationPipeline): Array<[string, any]> {
  const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  return Object.entries(json.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => [id, stateMachineDefinition(json, id)]);
}

const pipeline = (props: Partial<ImageClassificationPipelineProps>, configure?: (stack: Stack) => Partial<ImageClassificationPipelineProps>) =>
  (stack: Stack) => new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props, ...configure?.(stack) });

const BACKENDS: Record<string, Partial<ImageClassificationPipelineProps>> = {
  sagemaker: {},
  rekognitionLabels: { classifier: Classifier.rekognitionLabels(), classLabels: undefined, flaggedLabels: undefined },
  rekognitionModeration: { classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined },
};
// Queued ingestion runs Express executions only.
const INGESTION: Record<string, Partial<ImageClassificationPipelineProps>> = {
  expressQueued: { workflowType: sfn.StateMachineType.EXPRESS, ingestion: Ingestion.queued() },
  expressDirect: { workflowType: sfn.StateMachineType.EXPRESS, ingestion: Ingestion.direct() },
  standardDirect: { workflowType: sfn.StateMachineType.STANDARD, ingestion: Ingestion.direct() },
};
const BULK: Record<string, Partial<ImageClassificationPipelineProps>> = {
  none: {},
  inline: { bulkMode: BulkMode.inline() },
  inlineAlertPerItem: { bulkMode: BulkMode.inline({ alertPerItem: true }) },
  distributed: { bulkMode: BulkMode.distributed() },
  distributedBatched: { bulkMode: BulkMode.distributed({ itemBatchSize: 10, alertPerItem: true }) },
};
/** Every action and every alert route on: tag, quarantine, audit, result event, an alert chain per outcome. */
const allActions = (stack: Stack): Partial<ImageClassificationPipelineProps> => ({
  tagObjects: true,
  inputPrefix: 'uploads/',
  quarantine: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
  auditTrail: { enabled: true },
  resultEvents: { enabled: true },
  alerts: [{ topic: new sns.Topic(stack, 'Alerts'), outcomes: [Outcome.FLAGGED, Outcome.ACCEPTED, Outcome.LOW_CONFIDENCE, Outcome.ERROR] }],
});

const configurations: Array<[string, (stack: Stack) => ImageClassificationPipeline]> = [];
for (const [backend, b] of Object.entries(BACKENDS)) {
  for (const [ingestion, i] of Object.entries(INGESTION)) {
    configurations.push([`${backend} ${ingestion} defaults`, pipeline({ ...b, ...i })]);
    configurations.push([`${backend} ${ingestion} tagObjects off`, pipeline({ ...b, ...i, tagObjects: false })]);
    for (const [bulk, m] of Object.entries(BULK)) {
      configurations.push([`${backend} ${ingestion} bulk ${bulk}, all actions`, pipeline({ ...b, ...i, ...m }, allActions)]);
    }
  }
}
const endpoint = () => Classifier.sagemakerEndpoint({ endpointName: 'model' });
configurations.push(
  ['your own steps (Lambda, override, Express state machine)', pipeline({}, (stack) => ({
    steps: [
      WorkflowStep.lambda(lambda.Function.fromFunctionName(stack, 'Enrich', 'enrich')),
      WorkflowStep.override(WorkflowStep.lambda(lambda.Function.fromFunctionName(stack, 'Confirm', 'confirm'), { outcomes: [Outcome.FLAGGED] })),
      WorkflowStep.expressStateMachine(sfn.StateMachine.fromStateMachineName(stack, 'Review', 'review'), { outcomes: [Outcome.ERROR] }),
    ],
  }))],
  ['BankSecurityPipeline', (s) => new BankSecurityPipeline(s, 'Bank', { classifier: endpoint(), securityEmails: ['soc@bank.example'] })],
  ['BankSecurityPipeline bulk distributed', (s) => new BankSecurityPipeline(s, 'Bank', { classifier: endpoint(), bulkMode: BulkMode.distributed() })],
  ['SchoolModerationPipeline', (s) => new SchoolModerationPipeline(s, 'School', { adminEmails: ['it@school.example'] })],
  ['SchoolModerationPipeline bulk inline', (s) => new SchoolModerationPipeline(s, 'School', { bulkMode: BulkMode.inline() })],
  ['SchoolModerationPipeline with an endpoint', (s) => new SchoolModerationPipeline(s, 'School', { classifier: endpoint(), classLabels: ['ok', 'nsfw'], flaggedLabels: ['nsfw'] })],
  ['LogisticsDamagePipeline', (s) => new LogisticsDamagePipeline(s, 'Depot', { classifier: endpoint(), operationsEmails: ['ops@depot.example'] })],
  ['ProductTaggingPipeline', (s) => new ProductTaggingPipeline(s, 'Shop', { categories: ['Shoe', 'Handbag'] })],
  ['ProductTaggingPipeline bulk distributed', (s) => new ProductTaggingPipeline(s, 'Shop', { categories: ['Shoe'], bulkMode: BulkMode.distributed({ itemBatchSize: 5 }) })],
  ['ProductTaggingPipeline with an endpoint', (s) => new ProductTaggingPipeline(s, 'Shop', { classifier: endpoint(), categories: ['shoe', 'bag'] })],
);

describe('every Retry and Catch names errors its state can report', () => {
  /** Integrations (or state types) that retry or catch, over every configuration checked. */
  const seen = new Set<string>();
  const visit = (graph: any) => Object.values<any>(graph.States ?? {}).forEach((s) => {
    if (s.Retry || s.Catch) seen.add(s.Type === 'Task' ? taskErrors(s.Resource).form.split(' ')[0] : s.Type);
    childGraphs(s).forEach(visit);
  });

  test.each(configurations)('%s', (_name, build) => {
    const definitions = synthDefinitions(build);
    expect(definitions.length).toBeGreaterThan(0);
    definitions.forEach(([, d]) => visit(d));
    const found = definitions.flatMap(([id, definition]) => impossibleErrorNames(id, definition));
    expect(found).toEqual([]);
  });

  // After the configurations above (jest runs a file's tests in order): the walk reached every integration.
  test('the configurations reach every kind of state that retries or catches', () => {
    expect([...seen]).toEqual(expect.arrayContaining(['aws-sdk:rekognition', 'aws-sdk:s3', 'events:putEvents', 'lambda:invoke', 'sns:publish']));
  });

  test('the Rekognition path maps only names its tasks can report (Rekognition, and S3 via ReadObjectTags)', () => {
    const rekognition = taskErrors('arn:aws:states:::aws-sdk:rekognition:detectLabels');
    const s3 = taskErrors('arn:aws:states:::aws-sdk:s3:getObjectTagging');
    expect(Object.keys(REKOGNITION_ERROR_NAMES).filter((n) => !rekognition.accepts(n) && !s3.accepts(n))).toEqual([]);
  });

  test('putEvents reports EventBridge.FailedEntry; S3 names its unmodelled errors S3.S3Exception', () => {
    expect(taskErrors('arn:aws:states:::events:putEvents').accepts('EventBridge.FailedEntry')).toBe(true);
    const s3 = taskErrors('arn:aws:states:::aws-sdk:s3:getObjectTagging');
    expect(['S3.S3Exception', 'S3.NoSuchKeyException', 'S3.NoSuchBucketException', 'S3.SdkClientException'].every(s3.accepts)).toBe(true);
    expect(['S3.SlowDownException', 'S3.InternalErrorException', 'S3.ServiceUnavailableException'].some(s3.accepts)).toBe(false);
  });

  test('the check catches names AWS never emits, and names from the wrong service', () => {
    const definition = {
      States: {
        ReadTags: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:s3:getObjectTagging',
          Retry: [{ ErrorEquals: ['S3.SlowDown', 'S3.SlowDownException', 'S3.S3Exception', 'S3.NoSuchKeyException', 'States.Timeout'] }],
          Catch: [{ ErrorEquals: ['Rekognition.ThrottlingException', 'States.Timout'], Next: 'Done' }],
        },
        Classify: { Type: 'Task', Resource: 'arn:aws:lambda:eu-west-1:111111111111:function:f', Retry: [{ ErrorEquals: ['EndpointThrottled', 'Throttled'] }] },
        Items: {
          Type: 'Map',
          ItemProcessor: { States: { Fail: { Type: 'Fail', Error: 'ItemFailed' } } },
          Catch: [{ ErrorEquals: ['ItemFailed', 'Other'], Next: 'Done' }],
        },
        Done: { Type: 'Succeed' },
      },
    };
    expect(impossibleErrorNames('M', definition)).toEqual([
      'M › ReadTags: Retry S3.SlowDown — expected aws-sdk:s3 (its SDK model\'s errors, S3.S3Exception, S3.SdkClientException)',
      'M › ReadTags: Retry S3.SlowDownException — expected aws-sdk:s3 (its SDK model\'s errors, S3.S3Exception, S3.SdkClientException)',
      'M › ReadTags: Catch Rekognition.ThrottlingException — expected aws-sdk:s3 (its SDK model\'s errors, S3.S3Exception, S3.SdkClientException)',
      'M › ReadTags: Catch States.Timout — not a Step Functions error',
      'M › Classify: Retry Throttled — expected lambda:invoke (documented Lambda.* and handler errors)',
      'M › Items: Catch Other — no state inside Map can report it',
    ]);
  });
});
