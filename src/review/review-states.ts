import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PENDING, ReviewAttribute } from './decisions';
import { Outcome } from '../outcomes';

/** State names of the review part of the per-image workflow (stable: tests and the runner refer to them). */
export const ReviewStateName = {
  SHOULD_REVIEW: 'ShouldReview',
  REVIEW_ID: 'ReviewId',
  REVIEW_ID_UNVERSIONED: 'ReviewIdUnversioned',
  OPEN_REVIEW: 'OpenReview',
  CHECK_RELEASE: 'CheckRelease',
  RELEASE_MARKER_ID: 'ReleaseMarkerId',
  CONFIRM_RELEASE: 'ConfirmRelease',
  RELEASE_CONFIRMED: 'ReleaseConfirmed',
  MARK_RELEASED: 'MarkReleased',
} as const;

/** `$.actions.released`: a reviewer released this image (its token matched the console's release marker). */
export const RELEASED = sfn.Condition.and(sfn.Condition.isPresent('$.actions.released'), sfn.Condition.booleanEquals('$.actions.released', true));

/**
 * An image whose metadata carries a release token is trusted as released only when the review table holds the marker
 * the console wrote for this bucket, key and token (an uploader can set any metadata, not write the table). A failed
 * or empty lookup leaves the image an ordinary upload: quarantined, reviewed and alerted as any other.
 */
export function releaseCheckStates(scope: Construct, opts: { readonly table: dynamodb.ITable; readonly next: sfn.State }): sfn.State {
  const markReleased = new sfn.Pass(scope, ReviewStateName.MARK_RELEASED, {
    result: sfn.Result.fromBoolean(true),
    resultPath: '$.actions.released',
  }).next(opts.next);
  const confirmed = new sfn.Choice(scope, ReviewStateName.RELEASE_CONFIRMED)
    .when(sfn.Condition.isPresent('$.releaseMarker.lookup.Item'), markReleased)
    .otherwise(opts.next);
  const lookup = new tasks.DynamoGetItem(scope, ReviewStateName.CONFIRM_RELEASE, {
    comment: 'The console writes this marker before it copies a released image back.',
    table: opts.table,
    key: { [ReviewAttribute.ID]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.releaseMarker.id')) },
    consistentRead: true,
    projectionExpression: [new tasks.DynamoProjectionExpression().withAttribute(ReviewAttribute.ID)],
    resultPath: '$.releaseMarker.lookup',
  });
  lookup.addRetry({
    errors: [sfn.Errors.TASKS_FAILED], interval: Duration.seconds(1), backoffRate: 2, maxAttempts: 2, jitterStrategy: sfn.JitterType.FULL,
  });
  lookup.addCatch(opts.next, { errors: [sfn.Errors.ALL], resultPath: '$.releaseMarker.error' });
  lookup.next(confirmed);
  const markerId = new sfn.Pass(scope, ReviewStateName.RELEASE_MARKER_ID, {
    comment: 'SHA-256 of bucket/key@release:token (review/decisions.ts releaseMarkerIdOf).',
    parameters: {
      id: sfn.JsonPath.hash(sfn.JsonPath.format('{}/{}@release:{}',
        sfn.JsonPath.stringAt('$.result.bucket'), sfn.JsonPath.stringAt('$.result.key'), sfn.JsonPath.stringAt('$.actions.releaseToken')), 'SHA-256'),
    },
    resultPath: '$.releaseMarker',
  }).next(lookup);
  return new sfn.Choice(scope, ReviewStateName.CHECK_RELEASE, { comment: 'Released by a reviewer? Only if the review table says so.' })
    .when(sfn.Condition.isPresent('$.actions.releaseToken'), markerId)
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
