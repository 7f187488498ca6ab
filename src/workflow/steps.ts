import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { IConstruct } from 'constructs';
import { Outcome } from '../outcomes';

/** The outcomes a step runs for unless told otherwise: every classified outcome, never ERROR. */
export const DEFAULT_STEP_OUTCOMES: readonly Outcome[] = [Outcome.FLAGGED, Outcome.ACCEPTED, Outcome.LOW_CONFIDENCE];

/** What runs a {@link WorkflowStep}. */
export enum WorkflowStepKind {
  /** A Lambda function, invoked synchronously with the result. */
  LAMBDA = 'LAMBDA',
  /** An Express state machine, run synchronously through the `aws-sdk:sfn:startSyncExecution` integration. */
  EXPRESS_STATE_MACHINE = 'EXPRESS_STATE_MACHINE',
}

/**
 * How a step is retried before the image ends as ERROR `StepFailed`. Every error of the step is retried (the
 * function's own errors, Lambda's service errors, the task timeout, a failed call to Step Functions).
 */
export interface WorkflowStepRetry {
  /**
   * Retries after the first attempt; 0 for none.
   *
   * @default 2
   */
  readonly maxAttempts?: number;

  /**
   * Wait before the first retry (whole seconds).
   *
   * @default Duration.seconds(1)
   */
  readonly interval?: Duration;

  /**
   * Multiplier of the wait for each further retry (at least 1).
   *
   * @default 2
   */
  readonly backoffRate?: number;
}

/** Options of a step: its name, the outcomes it runs for, its timeout and its retries. */
export interface WorkflowStepOptions {
  /**
   * The step's name: its answer is stored under `result.steps.<name>`, its states are named `Step-<name>...`, and a
   * failure names it (`error.step`). 1 to 40 letters, digits and underscores, starting with a letter; unique among
   * the pipeline's steps.
   *
   * @default - the construct ID of the function or state machine, without characters other than letters, digits and `_`
   */
  readonly name?: string;

  /**
   * The outcomes the step runs for, as decided when it is reached (after the steps before it, which may have
   * changed the outcome). Include `Outcome.ERROR` to run it for images that could not be classified too.
   *
   * @default [Outcome.FLAGGED, Outcome.ACCEPTED, Outcome.LOW_CONFIDENCE]
   */
  readonly outcomes?: Outcome[];

  /**
   * How long one attempt may take (the task's `TimeoutSeconds`). With an EXPRESS workflow every step's worst case
   * (all attempts timing out, with the waits between them) must fit in 120 seconds together, so that the execution
   * ends within Express's 5 minutes.
   *
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Retries before the image ends as ERROR `StepFailed`.
   *
   * @default - 2 retries, 1 second apart, doubling
   */
  readonly retry?: WorkflowStepRetry;
}

/** Options of {@link WorkflowStep.override}. */
export interface OutcomeOverrideOptions {
  /**
   * The outcomes the step may change an image to. An answer that names another outcome (or ERROR) fails the step
   * (`StepFailed`, cause `InvalidOverride`).
   *
   * @default [Outcome.FLAGGED, Outcome.ACCEPTED, Outcome.LOW_CONFIDENCE]
   */
  readonly allowedOutcomes?: Outcome[];
}

/** A step with every default applied: what the workflow builds its states from. */
export interface WorkflowStepConfig {
  /** What runs the step. */
  readonly kind: WorkflowStepKind;
  /** The step's name (`result.steps.<name>`). */
  readonly name: string;
  /** The outcomes it runs for. */
  readonly outcomes: Outcome[];
  /** Timeout of one attempt. */
  readonly timeout: Duration;
  /** Retries after the first attempt. */
  readonly maxAttempts: number;
  /** Wait before the first retry. */
  readonly interval: Duration;
  /** Multiplier of the wait per retry. */
  readonly backoffRate: number;
  /**
   * The function of a LAMBDA step.
   *
   * @default - not a LAMBDA step
   */
  readonly lambdaFunction?: lambda.IFunction;
  /**
   * The state machine of an EXPRESS_STATE_MACHINE step.
   *
   * @default - not an EXPRESS_STATE_MACHINE step
   */
  readonly stateMachine?: sfn.IStateMachine;
  /**
   * The state machine's type, when the construct knows it (a `StateMachine` created in the app).
   *
   * @default - unknown (an imported state machine)
   */
  readonly stateMachineType?: sfn.StateMachineType;
  /**
   * The outcomes an override step may change the image to.
   *
   * @default - the step does not change the outcome
   */
  readonly overrideOutcomes?: Outcome[];
}

/**
 * A step of your own inside the per-image workflow, between the decision and the actions and alerts: enrich the
 * result (look the camera up in an asset register), act on it (open a ticket for FLAGGED images), or, wrapped in
 * {@link WorkflowStep.override}, change the outcome (a second model confirms or clears a FLAGGED image).
 *
 * Each step receives `{ "step": "<name>", "result": <the result so far> }` and its JSON answer is stored under
 * `result.steps.<name>` (at most {@link WorkflowStep.MAX_OUTPUT_CHARACTERS} characters of JSON). A step that still
 * fails after its retries, or answers too much, turns the image into ERROR `StepFailed` naming the step, alerted and
 * audited like a failed action.
 */
export abstract class WorkflowStep {
  /**
   * Most characters of compact JSON a step's answer may take; a longer answer fails the step
   * (`StepFailed`, cause `StepOutputTooLarge`). Ten answers at the cap take 80 KiB of the 256 KiB that state data,
   * an alert and a result event each allow.
   */
  public static readonly MAX_OUTPUT_CHARACTERS = 8192;

  /**
   * Invokes a Lambda function (request-response) with `{ "step", "result" }`; its answer is stored under
   * `result.steps.<name>`. The state machine may invoke exactly this function (its ARN as given: a version or alias
   * ARN stays qualified).
   */
  public static lambda(fn: lambda.IFunction, options: WorkflowStepOptions = {}): WorkflowStep {
    return new ResourceStep(WorkflowStepKind.LAMBDA, fn, options);
  }

  /**
   * Runs an Express state machine synchronously (`aws-sdk:sfn:startSyncExecution`: Express parents cannot use
   * `.sync`) with `{ "step", "result" }` as its input; its output is stored under `result.steps.<name>`. An execution
   * that fails or times out is retried as a whole (the step's `retry`), then fails the step. The state machine may
   * start exactly this state machine's executions.
   */
  public static expressStateMachine(stateMachine: sfn.IStateMachine, options: WorkflowStepOptions = {}): WorkflowStep {
    return new ResourceStep(WorkflowStepKind.EXPRESS_STATE_MACHINE, stateMachine, options);
  }

  /**
   * Lets a step change the outcome. Its answer is stored as any step's; when it holds an `outcome` other than the
   * current one, with a non-empty string `reason`, the image takes that outcome (alerts, tags, quarantine and the
   * result follow it) and `result.overrides` records `{ step, previousOutcome, outcome, reason }`. An answer without
   * `outcome` (or with the current one) changes nothing. The step cannot run for ERROR images.
   */
  public static override(step: WorkflowStep, options: OutcomeOverrideOptions = {}): WorkflowStep {
    return new OverrideStep(step, options.allowedOutcomes ?? [...DEFAULT_STEP_OUTCOMES]);
  }

  /** The step with every default applied. */
  public abstract bind(): WorkflowStepConfig;
}

/** A step run by a function or a state machine. */
class ResourceStep extends WorkflowStep {
  constructor(
    private readonly kind: WorkflowStepKind,
    private readonly resource: IConstruct,
    private readonly options: WorkflowStepOptions,
  ) {
    super();
  }

  public bind(): WorkflowStepConfig {
    const { options, resource } = this;
    const retry = options.retry ?? {};
    const isMachine = this.kind === WorkflowStepKind.EXPRESS_STATE_MACHINE;
    return {
      kind: this.kind,
      name: options.name ?? defaultStepName(resource.node.id),
      outcomes: options.outcomes ?? [...DEFAULT_STEP_OUTCOMES],
      timeout: options.timeout ?? Duration.seconds(10),
      maxAttempts: retry.maxAttempts ?? 2,
      interval: retry.interval ?? Duration.seconds(1),
      backoffRate: retry.backoffRate ?? 2,
      ...(isMachine
        ? {
          stateMachine: resource as sfn.IStateMachine,
          stateMachineType: resource instanceof sfn.StateMachine ? resource.stateMachineType : undefined,
        }
        : { lambdaFunction: resource as lambda.IFunction }),
    };
  }
}

/** A step whose answer may change the outcome. */
class OverrideStep extends WorkflowStep {
  constructor(private readonly step: WorkflowStep, private readonly allowedOutcomes: Outcome[]) {
    super();
    if (step instanceof OverrideStep) throw new Error('WorkflowStep.override(): the step already overrides the outcome');
  }

  public bind(): WorkflowStepConfig {
    return { ...this.step.bind(), overrideOutcomes: this.allowedOutcomes };
  }
}

/** A construct ID as a step name: letters, digits and `_` only, starting with a letter. */
function defaultStepName(id: string): string {
  const name = id.replace(/[^A-Za-z0-9_]/g, '');
  return /^[A-Za-z]/.test(name) ? name.slice(0, 40) : `step${name}`.slice(0, 40);
}
