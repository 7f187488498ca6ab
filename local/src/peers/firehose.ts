/**
 * Amazon Data Firehose (Kinesis Data Firehose) on loopback: direct-PUT delivery streams with an extended S3
 * destination, delivering into the S3 peer as AWS documents it.
 *
 * - PutRecord, over the service's AWS JSON 1.1 protocol (`X-Amz-Target: Firehose_20150804.PutRecord`): an unknown
 *   stream is `ResourceNotFoundException`; a data blob over 1,000 KiB (1,024,000 bytes, the API's length constraint
 *   on `Record.Data`) is the constraint violation AWS's JSON services answer, `ValidationException` ("1 validation
 *   error detected: ... Member must have length less than or equal to 1024000"); the answer is `{ RecordId,
 *   Encrypted }`, `Encrypted` true when the stream has server-side encryption (PutRecord API reference).
 * - Records are buffered per stream; the `AppendDelimiterToRecord` processor appends `\n` to each. A buffer becomes
 *   one object when it reaches `BufferingHints.SizeInMBs` (MiB of incoming data, before compression), its
 *   `IntervalInSeconds` (on the runner's clock, so `timeScale` applies), the peer's `maxRecordsPerObject`, or on
 *   {@link FirehosePeer.flush} / close.
 * - Object key: `<evaluated Prefix><stream name>-<version, 1>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid><extension>`,
 *   `.gz` for GZIP ("Configure Amazon S3 object name format",
 *   https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html). The prefix's `!{timestamp:<Java
 *   DateTimeFormatter pattern>}` expressions and the suffix use the approximate arrival time of the OLDEST record in
 *   the object, in UTC; every timestamp expression of a prefix is the same instant; `!{firehose:random-string}` is 11
 *   random characters; a prefix without any expression gets `yyyy/MM/dd/HH/` appended ("Custom prefixes for Amazon S3
 *   objects", https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html). So the key is known when the buffer
 *   opens, and {@link FirehosePeer.locate} tells which object a record will be in.
 * - The object is written with S3 PutObject through the given client (the S3 peer), with SSE-KMS and the
 *   destination's `KMSEncryptionConfig` key when one is configured (the S3 peer accepts the headers and does not
 *   encrypt: nothing here pretends it does).
 * - A failed S3 delivery is retried; the records are NOT written to the error prefix: for an S3 destination AWS keeps
 *   retrying for up to 24 hours, then the data is lost ("Handle data delivery failures",
 *   https://docs.aws.amazon.com/firehose/latest/dev/retry.html). The error prefix holds records that failed
 *   processing, format conversion or dynamic partitioning, none of which this peer runs. Here a failed delivery
 *   keeps the buffer and is recorded in `deliveryErrors`; the next interval or flush tries again; records older
 *   than 24 hours (simulated) are dropped and recorded as lost. `flush()` rejects while a buffer could not be
 *   delivered, rather than wait the 24 hours AWS would.
 *
 * Refused when the stream is configured (throws at start, naming the reason), since the peer would not do what
 * AWS does: a Lambda processor or any processor but AppendDelimiterToRecord, data format conversion, dynamic
 * partitioning, S3 backup of source records, a source other than DirectPut, compression other than GZIP or
 * UNCOMPRESSED, `CustomTimeZone` other than UTC, a file extension override, a prefix using
 * `!{firehose:error-output-type}` or `!{partitionKeyFrom...}`, or timestamp pattern letters other than
 * y, M, d, H, m, s. Not implemented: PutRecordBatch, delivery-stream throughput quotas (ServiceUnavailableException),
 * CloudWatch delivery logs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ScaledClock } from '../clock';
import { CfnTemplate, LOCAL_ACCOUNT, physicalName, resolveIntrinsics, resourceArn } from '../template-resolver';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { FIREHOSE_BINDING } from '../gateway/services';

/** `Record.Data`'s length constraint (PutRecord API reference: "up to 1,000 KiB"). */
export const MAX_RECORD_BYTES = 1_024_000;
/** How long Firehose keeps retrying an S3 delivery before the data is lost. */
export const S3_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const TARGET_PREFIX = 'Firehose_20150804.';
const JSON_11 = 'application/x-amz-json-1.1';

/** One delivery stream as the peer runs it: its template properties, resolved. */
export interface LocalDeliveryStream {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly bucket: string;
  /** The configured Prefix, unevaluated (`results/!{timestamp:yyyy/MM/dd}/`). */
  readonly prefix: string;
  readonly errorOutputPrefix?: string;
  readonly compression: 'GZIP' | 'UNCOMPRESSED';
  readonly bufferSizeBytes: number;
  readonly bufferIntervalMs: number;
  readonly appendDelimiter: boolean;
  /** Server-side encryption of the stream itself (PutRecord answers `Encrypted: true`). */
  readonly encrypted: boolean;
  /** The destination's KMSEncryptionConfig key: objects are written with SSE-KMS under it. */
  readonly objectKmsKeyArn?: string;
  /** The role Firehose writes to the destination as (`RoleARN`). */
  readonly roleArn?: string;
}

/** An object the peer delivered. */
export interface FirehoseDelivery {
  readonly stream: string;
  readonly bucket: string;
  readonly key: string;
  readonly records: number;
  /** Bytes of the records with their delimiters, before compression. */
  readonly bytes: number;
  /** Arrival time (simulated epoch ms) of the oldest record: the time the key was evaluated from. */
  readonly oldestArrival: number;
}

/** A failed delivery attempt or lost data, as Firehose logs delivery errors to CloudWatch. */
export interface FirehoseDeliveryError {
  readonly stream: string;
  readonly key: string;
  readonly records: number;
  readonly message: string;
  /** True when the records were dropped: older than 24 hours and still undelivered. */
  readonly lost: boolean;
}

export interface FirehosePeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  readonly streams: readonly LocalDeliveryStream[];
  /** Client of the S3 peer the streams deliver to: one for all, or each stream's (signed as the stream's role). */
  readonly s3: S3Client | ((stream: LocalDeliveryStream) => S3Client);
  /** Arrival times and buffering intervals. @default real time */
  readonly clock?: ScaledClock;
  /**
   * Deliver a buffer once it holds this many records (a local knob, so tests can see several objects without
   * 64 MiB of records; AWS has no record-count hint).
   * @default no limit
   */
  readonly maxRecordsPerObject?: number;
  /** @default a random free port */
  readonly port?: number;
}

export interface FirehosePeer {
  /** Endpoint URL of the AWS JSON 1.1 API. */
  readonly url: string;
  readonly streams: readonly LocalDeliveryStream[];
  /** Objects delivered, in order. */
  readonly deliveries: FirehoseDelivery[];
  readonly deliveryErrors: FirehoseDeliveryError[];
  /** Requests the peer failed on (500 InternalFailure). */
  readonly errors: Array<{ method: string; url: string; message: string }>;
  /** Where the record with this RecordId is (or will be) delivered. */
  locate(recordId: string): { bucket: string; key: string } | undefined;
  /** Delivers every open buffer now; rejects if a delivery fails (the records stay buffered, as AWS retries). */
  flush(): Promise<void>;
  /** Flushes, then stops the server and the interval timers. */
  close(): Promise<void>;
}

/** Delivery streams of a template, resolved; refuses configurations the peer would not run as AWS does. */
export function deliveryStreamsFromTemplate(template: CfnTemplate): LocalDeliveryStream[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')
    .map(([id, r]) => deliveryStreamOf(id, resolveIntrinsics(r.Properties ?? {}, template)));
}

function deliveryStreamOf(logicalId: string, props: any): LocalDeliveryStream {
  const problems: string[] = [];
  const type = 'AWS::KinesisFirehose::DeliveryStream';
  const name: string = props.DeliveryStreamName ?? physicalName(logicalId, type);
  if ((props.DeliveryStreamType ?? 'DirectPut') !== 'DirectPut') problems.push(`source ${props.DeliveryStreamType} (only DirectPut)`);
  const dest = props.ExtendedS3DestinationConfiguration ?? props.S3DestinationConfiguration;
  const other = ['RedshiftDestinationConfiguration', 'ElasticsearchDestinationConfiguration', 'AmazonopensearchserviceDestinationConfiguration',
    'SplunkDestinationConfiguration', 'HttpEndpointDestinationConfiguration', 'SnowflakeDestinationConfiguration', 'IcebergDestinationConfiguration']
    .filter((k) => props[k]);
  if (!dest || other.length > 0) problems.push(`destination ${other.join(', ') || 'none'} (only an S3 destination)`);
  const compression = dest?.CompressionFormat ?? 'UNCOMPRESSED';
  if (compression !== 'GZIP' && compression !== 'UNCOMPRESSED') problems.push(`CompressionFormat ${compression}`);
  const processors: any[] = dest?.ProcessingConfiguration?.Enabled === true || dest?.ProcessingConfiguration?.Enabled === 'true'
    ? dest.ProcessingConfiguration.Processors ?? [] : [];
  for (const p of processors) if (p.Type !== 'AppendDelimiterToRecord') problems.push(`processor ${p.Type}`);
  if (isEnabled(dest?.DataFormatConversionConfiguration)) problems.push('data format conversion');
  if (isEnabled(dest?.DynamicPartitioningConfiguration)) problems.push('dynamic partitioning');
  if (dest?.S3BackupMode === 'Enabled') problems.push('S3 backup of source records');
  if (dest?.CustomTimeZone && dest.CustomTimeZone !== 'UTC') problems.push(`CustomTimeZone ${dest.CustomTimeZone}`);
  if (dest?.FileExtension) problems.push(`FileExtension ${dest.FileExtension}`);
  const prefix: string = dest?.Prefix ?? '';
  problems.push(...prefixProblems(prefix, 'Prefix'));
  if (dest?.ErrorOutputPrefix) problems.push(...prefixProblems(dest.ErrorOutputPrefix, 'ErrorOutputPrefix'));
  if (problems.length > 0) {
    throw new Error(`The local Firehose peer cannot run delivery stream ${logicalId} as AWS does:\n  - ${problems.join('\n  - ')}`);
  }
  const keyType = props.DeliveryStreamEncryptionConfigurationInput?.KeyType;
  return {
    logicalId,
    name,
    arn: resourceArn(logicalId, type),
    bucket: String(dest.BucketARN).split(':::').pop()!,
    prefix,
    errorOutputPrefix: dest.ErrorOutputPrefix,
    compression,
    // CloudFormation's defaults: 5 MiB, 300 s.
    bufferSizeBytes: Number(dest.BufferingHints?.SizeInMBs ?? 5) * 1024 * 1024,
    bufferIntervalMs: Number(dest.BufferingHints?.IntervalInSeconds ?? 300) * 1000,
    appendDelimiter: processors.some((p) => p.Type === 'AppendDelimiterToRecord'),
    encrypted: keyType === 'CUSTOMER_MANAGED_CMK' || keyType === 'AWS_OWNED_CMK',
    objectKmsKeyArn: dest.EncryptionConfiguration?.KMSEncryptionConfig?.AWSKMSKeyARN,
    roleArn: dest.RoleARN,
  };
}

function isEnabled(config: any): boolean {
  return config !== undefined && config.Enabled !== false && config.Enabled !== 'false';
}

const EXPRESSION = /!\{([^:}]*):?([^}]*)\}/g;

function prefixProblems(prefix: string, field: string): string[] {
  const problems: string[] = [];
  for (const [expr, namespace, value] of prefix.matchAll(EXPRESSION)) {
    if (namespace === 'timestamp') {
      try {
        formatTimestamp(value, 0);
      } catch (e) {
        problems.push(`${field} ${expr}: ${(e as Error).message}`);
      }
    } else if (namespace === 'firehose' && value === 'random-string') {
      continue;
    } else if (namespace === 'firehose' && value === 'error-output-type' && field === 'ErrorOutputPrefix') {
      continue;
    } else {
      problems.push(`${field} expression ${expr}`);
    }
  }
  return problems;
}

/** The letters of Java's DateTimeFormatter the peer formats (UTC), padded to the letter count. */
const TIME_FIELDS: Record<string, (d: Date) => number> = {
  y: (d) => d.getUTCFullYear(),
  M: (d) => d.getUTCMonth() + 1,
  d: (d) => d.getUTCDate(),
  H: (d) => d.getUTCHours(),
  m: (d) => d.getUTCMinutes(),
  s: (d) => d.getUTCSeconds(),
};

/**
 * A Java DateTimeFormatter pattern applied to `epochMs` in UTC: letter runs y, M, d, H, m, s (`yy` is the
 * two-digit year, as Java's reduced year), `'quoted'` literals (`''` is a quote), other non-letters as they are.
 * Any other letter throws: the peer would format it differently from Java.
 */
export function formatTimestamp(pattern: string, epochMs: number): string {
  const date = new Date(epochMs);
  let out = '';
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === '\'') {
      const end = pattern.indexOf('\'', i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${pattern}`);
      out += end === i + 1 ? '\'' : pattern.slice(i + 1, end).replace(/''/g, '\'');
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let n = 1;
      while (pattern[i + n] === c) n++;
      const field = TIME_FIELDS[c];
      if (!field) throw new Error(`pattern letter ${c} is not supported locally`);
      if (c === 'M' && n > 2) throw new Error('month names (MMM) are not supported locally');
      const value = field(date);
      out += c === 'y' && n === 2 ? String(value % 100).padStart(2, '0') : String(value).padStart(n, '0');
      i += n;
      continue;
    }
    if ('#{}[]'.includes(c)) throw new Error(`reserved character ${c} in ${pattern}`);
    out += c;
    i++;
  }
  return out;
}

/** A Prefix evaluated for an object whose oldest record arrived at `oldestArrival` (see the file's header). */
export function evaluatePrefix(prefix: string, oldestArrival: number): string {
  let expressions = 0;
  const evaluated = prefix.replace(EXPRESSION, (_m, namespace: string, value: string) => {
    expressions++;
    if (namespace === 'timestamp') return formatTimestamp(value, oldestArrival);
    if (namespace === 'firehose' && value === 'random-string') return randomString();
    throw new Error(`expression !{${namespace}:${value}} cannot be evaluated for a delivered object`);
  });
  return expressions === 0 ? evaluated + formatTimestamp('yyyy/MM/dd/HH/', oldestArrival) : evaluated;
}

/** The object name after the prefix: `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`. */
export function objectSuffix(stream: string, oldestArrival: number, extension: string, version = 1): string {
  return `${stream}-${version}-${formatTimestamp('yyyy-MM-dd-HH-mm-ss', oldestArrival)}-${randomUUID()}${extension}`;
}

function randomString(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(11)].map((b) => alphabet[b % alphabet.length]).join('');
}

interface OpenBuffer {
  readonly key: string;
  readonly oldestArrival: number;
  readonly records: Buffer[];
  readonly recordIds: string[];
  bytes: number;
  timer?: NodeJS.Timeout;
}

/** A service error in the AWS JSON 1.1 protocol. */
class FirehoseError extends Error {
  constructor(public readonly status: number, public readonly type: string, message: string) {
    super(message);
  }
}

/** Starts the peer: one buffer per stream, delivered into S3 through `options.s3`. */
export async function startFirehose(options: FirehosePeerOptions): Promise<FirehosePeer> {
  const clock = options.clock ?? new ScaledClock(1);
  const maxRecords = options.maxRecordsPerObject ?? Infinity;
  const byName = new Map(options.streams.map((s) => [s.name, s]));
  const buffers = new Map<string, OpenBuffer>();
  const located = new Map<string, { bucket: string; key: string }>();
  const deliveries: FirehoseDelivery[] = [];
  const deliveryErrors: FirehoseDeliveryError[] = [];
  /** Deliveries of a stream run one after the other, in buffer order. */
  const chains = new Map<string, Promise<void>>();
  const pendingRetries = new Map<string, OpenBuffer[]>();
  let closed = false;

  const deliver = async (stream: LocalDeliveryStream, buffer: OpenBuffer): Promise<void> => {
    const body = Buffer.concat(buffer.records);
    try {
      const s3 = typeof options.s3 === 'function' ? options.s3(stream) : options.s3;
      await s3.send(new PutObjectCommand({
        Bucket: stream.bucket,
        Key: buffer.key,
        Body: stream.compression === 'GZIP' ? gzipSync(body) : body,
        ...(stream.objectKmsKeyArn ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: stream.objectKmsKeyArn } : {}),
      }));
      const { key, oldestArrival, records } = buffer;
      deliveries.push({ stream: stream.name, bucket: stream.bucket, key, records: records.length, bytes: body.length, oldestArrival });
    } catch (e) {
      const lost = clock.now() - buffer.oldestArrival > S3_RETRY_WINDOW_MS;
      deliveryErrors.push({ stream: stream.name, key: buffer.key, records: buffer.records.length, message: (e as Error).message ?? String(e), lost });
      if (!lost) {
        pendingRetries.set(stream.name, [...pendingRetries.get(stream.name) ?? [], buffer]);
        throw e;
      }
    }
  };

  /** Closes the stream's open buffer and delivers it (after any earlier buffer), retrying failed ones first. */
  const seal = (stream: LocalDeliveryStream): Promise<void> => {
    const buffer = buffers.get(stream.name);
    buffers.delete(stream.name);
    if (buffer?.timer) clearTimeout(buffer.timer);
    const previous = chains.get(stream.name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const retries = pendingRetries.get(stream.name) ?? [];
      pendingRetries.delete(stream.name);
      for (const r of retries) await deliver(stream, r);
      if (buffer) await deliver(stream, buffer);
    });
    chains.set(stream.name, next);
    return next;
  };

  const acceptRecord = (params: any): { RecordId: string; Encrypted: boolean } => {
    const name = params?.DeliveryStreamName;
    const stream = typeof name === 'string' ? byName.get(name) : undefined;
    if (!stream) {
      throw new FirehoseError(400, 'ResourceNotFoundException', `Firehose ${name} under account ${LOCAL_ACCOUNT.account} not found.`);
    }
    if (typeof params.Record?.Data !== 'string') {
      throw new FirehoseError(400, 'ValidationException', '1 validation error detected: Value null at \'record.data\' failed to satisfy constraint: Member must not be null');
    }
    const data = Buffer.from(params.Record.Data, 'base64');
    if (data.length > MAX_RECORD_BYTES) {
      throw new FirehoseError(400, 'ValidationException',
        `1 validation error detected: Value at 'record.data' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES}`);
    }
    let buffer = buffers.get(stream.name);
    if (!buffer) {
      const arrival = clock.now();
      const key = evaluatePrefix(stream.prefix, arrival) + objectSuffix(stream.name, arrival, stream.compression === 'GZIP' ? '.gz' : '');
      buffer = { key, oldestArrival: arrival, records: [], recordIds: [], bytes: 0 };
      buffers.set(stream.name, buffer);
      // The buffering interval counts from the buffer's first record; a failure is in deliveryErrors, retried next time.
      buffer.timer = clock.setTimeout(() => void seal(stream).catch(() => undefined), stream.bufferIntervalMs);
      buffer.timer.unref();
    }
    const record = stream.appendDelimiter ? Buffer.concat([data, Buffer.from('\n')]) : data;
    const recordId = randomBytes(56).toString('hex').slice(0, 112);
    buffer.records.push(record);
    buffer.recordIds.push(recordId);
    buffer.bytes += data.length;
    located.set(recordId, { bucket: stream.bucket, key: buffer.key });
    if (buffer.records.length >= maxRecords || buffer.bytes >= stream.bufferSizeBytes) void seal(stream).catch(() => undefined);
    return { RecordId: recordId, Encrypted: stream.encrypted };
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const send = (status: number, body: unknown, type?: string) => {
      res.writeHead(status, { 'Content-Type': JSON_11, ...(type ? { 'x-amzn-ErrorType': type } : {}) });
      res.end(JSON.stringify(body));
    };
    // Room for records well over the limit (answered ValidationException, as AWS does), not for a runaway body.
    const body = (await readBody(req, 8 * MAX_RECORD_BYTES)).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    try {
      if (req.method !== 'POST' || target !== `${TARGET_PREFIX}PutRecord`) {
        throw new FirehoseError(400, 'UnknownOperationException', `Operation ${target} is not implemented by the local Firehose peer`);
      }
      if (closed) throw new FirehoseError(503, 'ServiceUnavailableException', 'The local Firehose peer is closing');
      send(200, acceptRecord(JSON.parse(body)));
    } catch (e) {
      if (!(e instanceof FirehoseError)) throw e;
      send(e.status, { __type: e.type, message: e.message }, e.type);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, FIREHOSE_BINDING, handle), options.port, undefined, 'firehose');
  const flush = async () => {
    const names = new Set([...buffers.keys(), ...pendingRetries.keys(), ...chains.keys()]);
    const results = await Promise.allSettled([...names].map((n) => seal(byName.get(n)!)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      throw new Error(`Firehose could not deliver to S3 (${(failed.reason as Error)?.message ?? failed.reason}); the records stay buffered: AWS retries an S3 delivery for up to 24 hours`);
    }
  };
  return {
    url: server.url,
    streams: options.streams,
    deliveries,
    deliveryErrors,
    errors: server.errors,
    locate: (recordId) => located.get(recordId),
    flush,
    async close() {
      closed = true;
      try {
        await flush();
      } finally {
        for (const b of buffers.values()) if (b.timer) clearTimeout(b.timer);
        await server.close();
      }
    },
  };
}
