import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SdkTaskState } from './rekognition-classify';
import { WorkflowStep, WorkflowStepConfig, WorkflowStepKind } from './steps';
import { TagKey } from '../handlers/object-actions';
import { Outcome } from '../outcomes';

/** Error names of failed steps, in results and alerts. */
export const StepErrorName = {
  /** The image's error when a step failed after its retries (`error.step` names it). */
  STEP_FAILED: 'StepFailed',
  /** The step answered more than `WorkflowStep.MAX_OUTPUT_CHARACTERS` characters of JSON. */
  OUTPUT_TOO_LARGE: 'StepOutputTooLarge',
  /** An override step answered an outcome it may not choose, or no reason. */
  INVALID_OVERRIDE: 'InvalidOverride',
  /** An Express step's execution failed or timed out without an error name. */
  EXECUTION_FAILED: 'ExecutionFailed',
} as const;

/** States shared by every step. */
export const StepStateName = {
  INIT: 'InitSteps',
  AFTER: 'AfterSteps',
  MARK_ERROR: 'MarkStepError',
} as const;

/** The state of step `step` for `part` (`Step-<name>-<part>`), or its task (`Step-<name>`). */
export const stepStateName = (step: string, part?: string) => (part ? `Step-${step}-${part}` : `Step-${step}`);

/** A step's task state name → the step's name (a distributed bulk item's states carry a `<label>:` prefix). */
export const STEP_TASK_STATE = /^(?:[A-Za-z]+:)?Step-([A-Za-z][A-Za-z0-9_]*)$/;

/** Where a step's answer waits to be measured (`{ value }`: any JSON, `null` included). */
const ANSWER = '$.stepAnswer';

export interface StepStatesProps {
  readonly steps: WorkflowStepConfig[];
  /** Where classified images go after the last step: the actions. */
  readonly actions: sfn.State;
  /** Where ERROR images go: the alert routing (then audit, result event, finish). */
  readonly routeAlerts: sfn.State;
}

export interface StepStates {
  /** The first state: classified outcomes (and ERROR, when `runsOnError`) enter here. */
  readonly start: sfn.State;
  /** Some step runs for ERROR images: the error paths go through the steps too. */
  readonly runsOnError: boolean;
}

/**
 * Your own steps, in order, between the decision and the actions. Each runs when the image's outcome (as it stands
 * when the step is reached) is one it runs for; its answer is measured, then stored under `result.steps.<name>`.
 * A classified image whose step fails after its retries becomes ERROR `StepFailed` and goes to the alerts, as a failed
 * action does; an ERROR image keeps its error and records the step's under `result.stepErrors.<name>`.
 */
export function stepStates(scope: Construct, props: StepStatesProps): StepStates {
  const runsOnError = props.steps.some((s) => s.outcomes.includes(Outcome.ERROR));
  let next: sfn.State = runsOnError
    ? new sfn.Choice(scope, StepStateName.AFTER, { comment: 'ERROR images (from the error paths or a failed step) skip the actions.' })
      .when(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR), props.routeAlerts)
      .otherwise(props.actions)
    : props.actions;
  const markError = (): sfn.State => {
    const existing = scope.node.tryFindChild(StepStateName.MARK_ERROR) as sfn.Pass | undefined;
    if (existing) return existing;
    return then(new sfn.Pass(scope, StepStateName.MARK_ERROR, {
      comment: 'A step failed after retries: the image ends as ERROR (StepFailed), alerted and audited.',
      result: sfn.Result.fromString(Outcome.ERROR),
      resultPath: '$.result.outcome',
    }), props.routeAlerts);
  };
  for (const step of [...props.steps].reverse()) next = oneStep(scope, step, next, markError);
  const start = then(new sfn.Pass(scope, StepStateName.INIT, {
    comment: 'Each step\'s answer goes under result.steps.<name>.',
    result: sfn.Result.fromObject({}),
    resultPath: '$.result.steps',
  }), next);
  return { start, runsOnError };
}

function oneStep(scope: Construct, step: WorkflowStepConfig, next: sfn.State, markError: () => sfn.State): sfn.State {
  const { name } = step;
  const state = (part?: string) => stepStateName(name, part);

  // Failure: `$.stepError` holds { Error, Cause } (a Catch's output, or one of the named failures below).
  const stepFailed = then(new sfn.Pass(scope, state('StepFailed'), {
    parameters: {
      name: StepErrorName.STEP_FAILED,
      step: name,
      cause: sfn.JsonPath.format('{}: {}', sfn.JsonPath.stringAt('$.stepError.Error'), sfn.JsonPath.stringAt('$.stepError.Cause')),
    },
    resultPath: '$.result.error',
  }), markError());
  let failed: sfn.State = stepFailed;
  if (step.outcomes.includes(Outcome.ERROR)) {
    const onError = then(sfn.Pass.jsonata(scope, state('FailedOnError'), {
      comment: 'The image is ERROR already: keep its error, record the step\'s.',
      outputs: `{% ${oneLine(recordStepErrorExpression(name))} %}`,
    }), next);
    failed = new sfn.Choice(scope, state('Failed'))
      .when(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR), onError)
      .otherwise(stepFailed);
  }
  const fail = (part: string, error: string, cause: string) => then(new sfn.Pass(scope, state(part), {
    parameters: { Error: error, Cause: cause },
    resultPath: '$.stepError',
  }), failed);

  // The answer: measured, stored, then (override steps) applied.
  let afterRecord: sfn.State = next;
  if (step.overrideOutcomes) afterRecord = overrideStates(scope, name, step.overrideOutcomes, next, fail);
  const record = then(new sfn.Pass(scope, state('Record'), { inputPath: `${ANSWER}.value`, resultPath: `$.result.steps.${name}` }), afterRecord);
  const tooLarge = fail('TooLarge', StepErrorName.OUTPUT_TOO_LARGE,
    sfn.JsonPath.format(`The answer takes {} characters of JSON; at most ${WorkflowStep.MAX_OUTPUT_CHARACTERS} are kept`,
      sfn.JsonPath.stringAt('$.stepAnswerCharacters')));
  const measure = then(sfn.Pass.jsonata(scope, state('Measure'), {
    comment: `Characters of the answer as JSON (at most ${WorkflowStep.MAX_OUTPUT_CHARACTERS}).`,
    outputs: '{% $merge([$states.input, {"stepAnswerCharacters": $exists($states.input.stepAnswer.value) ? $length($string($states.input.stepAnswer.value)) : 0}]) %}',
  }), new sfn.Choice(scope, state('CheckSize'))
    .when(sfn.Condition.numberGreaterThan('$.stepAnswerCharacters', WorkflowStep.MAX_OUTPUT_CHARACTERS), tooLarge)
    .otherwise(record));

  const timeoutSeconds = step.timeout.toSeconds();
  let first: sfn.State;
  // The state that is retried and caught: the function's task, or the Parallel that runs an Express step.
  let guarded: SdkTaskState | sfn.Parallel;
  if (step.kind === WorkflowStepKind.LAMBDA) {
    const fn = step.lambdaFunction!;
    const task = new SdkTaskState(scope, state(), {
      Type: 'Task',
      Comment: `Your step "${name}": invokes the function with { step, result }; its answer goes under result.steps.${name}.`,
      Resource: fn.functionArn,
      Parameters: { 'step': name, 'result.$': '$.result' },
      TimeoutSeconds: timeoutSeconds,
      ResultSelector: { 'value.$': '$' },
      ResultPath: ANSWER,
    }, [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] })]);
    task.next(measure);
    guarded = task;
    first = task;
  } else {
    const input = new sfn.Pass(scope, state('Input'), {
      parameters: { step: name, result: sfn.JsonPath.objectAt('$.result') },
      resultPath: '$.stepInput',
    });
    const run = expressRun(scope, step, state, timeoutSeconds);
    run.next(measure);
    input.next(run);
    guarded = run;
    first = input;
  }
  if (step.maxAttempts > 0) {
    guarded.addRetry({
      errors: [sfn.Errors.ALL],
      maxAttempts: step.maxAttempts,
      interval: step.interval,
      backoffRate: step.backoffRate,
    });
  }
  guarded.addCatch(failed, { errors: [sfn.Errors.ALL], resultPath: '$.stepError' });

  const runs = step.outcomes.map((o) => sfn.Condition.stringEquals('$.result.outcome', o));
  return new sfn.Choice(scope, state('ShouldRun'), { comment: `Step "${name}" runs for ${step.outcomes.join(', ')}.` })
    .when(runs.length === 1 ? runs[0] : sfn.Condition.or(...runs), first)
    .otherwise(next);
}

/**
 * An override step's answer: an `outcome` other than the current one, allowed and with a non-empty string `reason`,
 * becomes the image's outcome (recorded in `result.overrides`, the outcome tag rewritten); any other `outcome` fails
 * the step (`InvalidOverride`); no `outcome`, or the current one, changes nothing.
 */
function overrideStates(
  scope: Construct, name: string, allowed: Outcome[], next: sfn.State,
  fail: (part: string, error: string, cause: string) => sfn.State,
): sfn.State {
  const answer = `$.result.steps.${name}`;
  const outcome = `${answer}.outcome`;
  const reason = `${answer}.reason`;
  const changes = sfn.Condition.and(
    sfn.Condition.isPresent(outcome),
    sfn.Condition.or(sfn.Condition.not(sfn.Condition.isString(outcome)), sfn.Condition.not(sfn.Condition.stringEqualsJsonPath(outcome, '$.result.outcome'))),
  );
  const allowedOutcome = allowed.map((o) => sfn.Condition.stringEquals(outcome, o));
  const valid = sfn.Condition.and(
    sfn.Condition.isString(outcome),
    allowedOutcome.length === 1 ? allowedOutcome[0] : sfn.Condition.or(...allowedOutcome),
    sfn.Condition.isPresent(reason),
    sfn.Condition.isString(reason),
    sfn.Condition.not(sfn.Condition.stringEquals(reason, '')),
  );
  const apply = then(sfn.Pass.jsonata(scope, stepStateName(name, 'Override'), {
    comment: 'The new outcome, recorded in result.overrides with its reason; the outcome tag follows it.',
    outputs: `{% ${oneLine(overrideExpression(name))} %}`,
  }), next);
  const invalid = fail('InvalidOverride', StepErrorName.INVALID_OVERRIDE,
    `The answer's "outcome" must be one of ${allowed.join(', ')}, with a non-empty string "reason"`);
  return new sfn.Choice(scope, stepStateName(name, 'CheckOverride'))
    .when(sfn.Condition.and(changes, valid), apply)
    .when(changes, invalid)
    .otherwise(next);
}

/** An expression on one line (the ASL schema's JSONata pattern does not span lines). */
const oneLine = (expression: string) => expression.replace(/\s*\n\s*/g, ' ');

/** `state`, followed by `next`. */
/**
 * An Express step: a Parallel state with one branch that starts the execution and turns a failed one into the branch's
 * failure. StartSyncExecution answers (rather than fails) when the execution fails, so without the branch a failed
 * execution could not be retried; with it the Parallel fails with the execution's error and the step's retries apply.
 * The Parallel's result is the execution's output, as `{ value }`.
 */
function expressRun(scope: Construct, step: WorkflowStepConfig, state: (part?: string) => string, timeoutSeconds: number): sfn.Parallel {
  const { name } = step;
  const machine = step.stateMachine!;
  const start = new SdkTaskState(scope, state('Start'), {
    Type: 'Task',
    Comment: `Your step "${name}": runs the Express state machine with { step, result } and waits for its output.`,
    Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:sfn:startSyncExecution`,
    Parameters: { 'StateMachineArn': machine.stateMachineArn, 'Input.$': 'States.JsonToString($.stepInput)' },
    TimeoutSeconds: timeoutSeconds,
    // The answer: Status, and Output or Error and Cause.
    ResultPath: '$',
  }, [new iam.PolicyStatement({ actions: ['states:StartSyncExecution'], resources: [machine.stateMachineArn] })]);
  const output = new sfn.Pass(scope, state('Output'), { parameters: { value: sfn.JsonPath.stringToJson(sfn.JsonPath.stringAt('$.Output')) } });
  // The execution's own error and cause when it has both; otherwise its status.
  const withError = new sfn.Fail(scope, state('ExecutionFailed'), { errorPath: '$.Error', causePath: '$.Cause' });
  const ended = new sfn.Pass(scope, state('EndedCause'), {
    parameters: { cause: sfn.JsonPath.format('The execution {} ended {}', sfn.JsonPath.stringAt('$.ExecutionArn'), sfn.JsonPath.stringAt('$.Status')) },
  }).next(new sfn.Fail(scope, state('ExecutionEnded'), { error: StepErrorName.EXECUTION_FAILED, causePath: '$.cause' }));
  start.next(new sfn.Choice(scope, state('Status'))
    .when(sfn.Condition.stringEquals('$.Status', 'SUCCEEDED'), output)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.Error'), sfn.Condition.isPresent('$.Cause')), withError)
    .otherwise(ended));
  return new sfn.Parallel(scope, state(), {
    comment: `Your step "${name}": its Express execution, retried as a whole when it fails.`,
    resultSelector: { 'value.$': '$[0].value' },
    resultPath: ANSWER,
  }).branch(start);
}

function then<T extends sfn.State & sfn.INextable>(state: T, next: sfn.IChainable): T {
  state.next(next);
  return state;
}

/** JSONata: the state with the step's answer's outcome applied and recorded. `name` is a step name (letters, digits, `_`). */
export function overrideExpression(name: string): string {
  return `(
  $in := $states.input;
  $answer := $lookup($in.result.steps, "${name}");
  $entry := {"step": "${name}", "previousOutcome": $in.result.outcome, "outcome": $answer.outcome, "reason": $answer.reason};
  $merge([$in, {
    "result": $merge([$in.result, {
      "outcome": $answer.outcome,
      "overrides": $append($exists($in.result.overrides) ? $in.result.overrides : [], [$entry])
    }])
  }, $exists($in.actions.tagSet) ? {
    "actions": $merge([$in.actions, {
      "tagSet": $map($in.actions.tagSet, function($t) { $t.Key = "${TagKey.OUTCOME}" ? {"Key": $t.Key, "Value": $answer.outcome} : $t })
    }])
  } : {}])
)`;
}

/** JSONata: the state with `$.stepError` recorded under `result.stepErrors.<name>`. */
function recordStepErrorExpression(name: string): string {
  return `(
  $in := $states.input;
  $merge([$in, {
    "result": $merge([$in.result, {
      "stepErrors": $merge([$exists($in.result.stepErrors) ? $in.result.stepErrors : {}, {"${name}": {"error": $in.stepError.Error, "cause": $in.stepError.Cause}}])
    }])
  }])
)`;
}
