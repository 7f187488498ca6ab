import jsonata from 'jsonata';
import { copySource, mergeTags, Tag } from '../../src/handlers/object-actions';
import { candidateKeys } from '../../src/handlers/object-key';
import { decideOutcome } from '../../src/outcomes';
import { nameErrorExpression, prepareRequestExpression, readResultExpression, RekognitionResultOptions } from '../../src/workflow/rekognition-expressions';

/** Evaluates an expression as Step Functions does for a JSONata Pass state's Output. */
const evaluate = async (expression: string, input: unknown) =>
  JSON.parse(JSON.stringify(await jsonata(expression).evaluate({}, { states: { input } })));

const options: RekognitionResultOptions = {
  moderation: false,
  threshold: 0.8,
  flaggedLabels: ['Motorcycle'],
  topK: 2,
  noLabel: 'Unlabeled',
  noLabelConfidence: 0,
  modelId: 'rekognition:DetectLabels',
  tagObjects: true,
  quarantinePrefix: 'q/',
};

const state = (labels: unknown[], extra: Record<string, unknown> = {}) => ({
  bucket: 'b',
  key: 'cams/a b+ü.jpg',
  s3Object: { Bucket: 'b', Name: 'cams/a b+ü.jpg' },
  rekognition: { labels, executionArn: 'arn:exec', classifiedAt: '2026-01-01T00:00:00Z' },
  existingTags: { tags: [] },
  ...extra,
});

describe('the Rekognition JSONata expressions match the classify function\'s plain functions', () => {
  test('prepare: the version, when known, goes into both requests', async () => {
    expect(await evaluate(prepareRequestExpression(), { bucket: 'b', key: 'k', object: { 'version-id': 'v1' } })).toMatchObject({
      s3Object: { Bucket: 'b', Name: 'k', Version: 'v1' },
      tagRequest: { Bucket: 'b', Key: 'k', VersionId: 'v1' },
    });
    const unversioned = await evaluate(prepareRequestExpression(), { bucket: 'b', key: 'k', object: { size: 1 } });
    expect(unversioned.s3Object).toEqual({ Bucket: 'b', Name: 'k' });
    expect(unversioned.tagRequest).toEqual({ Bucket: 'b', Key: 'k' });
    expect((await evaluate(prepareRequestExpression(), { bucket: 'b', key: 'k', versionId: 'v2' })).s3Object.Version).toBe('v2');
  });

  const cases: Array<[string, Array<{ Name: string; Confidence: number }>, Tag[]]> = [
    ['flagged', [{ Name: 'Car', Confidence: 60 }, { Name: 'Motorcycle', Confidence: 97.123456 }], []],
    ['accepted, own tags kept', [{ Name: 'Car', Confidence: 91 }], [{ Key: 'camera', Value: 'x' }, { Key: 'ics:label', Value: 'old' }]],
    ['low confidence', [{ Name: 'Car', Confidence: 79.99 }], []],
    ['exactly at the threshold', [{ Name: 'Car', Confidence: 80 }], []],
    ['label with characters S3 tags refuse', [{ Name: 'Drugs & Tobacco', Confidence: 99 }], []],
    ['too many own tags', [{ Name: 'Car', Confidence: 99 }], Array.from({ length: 8 }, (_, i) => ({ Key: `t${i}`, Value: 'v' }))],
  ];
  test.each(cases)('%s', async (_name, labels, tags) => {
    const out = await evaluate(readResultExpression(options), state(labels, { existingTags: { tags } }));
    const top = [...labels].sort((a, b) => b.Confidence - a.Confidence)[0];
    const confidence = Math.round(top.Confidence * 100) / 10000;
    const outcome = decideOutcome(top.Name, confidence, options.threshold, options.flaggedLabels);
    expect(out.result).toMatchObject({ label: top.Name, confidence });
    const expectedTags = mergeTags(tags, top.Name, confidence, outcome);
    expect(out.actions.tagSet).toEqual(expectedTags);
    expect(out.result.tagging).toBe(expectedTags ? undefined : 'SKIPPED_TAG_LIMIT');
    expect(out.actions.quarantine).toEqual({ key: 'q/cams/a b+ü.jpg', copySource: copySource('b', 'cams/a b+ü.jpg') });
    expect(out.result.topK.length).toBe(Math.min(2, labels.length));
  });

  test('the copy source names the classified version', async () => {
    const out = await evaluate(readResultExpression(options), state([{ Name: 'Car', Confidence: 90 }], { s3Object: { Bucket: 'b', Name: 'k', Version: 'v 1' } }));
    expect(out.result.versionId).toBe('v 1');
    expect(out.actions.quarantine.copySource).toBe(copySource('b', 'cams/a b+ü.jpg', 'v 1'));
  });

  test('moderation: the top-level category is the label; children are ignored', async () => {
    const out = await evaluate(readResultExpression({ ...options, moderation: true, flaggedLabels: ['Violence'], noLabel: 'Safe', noLabelConfidence: 0.8 }), state([
      { Name: 'Graphic Violence', ParentName: 'Violence', Confidence: 99 } as any,
      { Name: 'Violence', ParentName: '', Confidence: 95 },
    ]));
    expect(out.result).toMatchObject({ label: 'Violence', confidence: 0.95, scores: { Violence: 0.95 } });
    const safe = await evaluate(readResultExpression({ ...options, moderation: true, noLabel: 'Safe', noLabelConfidence: 0.8 }), state([]));
    expect(safe.result).toMatchObject({ label: 'Safe', confidence: 0.8, scores: {}, topK: [] });
  });

  test('without tagging or quarantine, actions are empty', async () => {
    const out = await evaluate(readResultExpression({ ...options, tagObjects: false, quarantinePrefix: undefined }), state([{ Name: 'Car', Confidence: 90 }]));
    expect(out.actions).toEqual({});
    expect(out.result.tagging).toBeUndefined();
  });

  test.each([
    ['Rekognition.InvalidImageFormatException', 'UnsupportedImageFormat'],
    ['Rekognition.ImageTooLargeException', 'ImageTooLarge'],
    ['Rekognition.InvalidS3ObjectException', 'ObjectNotFound'],
    ['S3.NoSuchKeyException', 'ObjectNotFound'],
    ['S3.AccessDeniedException', 'ObjectAccessDenied'],
    ['Rekognition.ThrottlingException', 'EndpointThrottled'],
    // Names AWS never emits (no `Exception` suffix) are not mapped.
    ['S3.NoSuchKey', 'EndpointUnavailable'],
    ['States.Timeout', 'EndpointUnavailable'],
  ])('error %s is named %s, the original kept in the cause', async (error, name) => {
    const out = await evaluate(nameErrorExpression('EndpointUnavailable'), { bucket: 'b', key: 'k.jpg', error: { Error: error, Cause: 'why' } });
    expect(out).toEqual({ bucket: 'b', key: 'k.jpg', retryDecodedKey: false, error: { Error: name, Cause: `${error}: why` } });
  });

  // An S3 error the S3 model does not define is `S3.S3Exception`, its status only in the cause, in the form recorded
  // on AWS (LocalStack error_handling/test_aws_sdk.snapshot.json: "... (Service: S3, Status Code: 404, Request ID: ...)").
  test.each([
    ['Access Denied (Service: S3, Status Code: 403, Request ID: R, Extended Request ID: X)', 'ObjectAccessDenied'],
    ['The specified key does not exist. (Service: S3, Status Code: 404, Request ID: R)', 'ObjectNotFound'],
    ['Please reduce your request rate. (Service: S3, Status Code: 503, Request ID: R)', 'S3Unavailable'],
    ['We encountered an internal error. Please try again. (Service: S3, Status Code: 500, Request ID: R)', 'S3Unavailable'],
    ['Bad Request (Service: S3, Status Code: 400, Request ID: R)', 'EndpointUnavailable'],
    ['no status at all', 'EndpointUnavailable'],
  ])('S3.S3Exception with cause %j is named %s', async (cause, name) => {
    const out = await evaluate(nameErrorExpression('EndpointUnavailable'), { bucket: 'b', key: 'k.jpg', error: { Error: 'S3.S3Exception', Cause: cause } });
    expect(out.error).toEqual({ Error: name, Cause: `S3.S3Exception: ${cause}` });
  });
});

describe('the decoded-key retry', () => {
  const run = (key: string, error = 'Rekognition.InvalidS3ObjectException', extra: Record<string, unknown> = {}) =>
    evaluate(nameErrorExpression('EndpointUnavailable'), { bucket: 'b', key, ...extra, error: { Error: error, Cause: 'c' } });

  test('an object not found under an encoded key is tried once more under the decoded key, as the classify function does', async () => {
    const key = 'cams/night+shot%2B1%C3%BC.jpg';
    expect(await run(key)).toEqual({ bucket: 'b', key: candidateKeys(key)[1], keyDecoded: true, retryDecodedKey: true });
    expect(await run('cams/a+b.jpg', 'S3.NoSuchKeyException')).toMatchObject({ key: 'cams/a b.jpg', retryDecodedKey: true });
    const missing = { bucket: 'b', key: 'cams/a+b.jpg', error: { Error: 'S3.S3Exception', Cause: 'Not Found (Service: S3, Status Code: 404, Request ID: R)' } };
    expect(await evaluate(nameErrorExpression('EndpointUnavailable'), missing)).toMatchObject({ key: 'cams/a b.jpg', retryDecodedKey: true });
  });

  test('no second retry, no retry for other errors or keys without a different decoding', async () => {
    for (const out of [
      await run('a+b.jpg', 'Rekognition.InvalidS3ObjectException', { keyDecoded: true }),
      await run('a+b.jpg', 'Rekognition.InvalidImageFormatException'),
      await run('plain.jpg'),
    ]) {
      expect(out.retryDecodedKey).toBe(false);
      expect(out.error.Error).toMatch(/^(ObjectNotFound|UnsupportedImageFormat)$/);
    }
  });

  test('keys whose escapes are not valid UTF-8 are never decoded (decoding would fail the execution), exactly as decodeURIComponent decides', async () => {
    const samples = ['100%.jpg', '%zz', '%FF.jpg', '%C3.jpg', '%C3%BC', '%E0%80%80', '%ED%A0%80', '%F0%9F%98%80', '%F4%90%80%80', '%7E+x', '%c2%a9'];
    for (const key of samples) {
      const out = await run(key);
      expect([key, out.key]).toEqual([key, candidateKeys(key).at(-1)]);
    }
  });
});
