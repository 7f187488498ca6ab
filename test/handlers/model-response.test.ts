import { ErrorName } from '../../src/handlers/errors';
import { parseModelScores } from '../../src/handlers/model-response';
import { ResponseFormat } from '../../src/response-format';

const labels = ['cat', 'dog', 'bird'];
const parse = (body: unknown, format = ResponseFormat.AUTO) =>
  parseModelScores(typeof body === 'string' ? body : JSON.stringify(body), format, labels);
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

  test('non-numeric or negative scores are malformed', () => {
    expect(errorOf(() => parse({ prediction: [0.7, 'x', 0.1] })).name).toBe(ErrorName.MalformedModelResponse);
    expect(errorOf(() => parse([0.7, -0.2, 0.1])).name).toBe(ErrorName.MalformedModelResponse);
    expect(errorOf(() => parse({})).name).toBe(ErrorName.MalformedModelResponse);
  });

  test('unknown labels in a label map are named', () => {
    const err = errorOf(() => parse({ cat: 0.5, zebra: 0.5 }));
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toContain('zebra');
  });
});
