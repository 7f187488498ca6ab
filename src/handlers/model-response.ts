import { ClassificationError, ErrorName, truncateForMessage } from './errors';
import { ResponseFormat, ScoreType } from '../response-format';

/** Probabilities this far outside [0, 1] are float rounding (float32 softmax outputs) and are clamped. */
export const SCORE_TOLERANCE = 1e-6;

// Shape checks accept any number: range and finiteness are checked afterwards, so the error names the value.
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every(isNumber);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Extracts a positional score vector for the given format, or undefined when the shape does not fit. */
function positional(body: unknown, format: ResponseFormat): number[] | undefined {
  switch (format) {
    case ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION:
      return isRecord(body) && isNumberArray(body.prediction) ? body.prediction : undefined;
    case ResponseFormat.PROBABILITY_ARRAY:
      return isNumberArray(body) ? body : undefined;
    case ResponseFormat.PROBABILITIES_OBJECT:
      return isRecord(body) && isNumberArray(body.probabilities) ? body.probabilities : undefined;
    case ResponseFormat.TENSORFLOW_SERVING:
      return isRecord(body) && Array.isArray(body.predictions) && isNumberArray(body.predictions[0])
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
  if (entries.length === 0 || !entries.every(([label, score]) => label !== '' && isNumber(score))) return undefined;
  return new Map(entries as Array<[string, number]>);
}

const POSITIONAL_FORMATS = [
  ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION,
  ResponseFormat.PROBABILITY_ARRAY,
  ResponseFormat.PROBABILITIES_OBJECT,
  ResponseFormat.TENSORFLOW_SERVING,
];

const NON_FINITE: Record<string, number> = { 'NaN': NaN, 'Infinity': Infinity, '-Infinity': -Infinity };
const NON_FINITE_MARK = '\u0000';

/**
 * JSON.parse, also reading the bare `NaN` and `Infinity` Python's `json.dumps` writes, so a model that
 * produced a non-finite score gets an error naming that score rather than "not JSON".
 */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // Strings are matched first so their contents are left alone.
    const marked = text.replace(/"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g, (m, token) => (token ? `"\\u0000${token}"` : m));
    if (marked === text) throw err;
    return JSON.parse(marked, (_key, v) => (typeof v === 'string' && v[0] === NON_FINITE_MARK && v.slice(1) in NON_FINITE ? NON_FINITE[v.slice(1)] : v));
  }
}

/** Numerically stable: subtracting the largest logit keeps `exp` from overflowing. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Numerically stable: `exp` of a large positive argument is never taken. */
function sigmoid(logit: number): number {
  if (logit >= 0) return 1 / (1 + Math.exp(-logit));
  const e = Math.exp(logit);
  return e / (1 + e);
}

/**
 * Checks the raw scores (label order) and turns them into probabilities. `where(i)` names score i in messages.
 */
function toProbabilities(raw: readonly number[], scoreType: ScoreType, where: (i: number) => string, text: string): number[] {
  const malformed = (i: number, problem: string) => new ClassificationError(
    ErrorName.MalformedModelResponse,
    `The endpoint returned score ${raw[i]} ${where(i)}, which ${problem}: ${truncateForMessage(text)}`,
  );
  const nonFinite = raw.findIndex((v) => !Number.isFinite(v));
  if (nonFinite >= 0) throw malformed(nonFinite, 'is not a finite number');

  switch (scoreType) {
    case ScoreType.LOGITS:
      return softmax(raw);
    case ScoreType.MULTI_LABEL_LOGITS:
      return raw.map(sigmoid);
    default: {
      const outside = raw.findIndex((v) => v < -SCORE_TOLERANCE || v > 1 + SCORE_TOLERANCE);
      if (outside >= 0) {
        throw malformed(outside, "is outside [0, 1]; set the classifier's scoreType to ScoreType.LOGITS or MULTI_LABEL_LOGITS if the model answers logits");
      }
      return raw.map((v) => Math.min(1, Math.max(0, v)));
    }
  }
}

/**
 * Turns an endpoint response body into one probability per class label, in label order.
 *
 * @param scoreType what the numbers mean: probabilities are checked to lie in [0, 1] (within
 *   {@link SCORE_TOLERANCE}, then clamped); logits are turned into probabilities.
 * @throws ClassificationError `MalformedModelResponse` when the body is not JSON of the expected shape,
 *   names unknown labels, or holds a score that is not finite or (for probabilities) outside [0, 1];
 *   `LabelCountMismatch` when a positional vector's length differs from the number of labels.
 *   Messages quote the offending body, truncated.
 */
export function parseModelScores(
  text: string,
  format: ResponseFormat,
  labels: readonly string[],
  scoreType: ScoreType = ScoreType.PROBABILITIES,
): number[] {
  let body: unknown;
  try {
    body = parseJson(text);
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
      return toProbabilities(scores, scoreType, (i) => `at index ${i} (${JSON.stringify(labels[i])})`, text);
    }
  }

  if (format === ResponseFormat.AUTO || format === ResponseFormat.LABEL_SCORES) {
    const byLabel = labelled(body);
    if (byLabel) {
      if (scoreType !== ScoreType.PROBABILITIES) {
        // Labels a label-keyed body omits score 0, which is a probability, not a logit.
        throw new ClassificationError(
          ErrorName.MalformedModelResponse,
          `The endpoint returned label-keyed scores, which cannot be read as ${scoreType}: ${truncateForMessage(text)}`,
        );
      }
      const unknown = [...byLabel.keys()].filter((l) => !labels.includes(l));
      if (unknown.length > 0) {
        throw new ClassificationError(
          ErrorName.MalformedModelResponse,
          `The endpoint returned labels that are not class labels (${truncateForMessage(unknown.join(', '), 100)}): ${truncateForMessage(text)}`,
        );
      }
      return toProbabilities(labels.map((l) => byLabel.get(l) ?? 0), scoreType, (i) => `for label ${JSON.stringify(labels[i])}`, text);
    }
  }

  throw new ClassificationError(
    ErrorName.MalformedModelResponse,
    `The endpoint response does not match the ${format} format: ${truncateForMessage(text)}`,
  );
}
