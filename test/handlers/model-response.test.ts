import { ErrorName } from '../../src/handlers/errors';
import { parseModelScores } from '../../src/handlers/model-response';
import { ResponseFormat, ScoreType } from '../../src/response-format';

const labels = ['cat', 'dog', 'bird'];
const parse = (body: unknown, format = ResponseFormat.AUTO, scoreType?: ScoreType) =>
  parseModelScores(typeof body === 'string' ? body : JSON.stringify(body), format, labels, scoreType);
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('parseModelScores', () => {
  test.each([
    [ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION, { prediction: [0.7, 0.2, 0.1] }],
    [ResponseFormat.PROBABILITY_ARRAY, [0.7, 0.2, 0.1]],
    [ResponseFormat.PROBABILITIES_OBJECT, { probabilities: [0.7, 0.2, 0.1] }],
    [ResponseFormat.TENSORFLOW_SERVING, { predictions: [[0.7, 0.2, 0.1]] }],
  ])('%s, explicit and AUTO', (format, body) => {
    expect(parse(body, format)).toEqual([0.7, 0.2, 0.1]);
    expect(parse(body)).toEqual([0.7, 0.2, 0.1]);
  });

  test('label map and Hugging Face list, missing labels score 0', () => {
    expect(parse({ dog: 0.9, cat: 0.1 }, ResponseFormat.LABEL_SCORES)).toEqual([0.1, 0.9, 0]);
    expect(parse([{ label: 'bird', score: 0.6 }, { label: 'cat', score: 0.4 }])).toEqual([0.4, 0, 0.6]);
  });

  test('the SageMaker built-in body as the algorithm returns it', () => {
    // Response of the built-in image-classification algorithm for a 3-class model.
    expect(parse('{"prediction": [0.0012, 0.9981, 0.0007]}')).toEqual([0.0012, 0.9981, 0.0007]);
  });

  test('count mismatch names both counts and quotes the body', () => {
    const err = errorOf(() => parse({ prediction: [0.5, 0.5] }));
    expect(err.name).toBe(ErrorName.LabelCountMismatch);
    expect(err.message).toMatch(/2 scores but the pipeline has 3 class labels/);
    expect(err.message).toContain('"prediction"');
  });

  test('not JSON', () => {
    const err = errorOf(() => parse('<html>502 Bad Gateway</html>'));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toContain('502 Bad Gateway');
  });

  test('wrong shape for the declared format, truncated in the message', () => {
    const err = errorOf(() => parse({ prediction: [0.7, 0.2, 0.1], padding: 'x'.repeat(1000) }, ResponseFormat.PROBABILITY_ARRAY));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toMatch(/does not match the PROBABILITY_ARRAY format/);
    expect(err.message.length).toBeLessThan(400);
  });

  test('non-numeric scores are malformed', () => {
    expect(errorOf(() => parse({ prediction: [0.7, 'x', 0.1] })).name).toBe(ErrorName.MalformedModelResponse);
    expect(errorOf(() => parse({})).name).toBe(ErrorName.MalformedModelResponse);
  });

  test('unknown labels in a label map are named', () => {
    const err = errorOf(() => parse({ cat: 0.5, zebra: 0.5 }));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toContain('zebra');
  });
});

describe('parseModelScores score types', () => {
  const vehicles = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];
  const parseVehicles = (body: string, format = ResponseFormat.AUTO, scoreType?: ScoreType) =>
    parseModelScores(body, format, vehicles, scoreType);
  const argmax = (v: readonly number[]) => v.indexOf(Math.max(...v));
  const sum = (v: readonly number[]) => v.reduce((a, b) => a + b, 0);

  test('counts are not probabilities: the error names the value, its index and label', () => {
    // A detector answering object counts; before, this was FLAGGED motorcycle with confidence 41.
    const err = errorOf(() => parseVehicles('{"prediction": [0, 41, 0, 0, 0, 0]}'));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toMatch(/score 41 at index 1 \("motorcycle"\), which is outside \[0, 1\]/);
    expect(err.message).toContain('ScoreType.LOGITS');
    expect(err.message).toContain('[0, 41, 0, 0, 0, 0]');
  });

  test('a negative score is named too, in every positional format and for label-keyed bodies', () => {
    expect(errorOf(() => parse([0.7, -0.2, 0.1])).message).toMatch(/score -0.2 at index 1 \("dog"\), which is outside \[0, 1\]/);
    expect(errorOf(() => parse({ predictions: [[0.7, 0.2, -0.1]] }, ResponseFormat.TENSORFLOW_SERVING)).message)
      .toMatch(/score -0.1 at index 2 \("bird"\)/);
    const err = errorOf(() => parse([{ label: 'dog', score: 1.5 }], ResponseFormat.LABEL_SCORES));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toMatch(/score 1.5 for label "dog", which is outside \[0, 1\]/);
  });

  test('non-finite scores: JSON overflow and the bare NaN/Infinity Python\'s json.dumps writes', () => {
    expect(errorOf(() => parse('[0.5, 1e400, 0.1]')).message).toMatch(/score Infinity at index 1 \("dog"\), which is not a finite number/);
    const nan = errorOf(() => parse('{"prediction": [0.5, NaN, 0.5]}'));
    expect(nan.name).toBe(ErrorName.MalformedModelResponse);
    expect(nan.message).toMatch(/score NaN at index 1 \("dog"\), which is not a finite number/);
    expect(errorOf(() => parse('{"predictions": [[-Infinity, 0.2, 0.1]]}', ResponseFormat.AUTO, ScoreType.LOGITS)).message)
      .toMatch(/score -Infinity at index 0 \("cat"\)/);
    // The tokens inside strings are left alone; a body that is still not JSON stays "not JSON".
    const labelled = errorOf(() => parse('{"cat": 0.5, "dog": NaN, "bird": 0.5}'));
    expect(labelled.message).toMatch(/score NaN for label "dog", which is not a finite number/);
    const marked = errorOf(() => parse('{"prediction": [0.2, NaN, 0.5], "model": "NaN \\"Infinity\\" v2"}'));
    expect(marked.message).toMatch(/score NaN at index 1 \("dog"\)/);
    expect(marked.message).toContain('"model": "NaN \\"Infinity\\" v2"');
    expect(errorOf(() => parse('{"cat": "NaN", "dog": NaN')).message).toMatch(/not JSON/);
  });

  test('float rounding just outside [0, 1] is within tolerance and clamped', () => {
    expect(parse([1.0000001, -0.0000001, 0])).toEqual([1, 0, 0]);
    expect(errorOf(() => parse([1.00001, 0, 0])).name).toBe(ErrorName.MalformedModelResponse);
  });

  test('LOGITS: a ResNet head\'s logits become softmax probabilities, argmax preserved', () => {
    const logits = [2.1, -0.3, 5.7, 0.4, -1.2, 1.8];
    // Without a score type the logits are refused rather than read as scores.
    expect(errorOf(() => parseVehicles(JSON.stringify(logits))).message).toMatch(/score 2.1 at index 0 \("bicycle"\)/);

    const p = parseVehicles(JSON.stringify(logits), ResponseFormat.AUTO, ScoreType.LOGITS);
    expect(sum(p)).toBeCloseTo(1, 12);
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    expect(argmax(p)).toBe(argmax(logits));
    expect(p[2]).toBeCloseTo(Math.exp(5.7) / sum(logits.map(Math.exp)), 12);
  });

  test('LOGITS from TensorFlow Serving, explicit and AUTO, and large logits do not overflow', () => {
    const body = JSON.stringify({ predictions: [[-1.3, 4.2, 0.7, -0.5, 2.9, -2.2]] });
    const explicit = parseVehicles(body, ResponseFormat.TENSORFLOW_SERVING, ScoreType.LOGITS);
    expect(parseVehicles(body, ResponseFormat.AUTO, ScoreType.LOGITS)).toEqual(explicit);
    expect(sum(explicit)).toBeCloseTo(1, 12);
    expect(argmax(explicit)).toBe(1);

    const big = parseVehicles('[1000, 1001, 999, -1000, 0, 0]', ResponseFormat.PROBABILITY_ARRAY, ScoreType.LOGITS);
    expect(big.every(Number.isFinite)).toBe(true);
    expect(sum(big)).toBeCloseTo(1, 12);
    expect(argmax(big)).toBe(1);
  });

  test('multi-label sigmoid probabilities are accepted as they are, without summing to 1', () => {
    expect(parse({ predictions: [[0.9, 0.8, 0.1]] })).toEqual([0.9, 0.8, 0.1]);
    expect(parse([0.9, 0.8, 0.1], ResponseFormat.PROBABILITY_ARRAY, ScoreType.PROBABILITIES)).toEqual([0.9, 0.8, 0.1]);
  });

  test('MULTI_LABEL_LOGITS: the sigmoid of each logit on its own', () => {
    const p = parse({ predictions: [[2.2, 1.4, -2.2]] }, ResponseFormat.AUTO, ScoreType.MULTI_LABEL_LOGITS);
    expect(p[0]).toBeCloseTo(0.9002, 4);
    expect(p[1]).toBeCloseTo(0.8022, 4);
    expect(p[2]).toBeCloseTo(0.0998, 4);
    expect(parse([800, -800, 0], ResponseFormat.AUTO, ScoreType.MULTI_LABEL_LOGITS)).toEqual([1, 0, 0.5]);
  });

  test('label-keyed bodies cannot be read as logits', () => {
    for (const scoreType of [ScoreType.LOGITS, ScoreType.MULTI_LABEL_LOGITS]) {
      const err = errorOf(() => parse({ dog: 3.2, cat: -1 }, ResponseFormat.AUTO, scoreType));
      expect(err.name).toBe(ErrorName.MalformedModelResponse);
      expect(err.message).toContain(`label-keyed scores, which cannot be read as ${scoreType}`);
    }
  });
});
