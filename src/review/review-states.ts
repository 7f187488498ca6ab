import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PENDING, RELEASE_MARKER_KIND, ReviewAttribute } from './decisions';
import { Outcome } from '../outcomes';

/** State names of the review part of the per-image workflow (stable: tests and the runner refer to them). */
export const ReviewStateName = {
  SHOULD_REVIEW: 'ShouldReview',
  REVIEW_ID: 'ReviewId',
  REVIEW_ID_UNVERSIONED: 'ReviewIdUnversioned',
  OPEN_REVIEW: 'OpenReview',
  CHECK_RELEASE: 'CheckRelease',
  RELEASE_MARKER_ID: 'ReleaseMarkerId',
  CONSUME_RELEASE: 'ConsumeRelease',
  MARK_RELEASED: 'MarkReleased',
} as const;

/** `$.actions.released`: a reviewer released this very copy (the workflow consumed the console's release marker for it). */
export const RELEASED = sfn.Condition.and(sfn.Condition.isPresent('$.actions.released'), sfn.Condition.booleanEquals('$.actions.released', true));

/**
 * An image whose metadata names a release marker (`$.actions.release`: the reference and the copy the classify
 * function read) is trusted as released only if the workflow consumes that marker: one conditional UpdateItem that
 * holds only for the copy the console made (its version ID or ETag), before the marker's `validUntil` (compared with
 * the state's entered time, since DynamoDB's TTL deletes expired items late), and only once (the first execution
 * records itself in `consumedBy`; the same execution may repeat the write, another may not). Anything else (no
 * marker, another copy, a second use, expired, a failed write) leaves the image an ordinary upload: quarantined,
 * reviewed and alerted as any other. An uploader can set any metadata, not write the table.
 */
export function releaseCheckStates(scope: Construct, opts: { readonly table: dynamodb.ITable; readonly next: sfn.State }): sfn.State {
  const markReleased = new sfn.Pass(scope, ReviewStateName.MARK_RELEASED, {
    result: sfn.Result.fromBoolean(true),
    resultPath: '$.actions.released',
  }).next(opts.next);
  const attr = (a: string) => `#${a}`;
  const names = [
    ReviewAttribute.KIND, ReviewAttribute.RELEASED_COPY, ReviewAttribute.VALID_UNTIL, ReviewAttribute.CONSUMED_BY, ReviewAttribute.CONSUMED_AT,
  ];
  const str = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(path));
  const consume = new tasks.DynamoUpdateItem(scope, ReviewStateName.CONSUME_RELEASE, {
    comment: 'Honour the console\'s release marker once, for the copy it made, before it expires.',
    table: opts.table,
    key: { [ReviewAttribute.ID]: str('$.releaseMarker.id') },
    updateExpression: `SET ${attr(ReviewAttribute.CONSUMED_BY)} = :execution, ${attr(ReviewAttribute.CONSUMED_AT)} = :now`,
    // `$$.State.EnteredTime` is ISO 8601 (Step Functions guide, "Accessing execution data from the Context object"),
    // as `validUntil` is (toISOString): UTC times in one format compare as strings; a difference in the fraction of a
    // second's digits shifts the comparison by under a second.
    conditionExpression: [
      `${attr(ReviewAttribute.KIND)} = :kind`,
      `${attr(ReviewAttribute.RELEASED_COPY)} = :copy`,
      `${attr(ReviewAttribute.VALID_UNTIL)} > :now`,
      `(attribute_not_exists(${attr(ReviewAttribute.CONSUMED_BY)}) OR ${attr(ReviewAttribute.CONSUMED_BY)} = :execution)`,
    ].join(' AND '),
    expressionAttributeNames: Object.fromEntries(names.map((n) => [attr(n), n])),
    expressionAttributeValues: {
      ':kind': tasks.DynamoAttributeValue.fromString(RELEASE_MARKER_KIND),
      ':copy': str('$.actions.release.copy'),
      ':now': str('$$.State.EnteredTime'),
      ':execution': str('$$.Execution.Id'),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  // The console writes the marker right after its CopyObject answers: a workflow that outruns it tries again shortly.
  consume.addRetry({ errors: ['DynamoDB.ConditionalCheckFailedException'], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 2 });
  consume.addRetry({
    errors: [sfn.Errors.TASKS_FAILED], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 2, jitterStrategy: sfn.JitterType.FULL,
  });
  consume.addCatch(opts.next, { errors: [sfn.Errors.ALL], resultPath: '$.releaseMarker.error' });
  consume.next(markReleased);
  const markerId = new sfn.Pass(scope, ReviewStateName.RELEASE_MARKER_ID, {
    comment: 'SHA-256 of bucket/key@release:ref (review/decisions.ts releaseMarkerIdOf).',
    parameters: {
      id: sfn.JsonPath.hash(sfn.JsonPath.format('{}/{}@release:{}',
        sfn.JsonPath.stringAt('$.result.bucket'), sfn.JsonPath.stringAt('$.result.key'), sfn.JsonPath.stringAt('$.actions.release.ref')), 'SHA-256'),
    },
    resultPath: '$.releaseMarker',
  }).next(consume);
  return new sfn.Choice(scope, ReviewStateName.CHECK_RELEASE, { comment: 'Released by a reviewer? Only if the review table says so, once.' })
    .when(sfn.Condition.isPresent('$.actions.release'), markerId)
    .otherwise(opts.next);
}

/**
 * Opens a review for images with the given outcomes (not for one a reviewer released): a PutItem with the image and
 * the model's result, conditional on no review of this image version existing, so a duplicate delivery opens none.
 * Returns the first state; `guard` adds the action retry and the ActionFailed catch.
 */
export function reviewStates(scope: Construct, opts: {
  readonly table: dynamodb.ITable;
  readonly outcomes: Outcome[];
  readonly next: sfn.State;
  readonly guard: (task: sfn.TaskStateBase, action: string) => sfn.TaskStateBase;
}): sfn.State {
  const hash = (format: string, ...paths: string[]) => sfn.JsonPath.hash(sfn.JsonPath.format(format, ...paths.map((p) => sfn.JsonPath.stringAt(p))), 'SHA-256');
  const open = new tasks.DynamoPutItem(scope, ReviewStateName.OPEN_REVIEW, {
    comment: 'One pending review per image version: the condition makes a duplicate delivery a no-op.',
    table: opts.table,
    item: {
      [ReviewAttribute.ID]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.review.id')),
      [ReviewAttribute.STATUS]: tasks.DynamoAttributeValue.fromString(PENDING),
      [ReviewAttribute.PENDING]: tasks.DynamoAttributeValue.fromString(PENDING),
      [ReviewAttribute.CREATED_AT]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.result.classifiedAt')),
      [ReviewAttribute.BUCKET]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.result.bucket')),
      [ReviewAttribute.KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.result.key')),
      [ReviewAttribute.OUTCOME]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.result.outcome')),
      [ReviewAttribute.RESULT]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.result'))),
    },
    conditionExpression: 'attribute_not_exists(#id)',
    expressionAttributeNames: { '#id': ReviewAttribute.ID },
    resultPath: sfn.JsonPath.DISCARD,
  });
  // The review exists already (a duplicate delivery): nothing to do, never retried.
  const duplicate = 'DynamoDB.ConditionalCheckFailedException';
  open.addRetry({ errors: [duplicate], maxAttempts: 0 });
  open.addCatch(opts.next, { errors: [duplicate], resultPath: sfn.JsonPath.DISCARD });
  opts.guard(open, 'Review').next(opts.next);

  const versioned = new sfn.Pass(scope, ReviewStateName.REVIEW_ID, {
    comment: 'SHA-256 of bucket/key@versionId (review/decisions.ts reviewIdOf).',
    parameters: { id: hash('{}/{}@{}', '$.result.bucket', '$.result.key', '$.result.versionId') },
    resultPath: '$.review',
  }).next(open);
  const unversioned = new sfn.Pass(scope, ReviewStateName.REVIEW_ID_UNVERSIONED, {
    parameters: { id: hash('{}/{}@', '$.result.bucket', '$.result.key') },
    resultPath: '$.review',
  }).next(open);

  const inScope = opts.outcomes.map((o) => sfn.Condition.stringEquals('$.result.outcome', o));
  return new sfn.Choice(scope, ReviewStateName.SHOULD_REVIEW, { comment: `Outcomes reviewed by people: ${opts.outcomes.join(', ')}.` })
    .when(RELEASED, opts.next)
    .when(sfn.Condition.and(inScope.length === 1 ? inScope[0] : sfn.Condition.or(...inScope), sfn.Condition.isPresent('$.result.versionId')), versioned)
    .when(inScope.length === 1 ? inScope[0] : sfn.Condition.or(...inScope), unversioned)
    .otherwise(opts.next);
}
