import { ErrorName } from '../../src/handlers/errors';
import { classifiedRecord, DEFAULT_METRICS_NAMESPACE, EmfRecord, emfSink, errorDimension, errorRecord } from '../../src/handlers/metrics';

const env = { POWERTOOLS_METRICS_NAMESPACE: 'Ics', ICS_METRICS_PIPELINE: 'Stack-Ics-ABCD1234' };

/** The lines a sink configured like the handler's writes. */
function written(environment: Record<string, string>, emit: (sink: ReturnType<typeof emfSink>) => void): any[] {
  const lines: string[] = [];
  emit(emfSink(environment, (line) => lines.push(line)));
  expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
  return lines.map((l) => JSON.parse(l));
}

describe('EMF records of the classify function', () => {
  test('a classified image is one record: latency and size by pipeline, count and confidence by pipeline and label', () => {
    const records = written(env, (m) => m.emit(classifiedRecord(m.record(), { label: 'tank', confidence: 0.97, modelLatencyMs: 41, sizeBytes: 48213 })));
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Ics', Dimensions: [['Pipeline']], Metrics: [{ Name: 'ModelLatency', Unit: 'Milliseconds' }, { Name: 'ImageBytes', Unit: 'Bytes' }] },
      { Namespace: 'Ics', Dimensions: [['Pipeline', 'Label']], Metrics: [{ Name: 'ImagesClassified', Unit: 'Count' }, { Name: 'Confidence', Unit: 'None' }] },
    ]);
    expect(record).toEqual(expect.objectContaining({
      Pipeline: 'Stack-Ics-ABCD1234', Label: 'tank', ModelLatency: 41, ImageBytes: 48213, ImagesClassified: 1, Confidence: 0.97,
    }));
    expect(typeof record._aws.Timestamp).toBe('number');
    // No level field: Lambda files the line as INFO, which the default application log level keeps.
    expect(record).not.toHaveProperty('level');
  });

  test('each image gets its own record: a label never leaks into the next image\'s', () => {
    const records = written(env, (m) => {
      m.emit(classifiedRecord(m.record(), { label: 'tank', confidence: 0.97, modelLatencyMs: 41, sizeBytes: 1 }));
      m.emit(classifiedRecord(m.record(), { label: 'bus', confidence: 0.5, modelLatencyMs: 12, sizeBytes: 2 }));
    });
    expect(records.map((r) => [r.Label, r.Confidence])).toEqual([['tank', 0.97], ['bus', 0.5]]);
  });

  test('errors by stable error name; any other error counts as Unexpected', () => {
    const named = Object.assign(new Error('cut off'), { name: ErrorName.TruncatedImage });
    const records = written(env, (m) => {
      m.emit(errorRecord(m.record(), named));
      m.emit(errorRecord(m.record(), new TypeError('bug')));
    });
    expect(records.map((r) => r._aws.CloudWatchMetrics)).toEqual([0, 1].map(() => [
      { Namespace: 'Ics', Dimensions: [['Pipeline', 'ErrorName']], Metrics: [{ Name: 'ClassificationErrors', Unit: 'Count' }] },
    ]));
    expect(records.map((r) => [r.ErrorName, r.ClassificationErrors])).toEqual([['TruncatedImage', 1], ['Unexpected', 1]]);
    expect(errorDimension(undefined)).toBe('Unexpected');
  });

  test('the default namespace and pipeline when the construct sets none', () => {
    const [record] = written({}, (m) => m.emit(errorRecord(m.record(), new Error('x'))));
    expect(record._aws.CloudWatchMetrics[0].Namespace).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(record.Pipeline).toBe('unknown');
  });

  test('nothing is written for an empty record, or with POWERTOOLS_METRICS_DISABLED=true', () => {
    expect(written(env, (m) => m.emit(m.record()))).toEqual([]);
    expect(written({ ...env, POWERTOOLS_METRICS_DISABLED: 'true' }, (m) => m.emit(errorRecord(m.record(), new Error('x'))))).toEqual([]);
  });
});

describe('EmfRecord', () => {
  test('a metric added twice under the same dimensions is summed', () => {
    const r = new EmfRecord('Ics', 'P').add('DispatchDeferred', 'Count', 1).add('DispatchDeferred', 'Count', 1).toJSON(5);
    expect(r).toEqual({
      _aws: { Timestamp: 5, CloudWatchMetrics: [{ Namespace: 'Ics', Dimensions: [['Pipeline']], Metrics: [{ Name: 'DispatchDeferred', Unit: 'Count' }] }] },
      Pipeline: 'P',
      DispatchDeferred: 2,
    });
  });

  test('one value per dimension and one dimension set per metric: a second label or a metric under two sets is refused', () => {
    const r = new EmfRecord('Ics', 'P').add('Confidence', 'None', 0.9, { Label: 'tank' });
    expect(() => r.add('ImagesClassified', 'Count', 1, { Label: 'bus' })).toThrow(/already has Label=tank/);
    expect(() => r.add('Confidence', 'None', 0.9)).toThrow(/already in this record/);
  });
});
