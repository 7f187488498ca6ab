import { Metrics } from '@aws-lambda-powertools/metrics';
import { emf } from './emf';
import { INFRASTRUCTURE_FAIL_ERRORS, LOW_CONFIDENCE_ERROR, outcomeOfExecution, publishExecutionOutcome } from '../../src/handlers/dispatch-metrics';
import { metricsOptions, setPipelineDimension } from '../../src/handlers/metrics';
import { StateName } from '../../src/workflow/per-image';


const env = { POWERTOOLS_METRICS_NAMESPACE: 'Ics', ICS_METRICS_PIPELINE: 'Stack-Ics-ABCD1234' };
const metricsFor = () => setPipelineDimension(new Metrics(metricsOptions(env)), env);
const routes = { FLAGGED: 2, ACCEPTED: 0, LOW_CONFIDENCE: 1, ERROR: 1 };
/** Metric name → { value, dimensions } of each EMF record. */
const summary = (records: any[]) => records.map((r) => {
  const [directive] = r._aws.CloudWatchMetrics;
  const dimensions = Object.fromEntries(directive.Dimensions[0].map((d: string) => [d, r[d]]));
  return Object.fromEntries(directive.Metrics.map((m: any) => [m.Name, { value: r[m.Name], dimensions }]));
});

describe('the outcome of an execution, from what StartSyncExecution returns', () => {
  test('the error names it reads are the per-image workflow\'s Fail states', () => {
    expect(INFRASTRUCTURE_FAIL_ERRORS).toEqual([StateName.AUDIT_FAILED, StateName.RESULT_EVENT_FAILED, StateName.ALERT_PUBLISH_FAILED]);
    expect(LOW_CONFIDENCE_ERROR).toBe('LowConfidence');
  });

  test.each([
    ['SUCCEEDED with its result', { status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'FLAGGED', label: 'tank', confidence: 0.97 }) },
      { outcome: 'FLAGGED', label: 'tank', confidence: 0.97, infrastructureFailure: false }],
    ['LowConfidence, the result in its cause', { status: 'FAILED', error: 'LowConfidence', cause: JSON.stringify({ outcome: 'LOW_CONFIDENCE', label: 'bus', confidence: 0.4 }) },
      { outcome: 'LOW_CONFIDENCE', label: 'bus', confidence: 0.4, infrastructureFailure: false }],
    ['a classification error name', { status: 'FAILED', error: 'UnsupportedImageFormat', cause: 'GIF' },
      { outcome: 'ERROR', errorName: 'UnsupportedImageFormat', infrastructureFailure: false }],
    ['a task timeout is the image\'s ERROR', { status: 'FAILED', error: 'States.Timeout' }, { outcome: 'ERROR', errorName: 'States.Timeout', infrastructureFailure: false }],
    ['an audit write that failed', { status: 'FAILED', error: 'AuditWriteFailed' }, { infrastructureFailure: true }],
    ['an alert that could not be published', { status: 'FAILED', error: 'AlertPublishFailed' }, { infrastructureFailure: true }],
    ['an execution that timed out', { status: 'TIMED_OUT', error: 'States.Timeout' }, { infrastructureFailure: true }],
    ['unparseable output', { status: 'SUCCEEDED', output: 'not json' }, { outcome: undefined, infrastructureFailure: false }],
  ])('%s', (_name, end, expected) => {
    expect(outcomeOfExecution(end)).toEqual(expected);
  });
});

describe('EMF outcome metrics of the dispatch function', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
  });
  afterAll(() => {
    process.env = saved;
  });

  test('a FLAGGED image: alerts published (two topics), one image by outcome; no label metrics when a classify function publishes them', () => {
    const records = emf(() => publishExecutionOutcome(metricsFor(), { outcome: 'FLAGGED', label: 'tank', confidence: 0.97, infrastructureFailure: false },
      { alertsPerOutcome: routes, labelMetrics: false }));
    expect(records.every((r) => r._aws.CloudWatchMetrics[0].Namespace === 'Ics')).toBe(true);
    expect(summary(records)).toEqual([
      { AlertsPublished: { value: 2, dimensions: { Pipeline: 'Stack-Ics-ABCD1234' } } },
      { Images: { value: 1, dimensions: { Pipeline: 'Stack-Ics-ABCD1234', Outcome: 'FLAGGED' } } },
    ]);
  });

  test('an ACCEPTED image alerts nobody; with label metrics (Rekognition) its label and confidence are published', () => {
    const records = emf(() => publishExecutionOutcome(metricsFor(), { outcome: 'ACCEPTED', label: 'Safe', confidence: 0.99, infrastructureFailure: false },
      { alertsPerOutcome: routes, labelMetrics: true }));
    expect(summary(records)).toEqual([
      { Images: { value: 1, dimensions: { Pipeline: 'Stack-Ics-ABCD1234', Outcome: 'ACCEPTED' } } },
      {
        ImagesClassified: { value: 1, dimensions: { Pipeline: 'Stack-Ics-ABCD1234', Label: 'Safe' } },
        Confidence: { value: 0.99, dimensions: { Pipeline: 'Stack-Ics-ABCD1234', Label: 'Safe' } },
      },
    ]);
  });

  test('an ERROR image with label metrics: classification errors by a bounded error name', () => {
    const records = emf(() => publishExecutionOutcome(metricsFor(), { outcome: 'ERROR', errorName: 'Rekognition.Weird', infrastructureFailure: false },
      { alertsPerOutcome: routes, labelMetrics: true }));
    expect(summary(records)[2]).toEqual({
      ClassificationErrors: { value: 1, dimensions: { Pipeline: 'Stack-Ics-ABCD1234', ErrorName: 'Unexpected' } },
    });
  });

  test('an infrastructure failure publishes nothing here (the ExecutionFailed metric filter counts it)', () => {
    const config = { alertsPerOutcome: routes, labelMetrics: true };
    expect(emf(() => publishExecutionOutcome(metricsFor(), { infrastructureFailure: true }, config))).toEqual([]);
  });
});
