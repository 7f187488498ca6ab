import { Duration, cx_api as cxapi } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PerImageWorkflow, PerImageWorkflowProps } from './per-image';

/** What both bulk workflows share. */
interface BulkWorkflowBaseProps {
  /** The per-image workflow's props; item processors are built from them with the same class. */
  readonly perImage: PerImageWorkflowProps;
  readonly alertPerItem: boolean;
  readonly summarizeFunction: lambda.IFunction;
  /** Topics that get the batch digest. */
  readonly digestTopics: sns.ITopic[];
  /** `s3://bucket/prefix` of the audit records, reported in the summary. */
  readonly resultsLocation?: string;
}

/** Options for {@link InlineBulkWorkflow}. */
export interface InlineBulkWorkflowProps extends BulkWorkflowBaseProps {
  readonly defaultBucket: string;
  readonly maxConcurrency: number;
}

/** Options for {@link DistributedBulkWorkflow}. */
export interface DistributedBulkWorkflowProps extends BulkWorkflowBaseProps {
  /** The pipeline's bucket: listings and manifests are read from it. */
  readonly bucket: s3.IBucket;
  readonly maxConcurrency: number;
  readonly toleratedFailurePercentage: number;
  readonly executionType: sfn.StateMachineType;
  /** Images per child workflow; undefined for one. */
  readonly itemBatchSize?: number;
  /** Where the result writer puts its files. */
  readonly resultsBucket: s3.IBucket;
  readonly resultsPrefix: string;
}

/** Bulk state names, stable across releases. */
export const BulkStateName = {
  VALIDATE_BATCH: 'ValidateBatch',
  INVALID_BATCH: 'InvalidBatchInput',
  CLASSIFY_IMAGES: 'ClassifyImages',
  CLASSIFY_LISTING: 'ClassifyListing',
  CLASSIFY_MANIFEST: 'ClassifyManifest',
  SUMMARIZE: 'SummarizeBatch',
  NEEDS_DIGEST: 'NeedsDigest',
  BATCH_DONE: 'BatchDone',
} as const;

export const digestStateName = (index: number) => `BatchDigest${index + 1}`;

/** Manifest formats a distributed batch reads. */
export const MANIFEST_FORMATS = ['CSV', 'JSON', 'JSONL'] as const;

/** SummarizeBatch → NeedsDigest → digest alerts → BatchDone (the summary is the output). */
function summarizeAndDigest(scope: Construct, props: BulkWorkflowBaseProps, payload: Record<string, unknown>): sfn.State {
  const summarize = new tasks.LambdaInvoke(scope, BulkStateName.SUMMARIZE, {
    comment: 'Counts per outcome and label, failed items with error names: one invocation per batch.',
    lambdaFunction: props.summarizeFunction,
    payload: sfn.TaskInput.fromObject({ ...payload, ...(props.resultsLocation ? { resultsLocation: props.resultsLocation } : {}) }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
  });
  const done = new sfn.Succeed(scope, BulkStateName.BATCH_DONE);
  if (props.digestTopics.length === 0) {
    summarize.next(done);
    return summarize;
  }
  const digests = props.digestTopics.map((topic, i) => {
    const publish = new tasks.SnsPublish(scope, digestStateName(i), {
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
  summarize.next(new sfn.Choice(scope, BulkStateName.NEEDS_DIGEST)
    .when(sfn.Condition.numberGreaterThan('$.alerting', 0), digests[0])
    .otherwise(done));
  return summarize;
}

const invalidBatch = (scope: Construct, expected: string) => new sfn.Fail(scope, BulkStateName.INVALID_BATCH, {
  error: 'InvalidBatchInput',
  cause: `The execution input must be ${expected}.`,
});

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
    map.next(summarizeAndDigest(this, props, { items: sfn.JsonPath.entirePayload }));

    this.startState = new sfn.Choice(this, BulkStateName.VALIDATE_BATCH)
      .when(sfn.Condition.isPresent('$.images[0]'), map)
      .otherwise(invalidBatch(this, '{ "images": [{ "bucket"?: string, "key": string }, ...] } with at least one image'));
  }
}

/**
 * `{ "prefix" }` (every object under it in the pipeline's bucket) or `{ "manifest": { "key", "format" } }`
 * (a CSV with a `key` column, a JSON array or JSON Lines of `{ "key", "bucket"? }`, in the pipeline's
 * bucket) → a Distributed Map with one child workflow per image (the per-image workflow; an ERROR image
 * fails its child, counted against the tolerated failures) → result writer → summary → digest.
 */
export class DistributedBulkWorkflow extends Construct {
  public readonly startState: sfn.State;

  constructor(scope: Construct, id: string, props: DistributedBulkWorkflowProps) {
    super(scope, id);
    // aws-cdk-lib renders `resultWriterV2` only under this feature flag; scoped to this construct so the
    // consumer's app needs no setting and nothing else changes (the V1 writer is deprecated).
    this.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const summary = summarizeAndDigest(this, props, { resultWriterDetails: sfn.JsonPath.objectAt('$.ResultWriterDetails') });

    const distributedMap = (name: string, itemReader: sfn.IItemReader, itemSelector?: Record<string, unknown>) => {
      const label = name.replace(/^Classify/, '');
      const batched = props.itemBatchSize !== undefined;
      const item = new PerImageWorkflow(this, `${name}Item`, {
        ...props.perImage,
        alertRoutes: props.alertPerItem ? props.perImage.alertRoutes : [],
        // One image per child: an ERROR image fails its child. In a batch it becomes an ERROR item instead.
        bulkItem: { defaultBucket: props.bucket.bucketName, failOnError: !batched },
      });
      // State names are unique across a whole state machine, Map item processors included.
      sfn.State.prefixStates(item, `${label}:`);
      let child: sfn.IChainable = item.startState;
      if (batched) {
        child = new sfn.Map(this, `${label}:ClassifyBatch`, {
          comment: 'The images of one batch, each through the per-image workflow.',
          itemsPath: '$.Items',
          resultPath: '$',
        }).itemProcessor(item.startState);
      }
      const map = new sfn.DistributedMap(this, name, {
        itemReader,
        itemSelector,
        itemBatcher: batched ? new sfn.ItemBatcher({ maxItemsPerBatch: props.itemBatchSize }) : undefined,
        maxConcurrency: props.maxConcurrency,
        toleratedFailurePercentage: props.toleratedFailurePercentage,
        mapExecutionType: props.executionType,
        resultWriterV2: new sfn.ResultWriterV2({ bucket: props.resultsBucket, prefix: props.resultsPrefix }),
        resultPath: '$',
      });
      map.itemProcessor(child);
      map.next(summary);
      return map;
    };

    const listing = distributedMap(BulkStateName.CLASSIFY_LISTING, new sfn.S3ObjectsItemReader({
      bucket: props.bucket,
      prefix: sfn.JsonPath.stringAt('$.prefix'),
    }), {
      bucket: props.bucket.bucketName,
      key: sfn.JsonPath.stringAt('$$.Map.Item.Value.Key'),
    });

    const expected = '{ "bucket"?: <the pipeline\'s bucket>, "prefix": string } or '
      + '{ "manifest": { "bucket"?: <the pipeline\'s bucket>, "key": string, "format": "CSV" | "JSON" | "JSONL" } }';
    const invalid = invalidBatch(this, expected);
    // Listings and manifests come from the pipeline's bucket: the only one the classify function may read.
    const foreign = (path: string) =>
      sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.not(sfn.Condition.stringEquals(path, props.bucket.bucketName)));
    const validate = new sfn.Choice(this, BulkStateName.VALIDATE_BATCH)
      .when(sfn.Condition.or(foreign('$.bucket'), foreign('$.manifest.bucket')), invalid);
    for (const format of MANIFEST_FORMATS) {
      const key = sfn.JsonPath.stringAt('$.manifest.key');
      const reader = format === 'CSV'
        ? new sfn.S3CsvItemReader({ bucket: props.bucket, key, csvHeaders: sfn.CsvHeaders.useFirstRow() })
        : format === 'JSON' ? new sfn.S3JsonItemReader({ bucket: props.bucket, key }) : new sfn.S3JsonLItemReader({ bucket: props.bucket, key });
      validate.when(
        sfn.Condition.and(sfn.Condition.isPresent('$.manifest.key'), sfn.Condition.stringEquals('$.manifest.format', format)),
        distributedMap(`${BulkStateName.CLASSIFY_MANIFEST}${format === 'JSONL' ? 'Jsonl' : format === 'JSON' ? 'Json' : 'Csv'}`, reader),
      );
    }
    this.startState = validate
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.prefix'), sfn.Condition.isString('$.prefix')), listing)
      .otherwise(invalid);
  }
}
