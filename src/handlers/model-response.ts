import { ClassificationError, ErrorName, truncateForMessage } from './errors';
import { ResponseFormat } from '../response-format';

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isScoreArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isScore);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Extracts a positional score vector for the given format, or undefined when the shape does not fit. */
function positional(body: unknown, format: ResponseFormat): number[] | undefined {
  switch (format) {
    case ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION:
      return isRecord(body) && isScoreArray(body.prediction) ? body.prediction : undefined;
    case ResponseFormat.PROBABILITY_ARRAY:
      return isScoreArray(body) ? body : undefined;
    case ResponseFormat.PROBABILITIES_OBJECT:
      return isRecord(body) && isScoreArray(body.probabilities) ? body.probabilities : undefined;
    case ResponseFormat.TENSORFLOW_SERVING:
      return isRecord(body) && Array.isArray(body.predictions) && isScoreArray(body.predictions[0])
        ? body.predictions[0]
        : undefined;
    default:
      return undefined;
  }
}

/** Label-keyed scores (`{label: p}` or `[{label, score}]`), or undefined when the shape does not fit. */
function labelled(body: unknown): Map<string, number> | undefined {
  const entries: Array<[string, unknown]> = Array.isArray(body)
    ? body.map((e) => (isRecord(e) && typeof e.label === 'string' ? [e.label, e.score] : ['', undefined]))
    : isRecord(body) ? Object.entries(body) : [];
  if (entries.length === 0 || !entries.every(([label, score]) => label !== '' && isScore(score))) return undefined;
  return new Map(entries as Array<[string, number]>);
}

const POSITIONAL_FORMATS = [
  ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION,
  ResponseFormat.PROBABILITY_ARRAY,
  ResponseFormat.PROBABILITIES_OBJECT,
  ResponseFormat.TENSORFLOW_SERVING,
];

/**
 * Turns an endpoint response body into one score per class label, in label order.
 *
 * @throws ClassificationError `MalformedModelResponse` when the body is not JSON of the expected shape
 *   or names unknown labels; `LabelCountMismatch` when a positional vector's length differs from the
 *   number of labels. Messages quote the offending body, truncated.
 */
export function parseModelScores(text: string, format: ResponseFormat, labels: readonly string[]): number[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ClassificationError(
      ErrorName.MalformedModelResponse,
      `The endpoint response is not JSON: ${truncateForMessage(text)}`,
    );
  }

  const candidates = format === ResponseFormat.AUTO ? POSITIONAL_FORMATS : [format];
  for (const f of candidates) {
    const scores = positional(body, f);
    if (scores) {
      if (scores.length !== labels.length) {
        throw new ClassificationError(
          ErrorName.LabelCountMismatch,
          `The endpoint returned ${scores.length} scores but the pipeline has ${labels.length} class labels: ${truncateForMessage(text)}`,
        );
      }
      return scores;
    }
  }

  if (format === ResponseFormat.AUTO || format === ResponseFormat.LABEL_SCORES) {
    const byLabel = labelled(body);
    if (byLabel) {
      const unknown = [...byLabel.keys()].filter((l) => !labels.includes(l));
      if (unknown.length > 0) {
        throw new ClassificationError(
          ErrorName.MalformedModelResponse,
          `The endpoint returned labels that are not class labels (${truncateForMessage(unknown.join(', '), 100)}): ${truncateForMessage(text)}`,
        );
      }
      return labels.map((l) => byLabel.get(l) ?? 0);
    }
  }

  throw new ClassificationError(
    ErrorName.MalformedModelResponse,
    `The endpoint response does not match the ${format} format: ${truncateForMessage(text)}`,
  );
}
