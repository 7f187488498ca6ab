import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PerImageWorkflow, PerImageWorkflowProps } from './per-image';

/** Options for {@link InlineBulkWorkflow}. */
export interface InlineBulkWorkflowProps {
  /** The per-image workflow's props; the item processor is built from them with the same class. */
  readonly perImage: PerImageWorkflowProps;
  readonly defaultBucket: string;
  readonly maxConcurrency: number;
  readonly alertPerItem: boolean;
  readonly summarizeFunction: lambda.IFunction;
  /** Topics that get the batch digest. */
  readonly digestTopics: sns.ITopic[];
  /** `s3://bucket/prefix` of the audit records, reported in the summary. */
  readonly resultsLocation?: string;
}

/** Bulk state names, stable across releases. */
export const BulkStateName = {
  VALIDATE_BATCH: 'ValidateBatch',
  INVALID_BATCH: 'InvalidBatchInput',
  CLASSIFY_IMAGES: 'ClassifyImages',
  SUMMARIZE: 'SummarizeBatch',
  NEEDS_DIGEST: 'NeedsDigest',
  BATCH_DONE: 'BatchDone',
} as const;

export const digestStateName = (index: number) => `BatchDigest${index + 1}`;

/**
 * `{ "images": [{ "bucket"?, "key" }, ...] }` → an inline Map running the per-image workflow on each image
 * (ERROR items do not fail the batch) → one summary invocation → one digest alert when anything needs
 * attention → the summary as output.
 */
export class InlineBulkWorkflow extends Construct {
  public readonly startState: sfn.State;

  constructor(scope: Construct, id: string, props: InlineBulkWorkflowProps) {
    super(scope, id);

    const item = new PerImageWorkflow(this, 'Item', {
      ...props.perImage,
      alertRoutes: props.alertPerItem ? props.perImage.alertRoutes : [],
      bulkItem: { defaultBucket: props.defaultBucket },
    });

    const map = new sfn.Map(this, BulkStateName.CLASSIFY_IMAGES, {
      comment: 'The per-image workflow on each image; the results replace the input (only compact outcomes).',
      itemsPath: '$.images',
      maxConcurrency: props.maxConcurrency,
      resultPath: '$',
    });
    map.itemProcessor(item.startState);

    const summarize = new tasks.LambdaInvoke(this, BulkStateName.SUMMARIZE, {
      comment: 'Counts per outcome and label, failed items with error names: one invocation per batch.',
      lambdaFunction: props.summarizeFunction,
      payload: sfn.TaskInput.fromObject({
        items: sfn.JsonPath.entirePayload,
        ...(props.resultsLocation ? { resultsLocation: props.resultsLocation } : {}),
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });

    const done = new sfn.Succeed(this, BulkStateName.BATCH_DONE);
    let afterSummary: sfn.IChainable = done;
    if (props.digestTopics.length > 0) {
      const digests = props.digestTopics.map((topic, i) => {
        const publish = new tasks.SnsPublish(this, digestStateName(i), {
          topic,
          subject: sfn.JsonPath.format('Image classification batch: {} of {} images need attention',
            sfn.JsonPath.stringAt('$.alerting'), sfn.JsonPath.stringAt('$.total')),
          message: sfn.TaskInput.fromText(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$'))),
          messageAttributes: { kind: { value: 'BATCH_DIGEST', dataType: tasks.MessageAttributeDataType.STRING } },
          resultPath: sfn.JsonPath.DISCARD,
        });
        publish.addRetry({ errors: [sfn.Errors.TASKS_FAILED], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 3 });
        return publish;
      });
      digests.forEach((d, i) => d.next(digests[i + 1] ?? done));
      afterSummary = new sfn.Choice(this, BulkStateName.NEEDS_DIGEST)
        .when(sfn.Condition.numberGreaterThan('$.alerting', 0), digests[0])
        .otherwise(done);
    }

    this.startState = new sfn.Choice(this, BulkStateName.VALIDATE_BATCH)
      .when(sfn.Condition.isPresent('$.images[0]'), map.next(summarize).next(afterSummary))
      .otherwise(new sfn.Fail(this, BulkStateName.INVALID_BATCH, {
        error: 'InvalidBatchInput',
        cause: 'The execution input must be { "images": [{ "bucket"?: string, "key": string }, ...] } with at least one image.',
      }));
  }
}
