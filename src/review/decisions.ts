import { createHash } from 'node:crypto';
import type { DecisionRequest, ReviewDecision, ReviewItem } from './console-api';

/**
 * Human review's plain logic, shared by the console API handler, the testing kit and the tests: the review's
 * identity, what a decision means, the tags it writes and its Ground Truth manifest line.
 */

/** Attributes of a review item in the table. `pending` exists only while the item is pending (the sparse index). */
export const ReviewAttribute = {
  ID: 'reviewId',
  STATUS: 'status',
  /** `PENDING` while pending, removed by the decision: the partition key of the pending index. */
  PENDING: 'pending',
  CREATED_AT: 'createdAt',
  BUCKET: 'bucket',
  KEY: 'key',
  OUTCOME: 'outcome',
  /** The classification result (JSON) as the workflow had it when it opened the review. */
  RESULT: 'result',
  DECISION: 'decision',
  REVIEWED_LABEL: 'reviewedLabel',
  REVIEWER: 'reviewer',
  DECIDED_AT: 'decidedAt',
  RELEASED: 'released',
  /** `DECIDED` once decided: the partition key of the decided index. */
  DECIDED_KEY: 'decided',
  /** The release's reference (metadata of the copy, and part of its marker's ID); kept so a retry uses the same. */
  RELEASE_REF: 'releaseRef',
  /** Epoch seconds after which DynamoDB deletes the item (release markers only; TTL deletes late, so not a check). */
  EXPIRES_AT: 'expiresAt',
  /** ISO 8601 time until which a release marker is honoured: the workflow compares it with its own time. */
  VALID_UNTIL: 'validUntil',
  /** The copy a release marker lets through: its version ID, or its ETag in a bucket without versioning ({@link releasedCopyOf}). */
  RELEASED_COPY: 'releasedCopy',
  /** The execution that honoured a release marker (set once, by a conditional update: a second use fails). */
  CONSUMED_BY: 'consumedBy',
  CONSUMED_AT: 'consumedAt',
  /** `RELEASE` for a release marker (absent on review items). */
  KIND: 'kind',
  /** Set while a decision's effects (tags, release, manifest line, event) are not all done; a retry finishes them. */
  EFFECTS_PENDING: 'effectsPending',
} as const;

/** The sparse index of pending reviews, oldest first (`pending` = PENDING, sorted by `createdAt`). */
export const PENDING_INDEX = 'pending-by-age';
/** The sparse index of decided reviews, newest first (`decided` = DECIDED, sorted by `decidedAt`). */
export const DECIDED_INDEX = 'decided-by-time';
export const PENDING = 'PENDING';
export const DECIDED = 'DECIDED';

/** Tags a decision writes on the image, beside the pipeline's `ics:label`, `ics:confidence`, `ics:outcome`. */
export const ReviewTagKey = {
  REVIEW: 'ics:review',
  REVIEWED_LABEL: 'ics:reviewed-label',
} as const;

/** {@link ReviewAttribute.KIND} of a release marker. */
export const RELEASE_MARKER_KIND = 'RELEASE';

/**
 * Metadata of the copy a reviewer released (`x-amz-meta-ics-release`): a random reference, one per release, that names
 * its release marker ({@link releaseMarkerIdOf}). It is no secret (whoever reads the copy reads it): the marker lets
 * through only the copy the console made (its version ID or ETag), once, before its expiry.
 */
export const RELEASE_REF_METADATA_KEY = 'ics-release';

/** How long a release marker stays valid: the re-classification of the copy happens within minutes. */
export const RELEASE_MARKER_TTL_SECONDS = 24 * 3600;

/**
 * The release marker's item ID: SHA-256 (hex) of `bucket/key@release:ref`. The workflow computes the same with
 * `States.Hash(States.Format('{}/{}@release:{}', ...), 'SHA-256')` and consumes the item before it trusts a release.
 */
export function releaseMarkerIdOf(bucket: string, key: string, ref: string): string {
  return createHash('sha256').update(`${bucket}/${key}@release:${ref}`, 'utf8').digest('hex');
}

/**
 * What identifies one copy of an object: its version ID, or, where the bucket has no versioning (no version ID, or
 * `null` while versioning is suspended), its ETag without quotes. The console takes it from its CopyObject answer, the
 * classify function from its GetObject answer; an upload of other bytes has another.
 */
export function releasedCopyOf(versionId: string | undefined, etag: string | undefined): string | undefined {
  if (versionId && versionId !== 'null') return versionId;
  return etag ? `etag:${etag.replace(/"/g, '')}` : undefined;
}

/**
 * The review's ID: SHA-256 (hex) of `bucket/key@versionId` (`@` alone in an unversioned bucket), so a duplicate
 * delivery of the same upload finds its review instead of opening another. The workflow computes the same with
 * `States.Hash(States.Format('{}/{}@{}', ...), 'SHA-256')`.
 */
export function reviewIdOf(bucket: string, key: string, versionId?: string): string {
  return createHash('sha256').update(`${bucket}/${key}@${versionId ?? ''}`, 'utf8').digest('hex');
}

/** A valid review ID: 64 lowercase hex digits. */
export const REVIEW_ID = /^[0-9a-f]{64}$/;

/** A decision request checked against the item and the labels: what to record, or why it is refused (HTTP status and code). */
export type DecisionCheck =
  | { readonly ok: true; readonly decision: ReviewDecision; readonly reviewedLabel?: string; readonly release: boolean }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

/** Checks a decision request: body shape, label among `classLabels`, release only of a quarantined image, not decided already. */
export function checkDecision(body: unknown, item: ReviewItem, classLabels: readonly string[]): DecisionCheck {
  const refuse = (status: number, code: string, message: string): DecisionCheck => ({ ok: false, status, code, message });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return refuse(400, 'BadRequest', 'The body must be a JSON object: {"label": "..."} or {"unusable": true}, optionally with "release": true');
  }
  const req = body as DecisionRequest;
  const unknown = Object.keys(req).filter((k) => !['label', 'unusable', 'release'].includes(k));
  if (unknown.length > 0) return refuse(400, 'BadRequest', `Unknown fields: ${unknown.join(', ')}`);
  if (req.unusable !== undefined && typeof req.unusable !== 'boolean') return refuse(400, 'BadRequest', '"unusable" must be a boolean');
  if (req.release !== undefined && typeof req.release !== 'boolean') return refuse(400, 'BadRequest', '"release" must be a boolean');
  if (req.label !== undefined && typeof req.label !== 'string') return refuse(400, 'BadRequest', '"label" must be a string');
  if (req.unusable && req.label !== undefined) return refuse(400, 'BadRequest', 'Give either "label" or "unusable": true, not both');
  if (!req.unusable && req.label === undefined) return refuse(400, 'BadRequest', 'Give "label" (confirm or correct) or "unusable": true');
  if (req.label !== undefined && !classLabels.includes(req.label)) {
    return refuse(400, 'InvalidLabel', `"${req.label}" is not one of the class labels (${classLabels.join(', ')})`);
  }
  if (item.status !== PENDING) {
    return refuse(409, 'AlreadyDecided', `This review was decided already (${item.decision}${item.reviewer ? ` by ${item.reviewer}` : ''}); nothing was changed`);
  }
  if (req.release && !item.quarantine) return refuse(400, 'NotQuarantined', 'Only a quarantined image can be released');
  const decision: ReviewDecision = req.unusable ? 'UNUSABLE' : req.label === item.label ? 'CONFIRMED' : 'CORRECTED';
  return { ok: true, decision, reviewedLabel: req.label, release: req.release === true };
}

/** Where the image is after the decision: back at its key when released or never moved, else in quarantine. */
export function imageLocation(item: ReviewItem, released: boolean): { bucket: string; key: string } {
  return item.quarantine && !released ? item.quarantine : { bucket: item.bucket, key: item.key };
}

/** The tag set after a decision: the object's tags with `ics:review` and `ics:reviewed-label` replaced (S3 allows 10). */
export function reviewTags(
  existing: ReadonlyArray<{ Key: string; Value: string }>,
  decision: ReviewDecision,
  reviewedLabel?: string,
): Array<{ Key: string; Value: string }> | undefined {
  const ours = new Set<string>(Object.values(ReviewTagKey));
  const tags = [
    ...existing.filter((t) => !ours.has(t.Key)),
    { Key: ReviewTagKey.REVIEW, Value: decision },
    ...(reviewedLabel !== undefined ? [{ Key: ReviewTagKey.REVIEWED_LABEL, Value: reviewedLabel.replace(/[^\p{L}\p{N}\s+\-=._:/@]/gu, '_').slice(0, 256) }] : []),
  ];
  return tags.length <= 10 ? tags : undefined;
}

/** The label attribute of the manifest lines (`AttributeNames: ["source-ref", "class"]` in a training channel). */
export const MANIFEST_LABEL_ATTRIBUTE = 'class';

/** One line of the feedback manifest: SageMaker Ground Truth's image-classification output format. */
export interface ManifestLine {
  readonly 'source-ref': string;
  readonly [attribute: string]: unknown;
}

/**
 * The Ground Truth image-classification line for a decided label: `source-ref`, the class index (its position in
 * `classLabels`, as the built-in image-classification algorithm reads it) and `class-metadata` with `class-name`,
 * `human-annotated: "yes"`, `creation-date` and `type: "groundtruth/image-classification"`. An UNUSABLE decision
 * has no class and gives no line.
 */
export function manifestLine(opts: {
  readonly reviewId: string;
  readonly location: { readonly bucket: string; readonly key: string };
  readonly reviewedLabel?: string;
  readonly classLabels: readonly string[];
  readonly decidedAt: string;
  readonly jobName: string;
}): ManifestLine | undefined {
  if (opts.reviewedLabel === undefined) return undefined;
  const index = opts.classLabels.indexOf(opts.reviewedLabel);
  if (index < 0) return undefined;
  return {
    'source-ref': `s3://${opts.location.bucket}/${opts.location.key}`,
    [MANIFEST_LABEL_ATTRIBUTE]: index,
    [`${MANIFEST_LABEL_ATTRIBUTE}-metadata`]: {
      'confidence': 1,
      'job-name': opts.jobName,
      'class-name': opts.reviewedLabel,
      'human-annotated': 'yes',
      // Ground Truth writes creation-date without a zone (UTC), e.g. 2026-12-05T02:47:06.123456
      'creation-date': opts.decidedAt.replace(/Z$/, ''),
      'type': 'groundtruth/image-classification',
      'review-id': opts.reviewId,
    },
  };
}

/** Key of the month's feedback manifest under the audit bucket's `feedback/` prefix. */
export function manifestKey(prefix: string, decidedAt: string): string {
  return `${prefix}${decidedAt.slice(0, 4)}/${decidedAt.slice(5, 7)}/manifest.jsonl`;
}

/** Appends a line unless the manifest holds this review's line already (a retried decision): the new body, or undefined. */
export function appendManifest(current: string, line: ManifestLine, reviewId: string): string | undefined {
  const lines = current.split('\n').filter((l) => l.trim() !== '');
  if (lines.some((l) => l.includes(`"review-id":"${reviewId}"`))) return undefined;
  return [...lines, JSON.stringify(line)].join('\n') + '\n';
}

/** The item as the API shows it, from its DynamoDB attributes (unmarshalled). */
export function reviewItemOf(attrs: Record<string, any>): ReviewItem {
  const result = typeof attrs[ReviewAttribute.RESULT] === 'string' ? JSON.parse(attrs[ReviewAttribute.RESULT]) : {};
  return {
    reviewId: attrs[ReviewAttribute.ID],
    status: attrs[ReviewAttribute.STATUS],
    bucket: attrs[ReviewAttribute.BUCKET],
    key: attrs[ReviewAttribute.KEY],
    ...(result.versionId ? { versionId: result.versionId } : {}),
    ...(result.quarantine ? { quarantine: result.quarantine } : {}),
    outcome: attrs[ReviewAttribute.OUTCOME],
    ...(result.label !== undefined ? { label: result.label } : {}),
    ...(result.confidence !== undefined ? { confidence: result.confidence } : {}),
    topK: Array.isArray(result.topK) ? result.topK : [],
    executionArn: result.executionArn ?? '',
    createdAt: attrs[ReviewAttribute.CREATED_AT],
    ...(attrs[ReviewAttribute.DECISION] ? { decision: attrs[ReviewAttribute.DECISION] } : {}),
    ...(attrs[ReviewAttribute.REVIEWED_LABEL] ? { reviewedLabel: attrs[ReviewAttribute.REVIEWED_LABEL] } : {}),
    ...(attrs[ReviewAttribute.REVIEWER] ? { reviewer: attrs[ReviewAttribute.REVIEWER] } : {}),
    ...(attrs[ReviewAttribute.DECIDED_AT] ? { decidedAt: attrs[ReviewAttribute.DECIDED_AT] } : {}),
    ...(attrs[ReviewAttribute.RELEASED] ? { released: true } : {}),
  };
}

/**
 * Groups from a token's `cognito:groups` claim: an array in the JWT; a string `[a b]` (space-separated in brackets) as
 * the HTTP API's JWT authorizer passes claims to Lambda. Cognito group names contain no whitespace (CreateGroup:
 * GroupName pattern `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`) but may contain commas and brackets, so only whitespace separates
 * names, and only the one pair of brackets around the list is removed.
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  const list = claim.trim();
  const inner = list.startsWith('[') && list.endsWith(']') ? list.slice(1, -1) : list;
  return inner.split(/\s+/).filter((g) => g !== '');
}
