import { createHash } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Outcome } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { LocalExecution, LocalPipeline, LocalPipelineOptions } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

/**
 * The outcome, alert and label metrics at the default log level (ERROR), end to end: the synthesized pipeline runs
 * in the local runner with its real bundled handlers, which write EMF to stdout as they do on Lambda; each metric
 * the construct's `metric*()` methods (and so its alarms and dashboard) read is summed from those EMF records by
 * namespace, name and exact dimension set — what CloudWatch does with them — and compared with the results.
 */

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Same picture, distinct bytes: the local models answer per image. */
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

/** Everything written to stdout while `fn` runs, as JSON lines (non-JSON lines dropped). */
async function capturingStdout<T>(fn: () => Promise<T>): Promise<{ value: T; lines: any[] }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: any, ...rest: any[]) => {
    chunks.push(String(chunk));
    return typeof rest[rest.length - 1] === 'function' ? (rest[rest.length - 1](), true) : true;
  }) as typeof process.stdout.write;
  try {
    const value = await fn();
    return { value, lines: chunks.join('').split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } }) };
  } finally {
    process.stdout.write = write;
  }
}

/** CloudWatch's view of EMF records: the values of `metric` in records whose dimension set is exactly the metric's. */
function emfValues(records: any[], metric: cloudwatch.Metric): number[] {
  const dims = metric.dimensions ?? {};
  const values: number[] = [];
  for (const r of records) {
    for (const directive of r._aws?.CloudWatchMetrics ?? []) {
      if (directive.Namespace !== metric.namespace || !directive.Metrics.some((m: any) => m.Name === metric.metricName)) continue;
      for (const set of directive.Dimensions as string[][]) {
        const exact = set.length === Object.keys(dims).length && set.every((d) => dims[d] === r[d]);
        if (exact) values.push(Number(r[metric.metricName]));
      }
    }
  }
  return values;
}

const emfSum = (records: any[], metric: cloudwatch.Metric) => emfValues(records, metric).reduce((a, b) => a + b, 0);

function synth(props: ImageClassificationPipelineProps) {
  const stack = new Stack(new App(), 'Local');
  const pipeline = new ImageClassificationPipeline(stack, 'Ics', props);
  return { pipeline, template: Template.fromStack(stack).toJSON() as CfnTemplate };
}

async function runCapturing(props: ImageClassificationPipelineProps, opts: Partial<LocalPipelineOptions>, uploads: Array<[string, Buffer]>) {
  const { pipeline, template } = synth(props);
  // The runner silences EMF and INFO logs by default; here they are the subject.
  const saved = { metrics: process.env.POWERTOOLS_METRICS_DISABLED, level: process.env.POWERTOOLS_LOG_LEVEL };
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  try {
    const { value: runs, lines } = await capturingStdout(async () => {
      const local = await LocalPipeline.start({ template, models: {}, ...opts });
      try {
        const done: LocalExecution[] = [];
        for (const [key, bytes] of uploads) done.push(await local.upload(key, bytes));
        return done;
      } finally {
        await local.close();
      }
    });
    return { pipeline, template, runs, lines };
  } finally {
    for (const [k, v] of [['POWERTOOLS_METRICS_DISABLED', saved.metrics], ['POWERTOOLS_LOG_LEVEL', saved.level]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }
}

const countOutcomes = (runs: LocalExecution[]) =>
  Object.fromEntries(Object.values(Outcome).map((o) => [o, runs.filter((r) => r.result?.outcome === o).length]));
const stateMachineLevel = (template: CfnTemplate) => Object.values<any>(template.Resources)
  .filter((r) => r.Type === 'AWS::StepFunctions::StateMachine').map((r) => r.Properties.LoggingConfiguration.Level);

jest.setTimeout(120_000);

describe('metrics at the default log level (ERROR), queued ingestion, run locally', () => {
  test('SageMaker: every per-image metric from the dispatch function, one record per image; errors from the classify function', async () => {
    // bicycle, motorcycle, pickup_truck, bus, tank, tractor; motorcycle is flagged, the threshold 0.94
    const answers = new Map<string, number[]>([
      [sha(imageFor(1)), [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025]],
      [sha(imageFor(2)), [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]],
      [sha(imageFor(3)), [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]],
    ]);
    const { pipeline, template, runs, lines } = await runCapturing(icsProps(),
      { models: { vehicles: functionModel((bytes) => answers.get(sha(bytes)) ?? [1, 0, 0, 0, 0, 0]) } },
      [['cams/a.jpg', imageFor(1)], ['cams/b.jpg', imageFor(2)], ['cams/c.jpg', imageFor(3)], ['cams/d.jpg', imageFor(2)], ['cams/e.jpg', Buffer.from('not an image')]]);

    expect(stateMachineLevel(template)).toEqual(['ERROR']);
    expect(countOutcomes(runs)).toEqual({ FLAGGED: 1, ACCEPTED: 2, LOW_CONFIDENCE: 1, ERROR: 1 });
    // Nothing is logged for an image that succeeds: the metrics cannot come from the state machine's log.
    for (const run of runs.filter((r) => r.status === 'SUCCEEDED')) expect(run.logRecords).toEqual([]);

    for (const outcome of Object.values(Outcome)) expect(emfSum(lines, pipeline.metricOutcome(outcome))).toBe(countOutcomes(runs)[outcome]);
    // FLAGGED, LOW_CONFIDENCE and ERROR each alert the pipeline's one topic.
    expect(emfSum(lines, pipeline.metricAlertsPublished())).toBe(3);
    expect(runs.flatMap((r) => r.alerts)).toHaveLength(3);
    // The dashboard's label graph searches ImagesClassified by Pipeline and Label; the dispatch function writes it.
    const pipelineDimension = lines.find((l) => l._aws && l.Pipeline)?.Pipeline;
    expect(pipelineDimension).toMatch(/^Local-Ics-/);
    const labelMetric = (label: string) => emfSum(lines, new cloudwatch.Metric({
      namespace: 'ImageClassificationPipeline', metricName: 'ImagesClassified', dimensionsMap: { Pipeline: pipelineDimension, Label: label },
    }));
    expect([labelMetric('motorcycle'), labelMetric('bus'), labelMetric('bicycle')]).toEqual([1, 2, 1]);
    // ModelLatency: one value per classified image, from the result the execution returned.
    const latency = emfValues(lines, pipeline.metricModelLatency());
    expect(latency).toHaveLength(4);
    for (const ms of latency) expect(ms).toBeGreaterThanOrEqual(0);
    // At the functions' default level (INFO, as Lambda's log-level filter passes it) each image costs one line: the
    // dispatch function's EMF record. The classify function writes only its errors (here the one unreadable image).
    expect(lines.filter((l) => !l._aws)).toEqual([]);
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.ClassificationErrors)).toEqual([expect.objectContaining({ ErrorName: 'UnsupportedImageFormat', ClassificationErrors: 1 })]);
  });

  test('Rekognition: outcomes, alerts and labels all from the dispatch function (no function sees the result)', async () => {
    // Car, Motorcycle, Truck, Person (Person is outside the label filter)
    const answers = new Map<string, number[]>([
      [sha(imageFor(1)), [0.01, 0.97, 0.01, 0.99]],
      [sha(imageFor(2)), [0.91, 0.02, 0.55, 0]],
      [sha(imageFor(3)), [0.62, 0.02, 0.1, 0]],
    ]);
    const props: ImageClassificationPipelineProps = {
      classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Motorcycle', 'Truck'], minConfidence: 50 }),
      flaggedLabels: ['Motorcycle'],
    };
    const { pipeline, template, runs, lines } = await runCapturing(props, {
      rekognition: {
        detectLabels: { labels: ['Car', 'Motorcycle', 'Truck', 'Person'], model: functionModel((bytes) => answers.get(sha(bytes)) ?? [0.9, 0, 0, 0]) },
      },
    }, [['a.jpg', imageFor(1)], ['b.jpg', imageFor(2)], ['c.jpg', imageFor(3)], ['d.gif', images.gif]]);

    expect(stateMachineLevel(template)).toEqual(['ERROR']);
    expect(runs.every((r) => r.lambdaInvocations === 0)).toBe(true);
    expect(countOutcomes(runs)).toEqual({ FLAGGED: 1, ACCEPTED: 1, LOW_CONFIDENCE: 1, ERROR: 1 });
    for (const outcome of Object.values(Outcome)) expect(emfSum(lines, pipeline.metricOutcome(outcome))).toBe(countOutcomes(runs)[outcome]);
    expect(emfSum(lines, pipeline.metricAlertsPublished())).toBe(3);
    const pipelineDimension = lines.find((l) => l._aws && l.Pipeline)?.Pipeline;
    const metric = (metricName: string, extra: Record<string, string>) => emfSum(lines, new cloudwatch.Metric({
      namespace: 'ImageClassificationPipeline', metricName, dimensionsMap: { Pipeline: pipelineDimension, ...extra },
    }));
    // The LOW_CONFIDENCE image failed its execution; its label still counts, from the result in the failure's cause.
    expect([metric('ImagesClassified', { Label: 'Motorcycle' }), metric('ImagesClassified', { Label: 'Car' })]).toEqual([1, 2]);
    const error = runs.find((r) => r.result?.outcome === 'ERROR')!.result.error.name;
    expect(metric('ClassificationErrors', { ErrorName: error })).toBe(1);
  });
});
