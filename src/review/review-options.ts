import { Duration } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Outcome } from '../outcomes';

/**
 * Human review: images with the given outcomes get a review item (pending → decided) in a DynamoDB table, written by
 * the workflow itself. Decisions are made in the console (`console`) or by anything that calls its API.
 */
export interface ReviewOptions {
  /**
   * Outcomes whose images go to review (FLAGGED, ACCEPTED or LOW_CONFIDENCE: an ERROR image has no label to judge).
   *
   * @default [Outcome.LOW_CONFIDENCE]
   */
  readonly outcomes?: Outcome[];

  /**
   * Raise the `OldestPendingReview` alarm when the oldest pending review has waited this long (the age is measured
   * every 5 minutes).
   *
   * @default Duration.hours(24)
   */
  readonly maxPendingAge?: Duration;

  /**
   * Who may decide reviews (and upload in the console): the members of this Cognito group of the console's user pool.
   *
   * @default 'reviewers'
   */
  readonly reviewersGroupName?: string;
}

/**
 * The operator console: a web app behind Amazon Cognito and a JWT-authorized HTTP API, showing outcomes over time,
 * the review queue (confirm or correct a label, mark an image unusable, release a quarantined image) and uploads.
 */
export interface ConsoleOptions {
  /**
   * The user pool whose users sign in. Members of its `reviewers` group decide reviews and upload; members of
   * `viewers` only look. The console adds an app client (password sign-in, no secret) and the two groups.
   *
   * @default - a user pool is created: admin-created users only (no self sign-up), a strong password policy, optional
   * TOTP MFA, deletion protection, retained on stack deletion
   */
  readonly userPool?: cognito.IUserPool;

  /**
   * Offer uploads into the pipeline's input prefix from the browser (presigned PUT, signed for the file's exact size,
   * at most `maxImageSize`). Needs the pipeline's own bucket (a bucket you bring needs a CORS rule for the console's
   * origin).
   *
   * @default true when the pipeline creates its bucket; false with a bucket you bring
   */
  readonly uploads?: boolean;

  /**
   * Who may call the console's API from a browser page on another origin. The console's own page is served by the
   * API (same origin) and needs none.
   *
   * @default - no CORS
   */
  readonly allowedOrigins?: string[];

  /**
   * The Cognito group whose members may look (chart, queue, images) without deciding.
   *
   * @default 'viewers'
   */
  readonly viewersGroupName?: string;

  /**
   * Create the reviewers and viewers groups in the user pool. Set `false` when a pool you bring has them already
   * (CloudFormation cannot create a group that exists).
   *
   * @default true
   */
  readonly createGroups?: boolean;
}
