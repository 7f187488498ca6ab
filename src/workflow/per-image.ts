import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ErrorName, TRANSIENT_ERRORS } from '../handlers/errors';
import { Outcome, RESULT_SCHEMA_VERSION } from '../outcomes';

/** Options for {@link PerImageWorkflow}. */
export interface PerImageWorkflowProps {
  readonly classifyFunction: lambda.IFunction;
  readonly classLabels: string[];
  readonly flaggedLabels: string[];
  readonly confidenceThreshold: number;
  readonly failOnLowConfidence: boolean;
  readonly alertTopics: sns.ITopic[];
  /** Endpoint name recorded in ERROR results (the handler records it in the others). */
  readonly modelEndpoint: string;
}

/**
 * State names, stable across releases: the local runner, consumers' tests and CloudWatch metric
 * filters refer to them.
 */
export const StateName = {
  VALIDATE_INPUT: 'ValidateInput',
  INVALID_INPUT: 'InvalidInput',
  CLASSIFY: 'Classify',
  CLASSIFICATION_FAILED: 'ClassificationFailed',
  DECIDE: 'Decide',
  FLAGGED: 'Flagged',
  ACCEPTED: 'Accepted',
  LOW_CONFIDENCE: 'LowConfidence',
  FINISH: 'Finish',
  DONE: 'Done',
  FAILED: 'Failed',
  LOW_CONFIDENCE_FAILED: 'LowConfidenceFailed',
  ALERT_FAILED: 'AlertFailed',
} as const;

/** Names of the SNS publish states, one per topic, for ERROR and for the other alerting outcomes. */
export const alertStateName = (kind: 'Error' | 'Outcome', index: number) => `Publish${kind}Alert${index + 1}`;

/**
 * The per-image workflow: validate → classify → decide → alert → finish. Deciding and alerting are
 * states rather than code, so they show in the console graph and cost no Lambda time.
 *
 * State data carries the object reference in and the compact result (`$.result`) out; image bytes
 * never enter state (the 256 KiB payload limit is terminal).
 */
export class PerImageWorkflow extends Construct {
  /** The first state. */
  public readonly startState: sfn.State;

  constructor(scope: Construct, id: string, props: PerImageWorkflowProps) {
    super(scope, id);

    const finish = this.finishStates(props);

    const errorAlerts = this.publishChain(props.alertTopics, 'Error', {
      outcome: sfn.JsonPath.stringAt('$.result.outcome'),
      error: sfn.JsonPath.stringAt('$.result.error.name'),
    });
    const outcomeAlerts = this.publishChain(props.alertTopics, 'Outcome', {
      outcome: sfn.JsonPath.stringAt('$.result.outcome'),
      label: sfn.JsonPath.stringAt('$.result.label'),
    });
    // Where an outcome goes to alert: the first publish state (the chain then finishes), or straight to finish.
    const alertThenFinish = (chain: { first: sfn.TaskStateBase; last: sfn.TaskStateBase } | undefined): sfn.State => {
      if (!chain) return finish;
      chain.last.next(finish);
      return chain.first;
    };
    const afterErrorAlert = alertThenFinish(errorAlerts);
    const afterOutcomeAlert = alertThenFinish(outcomeAlerts);

    const errorResult = (extra: Record<string, unknown>) => ({
      schemaVersion: RESULT_SCHEMA_VERSION,
      outcome: Outcome.ERROR,
      threshold: props.confidenceThreshold,
      modelEndpoint: props.modelEndpoint,
      executionArn: sfn.JsonPath.executionId,
      classifiedAt: sfn.JsonPath.stateEnteredTime,
      ...extra,
    });

    const invalidInput = new sfn.Pass(this, StateName.INVALID_INPUT, {
      comment: 'The execution input has no string bucket and key: record it as an ERROR result.',
      parameters: errorResult({
        input: sfn.JsonPath.entirePayload,
        error: { name: ErrorName.InvalidInput, cause: 'The execution input must have a string "bucket" and "key".' },
      }),
      resultPath: '$.result',
    }).next(afterErrorAlert);

    const classificationFailed = new sfn.Pass(this, StateName.CLASSIFICATION_FAILED, {
      comment: 'Classify failed after retries: record the named error as an ERROR result.',
      parameters: errorResult({
        bucket: sfn.JsonPath.stringAt('$.bucket'),
        key: sfn.JsonPath.stringAt('$.key'),
        error: { name: sfn.JsonPath.stringAt('$.error.Error'), cause: sfn.JsonPath.stringAt('$.error.Cause') },
      }),
      resultPath: '$.result',
    }).next(afterErrorAlert);

    const classify = new tasks.LambdaInvoke(this, StateName.CLASSIFY, {
      comment: 'GetObject, sniff the format, InvokeEndpoint, score by label (one invocation per image).',
      lambdaFunction: props.classifyFunction,
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        executionArn: sfn.JsonPath.executionId,
      }),
      payloadResponseOnly: true,
      resultPath: '$.result',
      // CDK's default service retry allows 6 attempts; two keep the worst case inside Express's 5 minutes.
      retryOnServiceExceptions: false,
    });
    classify.addRetry({
      errors: ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 2,
    });
    classify.addRetry({
      errors: [...TRANSIENT_ERRORS, 'Lambda.TooManyRequestsException'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    });
    classify.addCatch(classificationFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const setOutcome = (stateName: string, outcome: Outcome) =>
      new sfn.Pass(this, stateName, { result: sfn.Result.fromString(outcome), resultPath: '$.result.outcome' });

    const decide = new sfn.Choice(this, StateName.DECIDE, {
      comment: `Confidence threshold ${props.confidenceThreshold}; flagged labels: ${props.flaggedLabels.join(', ') || 'none'}.`,
    })
      .when(
        sfn.Condition.numberLessThan('$.result.confidence', props.confidenceThreshold),
        setOutcome(StateName.LOW_CONFIDENCE, Outcome.LOW_CONFIDENCE).next(afterOutcomeAlert),
      );
    if (props.flaggedLabels.length > 0) {
      const isFlagged = props.flaggedLabels.map((l) => sfn.Condition.stringEquals('$.result.label', l));
      decide.when(
        isFlagged.length === 1 ? isFlagged[0] : sfn.Condition.or(...isFlagged),
        setOutcome(StateName.FLAGGED, Outcome.FLAGGED).next(afterOutcomeAlert),
      );
    }
    decide.otherwise(setOutcome(StateName.ACCEPTED, Outcome.ACCEPTED).next(finish));

    classify.next(decide);

    this.startState = new sfn.Choice(this, StateName.VALIDATE_INPUT)
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.bucket'),
          sfn.Condition.isString('$.bucket'),
          sfn.Condition.isPresent('$.key'),
          sfn.Condition.isString('$.key'),
        ),
        classify,
      )
      .otherwise(invalidInput);
  }

  /** Succeed with the result, or fail with a named error for ERROR and (when configured) LOW_CONFIDENCE. */
  private finishStates(props: PerImageWorkflowProps): sfn.State {
    const done = new sfn.Succeed(this, StateName.DONE, { outputPath: '$.result' });
    const choice = new sfn.Choice(this, StateName.FINISH).when(
      sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR),
      new sfn.Fail(this, StateName.FAILED, {
        comment: 'Fails with the classification error name, e.g. UnsupportedImageFormat.',
        errorPath: '$.result.error.name',
        causePath: '$.result.error.cause',
      }),
    );
    if (props.failOnLowConfidence) {
      choice.when(
        sfn.Condition.stringEquals('$.result.outcome', Outcome.LOW_CONFIDENCE),
        new sfn.Fail(this, StateName.LOW_CONFIDENCE_FAILED, {
          error: 'LowConfidence',
          cause: `The top label's confidence is below the threshold ${props.confidenceThreshold}; the image needs review.`,
        }),
      );
    }
    return choice.otherwise(done);
  }

  /** One SNS publish state per topic, chained; undefined without topics. */
  private publishChain(
    topics: sns.ITopic[],
    kind: 'Error' | 'Outcome',
    attributes: Record<string, string>,
  ): { first: sfn.TaskStateBase; last: sfn.TaskStateBase } | undefined {
    if (topics.length === 0) return undefined;
    const alertFailed = this.node.tryFindChild(StateName.ALERT_FAILED) as sfn.Fail | undefined
      ?? new sfn.Fail(this, StateName.ALERT_FAILED, {
        comment: 'An alert could not be published after retries.',
        error: 'AlertPublishFailed',
        causePath: '$.alertError.Cause',
      });
    const states = topics.map((topic, i) => {
      const publish = new tasks.SnsPublish(this, alertStateName(kind, i), {
        topic,
        subject: sfn.JsonPath.format('Image classification: {}', sfn.JsonPath.stringAt('$.result.outcome')),
        message: sfn.TaskInput.fromText(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.result'))),
        messageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([name, value]) => [name, { value, dataType: tasks.MessageAttributeDataType.STRING }]),
        ),
        resultPath: sfn.JsonPath.DISCARD,
      });
      publish.addRetry({
        errors: ['SNS.ThrottledException', 'SNS.InternalErrorException', 'SNS.KMSThrottlingException', 'SNS.SdkClientException'],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 3,
        jitterStrategy: sfn.JitterType.FULL,
      });
      publish.addCatch(alertFailed, { errors: [sfn.Errors.ALL], resultPath: '$.alertError' });
      return publish;
    });
    states.slice(1).forEach((s, i) => states[i].next(s));
    return { first: states[0], last: states[states.length - 1] };
  }
}
