import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { isProbe, transientRetryAttempts } from './probe';
import { nameErrorExpression, prepareRequestExpression, readResultExpression, RekognitionResultOptions } from './rekognition-expressions';
import { RekognitionConfig } from '../classifier';
import { ErrorName } from '../handlers/errors';
import { REKOGNITION_TRANSIENT_ERRORS } from '../rekognition';

/** What the Rekognition classify states need. */
export interface RekognitionClassifyProps extends RekognitionResultOptions {
  readonly rekognition: RekognitionConfig;
  /** The bucket Rekognition reads images from (with the state machine's credentials). */
  readonly bucket: s3.IBucket;
  readonly inputPrefix: string;
  /**
   * Queued ingestion: an input with `probe: true` (the circuit breaker's probe) calls Rekognition once, without the
   * transient retries. @default false
   */
  readonly probes?: boolean;
}

/** State names of the Rekognition path, stable like {@link StateName}. */
export const RekognitionStateName = {
  PREPARE_REQUEST: 'PrepareRekognitionRequest',
  READ_TAGS: 'ReadObjectTags',
  CLASSIFY: 'Classify',
  IS_PROBE: 'IsProbe',
  CLASSIFY_PROBE: 'ClassifyProbe',
  READ_RESULT: 'ReadRekognitionResult',
  NAME_ERROR: 'NameRekognitionError',
  RETRY_DECODED_KEY: 'RetryWithDecodedKey',
} as const;

/**
 * Classify with Rekognition, no Lambda: prepare the S3 reference (JSONata) → read the object's tags when
 * tagging → DetectLabels / DetectModerationLabels (AWS SDK integration) → shape the result (JSONata) exactly
 * as the classify function would. Errors are renamed to the pipeline's error names and go to `onError`.
 */
export function rekognitionClassifyStates(scope: Construct, props: RekognitionClassifyProps, onError: sfn.IChainable): sfn.Chain {
  const objectArns = [props.bucket.arnForObjects(`${props.inputPrefix}*`)];
  const prepare = sfn.Pass.jsonata(scope, RekognitionStateName.PREPARE_REQUEST, {
    comment: 'The S3 object reference, with its version when the bucket is versioned.',
    outputs: `{% ${prepareRequestExpression()} %}`,
  });
  const nameError = sfn.Pass.jsonata(scope, RekognitionStateName.NAME_ERROR, {
    comment: 'Not found under an encoded key: try the decoded key once. Otherwise Rekognition and S3 error names → the pipeline\'s.',
    outputs: `{% ${nameErrorExpression(ErrorName.EndpointUnavailable)} %}`,
  }).next(new sfn.Choice(scope, RekognitionStateName.RETRY_DECODED_KEY)
    .when(sfn.Condition.booleanEquals('$.retryDecodedKey', true), prepare)
    .otherwise(onError));

  let chain = sfn.Chain.start(prepare);
  if (props.tagObjects) {
    // The request is the prepared object `{Bucket, Key, VersionId?}` as a whole (InputPath, no Parameters): JSONPath
    // Parameters cannot leave out a VersionId the input lacks, and CallAwsService always renders Parameters.
    const readTags = new SdkTaskState(scope, RekognitionStateName.READ_TAGS, {
      Type: 'Task',
      Comment: "The object's own tags, kept when the pipeline's are added (PutObjectTagging replaces the set).",
      Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:s3:getObjectTagging`,
      InputPath: '$.tagRequest',
      ResultSelector: { 'tags.$': '$.TagSet' },
      ResultPath: '$.existingTags',
    }, [new iam.PolicyStatement({ actions: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'], resources: objectArns })]);
    readTags.addRetry({ errors: OBJECT_TAGS_TRANSIENT_ERRORS, ...TRANSIENT_RETRY });
    readTags.addCatch(nameError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    chain = chain.next(readTags);
  }

  const moderation = props.moderation;
  const { minConfidence, maxLabels, labels } = props.rekognition;
  const detect = (id: string, transientRetries: boolean) => {
    const task = new tasks.CallAwsService(scope, id, {
      comment: `Amazon Rekognition ${moderation ? 'DetectModerationLabels' : 'DetectLabels'} on the S3 object (no Lambda)${transientRetries ? '' : ', once (a circuit breaker probe)'}.`,
      service: 'rekognition',
      action: moderation ? 'detectModerationLabels' : 'detectLabels',
      parameters: {
        Image: { S3Object: sfn.JsonPath.objectAt('$.s3Object') },
        MinConfidence: minConfidence,
        ...(maxLabels !== undefined ? { MaxLabels: maxLabels } : {}),
        ...(labels ? { Features: ['GENERAL_LABELS'], Settings: { GeneralLabels: { LabelInclusionFilters: labels } } } : {}),
      },
      // Rekognition's image operations have no resource-level permissions.
      iamResources: ['*'],
      iamAction: moderation ? 'rekognition:DetectModerationLabels' : 'rekognition:DetectLabels',
      // Rekognition reads the object with the caller's credentials.
      additionalIamStatements: [new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: objectArns })],
      resultSelector: {
        'labels.$': moderation ? '$.ModerationLabels' : '$.Labels',
        'executionArn.$': '$$.Execution.Id',
        'classifiedAt.$': '$$.State.EnteredTime',
      },
      resultPath: '$.rekognition',
    });
    if (transientRetries) {
      task.addRetry({ errors: REKOGNITION_TRANSIENT_ERRORS, ...TRANSIENT_RETRY, maxAttempts: transientRetryAttempts(props.probes === true) });
    }
    task.addCatch(nameError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    return task;
  };

  const readResult = sfn.Pass.jsonata(scope, RekognitionStateName.READ_RESULT, {
    comment: 'Confidences 0–100 → 0–1, top label, tags and copy source: the shape the classify function returns.',
    outputs: `{% ${readResultExpression(props)} %}`,
  });
  const classify = detect(RekognitionStateName.CLASSIFY, true);
  if (!props.probes) return chain.next(classify).next(readResult);
  const probe = detect(RekognitionStateName.CLASSIFY_PROBE, false);
  classify.next(readResult);
  probe.next(readResult);
  chain.next(new sfn.Choice(scope, RekognitionStateName.IS_PROBE, { comment: 'A circuit breaker probe: one Rekognition call, no transient retries.' })
    .when(isProbe(), probe)
    .otherwise(classify));
  return sfn.Chain.custom(chain.startState, readResult.endStates, readResult);
}

/**
 * Transient GetObjectTagging failures, named as the AWS SDK integration reports them. S3's `SlowDown`,
 * `InternalError` and `ServiceUnavailable` are in no operation of the S3 model, so Step Functions names them after
 * the SDK's base class, `S3.S3Exception` (LocalStack `error_handling/test_aws_sdk.snapshot.json`, recorded on AWS:
 * unmodelled errors arrive as `DynamoDb.DynamoDbException`, `SecretsManager.SecretsManagerException`). That name
 * also covers permanent unmodelled errors (an `AccessDenied` from an SDK that does not model it): retried too, then
 * told apart by the HTTP status in the cause ({@link nameErrorExpression}).
 */
const OBJECT_TAGS_TRANSIENT_ERRORS = ['S3.S3Exception', 'S3.SdkClientException'];

const TRANSIENT_RETRY = {
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 4,
  maxDelay: Duration.seconds(30),
  jitterStrategy: sfn.JitterType.FULL,
};

/** A task state written as ASL, which registers its IAM statements with every state machine it joins. */
export class SdkTaskState extends sfn.CustomState {
  constructor(scope: Construct, id: string, stateJson: Record<string, unknown>, private readonly statements: iam.PolicyStatement[]) {
    super(scope, id, { stateJson });
  }

  protected whenBoundToGraph(graph: sfn.StateGraph): void {
    super.whenBoundToGraph(graph);
    this.statements.forEach((s) => graph.registerPolicyStatement(s));
  }
}
