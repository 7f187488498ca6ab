import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { IMAGE_FORMATS } from './image-format';
import { EmfSink } from './metrics';
import { ReviewMetric } from './review-metrics';
import {
  ConsoleConfig, ConsoleError, ConsoleGroup, ConsoleRoute, ConsoleUser, MetricsResponse, ReviewDetail, ReviewItem, ReviewList, UploadStatus,
  UploadTicket,
} from '../review/console-api';
import {
  appendManifest, checkDecision, DECIDED, groupsOf, imageLocation, manifestKey, manifestLine, PENDING,
  RELEASE_MARKER_KIND, RELEASE_MARKER_TTL_SECONDS, RELEASE_REF_METADATA_KEY, releasedCopyOf, releaseMarkerIdOf, REVIEW_ID, ReviewAttribute,
  reviewIdOf, reviewItemOf, reviewTags,
} from '../review/decisions';

/** Environment the construct sets on the console API function. */
export const ConsoleEnv = {
  /** JSON {@link ConsoleSettings}. */
  SETTINGS: 'ICS_CONSOLE_SETTINGS',
  /** Where the page sends Cognito requests (the testing kit's stand-in locally). @default https://cognito-idp.<region>.amazonaws.com/ */
  COGNITO_ENDPOINT: 'ICS_COGNITO_ENDPOINT',
} as const;

/** What the construct tells the function (one JSON variable). */
export interface ConsoleSettings {
  readonly title: string;
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  readonly reviewTable: string;
  readonly classLabels: string[];
  readonly reviewOutcomes: string[];
  /** The pipeline's bucket and input prefix (uploads go there; images are read there). */
  readonly bucket: string;
  readonly inputPrefix: string;
  readonly inputSuffixes: string[];
  readonly uploads: boolean;
  readonly maxUploadBytes: number;
  /**
   * The formats (keys of `IMAGE_FORMATS`) an upload may have: those the pipeline's classifier reads.
   * @default every format the classify function recognizes
   */
  readonly uploadFormats?: string[];
  readonly quarantine?: { readonly bucket: string; readonly prefix: string };
  /** Where manifest lines go: the audit bucket's `feedback/` prefix. */
  readonly feedback: { readonly bucket: string; readonly prefix: string };
  /** The result events' bus (name or ARN); absent when result events are off. */
  readonly eventBus?: string;
  /** The outcome and label metrics the chart reads. */
  readonly metrics: {
    readonly namespace: string;
    readonly pipeline: string;
    /** Outcomes are EMF `Images` by `Outcome` (queued ingestion), or metric filters `Outcome<OUTCOME>` in `logsNamespace` (direct). */
    readonly outcomesFrom: 'emf' | 'logs';
    readonly logsNamespace: string;
  };
  /** The job name in manifest lines. */
  readonly jobName: string;
  /** The Cognito groups: reviewers decide and upload, viewers look. */
  readonly groups: { readonly reviewers: string; readonly viewers: string };
}

/** The AWS calls the API makes, injected so the logic runs against the real SDK (handler) or the testing kit's peers. */
export interface ConsoleDeps {
  readonly region: string;
  readonly settings: ConsoleSettings;
  readonly cognitoEndpoint: string;
  /** The built front end: `index.html`, `app.js`, `app.css`. */
  readonly asset: (name: string) => Buffer | undefined;
  readonly reviews: {
    get(reviewId: string): Promise<Record<string, any> | undefined>;
    /** Oldest pending first, or newest decided first. */
    list(status: 'PENDING' | 'DECIDED', limit: number): Promise<Record<string, any>[]>;
    /** Records the decision if the item is still pending; false when it was not (decided meanwhile). */
    decide(reviewId: string, fields: Record<string, unknown>): Promise<boolean>;
    /** Clears `effectsPending` once every effect is done. */
    effectsDone(reviewId: string): Promise<void>;
    /** Writes a release marker item (the copy it lets through, its validity), overwriting one with the same ID. */
    putReleaseMarker(markerId: string, attrs: Record<string, unknown>): Promise<void>;
  };
  readonly s3: {
    presignGet(bucket: string, key: string, versionId: string | undefined, expiresIn: number): Promise<string>;
    presignPut(bucket: string, key: string, contentType: string, size: number, expiresIn: number): Promise<string>;
    /** Tags and version, or undefined when the object does not exist. */
    getTags(bucket: string, key: string): Promise<{ tags: Array<{ Key: string; Value: string }>; versionId?: string } | undefined>;
    putTags(bucket: string, key: string, tags: Array<{ Key: string; Value: string }>): Promise<void>;
    /** Copies with `metadata` added (content type kept) and the tag set replaced by `tags`: the copy's version ID and ETag. */
    copyWithMetadata(
      from: { bucket: string; key: string },
      to: { bucket: string; key: string },
      metadata: Record<string, string>,
      tags: Array<{ Key: string; Value: string }>,
    ): Promise<{ versionId?: string; etag?: string }>;
    /**
     * The newest version of `key` that is not a delete marker (a quarantined upload's original), `null` in an
     * unversioned bucket, undefined when there is none.
     */
    lastVersion(bucket: string, key: string): Promise<string | null | undefined>;
    deleteObject(bucket: string, key: string): Promise<void>;
    /** Body and ETag, or undefined when absent. */
    getText(bucket: string, key: string): Promise<{ body: string; etag: string } | undefined>;
    /** A conditional write: `ifMatch` an ETag, or only if absent; false when the condition failed (someone wrote first). */
    putTextIf(bucket: string, key: string, body: string, condition: { ifMatch: string } | { ifNoneMatch: '*' }): Promise<boolean>;
  };
  readonly putEvent?: (detailType: string, detail: unknown) => Promise<void>;
  readonly metricData: (queries: MetricQuery[], start: Date, end: Date) => Promise<Record<string, Array<[number, number]>>>;
  readonly emf: EmfSink;
  readonly now: () => Date;
}

/** One GetMetricData query: id, metric and period (Sum). */
export interface MetricQuery {
  readonly id: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly period: number;
}

const OUTCOMES = ['FLAGGED', 'ACCEPTED', 'LOW_CONFIDENCE', 'ERROR'];
const MAX_BODY_BYTES = 16 * 1024;
/** S3's longest object key, in UTF-8 bytes (User Guide, "Naming Amazon S3 objects"). */
const MAX_KEY_BYTES = 1024;
const URL_TTL_SECONDS = 300;

type Result = APIGatewayProxyStructuredResultV2;
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Content-Security-Policy and the other security headers of every answer. */
export function securityHeaders(cognitoEndpoint: string, s3Origins: readonly string[]): Record<string, string> {
  const cognito = new URL(cognitoEndpoint).origin;
  const s3 = [...new Set(s3Origins)].join(' ');
  return {
    'content-security-policy': [
      "default-src 'none'", "script-src 'self'", "style-src 'self'", `img-src 'self' data: blob: ${s3}`,
      `connect-src 'self' ${cognito} ${s3}`, "font-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
    ].join('; '),
    'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

const STATIC_TYPES: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };

/** The console API: one function behind every route (the HTTP API's JWT authorizer has checked the token of `/api/` routes). */
export class ConsoleApi {
  private s3Origins?: string[];

  constructor(private readonly deps: ConsoleDeps) {}

  private get groups() {
    return this.deps.settings.groups ?? { reviewers: ConsoleGroup.REVIEWERS, viewers: ConsoleGroup.VIEWERS };
  }

  public async handle(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<Result> {
    // Nothing is cached unless an answer says otherwise (the static files): errors included.
    const headers = { ...securityHeaders(this.deps.cognitoEndpoint, await this.origins()), 'cache-control': 'no-store' };
    try {
      const res = await this.route(event);
      return { ...res, headers: { ...headers, ...res.headers } };
    } catch (err) {
      if (err instanceof HttpError) return json(err.status, { message: err.message, code: err.code } satisfies ConsoleError, headers);
      // An unexpected failure answers here too, with the same headers, and says no more than that (the log has it).
      console.error(err);
      return json(500, { message: 'The console failed to answer; try again', code: 'InternalError' } satisfies ConsoleError, headers);
    }
  }

  private async origins(): Promise<string[]> {
    if (!this.s3Origins) {
      const s = this.deps.settings;
      const buckets = [s.bucket, ...(s.quarantine ? [s.quarantine.bucket] : [])];
      this.s3Origins = await Promise.all(buckets.map(async (b) => new URL(await this.deps.s3.presignGet(b, 'x', undefined, 60)).origin));
    }
    return this.s3Origins;
  }

  private async route(event: APIGatewayProxyEventV2WithJWTAuthorizer): Promise<Result> {
    const route = event.routeKey;
    switch (route) {
      case ConsoleRoute.INDEX: return this.asset('index.html', 'text/html; charset=utf-8');
      case ConsoleRoute.STATIC: {
        const file = event.pathParameters?.file ?? '';
        if (!STATIC_TYPES[file]) throw new HttpError(404, 'NotFound', `No such file: ${file}`);
        return this.asset(file, STATIC_TYPES[file], 'public, max-age=300');
      }
      case ConsoleRoute.CONFIG: return json(200, this.config());
      default: break;
    }
    const user = this.user(event);
    const { reviewers, viewers } = this.groups;
    if (!user.groups.includes(reviewers) && !user.groups.includes(viewers)) {
      throw new HttpError(403, 'Forbidden', `${user.username} is in neither the ${reviewers} nor the ${viewers} group`);
    }
    const query = event.queryStringParameters ?? {};
    switch (route) {
      case ConsoleRoute.ME: return json(200, user);
      case ConsoleRoute.METRICS: return json(200, await this.metrics(query.hours));
      case ConsoleRoute.LIST_REVIEWS: return json(200, await this.list(query.status));
      case ConsoleRoute.GET_REVIEW: return json(200, await this.detail(event.pathParameters?.id));
      case ConsoleRoute.DECIDE:
        this.mustReview(user);
        return json(200, await this.decide(event.pathParameters?.id, bodyOf(event), user.username));
      case ConsoleRoute.CREATE_UPLOAD:
        this.mustReview(user);
        return json(200, await this.upload(bodyOf(event)));
      case ConsoleRoute.UPLOAD_STATUS: return json(200, await this.uploadStatus(query.key));
      default: throw new HttpError(404, 'NotFound', `No route ${route}`);
    }
  }

  private asset(name: string, contentType: string, cache = 'no-store'): Result {
    const body = this.deps.asset(name);
    if (!body) throw new HttpError(404, 'NotFound', `The console's ${name} is missing from this deployment`);
    return { statusCode: 200, headers: { 'content-type': contentType, 'cache-control': cache }, body: body.toString('base64'), isBase64Encoded: true };
  }

  private config(): ConsoleConfig {
    const s = this.deps.settings;
    return {
      title: s.title,
      region: this.deps.region,
      userPoolId: s.userPoolId,
      userPoolClientId: s.userPoolClientId,
      cognitoEndpoint: this.deps.cognitoEndpoint,
      classLabels: s.classLabels,
      reviewOutcomes: s.reviewOutcomes,
      uploads: s.uploads,
      maxUploadBytes: s.maxUploadBytes,
    };
  }

  private user(event: APIGatewayProxyEventV2WithJWTAuthorizer): ConsoleUser {
    const claims = event.requestContext?.authorizer?.jwt?.claims ?? {};
    const username = String(claims['cognito:username'] ?? claims.username ?? '');
    if (!username) throw new HttpError(401, 'Unauthorized', 'The token names no user');
    const groups = groupsOf(claims['cognito:groups']);
    return { username, groups, canReview: groups.includes(this.groups.reviewers) };
  }

  private mustReview(user: ConsoleUser) {
    if (!user.canReview) throw new HttpError(403, 'Forbidden', `Only members of the ${this.groups.reviewers} group may do this`);
  }

  private async metrics(hoursParam?: string): Promise<MetricsResponse> {
    const hours = hoursParam === undefined ? 24 : Number(hoursParam);
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 14) throw new HttpError(400, 'BadRequest', '"hours" must be a whole number from 1 to 336');
    const period = hours <= 24 ? 300 : 3600;
    const m = this.deps.settings.metrics;
    const end = new Date(Math.ceil(this.deps.now().getTime() / 1000 / period) * period * 1000);
    const start = new Date(end.getTime() - hours * 3600 * 1000);
    const outcomeQuery = (o: string, i: number): MetricQuery => (m.outcomesFrom === 'emf'
      ? { id: `o${i}`, namespace: m.namespace, metricName: 'Images', dimensions: { Pipeline: m.pipeline, Outcome: o }, period }
      : { id: `o${i}`, namespace: m.logsNamespace, metricName: `Outcome${o}`, dimensions: {}, period });
    const labels = this.deps.settings.classLabels;
    const alertsQuery: MetricQuery = m.outcomesFrom === 'emf'
      ? { id: 'a0', namespace: m.namespace, metricName: 'AlertsPublished', dimensions: { Pipeline: m.pipeline }, period }
      : { id: 'a0', namespace: m.logsNamespace, metricName: 'AlertsPublished', dimensions: {}, period };
    const queries = [
      alertsQuery,
      ...OUTCOMES.map(outcomeQuery),
      ...labels.map((l, i): MetricQuery => ({ id: `l${i}`, namespace: m.namespace, metricName: 'ImagesClassified', dimensions: { Pipeline: m.pipeline, Label: l }, period })),
    ];
    const data = await this.deps.metricData(queries, start, end);
    const timestamps: number[] = [];
    for (let t = start.getTime() / 1000; t < end.getTime() / 1000; t += period) timestamps.push(t);
    const series = (id: string) => {
      const byTime = new Map((data[id] ?? []).map(([t, v]) => [t, v]));
      return timestamps.map((t) => byTime.get(t) ?? 0);
    };
    return {
      periodSeconds: period,
      timestamps,
      outcomes: Object.fromEntries(OUTCOMES.map((o, i) => [o, series(`o${i}`)])),
      labels: Object.fromEntries(labels.map((l, i) => [l, series(`l${i}`)])),
      alerts: series('a0'),
    };
  }

  private async list(status = PENDING): Promise<ReviewList> {
    if (status !== PENDING && status !== DECIDED) throw new HttpError(400, 'BadRequest', '"status" must be PENDING or DECIDED');
    const items = await this.deps.reviews.list(status, 100);
    return { items: items.map(reviewItemOf) };
  }

  private async item(id: string | undefined): Promise<{ attrs: Record<string, any>; item: ReviewItem }> {
    if (!id || !REVIEW_ID.test(id)) throw new HttpError(400, 'BadRequest', 'A review ID is 64 lowercase hex digits');
    const attrs = await this.deps.reviews.get(id);
    // The table holds release markers too: not reviews.
    if (!attrs || attrs[ReviewAttribute.KIND] === RELEASE_MARKER_KIND) throw new HttpError(404, 'NotFound', `No review ${id}`);
    return { attrs, item: reviewItemOf(attrs) };
  }

  private async detail(id: string | undefined): Promise<ReviewDetail> {
    const { item } = await this.item(id);
    const at = imageLocation(item, item.released === true);
    // The uploaded version while it has not moved; the copy's latest version in quarantine or after a release.
    const version = !item.quarantine ? item.versionId : undefined;
    return { ...item, imageUrl: await this.deps.s3.presignGet(at.bucket, at.key, version, URL_TTL_SECONDS) };
  }

  private async decide(id: string | undefined, body: unknown, reviewer: string): Promise<ReviewItem> {
    const { attrs, item } = await this.item(id);
    const labels = this.deps.settings.classLabels;
    // A decision whose effects did not all finish: the same request finishes them; any other is refused as decided.
    if (item.status === DECIDED && attrs[ReviewAttribute.EFFECTS_PENDING]) {
      const again = checkDecision(body, { ...item, status: PENDING }, labels);
      if (again.ok && item.reviewer === reviewer && again.decision === item.decision && again.reviewedLabel === item.reviewedLabel
        && again.release === (item.released === true)) {
        await this.effects(item, attrs[ReviewAttribute.RELEASE_REF]);
        return item;
      }
    }
    const check = checkDecision(body, item, labels);
    if (!check.ok) throw new HttpError(check.status, check.code, check.message);
    const decidedAt = this.deps.now().toISOString();
    // One reference per release, kept with the decision so a retry of its effects uses the same.
    const releaseRef = check.release ? randomUUID() : undefined;
    const decided: ReviewItem = {
      ...item,
      status: DECIDED,
      decision: check.decision,
      ...(check.reviewedLabel !== undefined ? { reviewedLabel: check.reviewedLabel } : {}),
      reviewer,
      decidedAt,
      ...(check.release ? { released: true } : {}),
    };
    const recorded = await this.deps.reviews.decide(item.reviewId, {
      [ReviewAttribute.DECISION]: decided.decision,
      ...(decided.reviewedLabel !== undefined ? { [ReviewAttribute.REVIEWED_LABEL]: decided.reviewedLabel } : {}),
      [ReviewAttribute.REVIEWER]: reviewer,
      [ReviewAttribute.DECIDED_AT]: decidedAt,
      ...(releaseRef ? { [ReviewAttribute.RELEASED]: true, [ReviewAttribute.RELEASE_REF]: releaseRef } : {}),
    });
    if (!recorded) throw new HttpError(409, 'AlreadyDecided', 'This review was decided meanwhile; nothing was changed');
    await this.effects(decided, releaseRef);
    return decided;
  }

  /** The decision's effects, each safe to repeat: release, tags, manifest line, result event, metrics; then marked done. */
  private async effects(item: ReviewItem, releaseRef?: string): Promise<void> {
    const { s3 } = this.deps;
    const s = this.deps.settings;
    try {
      if (item.released && item.quarantine && releaseRef) {
        // Back to its original key, naming a marker that lets through exactly this copy, once: the workflow the copy
        // starts consumes it and neither quarantines the image again nor reopens a review. Other bytes put at the key
        // with the same metadata are another copy (another version ID or ETag), and a second use finds it consumed.
        const quarantined = await s3.getTags(item.quarantine.bucket, item.quarantine.key);
        if (quarantined) {
          // The review's tags go with the copy: the workflow the copy starts reads them and keeps them when it tags.
          const tags = reviewTags(quarantined.tags, item.decision!, item.reviewedLabel) ?? quarantined.tags;
          const metadata = { [RELEASE_REF_METADATA_KEY]: releaseRef };
          const copy = await s3.copyWithMetadata(item.quarantine, { bucket: item.bucket, key: item.key }, metadata, tags);
          const copied = releasedCopyOf(copy.versionId, copy.etag);
          if (!copied) throw Object.assign(new Error('CopyObject answered no version ID and no ETag'), { name: 'ReleaseUnbound' });
          const now = this.deps.now().getTime();
          await this.deps.reviews.putReleaseMarker(releaseMarkerIdOf(item.bucket, item.key, releaseRef), {
            [ReviewAttribute.KIND]: RELEASE_MARKER_KIND,
            [ReviewAttribute.RELEASED_COPY]: copied,
            [ReviewAttribute.VALID_UNTIL]: new Date(now + RELEASE_MARKER_TTL_SECONDS * 1000).toISOString(),
            [ReviewAttribute.EXPIRES_AT]: Math.floor(now / 1000) + RELEASE_MARKER_TTL_SECONDS,
          });
          await s3.deleteObject(item.quarantine.bucket, item.quarantine.key);
        }
      }
      const at = imageLocation(item, item.released === true);
      const current = await s3.getTags(at.bucket, at.key);
      const tags = current && reviewTags(current.tags, item.decision!, item.reviewedLabel);
      if (tags) await s3.putTags(at.bucket, at.key, tags);
      const line = manifestLine({
        reviewId: item.reviewId,
        location: at,
        reviewedLabel: item.reviewedLabel,
        classLabels: s.classLabels,
        decidedAt: item.decidedAt!,
        jobName: s.jobName,
      });
      if (line) await this.appendLine(manifestKey(s.feedback.prefix, item.decidedAt!), line, item.reviewId);
      await this.deps.putEvent?.('ImageReviewed', item);
      const record = this.deps.emf.record().add(ReviewMetric.DECISIONS, 'Count', 1, { Decision: item.decision! });
      if (item.decision !== 'UNUSABLE' && item.label !== undefined) {
        record.add(ReviewMetric.AGREEMENT, 'None', item.decision === 'CONFIRMED' ? 1 : 0, { Label: item.label });
      }
      this.deps.emf.emit(record);
      await this.deps.reviews.effectsDone(item.reviewId);
    } catch (err) {
      throw new HttpError(502, 'EffectsIncomplete',
        `The decision is recorded, but applying it failed (${(err as Error).name}: ${(err as Error).message}). Send the same decision again to finish it.`);
    }
  }

  /** Appends to the month's manifest with a conditional write, again on a concurrent writer's conflict. */
  private async appendLine(key: string, line: ReturnType<typeof manifestLine> & object, reviewId: string): Promise<void> {
    const { bucket } = this.deps.settings.feedback;
    for (let attempt = 0; attempt < 8; attempt++) {
      const current = await this.deps.s3.getText(bucket, key);
      const body = appendManifest(current?.body ?? '', line, reviewId);
      if (body === undefined) return;
      if (await this.deps.s3.putTextIf(bucket, key, body, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' })) return;
    }
    throw Object.assign(new Error(`s3://${bucket}/${key} kept changing under 8 attempts`), { name: 'ManifestConflict' });
  }

  private async upload(body: unknown): Promise<UploadTicket> {
    const s = this.deps.settings;
    if (!s.uploads) throw new HttpError(404, 'NotFound', 'Uploads are off for this console');
    const req = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { fileName, contentType, size } = req;
    if (typeof fileName !== 'string' || fileName.trim() === '') throw new HttpError(400, 'BadRequest', '"fileName" must be a non-empty string');
    const types: readonly string[] = s.uploadFormats
      ? s.uploadFormats.map((f) => IMAGE_FORMATS[f as keyof typeof IMAGE_FORMATS])
      : Object.values(IMAGE_FORMATS);
    if (typeof contentType !== 'string' || !types.includes(contentType)) {
      throw new HttpError(400, 'BadRequest', `"contentType" must be one of the formats the pipeline classifies: ${types.join(', ')}`);
    }
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) throw new HttpError(400, 'BadRequest', '"size" must be a positive whole number of bytes');
    if (size > s.maxUploadBytes) {
      throw new HttpError(413, 'TooLarge', `The image is ${size} bytes; the pipeline classifies images up to ${s.maxUploadBytes} bytes`);
    }
    const name = fileName.split(/[\\/]/).pop()!.replace(/[^A-Za-z0-9._-]/g, '_').slice(-120);
    if (s.inputSuffixes.length > 0 && !s.inputSuffixes.some((x) => name.toLowerCase().endsWith(x.toLowerCase()))) {
      throw new HttpError(400, 'BadRequest', `The pipeline classifies files ending in ${s.inputSuffixes.join(', ')}`);
    }
    const key = `${s.inputPrefix}console/${this.deps.now().toISOString().slice(0, 10)}/${randomUUID()}-${name}`;
    const url = await this.deps.s3.presignPut(s.bucket, key, contentType, size, URL_TTL_SECONDS);
    return { key, url, headers: { 'content-type': contentType } };
  }

  private async uploadStatus(key: string | undefined): Promise<UploadStatus> {
    const s = this.deps.settings;
    if (!key || !key.startsWith(s.inputPrefix) || Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      throw new HttpError(400, 'BadRequest', `"key" must be a key under the input prefix "${s.inputPrefix}", at most ${MAX_KEY_BYTES} bytes`);
    }
    const here = await this.deps.s3.getTags(s.bucket, key);
    const moved = !here && s.quarantine ? await this.deps.s3.getTags(s.quarantine.bucket, `${s.quarantine.prefix}${key}`) : undefined;
    const found = here ?? moved;
    const tag = (k: string) => found?.tags.find((t) => t.Key === k)?.Value;
    const outcome = tag('ics:outcome');
    // The review is keyed by the uploaded version: the object's own, or, once quarantine moved it, the newest version
    // under the delete marker the move left (a quarantined copy has a version of its own).
    const version = here ? here.versionId : moved ? await this.deps.s3.lastVersion(s.bucket, key) : undefined;
    const review = here || moved ? await this.deps.reviews.get(reviewIdOf(s.bucket, key, version ?? undefined)) : undefined;
    if (!outcome && !review) return { key, status: 'WAITING' };
    const result = review ? reviewItemOf(review) : undefined;
    return {
      key,
      status: 'CLASSIFIED',
      outcome: outcome ?? result?.outcome,
      ...(tag('ics:label') ?? result?.label ? { label: tag('ics:label') ?? result?.label } : {}),
      ...(tag('ics:confidence') ? { confidence: Number(tag('ics:confidence')) }
        : result?.confidence !== undefined ? { confidence: result.confidence } : {}),
      ...(review ? { reviewId: review[ReviewAttribute.ID] } : {}),
    };
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Result {
  return { statusCode: status, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function bodyOf(event: APIGatewayProxyEventV2WithJWTAuthorizer): unknown {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new HttpError(413, 'TooLarge', `The body is over ${MAX_BODY_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BadRequest', 'The body is not JSON');
  }
}
