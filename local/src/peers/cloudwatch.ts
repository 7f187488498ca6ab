import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { CLOUDWATCH_BINDING } from '../gateway/services';

/** A dimension as CloudWatch's API carries it. */
export interface CloudWatchDimension {
  readonly Name: string;
  readonly Value: string;
}

/** A `PutMetricData` statistic set: pre-aggregated samples, without the values themselves. */
export interface CloudWatchStatisticSet {
  readonly sampleCount: number;
  readonly sum: number;
  readonly minimum: number;
  readonly maximum: number;
}

/**
 * One datapoint the peer holds: the samples one metric got at one time, from an EMF line or a `PutMetricData` datum.
 * A metric is its namespace, name and exact dimension set; an EMF line records one datapoint per directive, dimension
 * set and metric.
 */
export interface CloudWatchDatapoint {
  readonly namespace: string;
  readonly metricName: string;
  /** In the order the record named them; CloudWatch matches the set, not the order. */
  readonly dimensions: readonly CloudWatchDimension[];
  /** Epoch milliseconds (EMF `_aws.Timestamp`, or the datum's `Timestamp`). */
  readonly timestamp: number;
  /** `None` when the record named no unit. */
  readonly unit: string;
  /** 60 (standard, one-minute granularity) or 1 (high resolution). */
  readonly storageResolution: 1 | 60;
  /** Samples: an EMF value array (up to 100) is several samples; `PutMetricData` `Values` come with `Counts`. */
  readonly values: readonly number[];
  /** How many times each of `values` occurred (all 1 for EMF). */
  readonly counts: readonly number[];
  /** A `PutMetricData` `StatisticValues` datum (then `values` is empty). */
  readonly statistics?: CloudWatchStatisticSet;
  readonly source: 'emf' | 'PutMetricData';
}

/** What {@link CloudWatchPeer.ingestEmf} made of a line. */
export type EmfIngestResult =
  /** Not an EMF document (not JSON, not an object, or no `_aws.CloudWatchMetrics`): an ordinary log line. */
  | { readonly status: 'ignored' }
  /** An EMF document that fails the specification: CloudWatch extracts nothing from it. */
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'extracted'; readonly datapoints: number };

/** An EMF document the peer rejected (what CloudWatch counts in `AWS/Logs` `EMFValidationErrors`). */
export interface EmfRejection {
  readonly line: string;
  readonly reason: string;
}

export interface CloudWatchPeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /**
   * Time for what depends on "now": GetMetricData's StartTime rounding (by age), the accepted timestamp window, the
   * default `PutMetricData` timestamp and ListMetrics' recent-activity filters. @default Date
   */
  readonly clock?: { now(): number };
  /** @default a random free port */
  readonly port?: number;
}

export interface CloudWatchPeer {
  /** Endpoint URL for `new CloudWatchClient({ endpoint })`. */
  readonly url: string;
  /** Every datapoint recorded, in order. */
  readonly datapoints: readonly CloudWatchDatapoint[];
  /** EMF documents that failed validation, in order. */
  readonly emfRejections: readonly EmfRejection[];
  /**
   * Reads one line a handler wrote to stdout. Lines that are not EMF are ignored; an EMF document that breaks the
   * specification is rejected whole (nothing extracted, an entry in `emfRejections`); otherwise every directive and
   * every dimension set in it records one datapoint per metric.
   * @param timestampMs when the line was written (the log event's time) @default clock.now()
   */
  ingestEmf(line: string, timestampMs?: number): EmfIngestResult;
  /** {@link ingestEmf} for each line of a chunk of output. */
  ingestOutput(output: string, timestampMs?: number): EmfIngestResult[];
  close(): Promise<void>;
}

/** CloudWatch's units (MetricDatum `Unit`, and the EMF schema's pattern). */
const UNITS = new Set([
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits',
  'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second',
  'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second',
  'Terabits/Second', 'Count/Second', 'None',
]);

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** CloudWatch takes datapoints up to two weeks old and up to two hours ahead (PutMetricData; applied to EMF too). */
const MAX_AGE = 14 * DAY;
const MAX_AHEAD = 2 * 60 * MINUTE;
/** A CloudWatch Logs event, so an EMF document, is at most 1 MB. */
const MAX_EVENT_BYTES = 1024 * 1024;
/** EMF: at most 30 keys per dimension set, 100 metric definitions per directive, 100 values per metric. */
const MAX_EMF_DIMENSIONS = 30;
const MAX_EMF_METRICS = 100;
const MAX_EMF_VALUES = 100;
const DEFAULT_MAX_DATAPOINTS = 100_800;
const LIST_METRICS_PAGE = 500;
const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const JSON_CONTENT = 'application/x-amz-json-1.0';

/**
 * A CloudWatch error: `code` is the shape name the JSON protocol puts in `__type` (the SDK's error name); the query
 * code (`x-amzn-query-error`, the SDK's `Code`) and status come from the CloudWatch model, see {@link ERRORS}.
 */
export class CloudWatchError extends Error {
  constructor(public readonly code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/** Query-compatible code and HTTP status per error shape, as @aws-sdk/client-cloudwatch models them (`awsQueryError`). */
const ERRORS: Record<string, [string, number]> = {
  InvalidParameterValueException: ['InvalidParameterValue', 400],
  InvalidParameterCombinationException: ['InvalidParameterCombination', 400],
  MissingRequiredParameterException: ['MissingParameter', 400],
  InvalidNextToken: ['InvalidNextToken', 400],
  ValidationException: ['ValidationError', 400],
  InternalServiceFault: ['InternalServiceError', 500],
};

/**
 * A local CloudWatch metrics service, fed by the EMF lines the handlers write (see {@link CloudWatchPeer.ingestEmf}) and
 * by `PutMetricData`, and read with `GetMetricData` and `ListMetrics`. It speaks what `@aws-sdk/client-cloudwatch` 3.x
 * sends: AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, query-compatible errors: the shape in
 * `__type`, the query code in `x-amzn-query-error`), timestamps as epoch seconds, `PutMetricData` bodies gzipped when
 * large.
 *
 * GetMetricData as CloudWatch answers it: a metric matches only its exact dimension set; `StartTime` is rounded down
 * (to the minute when less than 15 days old, 5 minutes up to 63 days, the hour beyond; to the period for 5, 10, 20 and
 * 30 s periods) and periods run from there to the exclusive `EndTime`; periods without data are left out; a `Unit`
 * selects only data of that unit. Statistics: Sum, SampleCount, Average, Minimum, Maximum and percentiles `pNN[.NN]`
 * (nearest rank over the raw samples; CloudWatch's are approximate). Metric math and Metrics Insights expressions are
 * refused. Standard-resolution data is held at one-minute granularity; retention (and its coarser granularity for old
 * data) is not modelled.
 */
export async function startCloudWatch(options: CloudWatchPeerOptions = {}): Promise<CloudWatchPeer> {
  const clock = options.clock ?? Date;
  const datapoints: CloudWatchDatapoint[] = [];
  const emfRejections: EmfRejection[] = [];

  const ingestEmf = (line: string, timestampMs?: number): EmfIngestResult => {
    const parsed = parseEmf(line, timestampMs ?? clock.now());
    if (parsed.status === 'rejected') emfRejections.push({ line, reason: parsed.reason });
    if (parsed.status !== 'extracted') return parsed;
    datapoints.push(...parsed.datapoints);
    return { status: 'extracted', datapoints: parsed.datapoints.length };
  };

  const operations: Record<string, (input: any) => unknown> = {
    GetMetricData: (input) => getMetricData(datapoints, input, clock.now()),
    ListMetrics: (input) => listMetrics(datapoints, input, clock.now()),
    PutMetricData: (input) => {
      datapoints.push(...putMetricData(input, clock.now()));
      return {};
    },
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let body = await readBody(req, 2 * MAX_EVENT_BYTES);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? operations[target.slice(TARGET_PREFIX.length)] : undefined;
    if (req.method !== 'POST' || !operation) {
      res.writeHead(400, { 'Content-Type': JSON_CONTENT });
      res.end(JSON.stringify({ __type: 'com.amazon.coral.service#UnknownOperationException', message: `Unknown operation ${target}` }));
      return;
    }
    try {
      if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) body = gunzipSync(body, { maxOutputLength: 4 * MAX_EVENT_BYTES });
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new CloudWatchError('ValidationException', 'The request body is not valid JSON.');
      }
      const output = operation(input ?? {});
      res.writeHead(200, { 'Content-Type': JSON_CONTENT, 'x-amzn-RequestId': randomUUID() });
      res.end(JSON.stringify(output));
    } catch (err) {
      if (!(err instanceof CloudWatchError)) throw err;
      sendError(res, err);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, CLOUDWATCH_BINDING, handle), options.port, (res, err) => {
    sendError(res, new CloudWatchError('InternalServiceFault', String((err as Error)?.message ?? err)));
  }, 'cloudwatch');

  return {
    url: server.url,
    datapoints,
    emfRejections,
    ingestEmf,
    ingestOutput: (output, timestampMs) => output.split('\n').filter((l) => l.trim() !== '').map((l) => ingestEmf(l, timestampMs)),
    close: () => server.close(),
  };
}

function sendError(res: http.ServerResponse, e: CloudWatchError): void {
  const [queryCode, status] = ERRORS[e.code] ?? [e.code, 400];
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT,
    'x-amzn-RequestId': randomUUID(),
    'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}`,
  });
  res.end(JSON.stringify({ __type: `com.amazonaws.cloudwatch#${e.code}`, message: e.message }));
}

// ---------------------------------------------------------------------------------------------------------------------
// EMF

type EmfParse =
  | { status: 'ignored' }
  | { status: 'rejected'; reason: string }
  | { status: 'extracted'; datapoints: CloudWatchDatapoint[] };

/** Lambda's text-format prefix on console output: `<ISO time>\t<request id>\t<LEVEL>\t`. */
const LAMBDA_PREFIX = /^\d{4}-\d\d-\d\dT[^\t]*\t[^\t]*\t(?:[A-Z]+\t)?(?=\{)/;

/**
 * The specification (CloudWatch User Guide, "Specification: Embedded metric format"): the event is one JSON object
 * (Lambda may prefix metadata); `_aws` holds `Timestamp` (epoch ms) and `CloudWatchMetrics`, an array of directives with
 * `Namespace`, `Dimensions` (an array of dimension sets: arrays of root member names, at most 30, possibly empty) and
 * `Metrics` (at most 100 definitions: `Name`, optional `Unit`, optional `StorageResolution`); every referenced member
 * is a root member (never nested), a dimension's a string, a metric's a number or an array of at most 100 numbers.
 * Unknown members are ignored.
 *
 * What CloudWatch does with an invalid document is not specified beyond counting it (`AWS/Logs` `EMFValidationErrors`);
 * here a document breaking a MUST is rejected whole, nothing extracted. Also rejected, where CloudWatch's exact
 * handling is unconfirmed: a missing or non-integer `Timestamp` (the schema requires it), a unit outside CloudWatch's
 * list, a dimension value that is empty or blank (Powertools maintainers observed CloudWatch then publishing the metric
 * without any dimension, aws-powertools/powertools-lambda-python#5542), and a timestamp outside PutMetricData's window.
 */
function parseEmf(line: string, eventTime: number): EmfParse {
  const text = line.trim().replace(LAMBDA_PREFIX, '');
  if (!text.startsWith('{')) return { status: 'ignored' };
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return { status: 'ignored' };
  }
  if (!isObject(root) || !isObject(root._aws) || !('CloudWatchMetrics' in root._aws)) return { status: 'ignored' };
  const reject = (reason: string): EmfParse => ({ status: 'rejected', reason });
  if (Buffer.byteLength(text) > MAX_EVENT_BYTES) return reject(`the log event exceeds ${MAX_EVENT_BYTES} bytes`);
  const aws = root._aws;
  const timestamp = aws.Timestamp;
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp)) {
    return reject('_aws.Timestamp must be an integer number of milliseconds since the epoch');
  }
  if (timestamp < eventTime - MAX_AGE || timestamp > eventTime + MAX_AHEAD) {
    return reject(`_aws.Timestamp ${new Date(timestamp).toISOString()} is more than two weeks old or more than two hours ahead`);
  }
  const directives = aws.CloudWatchMetrics;
  if (!Array.isArray(directives)) return reject('_aws.CloudWatchMetrics must be an array of metric directives');

  const out: CloudWatchDatapoint[] = [];
  for (const [d, directive] of directives.entries()) {
    const at = `_aws.CloudWatchMetrics[${d}]`;
    if (!isObject(directive)) return reject(`${at} must be an object`);
    const { Namespace: namespace, Dimensions: sets, Metrics: metrics } = directive;
    if (typeof namespace !== 'string' || namespace.length < 1 || namespace.length > 255) {
      return reject(`${at}.Namespace must be a string of 1 to 255 characters`);
    }
    if (!Array.isArray(sets) || sets.length === 0) return reject(`${at}.Dimensions must be a non-empty array of dimension sets`);
    const dimensionSets: CloudWatchDimension[][] = [];
    for (const [s, set] of sets.entries()) {
      if (!Array.isArray(set) || set.some((k) => typeof k !== 'string' || k === '')) {
        return reject(`${at}.Dimensions[${s}] must be an array of dimension names`);
      }
      if (set.length > MAX_EMF_DIMENSIONS) return reject(`${at}.Dimensions[${s}] has more than ${MAX_EMF_DIMENSIONS} dimensions`);
      const dims: CloudWatchDimension[] = [];
      for (const key of set as string[]) {
        const value = Object.hasOwn(root, key) ? root[key] : undefined;
        if (value === undefined) return reject(`dimension ${key} has no member on the root node`);
        if (typeof value !== 'string') return reject(`dimension ${key} must have a string value`);
        // CloudWatch's Dimension: 1 to 1024 characters, at least one not whitespace.
        if (value.trim() === '' || value.length > 1024) return reject(`dimension ${key} has an invalid value ${JSON.stringify(value)}`);
        if (!dims.some((x) => x.Name === key)) dims.push({ Name: key, Value: value });
      }
      dimensionSets.push(dims);
    }
    if (!Array.isArray(metrics)) return reject(`${at}.Metrics must be an array of metric definitions`);
    if (metrics.length > MAX_EMF_METRICS) return reject(`${at}.Metrics has more than ${MAX_EMF_METRICS} metric definitions`);
    for (const [m, metric] of metrics.entries()) {
      const mat = `${at}.Metrics[${m}]`;
      if (!isObject(metric) || typeof metric.Name !== 'string' || metric.Name.length < 1 || metric.Name.length > 255) {
        return reject(`${mat} must have a Name of 1 to 255 characters`);
      }
      const unit = metric.Unit ?? 'None';
      if (typeof unit !== 'string' || !UNITS.has(unit)) return reject(`${mat}.Unit ${JSON.stringify(unit)} is not a CloudWatch unit`);
      const resolution = metric.StorageResolution ?? 60;
      if (resolution !== 1 && resolution !== 60) return reject(`${mat}.StorageResolution must be 1 or 60`);
      const target = Object.hasOwn(root, metric.Name) ? root[metric.Name] : undefined;
      if (target === undefined) return reject(`metric ${metric.Name} has no member on the root node`);
      const values = Array.isArray(target) ? target : [target];
      if (values.some((v) => typeof v !== 'number')) return reject(`metric ${metric.Name} must be a number or an array of numbers`);
      if (values.length > MAX_EMF_VALUES) return reject(`metric ${metric.Name} has more than ${MAX_EMF_VALUES} values`);
      if (values.length === 0) continue;
      for (const dimensions of dimensionSets) {
        const point = { namespace, metricName: metric.Name, dimensions, timestamp, unit, storageResolution: resolution as 1 | 60 };
        out.push({ ...point, values: values as number[], counts: values.map(() => 1), source: 'emf' });
      }
    }
  }
  return { status: 'extracted', datapoints: out };
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------------------------
// PutMetricData

interface DatumInput {
  MetricName?: string;
  Dimensions?: Array<{ Name?: string; Value?: string }>;
  Timestamp?: number;
  Value?: number;
  StatisticValues?: { SampleCount?: number; Sum?: number; Minimum?: number; Maximum?: number };
  Values?: number[];
  Counts?: number[];
  Unit?: string;
  StorageResolution?: number;
}

function putMetricData(input: { Namespace?: string; MetricData?: DatumInput[] }, now: number): CloudWatchDatapoint[] {
  const namespace = input.Namespace;
  if (!namespace) throw new CloudWatchError('MissingRequiredParameterException', 'The parameter Namespace is required.');
  if (namespace.startsWith('AWS/')) throw invalid(`The value ${namespace} for parameter Namespace is invalid.`);
  const data = input.MetricData ?? [];
  if (data.length === 0) throw new CloudWatchError('MissingRequiredParameterException', 'The parameter MetricData is required.');
  if (data.length > 1000) throw invalid('The collection MetricData must not have a size greater than 1000.');
  return data.map((datum, i) => {
    const at = `MetricData.member.${i + 1}`;
    if (!datum.MetricName) throw new CloudWatchError('MissingRequiredParameterException', `The parameter ${at}.MetricName is required.`);
    const dimensions = checkDimensions(datum.Dimensions ?? [], `${at}.Dimensions`);
    const given = (['Value', 'Values', 'StatisticValues'] as const).filter((k) => datum[k] !== undefined);
    if (given.length > 1) {
      throw new CloudWatchError('InvalidParameterCombinationException',
        `The parameters ${at}.${given[0]} and ${at}.${given[1]} are mutually exclusive and you have specified both.`);
    }
    if (given.length === 0) throw new CloudWatchError('MissingRequiredParameterException', `The parameter ${at}.Value is required.`);
    const timestamp = datum.Timestamp === undefined ? now : datum.Timestamp * 1000;
    if (timestamp < now - MAX_AGE || timestamp > now + MAX_AHEAD) {
      throw invalid(`The parameter ${at}.Timestamp must specify a time no more than two weeks in the past and two hours in the future.`);
    }
    const unit = datum.Unit ?? 'None';
    if (!UNITS.has(unit)) throw invalid(`The value ${unit} for parameter ${at}.Unit is not a valid unit.`);
    const resolution = datum.StorageResolution ?? 60;
    if (resolution !== 1 && resolution !== 60) throw invalid(`The value ${resolution} for parameter ${at}.StorageResolution is invalid.`);
    const base = { namespace, metricName: datum.MetricName, dimensions, timestamp, unit, storageResolution: resolution as 1 | 60 };
    if (datum.StatisticValues) {
      const s = datum.StatisticValues;
      if ([s.SampleCount, s.Sum, s.Minimum, s.Maximum].some((v) => typeof v !== 'number')) {
        throw new CloudWatchError('MissingRequiredParameterException', `The parameter ${at}.StatisticValues requires SampleCount, Sum, Minimum and Maximum.`);
      }
      const statistics = { sampleCount: s.SampleCount!, sum: s.Sum!, minimum: s.Minimum!, maximum: s.Maximum! };
      return { ...base, values: [], counts: [], statistics, source: 'PutMetricData' as const };
    }
    const values = datum.Values ?? [datum.Value!];
    if (values.length > 150) throw invalid(`The collection ${at}.Values must not have a size greater than 150.`);
    const counts = datum.Counts ?? values.map(() => 1);
    if (counts.length !== values.length) throw invalid(`The parameters ${at}.Values and ${at}.Counts must be of the same size.`);
    return { ...base, values, counts, source: 'PutMetricData' as const };
  });
}

function checkDimensions(dimensions: Array<{ Name?: string; Value?: string }>, at: string): CloudWatchDimension[] {
  if (dimensions.length > 30) throw invalid(`The collection ${at} must not have a size greater than 30.`);
  return dimensions.map((d, j) => {
    if (!d.Name || !d.Value) throw new CloudWatchError('MissingRequiredParameterException', `The parameter ${at}.member.${j + 1} needs a Name and a Value.`);
    return { Name: d.Name, Value: d.Value };
  });
}

function invalid(message: string): CloudWatchError {
  return new CloudWatchError('InvalidParameterValueException', message);
}

// ---------------------------------------------------------------------------------------------------------------------
// GetMetricData

interface MetricInput {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Array<{ Name?: string; Value?: string }>;
}

interface QueryInput {
  Id?: string;
  MetricStat?: { Metric?: MetricInput; Period?: number; Stat?: string; Unit?: string };
  Expression?: string;
  Label?: string;
  ReturnData?: boolean;
  Period?: number;
  AccountId?: string;
}

interface GetMetricDataInput {
  MetricDataQueries?: QueryInput[];
  StartTime?: number;
  EndTime?: number;
  NextToken?: string;
  ScanBy?: string;
  MaxDatapoints?: number;
}

const NAMED_STATS = new Set(['Sum', 'SampleCount', 'Average', 'Minimum', 'Maximum']);
const PERCENTILE = /^p(\d{1,3}(?:\.\d+)?)$/;

function getMetricData(all: readonly CloudWatchDatapoint[], input: GetMetricDataInput, now: number): unknown {
  const queries = input.MetricDataQueries ?? [];
  if (queries.length === 0) throw new CloudWatchError('MissingRequiredParameterException', 'The parameter MetricDataQueries is required.');
  if (queries.length > 500) throw validation('The collection MetricDataQueries must not have a size greater than 500.');
  if (typeof input.StartTime !== 'number') throw new CloudWatchError('MissingRequiredParameterException', 'The parameter StartTime is required.');
  if (typeof input.EndTime !== 'number') throw new CloudWatchError('MissingRequiredParameterException', 'The parameter EndTime is required.');
  const startMs = input.StartTime * 1000;
  const endMs = input.EndTime * 1000;
  if (startMs >= endMs) throw validation('The parameter StartTime must be less than the parameter EndTime.');
  const scanBy = input.ScanBy ?? 'TimestampDescending';
  if (scanBy !== 'TimestampDescending' && scanBy !== 'TimestampAscending') {
    throw validation(`1 validation error detected: Value '${scanBy}' at 'scanBy' failed to satisfy constraint: ` +
      'Member must satisfy enum value set: [TimestampDescending, TimestampAscending]');
  }
  const maxDatapoints = input.MaxDatapoints ?? DEFAULT_MAX_DATAPOINTS;
  if (!Number.isInteger(maxDatapoints) || maxDatapoints < 1) throw validation('The parameter MaxDatapoints must be a positive integer.');

  const errors: string[] = [];
  const ids = new Set<string>();
  for (const [i, q] of queries.entries()) {
    const at = `MetricDataQueries.member.${i + 1}`;
    if (!q.Id || !/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) {
      errors.push(`The value ${q.Id ?? ''} for parameter ${at}.Id is invalid: it must start with a lowercase letter and hold only letters, digits and _.`);
    } else if (ids.has(q.Id)) {
      errors.push(`The values for parameter id in MetricDataQueries are not unique: ${q.Id}.`);
    }
    ids.add(q.Id ?? '');
    if (q.Expression !== undefined) {
      errors.push(`${at}.Expression: metric math and Metrics Insights expressions are not supported by the local CloudWatch peer.`);
      continue;
    }
    if (!q.MetricStat) {
      errors.push(`Exactly one of ${at}.MetricStat and ${at}.Expression must be specified.`);
      continue;
    }
    const { Metric: metric, Period: period, Stat: stat, Unit: unit } = q.MetricStat;
    if (!metric?.Namespace || !metric.MetricName) errors.push(`The parameter ${at}.MetricStat.Metric needs a Namespace and a MetricName.`);
    if (!isValidPeriod(period)) {
      errors.push(`The parameter ${at}.MetricStat.Period must be 1, 5, 10, 20, 30, 60 or a multiple of 60.`);
    }
    if (!isKnownStat(stat)) errors.push(`The value ${stat ?? ''} for parameter ${at}.MetricStat.Stat is not a valid statistic.`);
    if (unit !== undefined && !UNITS.has(unit)) errors.push(`The value ${unit} for parameter ${at}.MetricStat.Unit is not a valid unit.`);
    try {
      checkDimensions(metric?.Dimensions ?? [], `${at}.MetricStat.Metric.Dimensions`);
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw validation(errors.join('\n'));

  const results = queries.filter((q) => q.ReturnData !== false).map((q) => {
    const { Metric: metric, Period: period, Stat: stat, Unit: unit } = q.MetricStat!;
    const series = computeSeries(all, metric!, period!, stat!, unit, startMs, endMs, now);
    if (scanBy === 'TimestampDescending') series.reverse();
    return { id: q.Id!, label: q.Label ?? metric!.MetricName!, series };
  });

  // Pages cut the results' datapoints, taken query by query, into MaxDatapoints; every page lists every query.
  let offset = 0;
  if (input.NextToken !== undefined) {
    const decoded = /^cw1:(\d+)$/.exec(Buffer.from(input.NextToken, 'base64').toString('utf8'));
    if (!decoded) throw new CloudWatchError('InvalidNextToken', 'The service cannot decode the NextToken.');
    offset = Number(decoded[1]);
  }
  const pageEnd = offset + maxDatapoints;
  let seen = 0;
  const MetricDataResults = results.map((r) => {
    const from = Math.max(0, offset - seen);
    const to = Math.max(0, Math.min(r.series.length, pageEnd - seen));
    seen += r.series.length;
    const page = r.series.slice(from, Math.max(from, to));
    return {
      Id: r.id,
      Label: r.label,
      Timestamps: page.map(([t]) => t / 1000),
      Values: page.map(([, v]) => v),
      StatusCode: to < r.series.length ? 'PartialData' : 'Complete',
      Messages: [],
    };
  });
  return {
    MetricDataResults,
    Messages: [],
    ...(seen > pageEnd && { NextToken: Buffer.from(`cw1:${pageEnd}`).toString('base64') }),
  };
}

function validation(message: string): CloudWatchError {
  return new CloudWatchError('ValidationException', message);
}

function isValidPeriod(period: unknown): period is number {
  return typeof period === 'number' && Number.isInteger(period) && period > 0 && ([1, 5, 10, 20, 30].includes(period) || period % 60 === 0);
}

function isKnownStat(stat: string | undefined): stat is string {
  if (stat === undefined) return false;
  if (NAMED_STATS.has(stat)) return true;
  const p = PERCENTILE.exec(stat);
  return p !== null && Number(p[1]) <= 100;
}

/** StartTime as CloudWatch rounds it (GetMetricData API reference, `StartTime`). */
export function roundStartTime(startMs: number, periodSeconds: number, nowMs: number): number {
  const floor = (unit: number) => Math.floor(startMs / unit) * unit;
  if (periodSeconds < 60) return floor(periodSeconds * 1000);
  const age = nowMs - startMs;
  if (age > 63 * DAY) return floor(60 * MINUTE);
  if (age > 15 * DAY) return floor(5 * MINUTE);
  return floor(MINUTE);
}

/** One metric's [period start ms, statistic] pairs, oldest first, periods without data left out. */
function computeSeries(
  all: readonly CloudWatchDatapoint[], metric: MetricInput, period: number, stat: string, unit: string | undefined,
  startMs: number, endMs: number, now: number,
): Array<[number, number]> {
  const key = metricKey(metric.Namespace!, metric.MetricName!, (metric.Dimensions ?? []) as CloudWatchDimension[]);
  const start = roundStartTime(startMs, period, now);
  const periodMs = period * 1000;
  const buckets = new Map<number, CloudWatchDatapoint[]>();
  for (const d of all) {
    if (unit !== undefined && d.unit !== unit) continue;
    if (metricKey(d.namespace, d.metricName, d.dimensions) !== key) continue;
    // Standard-resolution data is stored per minute.
    const t = d.storageResolution === 60 ? Math.floor(d.timestamp / MINUTE) * MINUTE : Math.floor(d.timestamp / 1000) * 1000;
    if (t < start || t >= endMs) continue;
    const bucket = start + Math.floor((t - start) / periodMs) * periodMs;
    const list = buckets.get(bucket) ?? [];
    list.push(d);
    buckets.set(bucket, list);
  }
  const series: Array<[number, number]> = [];
  for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
    const value = statistic(buckets.get(bucket)!, stat);
    if (value !== undefined) series.push([bucket, value]);
  }
  return series;
}

function metricKey(namespace: string, name: string, dimensions: readonly CloudWatchDimension[]): string {
  const dims = [...new Map(dimensions.map((d) => [d.Name, d.Value])).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([namespace, name, dims]);
}

/** A statistic of a period's datapoints; undefined when CloudWatch has none (a percentile of non-convertible statistic sets). */
function statistic(points: readonly CloudWatchDatapoint[], stat: string): number | undefined {
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  const samples: Array<[number, number]> = [];
  let rawOnly = true;
  for (const p of points) {
    p.values.forEach((v, i) => {
      const c = p.counts[i];
      if (c <= 0) return;
      count += c;
      sum += v * c;
      min = Math.min(min, v);
      max = Math.max(max, v);
      samples.push([v, c]);
    });
    if (p.statistics) {
      const s = p.statistics;
      count += s.sampleCount;
      sum += s.sum;
      min = Math.min(min, s.minimum);
      max = Math.max(max, s.maximum);
      // CloudWatch can only take percentiles of a statistic set whose samples are all one value.
      if (s.minimum === s.maximum && s.sum === s.minimum * s.sampleCount) samples.push([s.minimum, s.sampleCount]);
      else rawOnly = false;
    }
  }
  if (count === 0) return undefined;
  switch (stat) {
    case 'Sum': return sum;
    case 'SampleCount': return count;
    case 'Average': return sum / count;
    case 'Minimum': return min;
    case 'Maximum': return max;
  }
  if (!rawOnly) return undefined;
  const p = Number(PERCENTILE.exec(stat)![1]);
  samples.sort(([a], [b]) => a - b);
  // Nearest rank: the smallest sample with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * count));
  let seen = 0;
  for (const [v, c] of samples) {
    seen += c;
    if (seen >= rank) return v;
  }
  return samples[samples.length - 1][0];
}

// ---------------------------------------------------------------------------------------------------------------------
// ListMetrics

interface ListMetricsInput {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Array<{ Name?: string; Value?: string }>;
  NextToken?: string;
  RecentlyActive?: string;
}

function listMetrics(all: readonly CloudWatchDatapoint[], input: ListMetricsInput, now: number): unknown {
  const filters = input.Dimensions ?? [];
  if (filters.length > 30) throw invalid('The collection Dimensions must not have a size greater than 30.');
  if (filters.some((f) => !f.Name)) throw new CloudWatchError('MissingRequiredParameterException', 'The parameter Dimensions.member.N.Name is required.');
  if (input.RecentlyActive !== undefined && input.RecentlyActive !== 'PT3H') {
    throw validation(`1 validation error detected: Value '${input.RecentlyActive}' at 'recentlyActive' failed to satisfy constraint: ` +
      'Member must satisfy enum value set: [PT3H]');
  }
  // ListMetrics lists metrics with data in the last two weeks (three hours with RecentlyActive PT3H).
  const since = now - (input.RecentlyActive ? 3 * 60 * MINUTE : MAX_AGE);
  const metrics = new Map<string, { Namespace: string; MetricName: string; Dimensions: CloudWatchDimension[] }>();
  for (const d of all) {
    if (d.timestamp < since) continue;
    if (input.Namespace !== undefined && d.namespace !== input.Namespace) continue;
    if (input.MetricName !== undefined && d.metricName !== input.MetricName) continue;
    // A metric matches when it has every filter dimension (with its value, when one is given), and maybe others.
    if (!filters.every((f) => d.dimensions.some((x) => x.Name === f.Name && (f.Value === undefined || x.Value === f.Value)))) continue;
    const key = metricKey(d.namespace, d.metricName, d.dimensions);
    if (!metrics.has(key)) metrics.set(key, { Namespace: d.namespace, MetricName: d.metricName, Dimensions: [...d.dimensions] });
  }
  let offset = 0;
  if (input.NextToken !== undefined) {
    const decoded = /^lm1:(\d+)$/.exec(Buffer.from(input.NextToken, 'base64').toString('utf8'));
    if (!decoded) throw new CloudWatchError('InvalidNextToken', 'The service cannot decode the NextToken.');
    offset = Number(decoded[1]);
  }
  const list = [...metrics.values()];
  const end = offset + LIST_METRICS_PAGE;
  return {
    Metrics: list.slice(offset, end),
    ...(list.length > end && { NextToken: Buffer.from(`lm1:${end}`).toString('base64') }),
  };
}
