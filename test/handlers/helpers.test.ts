import { readClassifyConfig } from '../../src/handlers/config';
import { candidateKeys } from '../../src/handlers/object-key';
import { rankScores } from '../../src/handlers/scores';
import { ResponseFormat, ScoreType } from '../../src/response-format';

describe('candidateKeys', () => {
  test.each([
    ['plain/key.jpg', ['plain/key.jpg']],
    ['my+photo.jpg', ['my+photo.jpg', 'my photo.jpg']],
    ['my+photo%2B1.jpg', ['my+photo%2B1.jpg', 'my photo+1.jpg']],
    ['caf%C3%A9.png', ['caf%C3%A9.png', 'café.png']],
    ['café/ünï cödé.png', ['café/ünï cödé.png']],
    ['100%.jpg', ['100%.jpg']],
  ])('%s', (key, expected) => {
    expect(candidateKeys(key)).toEqual(expected);
  });
});

describe('rankScores', () => {
  test('top label, scores by label, topK best first, ties keep label order', () => {
    const r = rankScores([0.1, 0.4, 0.4, 0.1], ['a', 'b', 'c', 'd'], 2);
    expect(r.label).toBe('b');
    expect(r.confidence).toBe(0.4);
    expect(r.scores).toEqual({ a: 0.1, b: 0.4, c: 0.4, d: 0.1 });
    expect(r.topK).toEqual([{ label: 'b', score: 0.4 }, { label: 'c', score: 0.4 }]);
  });
});

describe('readClassifyConfig', () => {
  test('reads every variable', () => {
    const config = readClassifyConfig({
      ICS_ENDPOINT_NAME: 'vehicles',
      ICS_CLASS_LABELS: '["a","b"]',
      ICS_CONFIDENCE_THRESHOLD: '0.94',
      ICS_MAX_IMAGE_BYTES: '1000',
      ICS_TOP_K: '1',
      ICS_RESPONSE_FORMAT: 'PROBABILITY_ARRAY',
      ICS_SCORE_TYPE: 'LOGITS',
      ICS_CONTENT_TYPE: 'application/x-image',
      ICS_TARGET_VARIANT: 'blue',
      ICS_ENDPOINT_REGION: 'eu-west-1',
    });
    expect(config).toMatchObject({
      endpointName: 'vehicles',
      classLabels: ['a', 'b'],
      threshold: 0.94,
      maxImageBytes: 1000,
      topK: 1,
      responseFormat: ResponseFormat.PROBABILITY_ARRAY,
      scoreType: ScoreType.LOGITS,
      contentType: 'application/x-image',
      targetVariant: 'blue',
      endpointRegion: 'eu-west-1',
      s3ForcePathStyle: false,
    });
  });

  test('lists every problem at once', () => {
    expect(() => readClassifyConfig({ ICS_CLASS_LABELS: 'nope', ICS_CONFIDENCE_THRESHOLD: 'high', ICS_RESPONSE_FORMAT: 'XML', ICS_SCORE_TYPE: 'COUNTS' }))
      .toThrow(/ICS_ENDPOINT_NAME is required; ICS_CLASS_LABELS must be .*; ICS_RESPONSE_FORMAT must be one of .*; ICS_SCORE_TYPE must be one of PROBABILITIES, LOGITS, MULTI_LABEL_LOGITS; ICS_CONFIDENCE_THRESHOLD must be a number/);
  });

  test('scores are probabilities unless the construct says otherwise', () => {
    expect(readClassifyConfig({ ICS_ENDPOINT_NAME: 'vehicles', ICS_CLASS_LABELS: '["a"]', ICS_FLAGGED_LABELS: '[]' }).scoreType)
      .toBe(ScoreType.PROBABILITIES);
  });
});
