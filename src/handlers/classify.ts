import { GetObjectCommand, GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ClassifyConfig } from './config';
import { ClassificationError, ErrorName } from './errors';
import { inspectImage } from './image-format';
import { parseModelScores } from './model-response';
import { copySource, mergeTags, Tag } from './object-actions';
import { candidateKeys } from './object-key';
import { decideOutcome, RESULT_SCHEMA_VERSION } from '../outcomes';
import { rankScores } from './scores';
import { RELEASE_REF_METADATA_KEY, releasedCopyOf } from '../review/decisions';

/** What the state machine passes to the classify function. */
export interface ClassifyRequest {
  /**
   * The execution input: `{ bucket, key, versionId? }`, optionally with `object` holding the
   * EventBridge event's `detail.object` (`size`, `etag`, `version-id`).
   */
  readonly input: unknown;
  /** `$$.Execution.Id`. */
  readonly executionArn?: string;
  /**
   * `false`: write no metrics for a classified image (its errors still count). The per-image workflow sets it with
   * queued ingestion, where the dispatch function writes them from the execution's end; bulk items leave it out.
   */
  readonly classifiedMetrics?: boolean;
}

/** The compact classification the function returns: the result minus `outcome`, which the workflow decides. */
export interface Classification {
  readonly schemaVersion: string;
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly sizeBytes: number;
  readonly format: string;
  readonly label: string;
  readonly confidence: number;
  readonly threshold: number;
  readonly scores: Record<string, number>;
  readonly topK: Array<{ label: string; score: number }>;
  readonly modelEndpoint: string;
  readonly modelLatencyMs: number;
  readonly executionArn?: string;
  readonly classifiedAt: string;
  /** `SKIPPED_TAG_LIMIT` when tagging is on but the object already has too many tags of its own. */
  readonly tagging?: string;
}

/**
 * What the function returns to the workflow: the object, the result (minus `outcome`), and what the
 * action states need that JSONPath cannot compute (merged tags, a URL-encoded copy source).
 */
export interface ClassifyOutput {
  readonly bucket: string;
  readonly key: string;
  readonly result: Classification;
  readonly actions: {
    /** The object's full tag set to write, when tagging is on and it fits S3's 10-tag limit. */
    readonly tagSet?: Tag[];
    /** Where quarantine copies the object, when quarantine is configured. */
    readonly quarantine?: { readonly key: string; readonly copySource: string };
    /**
     * The release reference in the image's metadata (`ics-release`), when it has one, and the copy read (version ID or
     * ETag): a claim that a reviewer released this copy, which the workflow holds against the review table (and consumes
     * there) before it skips quarantine, review and alerts.
     */
    readonly release?: { readonly ref: string; readonly copy: string };
  };
}

export interface ClassifyDependencies {
  readonly s3: S3Client;
  readonly sagemaker: SageMakerRuntimeClient;
  readonly config: ClassifyConfig;
  readonly now?: () => Date;
}

interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
}

/** Accepts the documented input shapes and nothing else. */
export function parseObjectRef(input: unknown): ObjectRef {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, any>;
  const bucket = i.bucket;
  const key = i.key;
  if (typeof bucket !== 'string' || bucket === '' || typeof key !== 'string' || key === '') {
    throw new ClassificationError(ErrorName.InvalidInput, 'The input must have a non-empty string "bucket" and "key".');
  }
  const versionId = i.versionId ?? i.object?.['version-id'];
  return { bucket, key, versionId: typeof versionId === 'string' && versionId !== '' ? versionId : undefined };
}

const httpStatus = (err: any): number | undefined => err?.$metadata?.httpStatusCode;

function s3Error(err: any, ref: ObjectRef): Error {
  if (err instanceof ClassificationError) return err;
  const status = httpStatus(err);
  const where = `s3://${ref.bucket}/${ref.key}${ref.versionId ? ` (version ${ref.versionId})` : ''}`;
  if (err?.name === 'NoSuchKey' || err?.name === 'NoSuchVersion' || err?.name === 'NoSuchBucket' || status === 404) {
    return new ClassificationError(ErrorName.ObjectNotFound, `${where} does not exist.`);
  }
  if (err?.name === 'AccessDenied' || status === 403) {
    return new ClassificationError(ErrorName.ObjectAccessDenied, `Access denied reading ${where}.`);
  }
  return new ClassificationError(ErrorName.S3Unavailable, `Reading ${where} failed: ${err?.name ?? 'Error'}: ${err?.message ?? err}`);
}

function sagemakerError(err: any, endpointName: string): Error {
  if (err instanceof ClassificationError) return err;
  const detail = `${err?.name ?? 'Error'}: ${err?.message ?? err}`;
  switch (err?.name) {
    case 'ModelError':
      return new ClassificationError(ErrorName.ModelError, `Endpoint ${endpointName} model failed on this image: ${detail}`);
    case 'ValidationError':
      return new ClassificationError(ErrorName.EndpointValidationError, `Endpoint ${endpointName} rejected the request: ${detail}`);
    case 'ModelNotReadyException':
      return new ClassificationError(ErrorName.ModelNotReady, `Endpoint ${endpointName} is not ready: ${detail}`);
    case 'ThrottlingException':
      return new ClassificationError(ErrorName.EndpointThrottled, `Endpoint ${endpointName} throttled the request: ${detail}`);
    default:
      return new ClassificationError(ErrorName.EndpointUnavailable, `Endpoint ${endpointName} is unavailable: ${detail}`);
  }
}

/** The object's current tags (of the classified version). */
async function readTags(s3: S3Client, ref: ObjectRef): Promise<Tag[]> {
  try {
    const res = await s3.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
    return (res.TagSet ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
  } catch (err) {
    throw s3Error(err, ref);
  }
}

/** Reads the object under the first candidate key that exists, enforcing the size cap before buffering. */
interface ReadImage {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly versionId?: string;
  /** Tags on the object, as GetObject reports them (0 when it reports none). */
  readonly tagCount: number;
  /** The release reference the console's copy carries (unverified: any uploader can set metadata) and which copy this is. */
  readonly release?: { readonly ref: string; readonly copy: string };
}

async function readImage(s3: S3Client, ref: ObjectRef, maxBytes: number): Promise<ReadImage> {
  const keys = candidateKeys(ref.key);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: key, VersionId: ref.versionId }));
      const length = res.ContentLength ?? 0;
      if (length > maxBytes) {
        (res.Body as any)?.destroy?.();
        throw new ClassificationError(ErrorName.ImageTooLarge, `The image is ${length} bytes; the maximum is ${maxBytes} bytes.`);
      }
      const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
      if (bytes.length > maxBytes) {
        throw new ClassificationError(ErrorName.ImageTooLarge, `The image is ${bytes.length} bytes; the maximum is ${maxBytes} bytes.`);
      }
      const releaseRef = res.Metadata?.[RELEASE_REF_METADATA_KEY];
      const copy = releaseRef ? releasedCopyOf(res.VersionId ?? ref.versionId, res.ETag) : undefined;
      // S3 sends the tag count only when the object has tags (and the reader may read them).
      return {
        key,
        bytes,
        versionId: res.VersionId ?? ref.versionId,
        tagCount: res.TagCount ?? 0,
        ...(releaseRef && copy ? { release: { ref: releaseRef, copy } } : {}),
      };
    } catch (err) {
      const mapped = s3Error(err, { ...ref, key });
      const tryNext = mapped.name === ErrorName.ObjectNotFound && i < keys.length - 1;
      if (!tryNext) throw mapped.name === ErrorName.ObjectNotFound ? s3Error(err, ref) : mapped;
    }
  }
  /* istanbul ignore next: candidateKeys always returns at least one key */
  throw new ClassificationError(ErrorName.ObjectNotFound, `s3://${ref.bucket}/${ref.key} does not exist.`);
}

/**
 * Classifies one image: GetObject → sniff format → InvokeEndpoint → scores by label. Throws a
 * {@link ClassificationError} with a stable name on any failure; never returns image bytes.
 */
export async function classify(request: ClassifyRequest, deps: ClassifyDependencies): Promise<ClassifyOutput> {
  const { config } = deps;
  const ref = parseObjectRef(request.input);
  const image = await readImage(deps.s3, ref, config.maxImageBytes);
  const sniffed = inspectImage(image.bytes);

  const started = Date.now();
  let responseText: string;
  try {
    const res = await deps.sagemaker.send(new InvokeEndpointCommand({
      EndpointName: config.endpointName,
      Body: image.bytes,
      ContentType: config.contentType ?? sniffed.contentType,
      Accept: 'application/json',
      TargetVariant: config.targetVariant,
    }));
    responseText = new TextDecoder().decode(res.Body);
  } catch (err) {
    throw sagemakerError(err, config.endpointName);
  }
  const modelLatencyMs = Date.now() - started;

  const scores = parseModelScores(responseText, config.responseFormat, config.classLabels, config.scoreType);
  const ranked = rankScores(scores, config.classLabels, config.topK);

  let tagSet: Tag[] | undefined;
  if (config.tagObjects) {
    // PutObjectTagging replaces the whole set, so the object's own tags are kept; an object with none (GetObject said
    // so) needs no GetObjectTagging. A tag added between the two calls is lost, as it would be after a read.
    const existing = image.tagCount > 0 ? await readTags(deps.s3, { bucket: ref.bucket, key: image.key, versionId: image.versionId }) : [];
    const outcome = decideOutcome(ranked.label, ranked.confidence, config.threshold, config.flaggedLabels);
    tagSet = mergeTags(existing, ranked.label, ranked.confidence, outcome);
  }

  const result: Classification = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    bucket: ref.bucket,
    key: image.key,
    ...(image.versionId ? { versionId: image.versionId } : {}),
    sizeBytes: image.bytes.length,
    format: sniffed.format,
    label: ranked.label,
    confidence: ranked.confidence,
    threshold: config.threshold,
    scores: ranked.scores,
    topK: ranked.topK,
    modelEndpoint: config.endpointName,
    modelLatencyMs,
    ...(request.executionArn ? { executionArn: request.executionArn } : {}),
    classifiedAt: (deps.now?.() ?? new Date()).toISOString(),
    ...(config.tagObjects && !tagSet ? { tagging: 'SKIPPED_TAG_LIMIT' } : {}),
  };
  return {
    bucket: ref.bucket,
    key: image.key,
    result,
    actions: {
      ...(tagSet ? { tagSet } : {}),
      ...(config.quarantinePrefix !== undefined
        ? { quarantine: { key: `${config.quarantinePrefix}${image.key}`, copySource: copySource(ref.bucket, image.key, image.versionId) } }
        : {}),
      ...(image.release ? { release: image.release } : {}),
    },
  };
}
