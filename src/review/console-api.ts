/**
 * The console's HTTP contract: shared by the console API handler (src/handlers/console-api.lambda.ts), the front end
 * (console/) and the testing kit's local console. Plain types and constants only: the front end bundles this file.
 */

/** Cognito groups the construct creates; a user's groups arrive in the token's `cognito:groups` claim. */
export const ConsoleGroup = {
  /** May decide reviews and upload images, and see everything viewers see. */
  REVIEWERS: 'reviewers',
  /** May see the chart, the review queue and the images. */
  VIEWERS: 'viewers',
} as const;

/** Routes of the console's HTTP API. Public routes serve the front end; the `/api/` routes need a JWT. */
export const ConsoleRoute = {
  INDEX: 'GET /',
  /** `app.js`, `app.css`: the built front end. */
  STATIC: 'GET /static/{file}',
  CONFIG: 'GET /config.json',
  ME: 'GET /api/me',
  METRICS: 'GET /api/metrics',
  LIST_REVIEWS: 'GET /api/reviews',
  GET_REVIEW: 'GET /api/reviews/{id}',
  DECIDE: 'POST /api/reviews/{id}/decision',
  CREATE_UPLOAD: 'POST /api/uploads',
  UPLOAD_STATUS: 'GET /api/uploads/status',
} as const;

/** Routes any visitor may call: the page, its script and style, and the sign-in configuration. */
export const PUBLIC_ROUTES: readonly string[] = [ConsoleRoute.INDEX, ConsoleRoute.STATIC, ConsoleRoute.CONFIG];

/** `GET /config.json`: what the page needs before sign-in. */
export interface ConsoleConfig {
  /** The pipeline's construct path, shown as the console's title. */
  readonly title: string;
  readonly region: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  /**
   * Where the page sends Cognito's `InitiateAuth` and `RespondToAuthChallenge` (AWS JSON 1.1, `X-Amz-Target:
   * AWSCognitoIdentityProviderService.<Action>`, flow `USER_PASSWORD_AUTH`): `https://cognito-idp.<region>.amazonaws.com/`,
   * or the testing kit's local stand-in.
   */
  readonly cognitoEndpoint: string;
  /** The model's class labels, in order (a corrected label must be one of them). */
  readonly classLabels: string[];
  /** Outcomes that go to review. */
  readonly reviewOutcomes: string[];
  /** Whether the console offers uploads. */
  readonly uploads: boolean;
  /** Largest upload in bytes (the pipeline's `maxImageSize`). */
  readonly maxUploadBytes: number;
}

/** `GET /api/me`. */
export interface ConsoleUser {
  readonly username: string;
  readonly groups: string[];
  /** In the reviewers group: may decide and upload. */
  readonly canReview: boolean;
}

/** `GET /api/metrics?hours=24`: sums per period, oldest first; a period without data is 0. */
export interface MetricsResponse {
  readonly periodSeconds: number;
  /** Start of each period, epoch seconds. */
  readonly timestamps: number[];
  /** Images per outcome (FLAGGED, ACCEPTED, LOW_CONFIDENCE, ERROR) per period. */
  readonly outcomes: Record<string, number[]>;
  /** Images classified per top label per period. */
  readonly labels: Record<string, number[]>;
  /** Alerts published per period (an alert to two topics counts twice). */
  readonly alerts: number[];
}

export type ReviewStatus = 'PENDING' | 'DECIDED';
export type ReviewDecision = 'CONFIRMED' | 'CORRECTED' | 'UNUSABLE';

/** One image under review: what the model said, where the image is, and the decision once made. */
export interface ReviewItem {
  readonly reviewId: string;
  readonly status: ReviewStatus;
  /** Where the image was uploaded. */
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** Set when the image was quarantined (it is there until released). */
  readonly quarantine?: { readonly bucket: string; readonly key: string };
  readonly outcome: string;
  readonly label?: string;
  readonly confidence?: number;
  /** The model's best labels, best first. */
  readonly topK: Array<{ readonly label: string; readonly score: number }>;
  readonly executionArn: string;
  /** ISO-8601 time the review was opened (the classification's time). */
  readonly createdAt: string;
  readonly decision?: ReviewDecision;
  readonly reviewedLabel?: string;
  readonly reviewer?: string;
  readonly decidedAt?: string;
  /** The image was moved back from quarantine to its original key. */
  readonly released?: boolean;
}

/** `GET /api/reviews?status=PENDING` (default) or `DECIDED`: newest decided first, oldest pending first. */
export interface ReviewList {
  readonly items: ReviewItem[];
}

/** `GET /api/reviews/{id}`: the item with a short-lived (5 minutes) presigned GET of the image. */
export interface ReviewDetail extends ReviewItem {
  readonly imageUrl: string;
}

/**
 * `POST /api/reviews/{id}/decision` (reviewers): confirm the model's label (`label` equal to it), correct it (another
 * of `classLabels`), or mark the image `unusable`; `release` moves a quarantined image back to its original key.
 * Answers the decided item; 409 when it was decided already, 400 for a label not in `classLabels`.
 */
export interface DecisionRequest {
  readonly label?: string;
  readonly unusable?: boolean;
  readonly release?: boolean;
}

/** `POST /api/uploads` (reviewers): a presigned PUT into the input prefix, valid 5 minutes. */
export interface UploadRequest {
  readonly fileName: string;
  /** `image/*`. */
  readonly contentType: string;
  /** Bytes; at most `maxUploadBytes`. The URL is signed for exactly this length. */
  readonly size: number;
}

/** Answer to `POST /api/uploads`: PUT the file's bytes to `url` with exactly `headers`. */
export interface UploadTicket {
  readonly key: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** `GET /api/uploads/status?key=...`: the pipeline's outcome for an upload, once its tags or review say so. */
export interface UploadStatus {
  readonly key: string;
  /** WAITING until the pipeline has tagged, quarantined or opened a review for the image. */
  readonly status: 'WAITING' | 'CLASSIFIED';
  readonly outcome?: string;
  readonly label?: string;
  readonly confidence?: number;
  /** The review opened for it, if any. */
  readonly reviewId?: string;
}

/** Every 4xx/5xx answer of the API. */
export interface ConsoleError {
  readonly message: string;
  /** e.g. `NotFound`, `AlreadyDecided`, `InvalidLabel`, `Forbidden`, `TooLarge`, `BadRequest`. */
  readonly code: string;
}
