import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { RESULT_EVENT_DETAIL_TYPE, RESULT_EVENT_SOURCE } from '../actions';
import { alertTextExpression } from './alert-expressions';
import { isProbe, transientRetryAttempts } from './probe';
import { rekognitionClassifyStates } from './rekognition-classify';
import { stepStates } from './step-states';
import { WorkflowStepConfig } from './steps';
import { RekognitionConfig } from '../classifier';
import { DEFER_FIELD, DEFERRED_ERROR } from '../handlers/dispatch';
import { LOW_CONFIDENCE_ERROR } from '../handlers/dispatch-metrics';
import { ErrorName, TRANSIENT_ERRORS } from '../handlers/errors';
import { Outcome, RESULT_SCHEMA_VERSION } from '../outcomes';
import { RELEASED, releaseCheckStates, reviewStates } from '../review/review-states';

/** The audit trail's delivery stream, as the workflow puts records into it. */
export interface AuditStreamRef {
  readonly deliveryStreamName: string;
  readonly deliveryStreamArn: string;
}

/** Options for {@link PerImageWorkflow}, resolved from the pipeline's props. */
export interface PerImageWorkflowProps {
  /** The classify function (SageMaker); give this or `rekognition`. */
  readonly classifyFunction?: lambda.IFunction;
  /** Classify with Rekognition in states instead of a function. */
  readonly rekognition?: { readonly config: RekognitionConfig; readonly moderation: boolean; readonly topK: number };
  readonly flaggedLabels: string[];
  readonly confidenceThreshold: number;
  readonly failOnLowConfidence: boolean;
  /** Endpoint name recorded in ERROR results (the handler records it in the others). */
  readonly modelEndpoint: string;
  /** Topics and the outcomes each is alerted about. */
  readonly alertRoutes: Array<{ readonly topic: sns.ITopic; readonly outcomes: Outcome[] }>;
  /** The console's address: email alerts link the image's review page. @default no link */
  readonly consoleUrl?: string;
  /** The bucket images are read from (tagging and quarantine act on it). */
  readonly bucket: s3.IBucket;
  /** Object prefix the workflow may act on. */
  readonly inputPrefix: string;
  readonly tagObjects: boolean;
  readonly quarantine?: { readonly outcomes: Outcome[]; readonly bucket: s3.IBucket; readonly prefix: string };
  /**
   * Where result records go: into the delivery stream when given (Firehose writes them under `prefix`), else one
   * object per image under `prefix`.
   */
  readonly audit?: { readonly bucket: s3.IBucket; readonly prefix: string; readonly deliveryStream?: AuditStreamRef };
  readonly resultEvents?: { readonly eventBus?: events.IEventBus };
  /** Human review: a review item for images with these outcomes (review/review-states.ts). */
  readonly review?: { readonly table: dynamodb.ITable; readonly outcomes: Outcome[] };
  /** Your own steps, in order, between the decision and the actions (see step-states.ts). */
  readonly steps?: WorkflowStepConfig[];
  /**
   * Queued ingestion: an input with `deferTransientErrors: true` (the message has receives left) ends a transient
   * classification failure as `ClassificationDeferred`, with no alert, audit record or other effect, so the queue
   * tries the image again later. Without the field the failure is an ERROR, as with direct ingestion.
   */
  readonly deferTransientErrors?: boolean;
  /**
   * Run as a bulk item: an input without `bucket` uses this one, and instead of failing, every outcome ends
   * with a compact item output (`bucket`, `key`, `outcome`, `label`/`error`) for the batch summary.
   */
  readonly bulkItem?: {
    readonly defaultBucket: string;
    /** ERROR fails the item (a Distributed Map counts it against its tolerated failures). */
    readonly failOnError?: boolean;
  };
}

/**
 * State names, stable across releases: the local runner, consumers' tests and CloudWatch metric
 * filters refer to them.
 */
export const StateName = {
  VALIDATE_INPUT: 'ValidateInput',
  INVALID_INPUT: 'InvalidInput',
  CLASSIFY: 'Classify',
  /** Queued ingestion: a circuit breaker's probe classifies once, without the transient retries. */
  IS_PROBE: 'IsProbe',
  CLASSIFY_PROBE: 'ClassifyProbe',
  CLASSIFICATION_FAILED: 'ClassificationFailed',
  SHOULD_DEFER: 'ShouldDefer',
  DEFER_CLASSIFICATION: 'DeferClassification',
  CLASSIFICATION_DEFERRED: 'ClassificationDeferred',
  DECIDE: 'Decide',
  FLAGGED: 'Flagged',
  ACCEPTED: 'Accepted',
  LOW_CONFIDENCE: 'LowConfidence',
  SHOULD_TAG: 'ShouldTag',
  TAG_OBJECT: 'TagObject',
  SHOULD_QUARANTINE: 'ShouldQuarantine',
  COPY_TO_QUARANTINE: 'CopyToQuarantine',
  DELETE_ORIGINAL: 'DeleteOriginal',
  RECORD_QUARANTINE: 'RecordQuarantine',
  MARK_ACTION_ERROR: 'MarkActionError',
  /** Your own steps' shared states; each step's are `Step-<name>` and `Step-<name>-<part>` (step-states.ts). */
  INIT_STEPS: 'InitSteps',
  AFTER_STEPS: 'AfterSteps',
  MARK_STEP_ERROR: 'MarkStepError',
  ROUTE_ALERTS: 'RouteAlerts',
  ALERT_FAILED: 'AlertFailed',
  WRITE_AUDIT_RECORD: 'WriteAuditRecord',
  PUBLISH_RESULT_EVENT: 'PublishResultEvent',
  FINISH: 'Finish',
  DONE: 'Done',
  FAILED: 'Failed',
  LOW_CONFIDENCE_CAUSE: 'LowConfidenceCause',
  LOW_CONFIDENCE_FAILED: 'LowConfidenceFailed',
  ALERT_PUBLISH_FAILED: 'AlertPublishFailed',
  AUDIT_FAILED: 'AuditWriteFailed',
  RESULT_EVENT_FAILED: 'ResultEventFailed',
  USE_PIPELINE_BUCKET: 'UsePipelineBucket',
  ITEM_CLASSIFIED: 'ItemClassified',
  ITEM_ERROR: 'ItemError',
  ITEM_INVALID: 'ItemInvalid',
} as const;

const OUTCOME_STATE_SUFFIX: Record<Outcome, string> = {
  [Outcome.FLAGGED]: 'Flagged',
  [Outcome.ACCEPTED]: 'Accepted',
  [Outcome.LOW_CONFIDENCE]: 'LowConfidence',
  [Outcome.ERROR]: 'Error',
};

/** Name of the publish state alerting the `index`-th topic routed for `outcome`, e.g. `AlertFlagged1`. */
export const alertStateName = (outcome: Outcome, index: number) => `Alert${OUTCOME_STATE_SUFFIX[outcome]}${index + 1}`;

/**
 * Names of the states that write an outcome's alert before its publish states: `ComposeAlert<Outcome>` (subject and
 * texts, JSONata) and `PackAlert<Outcome>` (the per-protocol message). Not `Alert*`: that prefix counts published alerts.
 */
export const alertComposeStateNames = (outcome: Outcome) => ({
  compose: `ComposeAlert${OUTCOME_STATE_SUFFIX[outcome]}`,
  pack: `PackAlert${OUTCOME_STATE_SUFFIX[outcome]}`,
});

/** Lambda service errors of the classify invocation (not the function's own), retried briefly in the workflow. */
const LAMBDA_SERVICE_ERRORS = ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'];

/** Lambda failures a queued image waits out in the queue: throttles and the service errors above. */
const LAMBDA_TRANSIENT_ERRORS = ['Lambda.TooManyRequestsException', ...LAMBDA_SERVICE_ERRORS];

/** Retry for action states: transient S3/SNS/EventBridge failures, and permanent ones a few times before giving up. */
const ACTION_RETRY: sfn.RetryProps = {
  errors: [sfn.Errors.TASKS_FAILED],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 2,
  jitterStrategy: sfn.JitterType.FULL,
};

/**
 * The per-image workflow: validate → classify → decide → act (tag, quarantine) → alert → audit →
 * result event → finish. Deciding and acting are states rather than code, so they show in the
 * console graph and cost no Lambda time.
 *
 * State data carries the object reference in, the compact result (`$.result`) and the inputs the
 * actions need (`$.actions`) out; image bytes never enter state (the 256 KiB payload limit is terminal).
 */
export class PerImageWorkflow extends Construct {
  /** The first state. */
  public readonly startState: sfn.State;

  constructor(scope: Construct, id: string, private readonly props: PerImageWorkflowProps) {
    super(scope, id);

    const finish = this.finishStates();
    const afterAlerts = this.auditAndEventStates(finish);
    const routeAlerts = this.alertStates(afterAlerts);
    // Created only when an action state catches into it: an unreachable state fails AWS's definition check.
    const markActionError = () => (this.node.tryFindChild(StateName.MARK_ACTION_ERROR) as sfn.Pass | undefined)
      ?? new sfn.Pass(this, StateName.MARK_ACTION_ERROR, {
        comment: 'An action failed after retries: the image ends as ERROR (ActionFailed), alerted and audited.',
        result: sfn.Result.fromString(Outcome.ERROR),
        resultPath: '$.result.outcome',
      }).next(routeAlerts);
    const afterActions = this.actionStates(routeAlerts, markActionError);
    // Your own steps run after the decision and before the actions; ERROR images go through them only when a step asks.
    const steps = props.steps && props.steps.length > 0 ? stepStates(this, { steps: props.steps, actions: afterActions, routeAlerts }) : undefined;
    const afterDecision = steps?.start ?? afterActions;
    const onError = steps?.runsOnError ? steps.start : routeAlerts;

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
    }).next(onError);

    const classificationFailed = new sfn.Pass(this, StateName.CLASSIFICATION_FAILED, {
      comment: 'Classify failed after retries: record the named error as an ERROR result.',
      parameters: errorResult({
        bucket: sfn.JsonPath.stringAt('$.bucket'),
        key: sfn.JsonPath.stringAt('$.key'),
        error: { name: sfn.JsonPath.stringAt('$.error.Error'), cause: sfn.JsonPath.stringAt('$.error.Cause') },
      }),
      resultPath: '$.result',
    }).next(onError);

    const onClassifyError = props.deferTransientErrors ? this.deferStates(classificationFailed) : classificationFailed;
    // Queued ingestion's circuit breaker tests the classifier with one call per probe, not the retries' five.
    const probes = props.deferTransientErrors === true && !props.bulkItem;
    const classify = props.rekognition
      ? rekognitionClassifyStates(this, {
        rekognition: props.rekognition.config,
        moderation: props.rekognition.moderation,
        topK: props.rekognition.topK,
        threshold: props.confidenceThreshold,
        flaggedLabels: props.flaggedLabels,
        noLabel: props.rekognition.config.noLabel,
        noLabelConfidence: props.rekognition.config.noLabelConfidence,
        modelId: props.modelEndpoint,
        tagObjects: props.tagObjects,
        quarantinePrefix: props.quarantine?.prefix,
        bucket: props.bucket,
        inputPrefix: props.inputPrefix,
        probes,
      }, onClassifyError)
      : this.classifyStates(onClassifyError, probes);

    const setOutcome = (stateName: string, outcome: Outcome) =>
      new sfn.Pass(this, stateName, { result: sfn.Result.fromString(outcome), resultPath: '$.result.outcome' }).next(afterDecision);

    const decide = new sfn.Choice(this, StateName.DECIDE, {
      comment: `Confidence threshold ${props.confidenceThreshold}; flagged labels: ${props.flaggedLabels.join(', ') || 'none'}.`,
    }).when(
      sfn.Condition.numberLessThan('$.result.confidence', props.confidenceThreshold),
      setOutcome(StateName.LOW_CONFIDENCE, Outcome.LOW_CONFIDENCE),
    );
    if (props.flaggedLabels.length > 0) {
      const isFlagged = props.flaggedLabels.map((l) => sfn.Condition.stringEquals('$.result.label', l));
      decide.when(isFlagged.length === 1 ? isFlagged[0] : sfn.Condition.or(...isFlagged), setOutcome(StateName.FLAGGED, Outcome.FLAGGED));
    }
    decide.otherwise(setOutcome(StateName.ACCEPTED, Outcome.ACCEPTED));

    classify.next(decide);

    const hasKey = [sfn.Condition.isPresent('$.key'), sfn.Condition.isString('$.key')];
    const validate = new sfn.Choice(this, StateName.VALIDATE_INPUT);
    if (props.bulkItem) {
      // Bulk items may omit the bucket (or leave a manifest's bucket column empty): the pipeline's is used.
      const usePipelineBucket = new sfn.Pass(this, StateName.USE_PIPELINE_BUCKET, {
        result: sfn.Result.fromString(props.bulkItem.defaultBucket),
        resultPath: '$.bucket',
      }).next(classify);
      validate
        .when(sfn.Condition.and(sfn.Condition.not(sfn.Condition.isPresent('$.bucket')), ...hasKey), usePipelineBucket)
        .when(sfn.Condition.and(sfn.Condition.isPresent('$.bucket'), sfn.Condition.stringEquals('$.bucket', ''), ...hasKey), usePipelineBucket);
    }
    validate.when(sfn.Condition.and(sfn.Condition.isPresent('$.bucket'), sfn.Condition.isString('$.bucket'), ...hasKey), classify);
    this.startState = validate.otherwise(invalidInput);
  }

  /**
   * A transient failure while the message has receives left ends the execution `ClassificationDeferred` before any
   * effect: the dispatch function puts the message back with backoff. Otherwise the failure is recorded as ERROR.
   */
  private deferStates(classificationFailed: sfn.IChainable): sfn.IChainable {
    const transient = [...TRANSIENT_ERRORS, ...LAMBDA_TRANSIENT_ERRORS].map((e) => sfn.Condition.stringEquals('$.error.Error', e));
    const defer = new sfn.Pass(this, StateName.DEFER_CLASSIFICATION, {
      parameters: { cause: sfn.JsonPath.format('{}: {}', sfn.JsonPath.stringAt('$.error.Error'), sfn.JsonPath.stringAt('$.error.Cause')) },
      resultPath: '$.deferred',
    }).next(new sfn.Fail(this, StateName.CLASSIFICATION_DEFERRED, {
      comment: 'No alert, tag or audit record: the ingest queue tries the image again later.',
      error: DEFERRED_ERROR,
      causePath: '$.deferred.cause',
    }));
    return new sfn.Choice(this, StateName.SHOULD_DEFER, { comment: 'Queued ingestion: transient failures wait in the queue while the message has receives left.' })
      .when(sfn.Condition.and(
        sfn.Condition.isPresent(`$.${DEFER_FIELD}`),
        sfn.Condition.booleanEquals(`$.${DEFER_FIELD}`, true),
        sfn.Condition.or(...transient),
      ), defer)
      .otherwise(classificationFailed);
  }

  /** The classify function's task, and with `probes` its single-attempt twin chosen by the input's `probe` field. */
  private classifyStates(onError: sfn.IChainable, probes: boolean): sfn.Chain {
    const classify = this.classifyTask(StateName.CLASSIFY, onError, true);
    if (!probes) return sfn.Chain.start(classify);
    const probe = this.classifyTask(StateName.CLASSIFY_PROBE, onError, false);
    const choice = new sfn.Choice(this, StateName.IS_PROBE, { comment: 'A circuit breaker probe: one classifier call, no transient retries.' })
      .when(isProbe(), probe)
      .otherwise(classify);
    // Both continue to the same next state.
    return sfn.Chain.custom(choice, [classify, probe], probe);
  }

  /** The classify function's task: one invocation per image, returning `{ bucket, key, result, actions }`. */
  private classifyTask(id: string, onError: sfn.IChainable, transientRetries: boolean): sfn.TaskStateBase {
    const classify = new tasks.LambdaInvoke(this, id, {
      comment: 'GetObject, sniff the format, InvokeEndpoint, score by label (one invocation per image).',
      lambdaFunction: this.props.classifyFunction!,
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        executionArn: sfn.JsonPath.executionId,
        // Queued ingestion: the dispatch function writes a classified image's metrics from the execution's end.
        ...(this.props.deferTransientErrors && !this.props.bulkItem ? { classifiedMetrics: false } : {}),
      }),
      payloadResponseOnly: true,
      // The function returns { bucket, key, result, actions }: the whole state from here on.
      resultPath: '$',
      // CDK's default service retry allows 6 attempts; two keep the worst case inside Express's 5 minutes.
      retryOnServiceExceptions: false,
    });
    classify.addRetry({
      errors: LAMBDA_SERVICE_ERRORS,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 2,
    });
    if (transientRetries) {
      classify.addRetry({
        errors: [...TRANSIENT_ERRORS, 'Lambda.TooManyRequestsException'],
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: transientRetryAttempts(this.props.deferTransientErrors === true),
        maxDelay: Duration.seconds(30),
        jitterStrategy: sfn.JitterType.FULL,
      });
    }
    classify.addCatch(onError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return classify;
  }

  /**
   * Tag and quarantine (classified outcomes only). Returns the first state; failures after retries go to
   * `onFailure` with `$.result.error` naming the action.
   */
  private actionStates(next: sfn.State, onFailure: () => sfn.IChainable): sfn.State {
    const { props } = this;
    // One failure state per action, shared by that action's task states.
    const actionFailed = (action: string) => (this.node.tryFindChild(`${action}Failed`) as sfn.Pass | undefined) ??
      new sfn.Pass(this, `${action}Failed`, {
        parameters: {
          name: 'ActionFailed',
          action,
          cause: sfn.JsonPath.format('{}: {}', sfn.JsonPath.stringAt('$.actionError.Error'), sfn.JsonPath.stringAt('$.actionError.Cause')),
        },
        resultPath: '$.result.error',
      }).next(onFailure());
    const guard = (task: sfn.TaskStateBase, action: string) => {
      task.addRetry(ACTION_RETRY);
      task.addCatch(actionFailed(action), { errors: [sfn.Errors.ALL], resultPath: '$.actionError' });
      return task;
    };
    const objectArns = (bucket: s3.IBucket, prefix: string) => [bucket.arnForObjects(`${prefix}*`)];

    // Human review comes last, so the review records where the image is (quarantined or not).
    let first: sfn.State = props.review
      ? reviewStates(this, { table: props.review.table, outcomes: props.review.outcomes, next, guard })
      : next;
    if (props.quarantine) {
      const afterQuarantine = first;
      const q = props.quarantine;
      const copy = guard(new tasks.CallAwsService(this, StateName.COPY_TO_QUARANTINE, {
        comment: 'Copy exactly the classified version (tags included) under the quarantine prefix.',
        service: 's3',
        action: 'copyObject',
        parameters: {
          Bucket: q.bucket.bucketName,
          Key: sfn.JsonPath.stringAt('$.actions.quarantine.key'),
          CopySource: sfn.JsonPath.stringAt('$.actions.quarantine.copySource'),
        },
        iamResources: objectArns(q.bucket, q.prefix),
        iamAction: 's3:PutObject',
        additionalIamStatements: [
          // CopyObject reads the source version and its tags, and writes the tags to the copy.
          new iam.PolicyStatement({
            actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
            resources: objectArns(props.bucket, props.inputPrefix),
          }),
          new iam.PolicyStatement({ actions: ['s3:PutObjectTagging'], resources: objectArns(q.bucket, q.prefix) }),
        ],
        resultPath: sfn.JsonPath.DISCARD,
      }), 'Quarantine');
      const del = guard(new tasks.CallAwsService(this, StateName.DELETE_ORIGINAL, {
        comment: 'Only after a successful copy. In a versioned bucket this adds a delete marker; the version stays recoverable.',
        service: 's3',
        action: 'deleteObject',
        parameters: { Bucket: sfn.JsonPath.stringAt('$.bucket'), Key: sfn.JsonPath.stringAt('$.key') },
        iamResources: objectArns(props.bucket, props.inputPrefix),
        iamAction: 's3:DeleteObject',
        resultPath: sfn.JsonPath.DISCARD,
      }), 'Quarantine');
      const record = new sfn.Pass(this, StateName.RECORD_QUARANTINE, {
        parameters: { bucket: q.bucket.bucketName, key: sfn.JsonPath.stringAt('$.actions.quarantine.key') },
        resultPath: '$.result.quarantine',
      });
      copy.next(del);
      del.next(record);
      record.next(afterQuarantine);
      const inScope = q.outcomes.map((o) => sfn.Condition.stringEquals('$.result.outcome', o));
      const shouldQuarantine = new sfn.Choice(this, StateName.SHOULD_QUARANTINE);
      // A reviewer released it from quarantine: it stays where it is now.
      if (props.review) shouldQuarantine.when(RELEASED, afterQuarantine);
      first = shouldQuarantine
        .when(inScope.length === 1 ? inScope[0] : sfn.Condition.or(...inScope), copy)
        .otherwise(afterQuarantine);
    }
    if (props.tagObjects) {
      const tag = guard(new tasks.CallAwsService(this, StateName.TAG_OBJECT, {
        comment: "Write the object's own tags plus ics:label, ics:confidence and ics:outcome (PutObjectTagging replaces the set).",
        service: 's3',
        action: 'putObjectTagging',
        parameters: {
          Bucket: sfn.JsonPath.stringAt('$.bucket'),
          Key: sfn.JsonPath.stringAt('$.key'),
          Tagging: { TagSet: sfn.JsonPath.listAt('$.actions.tagSet') },
        },
        iamResources: objectArns(props.bucket, props.inputPrefix),
        iamAction: 's3:PutObjectTagging',
        resultPath: sfn.JsonPath.DISCARD,
      }), 'TagObject');
      tag.next(first);
      first = new sfn.Choice(this, StateName.SHOULD_TAG, { comment: 'No tag set when the object already has too many tags of its own.' })
        .when(sfn.Condition.isPresent('$.actions.tagSet'), tag)
        .otherwise(first);
    }
    // A released image's token is checked first: tags are written either way, quarantine and review skip it.
    return props.review ? releaseCheckStates(this, { table: props.review.table, next: first }) : first;
  }

  /** One chain of SNS publish states per outcome that has routes; returns the routing Choice. */
  private alertStates(next: sfn.State): sfn.State {
    const routed = [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE, Outcome.ERROR, Outcome.ACCEPTED]
      .map((outcome) => ({ outcome, topics: this.props.alertRoutes.filter((r) => r.outcomes.includes(outcome)).map((r) => r.topic) }))
      .filter((r) => r.topics.length > 0);
    if (routed.length === 0) return next;

    const alertFailed = new sfn.Pass(this, StateName.ALERT_FAILED, {
      comment: 'An alert could not be published after retries: record it, still audit, then fail.',
      parameters: { error: sfn.JsonPath.stringAt('$.alertError.Error'), cause: sfn.JsonPath.stringAt('$.alertError.Cause') },
      resultPath: '$.result.alertError',
    }).next(next);

    const route = new sfn.Choice(this, StateName.ROUTE_ALERTS);
    // A reviewer released the image: its classification was alerted and judged before; only a new ERROR alerts.
    if (this.props.review) route.when(sfn.Condition.and(RELEASED, sfn.Condition.not(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR))), next);
    for (const { outcome, topics } of routed) {
      const attributes: Record<string, string> = outcome === Outcome.ERROR
        ? { outcome: sfn.JsonPath.stringAt('$.result.outcome'), error: sfn.JsonPath.stringAt('$.result.error.name') }
        : { outcome: sfn.JsonPath.stringAt('$.result.outcome'), label: sfn.JsonPath.stringAt('$.result.label') };
      const names = alertComposeStateNames(outcome);
      const compose = sfn.Pass.jsonata(this, names.compose, {
        comment: 'The subject (printable ASCII, under 100 characters, for any key) and the texts email and SMS subscribers read.',
        outputs: `{% ${alertTextExpression({ outcome, consoleUrl: this.props.consoleUrl })} %}`,
      });
      // MessageStructure json: `default` (what SQS, Lambda, HTTP/S and Firehose subscribers get) stays the result JSON
      // exactly as before, from States.JsonToString; email and SMS get the texts (SNS API Reference, Publish, MessageStructure).
      const pack = new sfn.Pass(this, names.pack, {
        parameters: {
          default: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.result')),
          email: sfn.JsonPath.stringAt('$.alert.email'),
          sms: sfn.JsonPath.stringAt('$.alert.sms'),
        },
        resultPath: '$.alert.message',
      });
      const states = topics.map((topic, i) => {
        const publish = new tasks.SnsPublish(this, alertStateName(outcome, i), {
          topic,
          subject: sfn.JsonPath.stringAt('$.alert.subject'),
          message: sfn.TaskInput.fromText(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.alert.message'))),
          messagePerSubscriptionType: true,
          messageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([name, value]) => [name, { value, dataType: tasks.MessageAttributeDataType.STRING }]),
          ),
          // The last publish replaces the alert (which holds the result twice) by SNS's small answer.
          resultPath: i === topics.length - 1 ? '$.alert' : sfn.JsonPath.DISCARD,
        });
        publish.addRetry({
          errors: ['SNS.ThrottledException', 'SNS.InternalErrorException', 'SNS.KMSThrottlingException', 'SNS.SdkClientException'],
          interval: Duration.seconds(1),
          backoffRate: 2,
          maxAttempts: 3,
          jitterStrategy: sfn.JitterType.FULL,
        });
        publish.addRetry(ACTION_RETRY);
        publish.addCatch(alertFailed, { errors: [sfn.Errors.ALL], resultPath: '$.alertError' });
        return publish;
      });
      states.forEach((s, i) => s.next(states[i + 1] ?? next));
      compose.next(pack).next(states[0]);
      route.when(sfn.Condition.stringEquals('$.result.outcome', outcome), compose);
    }
    return route.otherwise(next);
  }

  /** Audit record and result event, whatever the outcome; returns the first state. */
  private auditAndEventStates(finish: sfn.State): sfn.State {
    const { props } = this;
    let first = finish;
    if (props.resultEvents) {
      const publish = new tasks.EventBridgePutEvents(this, StateName.PUBLISH_RESULT_EVENT, {
        entries: [{
          detail: sfn.TaskInput.fromJsonPathAt('$.result'),
          detailType: RESULT_EVENT_DETAIL_TYPE,
          source: RESULT_EVENT_SOURCE,
          eventBus: props.resultEvents.eventBus,
        }],
        resultPath: sfn.JsonPath.DISCARD,
      });
      // A rejected entry fails the task `EventBridge.FailedEntry` (Step Functions Developer Guide, "Add EventBridge
      // events with Step Functions"); EventBridge calls InternalFailure and ThrottlingException entries retryable.
      publish.addRetry({
        errors: ['EventBridge.FailedEntry'],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 3,
        jitterStrategy: sfn.JitterType.FULL,
      });
      this.retryThenFail(publish, StateName.RESULT_EVENT_FAILED, 'The result event could not be published after retries (the audit record is written).');
      publish.next(first);
      first = publish;
    }
    if (props.audit) {
      const write = props.audit.deliveryStream ? this.putAuditRecord(props.audit.deliveryStream) : this.writeAuditObject(props.audit);
      this.retryThenFail(write, StateName.AUDIT_FAILED, 'The audit record could not be written after retries.');
      write.next(first);
      first = write;
    }
    return first;
  }

  /** The record into the audit delivery stream (Firehose appends the newline that delimits it). */
  private putAuditRecord(stream: AuditStreamRef): tasks.CallAwsService {
    const put = new tasks.CallAwsService(this, StateName.WRITE_AUDIT_RECORD, {
      comment: 'One JSON result record per classification, whatever its outcome, into the audit delivery stream.',
      service: 'firehose',
      action: 'putRecord',
      parameters: {
        DeliveryStreamName: stream.deliveryStreamName,
        // The record as an object: the Data blob is then its compact JSON, whether Step Functions JSON-serializes blob
        // parameters (as it does S3's Body) or takes a string's bytes (no recording of a Firehose blob is known).
        Record: { Data: sfn.JsonPath.objectAt('$.result') },
      },
      iamResources: [stream.deliveryStreamArn],
      iamAction: 'firehose:PutRecord',
      resultPath: sfn.JsonPath.DISCARD,
    });
    // Over the stream's throughput (5,000 records/s by default) Firehose answers ServiceUnavailableException: back off longer.
    put.addRetry({
      errors: ['Firehose.ServiceUnavailableException', 'Firehose.SdkClientException'],
      interval: Duration.seconds(1),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return put;
  }

  /** The record as its own object: results/yyyy/mm/dd/<execution name>.json from the execution's start time. */
  private writeAuditObject(audit: { readonly bucket: s3.IBucket; readonly prefix: string }): tasks.CallAwsService {
    const { bucket, prefix } = audit;
    const date = sfn.JsonPath.stringSplit(sfn.JsonPath.arrayGetItem(sfn.JsonPath.stringSplit(sfn.JsonPath.stringAt('$$.Execution.StartTime'), 'T'), 0), '-');
    return new tasks.CallAwsService(this, StateName.WRITE_AUDIT_RECORD, {
      comment: 'One JSON result record per classification, whatever its outcome.',
      service: 's3',
      action: 'putObject',
      parameters: {
        Bucket: bucket.bucketName,
        Key: sfn.JsonPath.format(`${prefix}{}/{}/{}/{}.json`,
          sfn.JsonPath.arrayGetItem(date, 0), sfn.JsonPath.arrayGetItem(date, 1), sfn.JsonPath.arrayGetItem(date, 2),
          sfn.JsonPath.stringAt('$$.Execution.Name')),
        // An object, stored as its compact JSON: a string Body is stored JSON-serialized, quotes and all (recorded
        // against AWS: LocalStack test_aws_sdk_task_service.snapshot.json, test_s3_put_object[str] and [dict]).
        Body: sfn.JsonPath.objectAt('$.result'),
        ContentType: 'application/json',
      },
      iamResources: [bucket.arnForObjects(`${prefix}*`)],
      iamAction: 's3:PutObject',
      resultPath: sfn.JsonPath.DISCARD,
    });
  }

  /** Retries a task, then fails the execution with an error named after the Fail state. */
  private retryThenFail(task: sfn.TaskStateBase, failStateName: string, comment: string) {
    task.addRetry(ACTION_RETRY);
    task.addCatch(new sfn.Fail(this, failStateName, { comment, error: failStateName, causePath: '$.taskError.Cause' }), {
      errors: [sfn.Errors.ALL],
      resultPath: '$.taskError',
    });
  }

  /** Succeed with the result, or fail with a named error for ERROR, a failed alert and (when configured) LOW_CONFIDENCE. */
  private finishStates(): sfn.State {
    if (this.props.bulkItem) return this.itemFinishStates();
    const choice = new sfn.Choice(this, StateName.FINISH);
    if (this.props.alertRoutes.length > 0) {
      choice.when(sfn.Condition.isPresent('$.result.alertError'), new sfn.Fail(this, StateName.ALERT_PUBLISH_FAILED, {
        comment: 'An alert could not be published; the result was audited.',
        error: 'AlertPublishFailed',
        causePath: '$.result.alertError.cause',
      }));
    }
    choice.when(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR), new sfn.Fail(this, StateName.FAILED, {
      comment: 'Fails with the classification error name, e.g. UnsupportedImageFormat, or ActionFailed.',
      errorPath: '$.result.error.name',
      causePath: '$.result.error.cause',
    }));
    if (this.props.failOnLowConfidence) {
      choice.when(
        sfn.Condition.stringEquals('$.result.outcome', Outcome.LOW_CONFIDENCE),
        // The cause is the result record, so whoever sees only the failure (the dispatch function's outcome
        // metrics, a StartSyncExecution caller) still has the label and its score.
        new sfn.Pass(this, StateName.LOW_CONFIDENCE_CAUSE, {
          parameters: { cause: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.result')) },
          resultPath: '$.lowConfidence',
        }).next(new sfn.Fail(this, StateName.LOW_CONFIDENCE_FAILED, {
          comment: `The top label's confidence is below the threshold ${this.props.confidenceThreshold}; the image needs review.`,
          error: LOW_CONFIDENCE_ERROR,
          causePath: '$.lowConfidence.cause',
        })),
      );
    }
    return choice.otherwise(new sfn.Succeed(this, StateName.DONE, { outputPath: '$.result' }));
  }

  /** A bulk item never fails its batch: every outcome ends in a compact item output. */
  private itemFinishStates(): sfn.State {
    const outcome = sfn.JsonPath.stringAt('$.result.outcome');
    if (this.props.bulkItem?.failOnError) {
      return new sfn.Choice(this, StateName.FINISH)
        .when(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR), new sfn.Fail(this, StateName.FAILED, {
          comment: 'An ERROR image fails its child workflow; the Distributed Map counts it against the tolerated failures.',
          errorPath: '$.result.error.name',
          causePath: '$.result.error.cause',
        }))
        .otherwise(this.itemClassified(outcome));
    }
    return new sfn.Choice(this, StateName.FINISH)
      .when(
        sfn.Condition.and(sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR), sfn.Condition.isPresent('$.result.key')),
        new sfn.Pass(this, StateName.ITEM_ERROR, {
          parameters: {
            bucket: sfn.JsonPath.stringAt('$.result.bucket'),
            key: sfn.JsonPath.stringAt('$.result.key'),
            outcome,
            error: sfn.JsonPath.stringAt('$.result.error.name'),
          },
        }),
      )
      .when(
        sfn.Condition.stringEquals('$.result.outcome', Outcome.ERROR),
        new sfn.Pass(this, StateName.ITEM_INVALID, { parameters: { outcome, error: sfn.JsonPath.stringAt('$.result.error.name') } }),
      )
      .otherwise(this.itemClassified(outcome));
  }

  private itemClassified(outcome: string): sfn.Pass {
    return new sfn.Pass(this, StateName.ITEM_CLASSIFIED, {
      parameters: {
        bucket: sfn.JsonPath.stringAt('$.result.bucket'),
        key: sfn.JsonPath.stringAt('$.result.key'),
        outcome,
        label: sfn.JsonPath.stringAt('$.result.label'),
        confidence: sfn.JsonPath.numberAt('$.result.confidence'),
      },
    });
  }
}
