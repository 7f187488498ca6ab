import { gunzipSync } from 'node:zlib';
import { FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { ScaledClock } from '../src/clock';
import { compatDefinition, stringifyDeferred } from '../src/interpreter-compat';
import { functionModel } from '../src/models/function-model';
import {
  deliveryStreamsFromTemplate, evaluatePrefix, FirehosePeer, formatTimestamp, LocalDeliveryStream, MAX_RECORD_BYTES, startFirehose,
} from '../src/peers/firehose';
import { S3Peer, startS3 } from '../src/peers/s3';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate, resolveIntrinsics } from '../src/template-resolver';

/** 2026-03-04T23:59:58.250Z. */
const T0 = Date.UTC(2026, 2, 4, 23, 59, 58, 250);

/** The delivery stream the pipeline's construct synthesizes (see src/audit/delivery-stream.ts). */
function streamTemplate(overrides: Record<string, unknown> = {}): CfnTemplate {
  return {
    Resources: {
      AuditBucket1234ABCD: { Type: 'AWS::S3::Bucket', Properties: {} },
      Key5678: { Type: 'AWS::KMS::Key', Properties: {} },
      IcsAuditStream0F1E2D3C: {
        Type: 'AWS::KinesisFirehose::DeliveryStream',
        Properties: {
          DeliveryStreamType: 'DirectPut',
          DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: { 'Fn::GetAtt': ['Key5678', 'Arn'] } },
          ExtendedS3DestinationConfiguration: {
            BucketARN: { 'Fn::GetAtt': ['AuditBucket1234ABCD', 'Arn'] },
            RoleARN: 'arn:aws:iam::123456789012:role/r',
            Prefix: 'results/!{timestamp:yyyy/MM/dd}/',
            ErrorOutputPrefix: 'results-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
            CompressionFormat: 'GZIP',
            BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 64 },
            EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': ['Key5678', 'Arn'] } } },
            ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'AppendDelimiterToRecord' }] },
            CloudWatchLoggingOptions: { Enabled: true, LogGroupName: 'g', LogStreamName: 's' },
            ...overrides,
          },
        },
      },
    },
  };
}

describe('prefix and key evaluation', () => {
  test('Java DateTimeFormatter letters in UTC, quoted literals, the default hour prefix', () => {
    expect(formatTimestamp('yyyy/MM/dd', T0)).toBe('2026/03/04');
    expect(formatTimestamp('yyyy-MM-dd-HH-mm-ss', T0)).toBe('2026-03-04-23-59-58');
    expect(formatTimestamp('\'year=\'yy/\'\'', T0)).toBe('year=26/\'');
    expect(evaluatePrefix('results/!{timestamp:yyyy/MM/dd}/', T0)).toBe('results/2026/03/04/');
    // No expression at all: Firehose appends its default time prefix.
    expect(evaluatePrefix('plain/', T0)).toBe('plain/2026/03/04/23/');
    expect(evaluatePrefix('r=!{firehose:random-string}/', T0)).toMatch(/^r=[A-Za-z0-9]{11}\/$/);
    expect(() => formatTimestamp('MMM', T0)).toThrow(/month names/);
    expect(() => formatTimestamp('EEE', T0)).toThrow(/letter E is not supported/);
  });

  test('template streams resolve; what the peer would run unlike AWS is refused with the reason', () => {
    const [stream] = deliveryStreamsFromTemplate(streamTemplate());
    expect(stream).toMatchObject({
      name: 'IcsAuditStream0F1E2D3C',
      arn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/IcsAuditStream0F1E2D3C',
      bucket: 'auditbucket1234abcd',
      compression: 'GZIP',
      bufferSizeBytes: 64 * 1024 * 1024,
      bufferIntervalMs: 300_000,
      appendDelimiter: true,
      encrypted: true,
      objectKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/Key5678',
    });
    // The state machine names the stream by Ref; it resolves to the name the peer serves.
    expect(resolveIntrinsics({ Ref: 'IcsAuditStream0F1E2D3C' }, streamTemplate())).toBe(stream.name);
    expect(() => deliveryStreamsFromTemplate(streamTemplate({
      ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'Lambda' }] },
      CompressionFormat: 'Snappy',
      Prefix: 'p/!{partitionKeyFromQuery:id}/',
    }))).toThrow(/CompressionFormat Snappy[\s\S]*processor Lambda[\s\S]*Prefix expression !\{partitionKeyFromQuery:id\}/);
    expect(() => deliveryStreamsFromTemplate(streamTemplate({ Prefix: 'p/!{firehose:error-output-type}/' }))).toThrow(/Prefix expression/);
  });
});

describe('the Firehose peer delivering into the S3 peer', () => {
  let s3: S3Peer;
  let client: S3Client;
  let firehose: FirehosePeer | undefined;
  let stream: LocalDeliveryStream;
  beforeAll(async () => {
    [stream] = deliveryStreamsFromTemplate(streamTemplate());
    s3 = await startS3({ buckets: [stream.bucket] });
    client = s3.client();
  });
  afterEach(async () => {
    s3.clearFaults();
    await firehose?.close().catch(() => undefined);
    firehose = undefined;
  });
  afterAll(async () => {
    client.destroy();
    await s3.close();
  });

  const start = (opts: { maxRecordsPerObject?: number; clock?: ScaledClock } = {}) => startFirehose({ streams: [stream], s3: client, ...opts });
  /** PutRecord through the real SDK client, as the runner sends it. */
  const putRecord = (url: string, params: { DeliveryStreamName: string; Record: { Data: string } }) => {
    const fh = new FirehoseClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'L', secretAccessKey: 'L' }, maxAttempts: 1 });
    return fh.send(new PutRecordCommand({ ...params, Record: { Data: Buffer.from(params.Record.Data, 'utf8') } })).finally(() => fh.destroy());
  };
  const put = (data: string) => putRecord(firehose!.url, { DeliveryStreamName: stream.name, Record: { Data: data } });
  const read = async (key: string) => {
    const got = await client.send(new GetObjectCommand({ Bucket: stream.bucket, Key: key }));
    return gunzipSync(Buffer.from(await got.Body!.transformToByteArray())).toString('utf8');
  };

  test('PutRecord answers RecordId and Encrypted; flush writes one gzip object of newline-delimited records', async () => {
    firehose = await start();
    const answers = [await put('{"n":1}'), await put('{"n":2}'), await put('{"n":3}')];
    expect(answers.map((a) => a.Encrypted)).toEqual([true, true, true]);
    expect(new Set(answers.map((a) => a.RecordId)).size).toBe(3);
    // Buffered: nothing in S3 until the buffer is delivered.
    expect(firehose.deliveries).toEqual([]);
    const key = firehose.locate(answers[0].RecordId)!.key;
    expect(answers.map((a) => firehose!.locate(a.RecordId)?.key)).toEqual([key, key, key]);
    await firehose.flush();
    expect(firehose.deliveries).toEqual([expect.objectContaining({ key, records: 3, bytes: 24 })]);
    expect(await read(key)).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    expect(key).toMatch(/^results\/\d{4}\/\d{2}\/\d{2}\/IcsAuditStream0F1E2D3C-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$/);
  });

  test('the key is the OLDEST record\'s arrival: records after midnight UTC stay in the day the object opened', async () => {
    // Simulated time starts 20 s before midnight and runs 100x faster (the peer's start-up takes a few simulated
    // seconds); the second record arrives the next day.
    const clock = new ScaledClock(0.01, Date.UTC(2026, 2, 4, 23, 59, 40));
    firehose = await start({ clock });
    const first = await put('{"n":1}');
    await clock.sleep(Date.UTC(2026, 2, 5) + 1000 - clock.now());
    const late = await put('{"n":2}');
    expect(clock.now()).toBeGreaterThan(Date.UTC(2026, 2, 5));
    await firehose.flush();
    const key = firehose.locate(first.RecordId)!.key;
    expect(firehose.locate(late.RecordId)!.key).toBe(key);
    expect(key).toMatch(/^results\/2026\/03\/04\/IcsAuditStream0F1E2D3C-1-2026-03-04-23-59-[45]\d-/);
    expect(await read(key)).toBe('{"n":1}\n{"n":2}\n');
  });

  test('a buffer full by record count is delivered; the next record opens a new object', async () => {
    firehose = await start({ maxRecordsPerObject: 2 });
    const ids = [];
    for (let n = 1; n <= 5; n++) ids.push((await put(`{"n":${n}}`)).RecordId);
    await firehose.flush();
    const keys = ids.map((id) => firehose!.locate(id)!.key);
    expect(new Set(keys).size).toBe(3);
    expect(firehose.deliveries.map((d) => d.records)).toEqual([2, 2, 1]);
    expect(await Promise.all(firehose.deliveries.map((d) => read(d.key)))).toEqual(['{"n":1}\n{"n":2}\n', '{"n":3}\n{"n":4}\n', '{"n":5}\n']);
  });

  test('the buffering interval delivers on the runner\'s clock', async () => {
    firehose = await startFirehose({ streams: [{ ...stream, bufferIntervalMs: 60_000 }], s3: client, clock: new ScaledClock(0.001) });
    const { RecordId } = await put('{"n":1}');
    // 60 simulated seconds are 60 real ms.
    await new Promise((r) => setTimeout(r, 400));
    expect(firehose.deliveries).toEqual([expect.objectContaining({ key: firehose.locate(RecordId)!.key, records: 1 })]);
  });

  test('close delivers what is buffered', async () => {
    const peer = firehose = await start();
    const { RecordId } = await put('{"closing":true}');
    await peer.close();
    firehose = undefined;
    expect(await read(peer.locate(RecordId)!.key)).toBe('{"closing":true}\n');
  });

  test('errors: unknown stream ResourceNotFoundException, a record over 1,000 KiB ValidationException', async () => {
    firehose = await start();
    await expect(putRecord(firehose.url, { DeliveryStreamName: 'nope', Record: { Data: 'x' } }))
      .rejects.toMatchObject({ name: 'ResourceNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    await expect(put('x'.repeat(MAX_RECORD_BYTES + 1))).rejects.toMatchObject({
      name: 'ValidationException', message: expect.stringMatching(/less than or equal to 1024000/),
    });
    // Exactly the limit is accepted.
    await expect(put('x'.repeat(MAX_RECORD_BYTES))).resolves.toMatchObject({ Encrypted: true });
  });

  test('S3 down: the delivery fails, nothing goes to the error prefix, the records stay buffered and land on the next flush', async () => {
    firehose = await start();
    const { RecordId } = await put('{"n":1}');
    // Every PutObject attempt (the SDK's own retries too) fails while the fault lasts.
    s3.failNext(Infinity, { operation: 'PutObject' });
    await expect(firehose.flush()).rejects.toThrow(/stay buffered: AWS retries an S3 delivery for up to 24 hours/);
    expect(firehose.deliveryErrors).toEqual([expect.objectContaining({ records: 1, lost: false })]);
    s3.clearFaults();
    await firehose.flush();
    expect(await read(firehose.locate(RecordId)!.key)).toBe('{"n":1}\n');
    const all = await client.send(new ListObjectsV2Command({ Bucket: stream.bucket, Prefix: 'results-errors/' }));
    expect(all.KeyCount).toBe(0);
  });
});

describe('the runner\'s JSON-to-string workaround reaches nested parameters', () => {
  test('Record.Data of the Firehose task is stringified by the handler, quotes and backslashes intact', () => {
    const { definition, stringify } = compatDefinition({
      StartAt: 'Put',
      States: { Put: { Type: 'Task', Resource: 'r', End: true, Parameters: { DeliveryStreamName: 's', Record: { 'Data.$': 'States.JsonToString($.result)' } } } },
    });
    expect(definition.States.Put.Parameters.Record).toEqual({ 'Data.$': '$.result' });
    const value = { cause: '{"errorType":"x\\y"}' };
    expect(stringifyDeferred({ DeliveryStreamName: 's', Record: { Data: value } }, stringify.Put)).toEqual({ DeliveryStreamName: 's', Record: { Data: JSON.stringify(value) } });
  });
});

/** Vehicle-label score vectors (bicycle, motorcycle, pickup_truck, bus, tank, tractor), keyed by a byte appended to the image. */
const SCORES: Record<number, number[]> = {
  1: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025], // FLAGGED motorcycle
  2: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005], // ACCEPTED bus
  3: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5], // LOW_CONFIDENCE tractor
};
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);
const scoresOf = (bytes: Uint8Array) => SCORES[bytes.length - images.jpeg.length] ?? SCORES[2];

function synth(props: Partial<ImageClassificationPipelineProps> = {}) {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('the synthesized pipeline\'s default audit trail through Firehose, end to end', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    local = await LocalPipeline.start({ template: synth(), models: { vehicles: functionModel((b) => scoresOf(b)) }, firehoseMaxRecordsPerObject: 3 });
  });
  afterAll(() => local?.close());

  test('one JSON line per image in GZIP objects under results/yyyy/MM/dd/, matching each execution\'s result', async () => {
    expect(local.firehose?.streams).toEqual([expect.objectContaining({ compression: 'GZIP', appendDelimiter: true, encrypted: true, prefix: 'results/!{timestamp:yyyy/MM/dd}/' })]);
    const runs = [];
    for (const [i, n] of [1, 2, 3, 2, 1].entries()) runs.push(await local.upload(`cams/e2e-${i}.jpg`, imageFor(n)));
    runs.push(await local.upload('cams/e2e-empty.jpg', Buffer.alloc(0)));
    expect(runs.map((r) => r.result.outcome)).toEqual(['FLAGGED', 'ACCEPTED', 'LOW_CONFIDENCE', 'ACCEPTED', 'FLAGGED', 'ERROR']);
    // Each execution knows the object its record goes into: three records per object here.
    expect(runs.map((r) => r.auditRecords.map((a) => a.record))).toEqual(runs.map((r) => [r.result]));
    expect(new Set(runs.map((r) => r.auditRecords[0].key)).size).toBe(2);

    await local.flushAuditTrail();
    const { bucket } = runs[0].auditRecords[0];
    const client = local.s3.client();
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'results/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.sort()).toEqual([...new Set(runs.map((r) => r.auditRecords[0].key))].sort());
    const lines: any[] = [];
    for (const key of keys) {
      expect(key).toMatch(/^results\/\d{4}\/\d{2}\/\d{2}\/IcsAuditStream[0-9A-F]{8}-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}\.gz$/);
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = gunzipSync(await got.Body!.transformToByteArray()).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      lines.push(...text.trimEnd().split('\n').map((l) => JSON.parse(l)));
    }
    client.destroy();
    expect(lines.sort(byArn)).toEqual(runs.map((r) => r.result).sort(byArn));
    // And as users read it back.
    expect((await local.readAuditTrail()).sort(byArn)).toEqual(runs.map((r) => r.result).sort(byArn));
  });

  test('PutRecord to a stream the role may not write: AccessDenied (Firehose.FirehoseException), then AuditWriteFailed', async () => {
    const template = synth();
    const streamId = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::KinesisFirehose::DeliveryStream')!;
    const sm = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    const parts: any[] = sm.Properties.DefinitionString['Fn::Join'][1];
    const at = parts.findIndex((p) => p?.Ref === streamId);
    expect(at).toBeGreaterThan(0);
    parts[at] = 'a-deleted-stream';
    const broken = await LocalPipeline.start({ template, models: { vehicles: functionModel(() => SCORES[2]) } });
    try {
      const run = await broken.upload('cams/unaudited.jpg', imageFor(2));
      expect(run).toMatchObject({ status: 'FAILED', error: 'AuditWriteFailed', auditRecords: [] });
      expect(run.cause).toMatch(/a-deleted-stream/);
      // AWS authorizes before it looks the stream up: the role's policy names the template's stream only, so the call
      // is denied (AccessDeniedException, which Firehose's SDK model lacks: the base exception), each retry again.
      expect(JSON.stringify(run.history)).toContain('"Firehose.FirehoseException"');
      expect(new Set(broken.denials.map((d) => d.action))).toEqual(new Set(['firehose:PutRecord']));
      expect(run.states.filter((s) => s === 'WriteAuditRecord')).toHaveLength(1);
    } finally {
      await broken.close();
    }
  });
});

const byArn = (a: any, b: any) => String(a.executionArn).localeCompare(String(b.executionArn));
