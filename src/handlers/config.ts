import { ResponseFormat, ScoreType } from '../response-format';

/**
 * Environment variables the construct sets on the classify function. Shared by the construct (which
 * writes them) and the handler (which reads them) so the two cannot drift.
 */
export const ClassifyEnv = {
  ENDPOINT_NAME: 'ICS_ENDPOINT_NAME',
  /** Region of the endpoint when it differs from the function's (cross-region endpoint ARN). */
  ENDPOINT_REGION: 'ICS_ENDPOINT_REGION',
  TARGET_VARIANT: 'ICS_TARGET_VARIANT',
  /** Fixed request Content-Type; when unset the sniffed image type is sent. */
  CONTENT_TYPE: 'ICS_CONTENT_TYPE',
  RESPONSE_FORMAT: 'ICS_RESPONSE_FORMAT',
  /** What the response's numbers mean; unset means probabilities. */
  SCORE_TYPE: 'ICS_SCORE_TYPE',
  /** JSON array of class labels, index order of the model's output. */
  CLASS_LABELS: 'ICS_CLASS_LABELS',
  CONFIDENCE_THRESHOLD: 'ICS_CONFIDENCE_THRESHOLD',
  MAX_IMAGE_BYTES: 'ICS_MAX_IMAGE_BYTES',
  TOP_K: 'ICS_TOP_K',
  /** JSON array of flagged labels, for the outcome tag. */
  FLAGGED_LABELS: 'ICS_FLAGGED_LABELS',
  /** `true` when the workflow tags objects: the handler then reads the existing tags to merge with. */
  TAG_OBJECTS: 'ICS_TAG_OBJECTS',
  /** Key prefix of the quarantine location, when quarantine is configured. */
  QUARANTINE_PREFIX: 'ICS_QUARANTINE_PREFIX',
  /** `true` to address S3 path-style (S3-compatible stores, the local runner). */
  S3_FORCE_PATH_STYLE: 'ICS_S3_FORCE_PATH_STYLE',
} as const;

/** The handler's configuration, parsed once per cold start. */
export interface ClassifyConfig {
  readonly endpointName: string;
  readonly endpointRegion?: string;
  readonly targetVariant?: string;
  readonly contentType?: string;
  readonly responseFormat: ResponseFormat;
  readonly scoreType: ScoreType;
  readonly classLabels: readonly string[];
  readonly threshold: number;
  readonly maxImageBytes: number;
  readonly topK: number;
  readonly flaggedLabels: readonly string[];
  readonly tagObjects: boolean;
  readonly quarantinePrefix?: string;
  readonly s3ForcePathStyle: boolean;
}

/**
 * Reads and checks the configuration. A bad value is a deployment bug, so it fails the cold start
 * loudly rather than classifying with a guess.
 */
export function readClassifyConfig(env: Record<string, string | undefined>): ClassifyConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const num = (name: string, fallback: number): number => {
    const raw = get(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(value)) problems.push(`${name} must be a number, got ${JSON.stringify(raw)}`);
    return value;
  };

  const endpointName = get(ClassifyEnv.ENDPOINT_NAME) ?? '';
  if (!endpointName) problems.push(`${ClassifyEnv.ENDPOINT_NAME} is required`);

  const stringArray = (name: string): string[] | undefined => {
    try {
      const parsed: unknown = JSON.parse(get(name) ?? '[]');
      if (Array.isArray(parsed) && parsed.every((l) => typeof l === 'string')) return parsed;
    } catch {
      // reported by the caller
    }
    return undefined;
  };
  const classLabels = stringArray(ClassifyEnv.CLASS_LABELS) ?? [];
  if (classLabels.length === 0) problems.push(`${ClassifyEnv.CLASS_LABELS} must be a non-empty JSON array of strings`);
  const flaggedLabels = stringArray(ClassifyEnv.FLAGGED_LABELS);
  if (!flaggedLabels) problems.push(`${ClassifyEnv.FLAGGED_LABELS} must be a JSON array of strings`);

  const responseFormat = (get(ClassifyEnv.RESPONSE_FORMAT) ?? ResponseFormat.AUTO) as ResponseFormat;
  if (!Object.values(ResponseFormat).includes(responseFormat)) {
    problems.push(`${ClassifyEnv.RESPONSE_FORMAT} must be one of ${Object.values(ResponseFormat).join(', ')}`);
  }
  const scoreType = (get(ClassifyEnv.SCORE_TYPE) ?? ScoreType.PROBABILITIES) as ScoreType;
  if (!Object.values(ScoreType).includes(scoreType)) {
    problems.push(`${ClassifyEnv.SCORE_TYPE} must be one of ${Object.values(ScoreType).join(', ')}`);
  }

  const config: ClassifyConfig = {
    endpointName,
    endpointRegion: get(ClassifyEnv.ENDPOINT_REGION),
    targetVariant: get(ClassifyEnv.TARGET_VARIANT),
    contentType: get(ClassifyEnv.CONTENT_TYPE),
    responseFormat,
    scoreType,
    classLabels,
    threshold: num(ClassifyEnv.CONFIDENCE_THRESHOLD, 0.8),
    maxImageBytes: num(ClassifyEnv.MAX_IMAGE_BYTES, 6 * 1024 * 1024),
    topK: num(ClassifyEnv.TOP_K, 5),
    flaggedLabels: flaggedLabels ?? [],
    tagObjects: get(ClassifyEnv.TAG_OBJECTS) === 'true',
    quarantinePrefix: get(ClassifyEnv.QUARANTINE_PREFIX),
    s3ForcePathStyle: get(ClassifyEnv.S3_FORCE_PATH_STYLE) === 'true',
  };
  if (problems.length > 0) {
    throw new Error(`Invalid classify handler configuration: ${problems.join('; ')}`);
  }
  return config;
}
