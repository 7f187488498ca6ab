import { Metrics } from '@aws-lambda-powertools/metrics';
import { emf } from './emf';
import { ErrorName } from '../../src/handlers/errors';
import { DEFAULT_METRICS_NAMESPACE, errorDimension, metricsOptions, publishClassified, publishError, setPipelineDimension } from '../../src/handlers/metrics';


/** Configured the way the handler configures it. */
const metricsFor = (env: Record<string, string>) => setPipelineDimension(new Metrics(metricsOptions(env)), env);
const env = { POWERTOOLS_METRICS_NAMESPACE: 'Ics', ICS_METRICS_PIPELINE: 'Stack-Ics-ABCD1234' };

describe('EMF metrics of the classify function', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
  });
  afterAll(() => {
    process.env = saved;
  });

  test('a classified image: latency and size by pipeline, count and confidence by pipeline and label', () => {
    const metrics = metricsFor(env);
    const records = emf(() => publishClassified(metrics, { label: 'tank', confidence: 0.97, modelLatencyMs: 41, sizeBytes: 48213 }));
    expect(records).toHaveLength(2);
    const [timing, byLabel] = records;
    expect(timing._aws.CloudWatchMetrics).toEqual([{
      Namespace: 'Ics',
      Dimensions: [['Pipeline']],
      Metrics: [{ Name: 'ModelLatency', Unit: 'Milliseconds' }, { Name: 'ImageBytes', Unit: 'Bytes' }],
    }]);
    expect(timing).toMatchObject({ Pipeline: 'Stack-Ics-ABCD1234', ModelLatency: 41, ImageBytes: 48213 });
    expect(timing).not.toHaveProperty('service');
    expect(byLabel._aws.CloudWatchMetrics).toEqual([{
      Namespace: 'Ics',
      Dimensions: [['Pipeline', 'Label']],
      Metrics: [{ Name: 'ImagesClassified', Unit: 'Count' }, { Name: 'Confidence', Unit: 'None' }],
    }]);
    expect(byLabel).toMatchObject({ Pipeline: 'Stack-Ics-ABCD1234', Label: 'tank', ImagesClassified: 1, Confidence: 0.97 });
    expect(typeof byLabel._aws.Timestamp).toBe('number');
  });

  test('the label dimension does not leak into the next image\'s records', () => {
    const metrics = metricsFor(env);
    const records = emf(() => {
      publishClassified(metrics, { label: 'tank', confidence: 0.97, modelLatencyMs: 41, sizeBytes: 1 });
      publishClassified(metrics, { label: 'bus', confidence: 0.5, modelLatencyMs: 12, sizeBytes: 2 });
    });
    expect(records.map((r) => r._aws.CloudWatchMetrics[0].Dimensions)).toEqual([[['Pipeline']], [['Pipeline', 'Label']], [['Pipeline']], [['Pipeline', 'Label']]]);
    expect(records[3]).toMatchObject({ Label: 'bus', Confidence: 0.5 });
  });

  test('errors by stable error name; any other error counts as Unexpected', () => {
    const metrics = metricsFor(env);
    const named = Object.assign(new Error('cut off'), { name: ErrorName.TruncatedImage });
    const records = emf(() => {
      publishError(metrics, named);
      publishError(metrics, new TypeError('bug'));
    });
    expect(records.map((r) => r._aws.CloudWatchMetrics[0])).toEqual([
      { Namespace: 'Ics', Dimensions: [['Pipeline', 'ErrorName']], Metrics: [{ Name: 'ClassificationErrors', Unit: 'Count' }] },
      { Namespace: 'Ics', Dimensions: [['Pipeline', 'ErrorName']], Metrics: [{ Name: 'ClassificationErrors', Unit: 'Count' }] },
    ]);
    expect(records.map((r) => [r.ErrorName, r.ClassificationErrors])).toEqual([['TruncatedImage', 1], ['Unexpected', 1]]);
    expect(errorDimension(undefined)).toBe('Unexpected');
  });

  test('the default namespace when the construct sets none', () => {
    const records = emf(() => publishError(metricsFor({}), new Error('x')));
    expect(records[0]._aws.CloudWatchMetrics[0].Namespace).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(records[0].Pipeline).toBe('unknown');
  });
});
