import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  ListMetricsCommand,
  type MetricDataQuery,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { classifiedRecord, EmfDimension, EmfMetric, type EmfRecord, emfSink, MetricsEnv } from '../../../src/handlers/metrics';
import { type CloudWatchPeer, roundStartTime, startCloudWatch } from '../../src/peers/cloudwatch';

const NS = 'ImageClassificationPipeline';
const PIPELINE = 'stack-Pipeline-abc123';
/** 2026-01-15T12:00:00Z, the peer's "now" is an hour later. */
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = T0 + 60 * 60_000;
const min = (m: number, s = 0) => T0 + m * 60_000 + s * 1000;

let peer: CloudWatchPeer;
let client: CloudWatchClient;
const wire: Array<{ headers: Record<string, string>; body: string }> = [];

beforeEach(async () => {
  peer = await startCloudWatch({ clock: { now: () => NOW } });
  client = new CloudWatchClient({ endpoint: peer.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  client.middlewareStack.add((next) => async (args) => {
    const req = args.request as { headers: Record<string, string>; body: unknown };
    const body = typeof req.body === 'string' ? req.body : req.body instanceof Uint8Array ? Buffer.from(req.body).toString('utf8') : '';
    wire.push({ headers: { ...req.headers }, body });
    return next(args);
  }, { step: 'finalizeRequest', name: 'captureWire' });
});

afterEach(async () => {
  client.destroy();
  await peer.close();
  wire.length = 0;
});

/** The lines the handlers' own sink writes, with the record's timestamp at `at`. */
function emitAt(at: number, build: (record: EmfRecord) => EmfRecord): string[] {
  const lines: string[] = [];
  const sink = emfSink({ [MetricsEnv.NAMESPACE]: NS, [MetricsEnv.PIPELINE]: PIPELINE }, (l) => lines.push(l));
  const now = jest.spyOn(Date, 'now').mockReturnValue(at);
  try {
    sink.emit(build(sink.record()));
  } finally {
    now.mockRestore();
  }
  for (const line of lines) expect(peer.ingestEmf(line)).toEqual(expect.objectContaining({ status: 'extracted' }));
  return lines;
}

function classified(at: number, label: string, latency = 100, confidence = 0.9): void {
  emitAt(at, (r) => classifiedRecord(r, { label, confidence, modelLatencyMs: latency, sizeBytes: 2048 }));
}

function query(id: string, metricName: string, dims: Record<string, string>, stat: string, period = 300): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: NS, MetricName: metricName, Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })) },
      Period: period,
      Stat: stat,
    },
  };
}

async function get(queries: MetricDataQuery[], start = min(0), end = min(60), more: Partial<GetMetricDataCommandInput> = {}) {
  return client.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(start), EndTime: new Date(end), ...more }));
}

/** [ISO time, value] pairs of a result, for readable expectations. */
function points(result: { Timestamps?: Date[]; Values?: number[] } | undefined): Array<[string, number]> {
  return (result?.Timestamps ?? []).map((t, i) => [t.toISOString().slice(11, 19), result!.Values![i]]);
}

const byLabel = (label: string) => ({ [EmfDimension.PIPELINE]: PIPELINE, [EmfDimension.LABEL]: label });

test('speaks AWS JSON 1.0 as the SDK sends it: GraniteServiceVersion20100801 target, epoch-second timestamps', async () => {
  classified(min(1), 'cat');
  const res = await get([query('a', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Sum')], min(0, 30), min(10));
  expect(wire[0].headers['x-amz-target']).toBe('GraniteServiceVersion20100801.GetMetricData');
  expect(wire[0].headers['content-type']).toBe('application/x-amz-json-1.0');
  const sent = JSON.parse(wire[0].body);
  expect(sent.StartTime).toBe(min(0, 30) / 1000);
  expect(sent.MetricDataQueries[0].MetricStat.Period).toBe(300);
  // Timestamps come back as epoch seconds, which the SDK turns into Dates.
  expect(res.MetricDataResults![0].Timestamps![0]).toBeInstanceOf(Date);
  expect(res.MetricDataResults).toEqual([{
    Id: 'a', Label: EmfMetric.IMAGES_CLASSIFIED, Timestamps: [new Date(min(0))], Values: [1], StatusCode: 'Complete', Messages: [],
  }]);
  expect(res.Messages).toEqual([]);
});

test('sums EMF counts per 5-minute period, newest first by default, leaving out periods without data', async () => {
  classified(min(1), 'cat');
  classified(min(3, 59), 'cat');
  classified(min(7), 'cat');
  classified(min(21), 'cat');
  classified(min(22), 'dog');
  const q = query('cats', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Sum');
  const desc = await get([q]);
  expect(points(desc.MetricDataResults![0])).toEqual([['12:20:00', 1], ['12:05:00', 1], ['12:00:00', 2]]);
  const asc = await get([q, query('dogs', EmfMetric.IMAGES_CLASSIFIED, byLabel('dog'), 'SampleCount', 60)], min(0), min(60), {
    ScanBy: 'TimestampAscending',
  });
  expect(points(asc.MetricDataResults![0])).toEqual([['12:00:00', 2], ['12:05:00', 1], ['12:20:00', 1]]);
  expect(asc.MetricDataResults![1]).toEqual(expect.objectContaining({ Id: 'dogs', Values: [1], Timestamps: [new Date(min(22))] }));
});

test('matches the exact dimension set, in any order', async () => {
  classified(min(1), 'cat', 120);
  // ModelLatency is recorded under {Pipeline} only, ImagesClassified under {Pipeline, Label} only.
  const res = await get([
    query('exact', EmfMetric.MODEL_LATENCY, { [EmfDimension.PIPELINE]: PIPELINE }, 'Maximum'),
    query('superset', EmfMetric.MODEL_LATENCY, byLabel('cat'), 'Maximum'),
    query('subset', EmfMetric.IMAGES_CLASSIFIED, { [EmfDimension.PIPELINE]: PIPELINE }, 'Sum'),
    query('none', EmfMetric.IMAGES_CLASSIFIED, {}, 'Sum'),
    query('reordered', EmfMetric.IMAGES_CLASSIFIED, { [EmfDimension.LABEL]: 'cat', [EmfDimension.PIPELINE]: PIPELINE }, 'Sum'),
    query('otherValue', EmfMetric.IMAGES_CLASSIFIED, byLabel('dog'), 'Sum'),
  ]);
  expect(Object.fromEntries(res.MetricDataResults!.map((r) => [r.Id, r.Values]))).toEqual({
    exact: [120], superset: [], subset: [], none: [], reordered: [1], otherValue: [],
  });
  expect(res.MetricDataResults!.every((r) => r.StatusCode === 'Complete')).toBe(true);
});

test('records every directive and every dimension set of a line', async () => {
  const [line] = emitAt(min(2), (r) => classifiedRecord(r, { label: 'cat', confidence: 0.5, modelLatencyMs: 40, sizeBytes: 10 }));
  // The project's record: one directive per dimension set, all sharing the root members.
  expect(JSON.parse(line)._aws.CloudWatchMetrics).toHaveLength(2);
  expect(peer.datapoints.map((d) => [d.metricName, d.dimensions.map((x) => x.Name).join('+'), d.unit])).toEqual([
    ['ModelLatency', 'Pipeline', 'Milliseconds'],
    ['ImageBytes', 'Pipeline', 'Bytes'],
    ['ImagesClassified', 'Pipeline+Label', 'Count'],
    ['Confidence', 'Pipeline+Label', 'None'],
  ]);

  // Hand-written: two namespaces, and one directive with two dimension sets (and an empty one).
  const multi = {
    _aws: {
      Timestamp: min(2),
      CloudWatchMetrics: [
        { Namespace: NS, Dimensions: [['Pipeline'], ['Pipeline', 'Outcome'], []], Metrics: [{ Name: 'Images', Unit: 'Count' }] },
        { Namespace: 'Other', Dimensions: [['Outcome']], Metrics: [{ Name: 'Images' }] },
      ],
    },
    Pipeline: PIPELINE,
    Outcome: 'FLAGGED',
    Images: 3,
    requestId: 'not a dimension',
  };
  expect(peer.ingestEmf(JSON.stringify(multi))).toEqual({ status: 'extracted', datapoints: 4 });
  const res = await get([
    query('p', 'Images', { Pipeline: PIPELINE }, 'Sum'),
    query('po', 'Images', { Pipeline: PIPELINE, Outcome: 'FLAGGED' }, 'Sum'),
    query('nodims', 'Images', {}, 'Sum'),
    { Id: 'other', MetricStat: { Metric: { Namespace: 'Other', MetricName: 'Images', Dimensions: [{ Name: 'Outcome', Value: 'FLAGGED' }] }, Period: 60, Stat: 'Sum' } },
  ]);
  expect(res.MetricDataResults!.map((r) => r.Values)).toEqual([[3], [3], [3], [3]]);
  expect(peer.datapoints.find((d) => d.namespace === 'Other')!.unit).toBe('None');
});

test('a value array is several samples', async () => {
  const line = (values: unknown) => JSON.stringify({
    _aws: { Timestamp: min(4), CloudWatchMetrics: [{ Namespace: NS, Dimensions: [['Pipeline']], Metrics: [{ Name: 'ModelLatency', Unit: 'Milliseconds' }] }] },
    Pipeline: PIPELINE,
    ModelLatency: values,
  });
  expect(peer.ingestEmf(line([40, 10, 30, 20]))).toEqual({ status: 'extracted', datapoints: 1 });
  expect(peer.ingestEmf(`${line([50])}\n`)).toEqual({ status: 'extracted', datapoints: 1 });
  const stats = ['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum', 'p50', 'p100'];
  const res = await get(stats.map((s, i) => query(`q${i}`, 'ModelLatency', { Pipeline: PIPELINE }, s)));
  expect(Object.fromEntries(res.MetricDataResults!.map((r, i) => [stats[i], r.Values![0]]))).toEqual({
    SampleCount: 5, Sum: 150, Average: 30, Minimum: 10, Maximum: 50, p50: 30, p100: 50,
  });
  // More than 100 values break the specification: the whole document is dropped.
  const tooMany = line(Array.from({ length: 101 }, (_, i) => i));
  expect(peer.ingestEmf(tooMany)).toEqual({ status: 'rejected', reason: 'metric ModelLatency has more than 100 values' });
  expect(peer.ingestEmf(line(Array.from({ length: 100 }, (_, i) => i)))).toEqual({ status: 'extracted', datapoints: 1 });
});

test('percentiles and averages over a period', async () => {
  for (let ms = 1; ms <= 100; ms++) classified(min(10, ms % 60), 'cat', ms);
  classified(min(15), 'cat', 1000);
  const stats = ['Average', 'p50', 'p90', 'p99', 'p99.9', 'Minimum', 'Maximum'];
  const res = await get(stats.map((s, i) => query(`q${i}`, EmfMetric.MODEL_LATENCY, { Pipeline: PIPELINE }, s)), min(0), min(60), {
    ScanBy: 'TimestampAscending',
  });
  expect(Object.fromEntries(res.MetricDataResults!.map((r, i) => [stats[i], points(r)]))).toEqual({
    'Average': [['12:10:00', 50.5], ['12:15:00', 1000]],
    'p50': [['12:10:00', 50], ['12:15:00', 1000]],
    'p90': [['12:10:00', 90], ['12:15:00', 1000]],
    'p99': [['12:10:00', 99], ['12:15:00', 1000]],
    'p99.9': [['12:10:00', 100], ['12:15:00', 1000]],
    'Minimum': [['12:10:00', 1], ['12:15:00', 1000]],
    'Maximum': [['12:10:00', 100], ['12:15:00', 1000]],
  });
  // Confidence (unit None) averaged per label over the hour.
  const conf = await get([query('c', EmfMetric.CONFIDENCE, byLabel('cat'), 'Average', 3600)]);
  expect(conf.MetricDataResults![0].Values![0]).toBeCloseTo(0.9);
});

test('StartTime is inclusive, EndTime exclusive; periods run from StartTime rounded down to the minute', async () => {
  for (const at of [min(1), min(5), min(9, 59), min(10), min(20)]) classified(at, 'cat');
  const q = query('q', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Sum');
  expect(points((await get([q], min(5), min(20))).MetricDataResults![0])).toEqual([['12:10:00', 1], ['12:05:00', 2]]);
  // 12:02:30 rounds down to 12:02; the periods are 12:02-12:07, 12:07-12:12, ...
  const odd = await get([q], min(2, 30), min(30), { ScanBy: 'TimestampAscending' });
  expect(points(odd.MetricDataResults![0])).toEqual([['12:02:00', 1], ['12:07:00', 2], ['12:17:00', 1]]);
  // Nothing in range: an empty, complete result.
  expect((await get([q], min(30), min(40))).MetricDataResults![0]).toEqual(expect.objectContaining({ Values: [], Timestamps: [], StatusCode: 'Complete' }));

  expect(roundStartTime(min(2, 34), 300, NOW)).toBe(min(2));
  expect(roundStartTime(min(2, 34), 10, NOW)).toBe(min(2, 30));
  expect(roundStartTime(Date.UTC(2025, 11, 20, 12, 32, 34), 300, NOW)).toBe(Date.UTC(2025, 11, 20, 12, 30)); // 26 days old
  expect(roundStartTime(Date.UTC(2025, 9, 1, 12, 32, 34), 300, NOW)).toBe(Date.UTC(2025, 9, 1, 12, 0)); // over 63 days old
});

test('invalid EMF is ignored or rejected whole, as CloudWatch extracts nothing from it', async () => {
  const valid = {
    _aws: { Timestamp: min(1), CloudWatchMetrics: [{ Namespace: NS, Dimensions: [['Pipeline']], Metrics: [{ Name: 'Images', Unit: 'Count' }] }] },
    Pipeline: PIPELINE,
    Images: 1,
  };
  const variant = (patch: (doc: any) => void) => {
    const doc = JSON.parse(JSON.stringify(valid));
    patch(doc);
    return JSON.stringify(doc);
  };
  // Ordinary log lines are not EMF.
  expect(peer.ingestEmf('START RequestId: 1 Version: $LATEST')).toEqual({ status: 'ignored' });
  expect(peer.ingestEmf('{"level":"INFO","message":"classified"}')).toEqual({ status: 'ignored' });
  expect(peer.ingestEmf('{"_aws": ')).toEqual({ status: 'ignored' });
  expect(peer.ingestEmf('[1,2]')).toEqual({ status: 'ignored' });

  const rejected: Array<[string, string]> = [
    [variant((d) => delete d.Images), 'metric Images has no member on the root node'],
    [variant((d) => delete d.Pipeline), 'dimension Pipeline has no member on the root node'],
    [variant((d) => (d.Pipeline = 7)), 'dimension Pipeline must have a string value'],
    [variant((d) => (d.Pipeline = '')), 'dimension Pipeline has an invalid value ""'],
    [variant((d) => (d.Images = '1')), 'metric Images must be a number or an array of numbers'],
    [variant((d) => (d.Images = [1, null])), 'metric Images must be a number or an array of numbers'],
    [variant((d) => delete d._aws.Timestamp), '_aws.Timestamp must be an integer number of milliseconds since the epoch'],
    [variant((d) => (d._aws.CloudWatchMetrics = {})), '_aws.CloudWatchMetrics must be an array of metric directives'],
    [variant((d) => delete d._aws.CloudWatchMetrics[0].Namespace), '_aws.CloudWatchMetrics[0].Namespace must be a string of 1 to 255 characters'],
    [variant((d) => (d._aws.CloudWatchMetrics[0].Metrics[0].Unit = 'Images')), '_aws.CloudWatchMetrics[0].Metrics[0].Unit "Images" is not a CloudWatch unit'],
    [variant((d) => {
      const keys = Array.from({ length: 31 }, (_, i) => `D${i}`);
      keys.forEach((k) => (d[k] = 'v'));
      d._aws.CloudWatchMetrics[0].Dimensions = [keys];
    }), '_aws.CloudWatchMetrics[0].Dimensions[0] has more than 30 dimensions'],
    [variant((d) => (d._aws.Timestamp = NOW - 15 * 86_400_000)), expect.stringContaining('more than two weeks old') as unknown as string],
  ];
  for (const [line, reason] of rejected) expect(peer.ingestEmf(line)).toEqual({ status: 'rejected', reason });
  // One bad metric spoils the document: its valid directive is not extracted either.
  expect(peer.ingestEmf(variant((d) => d._aws.CloudWatchMetrics.push({ Namespace: NS, Dimensions: [[]], Metrics: [{ Name: 'Missing' }] }))))
    .toEqual({ status: 'rejected', reason: 'metric Missing has no member on the root node' });
  expect(peer.datapoints).toEqual([]);
  expect(peer.emfRejections).toHaveLength(rejected.length + 1);

  // Unknown members are ignored; Lambda's console prefix is allowed; a nested reference is not a root member.
  expect(peer.ingestEmf(variant((d) => (d._aws.CloudWatchMetrics[0].Extra = true)))).toEqual({ status: 'extracted', datapoints: 1 });
  expect(peer.ingestEmf(`2026-01-15T12:01:00.000Z\tc0ffee\tINFO\t${JSON.stringify(valid)}`)).toEqual({ status: 'extracted', datapoints: 1 });
  expect(peer.ingestEmf(variant((d) => {
    d.A = { a: 1 };
    d._aws.CloudWatchMetrics[0].Metrics = [{ Name: 'A.a' }];
  }))).toEqual({ status: 'rejected', reason: 'metric A.a has no member on the root node' });
  expect(peer.ingestOutput(`hello\n${JSON.stringify(valid)}\n\n`)).toEqual([{ status: 'ignored' }, { status: 'extracted', datapoints: 1 }]);
  const res = await get([{ ...query('q', 'Images', { Pipeline: PIPELINE }, 'Sum') }]);
  expect(res.MetricDataResults![0].Values).toEqual([3]);
});

test('an unknown statistic is a ValidationError, as CloudWatch answers it', async () => {
  const err = await get([
    query('ok', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Sum'),
    query('bad', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Median'),
  ]).catch((e) => e);
  expect(err.name).toBe('ValidationException');
  expect(err.Code).toBe('ValidationError');
  expect(err.$metadata.httpStatusCode).toBe(400);
  expect(err.message).toBe('The value Median for parameter MetricDataQueries.member.2.MetricStat.Stat is not a valid statistic.');
  for (const stat of ['sum', 'p101', 'P99', 'p']) {
    await expect(get([query('q', 'X', {}, stat)])).rejects.toMatchObject({ name: 'ValidationException' });
  }
});

test('refuses expressions, bad periods, duplicate ids and an empty time range', async () => {
  await expect(get([{ Id: 'e', Expression: 'SUM(METRICS())' }])).rejects.toThrow(/expressions are not supported by the local CloudWatch peer/);
  await expect(get([query('q', 'X', {}, 'Sum', 90)])).rejects.toThrow(/Period must be 1, 5, 10, 20, 30, 60 or a multiple of 60/);
  await expect(get([query('q', 'X', {}, 'Sum'), query('q', 'Y', {}, 'Sum')])).rejects.toThrow(/not unique/);
  await expect(get([query('Q', 'X', {}, 'Sum')])).rejects.toThrow(/Id is invalid/);
  await expect(get([query('q', 'X', {}, 'Sum')], min(10), min(10))).rejects.toThrow('The parameter StartTime must be less than the parameter EndTime.');
});

test('ReturnData false, Label, Unit and MaxDatapoints with NextToken', async () => {
  for (let m = 0; m < 5; m++) classified(min(m * 5 + 1), 'cat');
  const q = query('q', EmfMetric.IMAGES_CLASSIFIED, byLabel('cat'), 'Sum');
  const res = await get([
    { ...q, Label: 'Cats' },
    { ...q, Id: 'hidden', ReturnData: false },
    { ...q, Id: 'count', MetricStat: { ...q.MetricStat!, Unit: 'Count' } },
    { ...q, Id: 'bytes', MetricStat: { ...q.MetricStat!, Unit: 'Bytes' } },
  ]);
  expect(res.MetricDataResults!.map((r) => [r.Id, r.Label, r.Values!.length])).toEqual([['q', 'Cats', 5], ['count', 'ImagesClassified', 5], ['bytes', 'ImagesClassified', 0]]);

  const pages: Array<Array<[string, number]>> = [];
  let token: string | undefined;
  do {
    const page = await get([q], min(0), min(60), { MaxDatapoints: 2, NextToken: token });
    pages.push(points(page.MetricDataResults![0]));
    expect(page.MetricDataResults![0].StatusCode).toBe(page.NextToken ? 'PartialData' : 'Complete');
    token = page.NextToken;
  } while (token);
  expect(pages).toEqual([[['12:20:00', 1], ['12:15:00', 1]], [['12:10:00', 1], ['12:05:00', 1]], [['12:00:00', 1]]]);
  await expect(get([q], min(0), min(60), { NextToken: 'garbage' })).rejects.toMatchObject({ name: 'InvalidNextToken' });
});

test('PutMetricData (gzipped when large) seeds data; ListMetrics filters by namespace, name and dimensions', async () => {
  classified(min(1), 'cat');
  await client.send(new PutMetricDataCommand({
    Namespace: NS,
    MetricData: [
      { MetricName: 'Images', Dimensions: [{ Name: 'Pipeline', Value: PIPELINE }, { Name: 'Outcome', Value: 'FLAGGED' }], Timestamp: new Date(min(2)), Value: 2, Unit: 'Count' },
      { MetricName: 'Images', Dimensions: [{ Name: 'Pipeline', Value: PIPELINE }, { Name: 'Outcome', Value: 'FLAGGED' }], Timestamp: new Date(min(3)), Values: [1, 5], Counts: [2, 1], Unit: 'Count' },
      { MetricName: 'Stats', Timestamp: new Date(min(3)), StatisticValues: { SampleCount: 4, Sum: 10, Minimum: 1, Maximum: 4 } },
      ...Array.from({ length: 150 }, (_, i) => ({ MetricName: 'Filler', Dimensions: [{ Name: 'Index', Value: `i-${i}` }], Timestamp: new Date(min(4)), Value: i })),
    ],
  }));
  expect(wire.some((w) => w.headers['content-encoding'] === 'gzip')).toBe(true);
  const res = await get([
    query('s', 'Images', { Pipeline: PIPELINE, Outcome: 'FLAGGED' }, 'Sum'),
    query('n', 'Images', { Pipeline: PIPELINE, Outcome: 'FLAGGED' }, 'SampleCount'),
    query('avg', 'Stats', {}, 'Average'),
    query('p', 'Stats', {}, 'p50'),
  ]);
  expect(res.MetricDataResults!.map((r) => r.Values)).toEqual([[9], [4], [2.5], []]);

  const list = async (input: object) => (await client.send(new ListMetricsCommand(input))).Metrics!
    .map((m) => `${m.MetricName}{${(m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(',')}}`).sort();
  expect(await list({ Namespace: NS, Dimensions: [{ Name: 'Pipeline', Value: PIPELINE }] })).toEqual([
    'ImageBytes{Pipeline=stack-Pipeline-abc123}',
    'Images{Pipeline=stack-Pipeline-abc123,Outcome=FLAGGED}',
    'ImagesClassified{Pipeline=stack-Pipeline-abc123,Label=cat}',
    'ModelLatency{Pipeline=stack-Pipeline-abc123}',
    'Confidence{Pipeline=stack-Pipeline-abc123,Label=cat}',
  ].sort());
  expect(await list({ Namespace: NS, MetricName: 'ImagesClassified', Dimensions: [{ Name: 'Label' }] })).toEqual([
    'ImagesClassified{Pipeline=stack-Pipeline-abc123,Label=cat}',
  ]);
  expect(await list({ Namespace: 'Nope' })).toEqual([]);
  expect(await list({ Namespace: NS, RecentlyActive: 'PT3H', MetricName: 'Stats' })).toEqual(['Stats{}']);

  const reserved = await client.send(new PutMetricDataCommand({ Namespace: 'AWS/Lambda', MetricData: [{ MetricName: 'X', Value: 1 }] })).catch((e) => e);
  expect(reserved).toMatchObject({ name: 'InvalidParameterValueException', Code: 'InvalidParameterValue' });
  const both = await client.send(new PutMetricDataCommand({ Namespace: NS, MetricData: [{ MetricName: 'X', Value: 1, Values: [1] }] })).catch((e) => e);
  expect(both).toMatchObject({ name: 'InvalidParameterCombinationException', Code: 'InvalidParameterCombination' });
});

test('high-resolution EMF metrics keep their seconds; standard ones are held per minute', async () => {
  const line = (at: number, resolution?: number) => JSON.stringify({
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [{ Namespace: NS, Dimensions: [[]], Metrics: [{ Name: resolution ? 'Fast' : 'Slow', StorageResolution: resolution }] }],
    },
    Fast: 1,
    Slow: 1,
  });
  for (const at of [min(0, 3), min(0, 14)]) {
    peer.ingestEmf(line(at, 1));
    peer.ingestEmf(line(at));
  }
  const res = await get([query('fast', 'Fast', {}, 'Sum', 10), query('slow', 'Slow', {}, 'Sum', 10)], min(0), min(1), { ScanBy: 'TimestampAscending' });
  expect(points(res.MetricDataResults![0])).toEqual([['12:00:00', 1], ['12:00:10', 1]]);
  expect(points(res.MetricDataResults![1])).toEqual([['12:00:00', 2]]);
  expect(peer.ingestEmf(line(min(0), 30))).toEqual({ status: 'rejected', reason: '_aws.CloudWatchMetrics[0].Metrics[0].StorageResolution must be 1 or 60' });
});

test('answers an unknown operation as the JSON protocol does', async () => {
  const res = await fetch(peer.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms' },
    body: '{}',
  });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ __type: 'com.amazon.coral.service#UnknownOperationException', message: expect.stringContaining('DescribeAlarms') });
});
