import { Readable } from 'stream';
import { GetObjectCommand, GetObjectTaggingCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  InternalFailure,
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { images } from './fixtures';
import { classify } from '../../src/handlers/classify';
import { ClassifyConfig } from '../../src/handlers/config';
import { ErrorName } from '../../src/handlers/errors';
import { ResponseFormat, ScoreType } from '../../src/response-format';

const s3Mock = mockClient(S3Client);
const smMock = mockClient(SageMakerRuntimeClient);

const config: ClassifyConfig = {
  endpointName: 'vehicles',
  responseFormat: ResponseFormat.AUTO,
  scoreType: ScoreType.PROBABILITIES,
  classLabels: ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'],
  threshold: 0.94,
  maxImageBytes: 6 * 1024 * 1024,
  topK: 3,
  flaggedLabels: ['motorcycle', 'pickup_truck', 'tank'],
  tagObjects: false,
  s3ForcePathStyle: false,
};
const deps = () => ({
  s3: new S3Client({}),
  sagemaker: new SageMakerRuntimeClient({}),
  config,
  now: () => new Date('2026-11-22T10:00:00.000Z'),
});

const objectBody = (bytes: Buffer) => ({
  Body: sdkStreamMixin(Readable.from([bytes])),
  ContentLength: bytes.length,
});
const modelBody = (body: unknown) => ({ Body: new TextEncoder().encode(JSON.stringify(body)) as any });
const prediction = { prediction: [0.01, 0.96, 0.01, 0.01, 0.005, 0.005] };

const errorOf = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
};

beforeEach(() => {
  s3Mock.reset();
  smMock.reset();
});

describe('classify', () => {
  test.each(Object.keys(images) as Array<keyof typeof images>)('classifies a real %s image and sends its sniffed content type', async (format) => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images[format]));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));

    const output = await classify({ input: { bucket: 'b', key: `cams/1.${format}` }, executionArn: 'arn:exec' }, deps());

    expect(output).toEqual({ bucket: 'b', key: `cams/1.${format}`, result: expect.any(Object), actions: {} });
    expect(output.result).toEqual({
      schemaVersion: '1.1',
      bucket: 'b',
      key: `cams/1.${format}`,
      sizeBytes: images[format].length,
      format,
      label: 'motorcycle',
      confidence: 0.96,
      threshold: 0.94,
      scores: { bicycle: 0.01, motorcycle: 0.96, pickup_truck: 0.01, bus: 0.01, tank: 0.005, tractor: 0.005 },
      topK: [{ label: 'motorcycle', score: 0.96 }, { label: 'bicycle', score: 0.01 }, { label: 'pickup_truck', score: 0.01 }],
      modelEndpoint: 'vehicles',
      modelLatencyMs: expect.any(Number),
      executionArn: 'arn:exec',
      classifiedAt: '2026-11-22T10:00:00.000Z',
    });
    const invoke = smMock.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect(invoke.EndpointName).toBe('vehicles');
    expect(invoke.ContentType).toBe(`image/${format}`);
    expect(invoke.Accept).toBe('application/json');
    expect(Buffer.from(invoke.Body as Uint8Array).equals(images[format])).toBe(true);
  });

  test('reads the version named in the EventBridge object and reports it', async () => {
    s3Mock.on(GetObjectCommand).resolves({ ...objectBody(images.jpeg), VersionId: 'v1' });
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    const { result } = await classify({ input: { bucket: 'b', key: 'k.jpg', object: { 'size': 1, 'version-id': 'v1' } } }, deps());
    expect(s3Mock.commandCalls(GetObjectCommand)[0].args[0].input).toEqual({ Bucket: 'b', Key: 'k.jpg', VersionId: 'v1' });
    expect(result.versionId).toBe('v1');
  });

  test('a fixed content type and variant override the sniffed type', async () => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images.png));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    await classify({ input: { bucket: 'b', key: 'k.png' } }, { ...deps(), config: { ...config, contentType: 'application/x-image', targetVariant: 'blue' } });
    const invoke = smMock.commandCalls(InvokeEndpointCommand)[0].args[0].input;
    expect(invoke.ContentType).toBe('application/x-image');
    expect(invoke.TargetVariant).toBe('blue');
  });

  test('an encoded key that does not exist as given is read under its decoded spelling', async () => {
    s3Mock.on(GetObjectCommand, { Key: 'my+photo%2B1.jpg' }).rejects(new NoSuchKey({ message: 'no', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(GetObjectCommand, { Key: 'my photo+1.jpg' }).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    const output = await classify({ input: { bucket: 'b', key: 'my+photo%2B1.jpg' } }, deps());
    expect(output.key).toBe('my photo+1.jpg');
    expect(output.result.key).toBe('my photo+1.jpg');
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(2);
  });

  test('a literal + key that exists is read once, as given', async () => {
    s3Mock.on(GetObjectCommand, { Key: 'a+b.jpg' }).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    expect((await classify({ input: { bucket: 'b', key: 'a+b.jpg' } }, deps())).result.key).toBe('a+b.jpg');
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  test('unicode keys pass through unchanged', async () => {
    s3Mock.on(GetObjectCommand, { Key: 'kamera/görüntü 1.jpg' }).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    expect((await classify({ input: { bucket: 'b', key: 'kamera/görüntü 1.jpg' } }, deps())).result.key).toBe('kamera/görüntü 1.jpg');
  });
});

describe('action inputs', () => {
  const withTags = (existing: Array<{ Key: string; Value: string }>) => {
    // S3 sends the tag count only when there are tags.
    s3Mock.on(GetObjectCommand).resolves({ ...objectBody(images.jpeg), VersionId: 'v7', ...(existing.length > 0 ? { TagCount: existing.length } : {}) });
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: existing });
    smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
    return classify({ input: { bucket: 'b', key: 'cams/a b+c.jpg' } }, { ...deps(), config: { ...config, tagObjects: true, quarantinePrefix: 'quarantine/' } });
  };

  test('tag set: the object\'s own tags kept, ours replaced, outcome decided as the workflow does', async () => {
    const output = await withTags([{ Key: 'owner', Value: 'gate-3' }, { Key: 'ics:outcome', Value: 'ACCEPTED' }]);
    expect(output.actions.tagSet).toEqual([
      { Key: 'owner', Value: 'gate-3' },
      { Key: 'ics:label', Value: 'motorcycle' },
      { Key: 'ics:confidence', Value: '0.9600' },
      { Key: 'ics:outcome', Value: 'FLAGGED' },
    ]);
    expect(s3Mock.commandCalls(GetObjectTaggingCommand)[0].args[0].input).toEqual({ Bucket: 'b', Key: 'cams/a b+c.jpg', VersionId: 'v7' });
    expect(output.result.tagging).toBeUndefined();
  });

  test('an object with 8 tags of its own is left untagged, and the result says so', async () => {
    const output = await withTags(Array.from({ length: 8 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })));
    expect(output.actions.tagSet).toBeUndefined();
    expect(output.result.tagging).toBe('SKIPPED_TAG_LIMIT');
  });

  test('an object without tags (no tag count from GetObject) is tagged without reading its tags first', async () => {
    const output = await withTags([]);
    expect(s3Mock.commandCalls(GetObjectTaggingCommand)).toHaveLength(0);
    expect(output.actions.tagSet?.map((t) => t.Key)).toEqual(['ics:label', 'ics:confidence', 'ics:outcome']);
  });

  test('quarantine: same key under the prefix, URL-encoded version-aware copy source', async () => {
    const output = await withTags([]);
    expect(output.actions.quarantine).toEqual({ key: 'quarantine/cams/a b+c.jpg', copySource: 'b/cams/a%20b%2Bc.jpg?versionId=v7' });
  });
});

describe('classify errors', () => {
  const run = (input: unknown = { bucket: 'b', key: 'k.jpg' }, cfg: Partial<ClassifyConfig> = {}) =>
    errorOf(classify({ input }, { ...deps(), config: { ...config, ...cfg } }));

  test.each([
    [{}, 'no fields'],
    [{ bucket: 'b' }, 'no key'],
    [{ bucket: 'b', key: 42 }, 'numeric key'],
    [null, 'null'],
  ])('InvalidInput for %j (%s)', async (input) => {
    expect((await run(input)).name).toBe(ErrorName.InvalidInput);
  });

  test('ObjectNotFound names the original key', async () => {
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: { httpStatusCode: 404 } }));
    const err = await run({ bucket: 'b', key: 'gone+x.jpg' });
    expect(err.name).toBe(ErrorName.ObjectNotFound);
    expect(err.message).toContain('s3://b/gone+x.jpg');
  });

  test('ObjectAccessDenied', async () => {
    s3Mock.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'denied', $metadata: { httpStatusCode: 403 } }));
    expect((await run()).name).toBe(ErrorName.ObjectAccessDenied);
  });

  test('S3Unavailable (transient) on 503 SlowDown', async () => {
    s3Mock.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'slow', $metadata: { httpStatusCode: 503 } }));
    expect((await run()).name).toBe(ErrorName.S3Unavailable);
  });

  test('ImageTooLarge before the body is buffered', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([images.jpeg])), ContentLength: 7 * 1024 * 1024 });
    const err = await run();
    expect(err.name).toBe(ErrorName.ImageTooLarge);
    expect(err.message).toMatch(/7340032 bytes; the maximum is 6291456/);
    expect(smMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  test('ImageTooLarge when the body exceeds a smaller cap without a length', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: sdkStreamMixin(Readable.from([images.png])) });
    expect((await run(undefined, { maxImageBytes: 100 })).name).toBe(ErrorName.ImageTooLarge);
  });

  test.each([
    ['EmptyObject', Buffer.alloc(0)],
    ['UnsupportedImageFormat', Buffer.from('plain text named .jpg')],
    ['TruncatedImage', images.jpeg.subarray(0, 200)],
  ])('%s never reaches the endpoint', async (name, bytes) => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(bytes));
    expect((await run()).name).toBe(name);
    expect(smMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  test.each([
    [new ModelError({ message: 'bad input', $metadata: {}, OriginalStatusCode: 400 }), ErrorName.ModelError],
    [new ValidationError({ message: 'Endpoint vehicles not found.', $metadata: {} }), ErrorName.EndpointValidationError],
    [new ModelNotReadyException({ message: 'loading', $metadata: {} }), ErrorName.ModelNotReady],
    [Object.assign(new Error('slow down'), { name: 'ThrottlingException' }), ErrorName.EndpointThrottled],
    [new InternalFailure({ message: 'boom', $metadata: {} }), ErrorName.EndpointUnavailable],
    [new ServiceUnavailable({ message: 'down', $metadata: {} }), ErrorName.EndpointUnavailable],
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), ErrorName.EndpointUnavailable],
  ])('SageMaker %p becomes %s', async (sdkError, name) => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).rejects(sdkError);
    const err = await run();
    expect(err.name).toBe(name);
    expect(err.message).toContain('vehicles');
  });

  test.each([
    ['MalformedModelResponse', { oops: true }],
    ['LabelCountMismatch', { prediction: [0.5, 0.5] }],
  ])('%s from the endpoint body', async (name, body) => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody(body));
    expect((await run()).name).toBe(name);
  });

  test('a model answering counts is MalformedModelResponse, not FLAGGED with confidence 41', async () => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody({ prediction: [0, 41, 0, 0, 0, 0] }));
    const err = await run();
    expect(err.name).toBe(ErrorName.MalformedModelResponse);
    expect(err.message).toMatch(/score 41 at index 1 \("motorcycle"\)/);
  });

  test('with ScoreType.LOGITS the result carries softmax probabilities', async () => {
    s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
    smMock.on(InvokeEndpointCommand).resolves(modelBody({ predictions: [[0.3, 9.1, 1.2, -0.7, 2.0, -1.5]] }));
    const { result } = await classify({ input: { bucket: 'b', key: 'k.jpg' } }, { ...deps(), config: { ...config, scoreType: ScoreType.LOGITS } });
    expect(result.label).toBe('motorcycle');
    expect(result.confidence).toBeGreaterThan(0.99);
    expect(result.confidence).toBeLessThan(1);
    expect(Object.values(result.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('handler entry point', () => {
  test('reads its configuration from the environment, writes one metrics record per image and no other line at INFO, warns on errors', async () => {
    const env = { ...process.env };
    Object.assign(process.env, {
      ICS_ENDPOINT_NAME: 'vehicles',
      ICS_CLASS_LABELS: JSON.stringify(config.classLabels),
      ICS_CONFIDENCE_THRESHOLD: '0.94',
      AWS_REGION: 'us-east-1',
    });
    const lines: string[] = [];
    // Powertools writes straight to stdout/stderr, as Lambda captures them.
    const spies = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: any) => {
        lines.push(...String(chunk).split('\n').filter((l) => l.trim() !== ''));
        return true;
      }));
    try {
      // Loaded here, after the environment is set: the module reads its configuration at load time.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require('../../src/handlers/classify.lambda') as typeof import('../../src/handlers/classify.lambda');
      s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
      smMock.on(InvokeEndpointCommand).resolves(modelBody(prediction));
      const ok = await handler({ input: { bucket: 'b', key: 'k.jpg' }, executionArn: 'arn:exec' });
      expect(ok.result.label).toBe('motorcycle');

      // Queued ingestion: the dispatch function writes a classified image's metrics, so this call writes none.
      s3Mock.on(GetObjectCommand).resolves(objectBody(images.jpeg));
      await handler({ input: { bucket: 'b', key: 'k2.jpg' }, executionArn: 'arn:exec2', classifiedMetrics: false });

      s3Mock.on(GetObjectCommand).resolves(objectBody(Buffer.from('not an image')));
      await expect(handler({ input: { bucket: 'b', key: 'bad.jpg' } })).rejects.toMatchObject({ name: 'UnsupportedImageFormat' });

      const all = lines.map((l) => JSON.parse(l));
      // One EMF record per image, on stdout (their content: metrics.test.ts).
      expect(all.filter((r) => r._aws).map((r) => Object.keys(r).filter((k) => !['_aws', 'Pipeline', 'Label', 'ErrorName'].includes(k)).sort()))
        .toEqual([['Confidence', 'ImageBytes', 'ImagesClassified', 'ModelLatency'], ['ClassificationErrors']]);
      // At the default level the classified image writes no log line of its own ("Image classified" is DEBUG).
      const records = all.filter((r) => !r._aws);
      expect(records).toEqual([
        expect.objectContaining({ level: 'WARN', message: 'Image not classified', errorName: 'UnsupportedImageFormat', key: 'bad.jpg' }),
      ]);
      const base64 = images.jpeg.toString('base64').slice(0, 40);
      expect(lines.join('\n')).not.toContain(base64);
    } finally {
      spies.forEach((s) => s.mockRestore());
      process.env = env;
    }
  });
});
