import { dispatchedRecord, INFRASTRUCTURE_FAIL_ERRORS, LOW_CONFIDENCE_ERROR, outcomeOfExecution, outcomeRecord } from '../../src/handlers/dispatch-metrics';
import { EmfRecord } from '../../src/handlers/metrics';
import { StateName } from '../../src/workflow/per-image';


const record = () => new EmfRecord('Ics', 'Stack-Ics-ABCD1234');
const routes = { FLAGGED: 2, ACCEPTED: 0, LOW_CONFIDENCE: 1, ERROR: 1 };
/** Metric name → { value, dimensions } of one EMF record, over all its directives. */
const summary = (r: EmfRecord) => {
  const json: any = r.toJSON();
  return Object.fromEntries(json._aws.CloudWatchMetrics.flatMap((directive: any) => {
    const dimensions = Object.fromEntries(directive.Dimensions[0].map((d: string) => [d, json[d]]));
    return directive.Metrics.map((m: any) => [m.Name, { value: json[m.Name], dimensions }]);
  }));
};

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
  const P = { Pipeline: 'Stack-Ics-ABCD1234' };

  test('a FLAGGED image: alerts published (two topics), one image by outcome and by label, latency and size from the result', () => {
    const end = outcomeOfExecution({ status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'FLAGGED', label: 'tank', confidence: 0.97, modelLatencyMs: 41, sizeBytes: 4821 }) });
    const r = outcomeRecord(record(), end, { alertsPerOutcome: routes, errorMetrics: false });
    expect((r.toJSON() as any)._aws.CloudWatchMetrics.every((d: any) => d.Namespace === 'Ics')).toBe(true);
    expect(summary(r)).toEqual({
      AlertsPublished: { value: 2, dimensions: P },
      Images: { value: 1, dimensions: { ...P, Outcome: 'FLAGGED' } },
      ImagesClassified: { value: 1, dimensions: { ...P, Label: 'tank' } },
      Confidence: { value: 0.97, dimensions: { ...P, Label: 'tank' } },
      ModelLatency: { value: 41, dimensions: P },
      ImageBytes: { value: 4821, dimensions: P },
    });
  });

  test('an ERROR image: its classification error only where no classify function counts it (errorMetrics)', () => {
    const end = outcomeOfExecution({ status: 'FAILED', error: 'UnsupportedImageFormat', cause: 'GIF' });
    expect(summary(outcomeRecord(record(), end, { alertsPerOutcome: routes, errorMetrics: false }))).toEqual({
      AlertsPublished: { value: 1, dimensions: P },
      Images: { value: 1, dimensions: { ...P, Outcome: 'ERROR' } },
    });
    expect(summary(outcomeRecord(record(), end, { alertsPerOutcome: routes, errorMetrics: true })).ClassificationErrors)
      .toEqual({ value: 1, dimensions: { ...P, ErrorName: 'UnsupportedImageFormat' } });
  });

  test('one record per upload: the outcome and the attempts and latencies of its dispatch', () => {
    const r = dispatchedRecord(outcomeRecord(record(), { outcome: 'ACCEPTED', infrastructureFailure: false },
      { alertsPerOutcome: routes, errorMetrics: false }), { attempts: 2, queueWaitMs: 40, endToEndMs: 900 });
    expect(summary(r)).toEqual({
      Images: { value: 1, dimensions: { ...P, Outcome: 'ACCEPTED' } },
      DispatchAttempts: { value: 2, dimensions: P },
      QueueWait: { value: 40, dimensions: P },
      EndToEndLatency: { value: 900, dimensions: P },
    });
  });

  test('an ACCEPTED image alerts nobody; a result without latency or size (Rekognition) has none of those metrics', () => {
    const r = outcomeRecord(record(), { outcome: 'ACCEPTED', label: 'Safe', confidence: 0.99, infrastructureFailure: false }, { alertsPerOutcome: routes, errorMetrics: true });
    expect(summary(r)).toEqual({
      Images: { value: 1, dimensions: { ...P, Outcome: 'ACCEPTED' } },
      ImagesClassified: { value: 1, dimensions: { ...P, Label: 'Safe' } },
      Confidence: { value: 0.99, dimensions: { ...P, Label: 'Safe' } },
    });
  });

  test('an ERROR image with errorMetrics: classification errors by a bounded error name', () => {
    const r = outcomeRecord(record(), { outcome: 'ERROR', errorName: 'Rekognition.Weird', infrastructureFailure: false }, { alertsPerOutcome: routes, errorMetrics: true });
    expect(summary(r).ClassificationErrors).toEqual({ value: 1, dimensions: { ...P, ErrorName: 'Unexpected' } });
  });

  test('an infrastructure failure adds nothing here (the ExecutionFailed metric filter counts it)', () => {
    expect(outcomeRecord(record(), { infrastructureFailure: true }, { alertsPerOutcome: routes, errorMetrics: true }).isEmpty).toBe(true);
  });
});
