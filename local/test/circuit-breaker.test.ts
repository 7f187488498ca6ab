import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion, QueuedIngestionOptions } from 'cdk-image-classification-pipeline';
import { CIRCUIT_ITEM_ID } from 'cdk-image-classification-pipeline/lib/handlers/circuit-breaker';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { objectCreatedEvent } from '../src/event-pattern';
import { LocalExecution } from '../src/execution';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];
const MINUTE = 60_000;

function synth(options: QueuedIngestionOptions = {}, props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.queued(options), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** EMF lines the handlers write (stdout on Lambda), captured through the kit's metrics sink. */
type Emf = Record<string, any>;

async function withPipeline(
  options: QueuedIngestionOptions, body: (local: LocalPipeline, emf: Emf[]) => Promise<void>, props: Partial<ImageClassificationPipelineProps> = {},
): Promise<void> {
  const emf: Emf[] = [];
  const local = await LocalPipeline.start({
    template: synth(options, props),
    rekognition: { detectLabels: { labels: ['Car', 'Motorcycle', 'Truck'], model: functionModel(() => [0.02, 0.96, 0.02]) } },
    models: { vehicles: functionModel(() => FLAGGED) },
    // 30 s of AWS time take 1.5 s: probes, holds, backoff and visibility run on AWS's schedule, and the runner's own
    // CPU per image (tens of real ms) stays small against the endpoint's simulated second.
    timeScale: 0.05,
    capacity: { vehicles: { concurrency: 10, latencyMs: 1000 } },
    metricsSink: (line) => emf.push(JSON.parse(line)),
  });
  try {
    await body(local, emf);
    // Every call the breaker added (its reads, leases and writes) passes the dispatch role's policy.
    expect(local.denials).toEqual([]);
  } finally {
    await local.close();
  }
}

/** The breaker's item, as the dispatch function stores it in the idempotency table. */
async function breaker(local: LocalPipeline): Promise<Record<string, any> | undefined> {
  const items = await local.queued!.dynamodb.scan(local.queued!.topology.tables[0].id);
  return items.find((i: any) => i.id === CIRCUIT_ITEM_ID);
}

/** Uploads `n` images, one every `spacingMs` simulated ms; each resolves with its delivery's run and when it ended. */
async function uploadsOverTime(local: LocalPipeline, prefix: string, n: number, spacingMs: number) {
  const pending: Array<Promise<{ run: LocalExecution; endedAt: number }>> = [];
  for (let i = 0; i < n; i++) {
    pending.push(local.upload(`${prefix}${i}.jpg`, images.jpeg).then((run) => ({ run, endedAt: local.clock.now() })));
    await local.clock.sleep(spacingMs);
  }
  return pending;
}

const unavailable = (local: LocalPipeline, from = 0) => local.sagemaker.invocations.slice(from).filter((i) => i.status === 503).length;
const metricValues = (emf: Emf[], name: string) => emf.filter((m) => typeof m[name] === 'number').map((m) => m[name]);

// Outages of simulated minutes on two cores: give them room beyond jest's default.
jest.setTimeout(240_000);

describe('the ingest circuit breaker, run locally as synthesized', () => {
  test('an outage opens it: uploads wait without executions, probes test the endpoint, and the backlog drains within a minute of recovery', async () => {
    await withPipeline({}, async (local, emf) => {
      local.sagemaker.setDown('vehicles', true);
      const pending = await uploadsOverTime(local, 'cams/outage-', 12, 20_000);
      expect((await breaker(local))?.state).toBe('open');
      const executionsWhileOpen = local.executions.length;
      await local.clock.sleep(3 * MINUTE);
      // Held uploads ran no execution besides the probes (one per 20 s interval).
      const probes = local.executions.slice(executionsWhileOpen).filter((e) => (e.input as any).probe === true).length;
      expect(local.executions.length - executionsWhileOpen).toBe(probes);
      expect(probes).toBeGreaterThanOrEqual(6);
      expect(probes).toBeLessThanOrEqual(10);

      local.sagemaker.setDown('vehicles', false);
      const recoveredAt = local.clock.now();
      const runs = await Promise.all(pending);
      // Every upload has one alert and one audit record: held and probed attempts had no effects.
      expect(runs.every((r) => r.run.alerts.length === 1 && r.run.auditRecords.length === 1)).toBe(true);
      expect(local.sns.messages).toHaveLength(12);
      // Drained within a probe interval and the holders' next read of the breaker after the recovery.
      expect(Math.max(...runs.map((r) => r.endedAt)) - recoveredAt).toBeLessThanOrEqual(60_000);
      // A handful of failing executions opened it (3 attempts of one call each), then one call per probe.
      const allProbes = local.executions.filter((e) => (e.input as any).probe === true).length;
      expect(unavailable(local)).toBeLessThanOrEqual(5 * 3 + allProbes);
      // Executions: one per upload, the probes, and the few that opened it.
      expect(local.executions.length).toBeLessThanOrEqual(12 + allProbes + 5);
      expect(local.queued!.deadLetterQueue.messages()).toEqual([]);
      expect((await breaker(local))?.state).toBe('closed');
      // Its state for the dashboard and the alarm: open (at opening and each failed probe), then closed.
      const open = metricValues(emf, 'CircuitBreakerOpen');
      expect(open[0]).toBe(1);
      expect(open[open.length - 1]).toBe(0);
      expect(metricValues(emf, 'CircuitBreakerProbes').length).toBe(allProbes);
    });
  });

  test('one image failing again and again does not open it, nor does an image that fails for its own reasons', async () => {
    await withPipeline({}, async (local) => {
      // The next 15 endpoint calls fail 503: one image's attempts (5 calls each, the workflow's retries), again and again.
      local.sagemaker.failNext('vehicles', 15, 503);
      const flaky = await local.upload('cams/flaky.jpg', images.jpeg);
      expect(flaky.result?.outcome).toBe('FLAGGED');
      const errors = flaky.attempts!.map((a) => a.error ?? 'ok');
      expect(errors.length).toBeGreaterThanOrEqual(3);
      expect(errors).toEqual([...Array(errors.length - 1).fill('ClassificationDeferred'), 'ok']);
      // Its failures counted once (the same upload), and its success cleared them.
      expect((await breaker(local))?.state ?? 'closed').toBe('closed');
      expect((await breaker(local))?.failing).toBeUndefined();

      const bad = await Promise.all(['a', 'b', 'c', 'd'].map((k) => local.upload(`cams/not-an-image-${k}.jpg`, 'hello')));
      expect(bad.map((r) => r.error)).toEqual(Array(4).fill('UnsupportedImageFormat'));
      const good = await local.upload('cams/good.jpg', images.jpeg);
      expect(good.attempts).toHaveLength(1);
      expect((await breaker(local))?.state ?? 'closed').toBe('closed');
    });
  });

  test('a flapping endpoint: it opens and closes with the outages, and every upload has exactly one set of effects', async () => {
    await withPipeline({}, async (local) => {
      const flapping = (async () => {
        for (const [down, ms] of [[true, 2 * MINUTE], [false, MINUTE], [true, 2 * MINUTE], [false, 0]] as const) {
          local.sagemaker.setDown('vehicles', down);
          await local.clock.sleep(ms);
        }
      })();
      const pending = await uploadsOverTime(local, 'cams/flap-', 12, 25_000);
      await flapping;
      const runs = await Promise.all(pending);
      expect(runs.map((r) => r.run.result?.outcome)).toEqual(Array(12).fill('FLAGGED'));
      expect(local.sns.messages).toHaveLength(12);
      expect((await local.readAuditTrail()).length).toBe(12);
      expect(local.queued!.deadLetterQueue.messages()).toEqual([]);
      expect((await breaker(local))?.opened).toBeGreaterThanOrEqual(2);
      expect((await breaker(local))?.state).toBe('closed');
    });
  });

  test('a redelivered event while it is open waits like the others, and runs no second set of effects', async () => {
    await withPipeline({}, async (local) => {
      local.sagemaker.setDown('vehicles', true);
      const openers = ['1', '2', '3'].map((k) => local.upload(`cams/opener-${k}.jpg`, images.jpeg));
      const put = await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'cams/twice.jpg', Body: images.jpeg }));
      const event = objectCreatedEvent(local.bucketName, 'cams/twice.jpg', images.jpeg.length, 'etag', { versionId: put.VersionId });
      const first = local.putEvent(event);
      while ((await breaker(local))?.state !== 'open') await local.clock.sleep(10_000);
      const second = local.putEvent(event);
      await local.clock.sleep(2 * MINUTE);
      local.sagemaker.setDown('vehicles', false);
      const runs = await Promise.all([first, second]);
      expect(runs.map((r) => r.status).sort()).toEqual(['DEDUPLICATED', 'SUCCEEDED']);
      expect(runs.flatMap((r) => r.alerts)).toHaveLength(1);
      expect(runs.flatMap((r) => r.auditRecords)).toHaveLength(1);
      expect((await Promise.all(openers)).map((r) => r.result?.outcome)).toEqual(Array(3).fill('FLAGGED'));
    });
  });

  test('the same for Rekognition: throttling across images opens it, each probe calls DetectLabels once, and it closes', async () => {
    const rekognition = { classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Motorcycle', 'Truck'], minConfidence: 50 }), classLabels: undefined, flaggedLabels: ['Motorcycle'] };
    await withPipeline({}, async (local) => {
      // Rekognition throttles the next 24 requests (beyond the account's TPS), then answers again.
      local.rekognition.failNext(24, 'ThrottlingException');
      const pending = await uploadsOverTime(local, 'uploads/throttled-', 6, 20_000);
      const runs = await Promise.all(pending);
      expect(runs.map((r) => r.run.result?.outcome)).toEqual(Array(6).fill('FLAGGED'));
      expect((await breaker(local))).toMatchObject({ state: 'closed', opened: 1 });
      const probes = local.executions.filter((e) => (e.input as any).probe === true);
      expect(probes.length).toBeGreaterThanOrEqual(1);
      // A probe's execution classifies with the single-attempt state; the others with the retried one.
      expect(probes.every((e) => e.states.includes('ClassifyProbe') && !e.states.includes('Classify'))).toBe(true);
      // Every request beyond the 24 throttled ones classified an image: none was wasted.
      expect(local.rekognition.requests.filter((r) => !r.errorType)).toHaveLength(6);
      expect(local.rekognition.requests).toHaveLength(30);
    }, rekognition);
  });

  test('its state survives a cold start: a new environment reads it and holds until the probe', async () => {
    await withPipeline({}, async (local) => {
      // An open breaker from an earlier environment (the item is all that survives), next probe in 30 s.
      const now = local.clock.now();
      const probeAt = now + 30_000;
      await local.queued!.dynamodb.client().send(new PutItemCommand({
        TableName: local.queued!.topology.tables[0].id,
        Item: { id: { S: CIRCUIT_ITEM_ID }, state: { S: 'open' }, openedAt: { N: String(now) }, nextProbeAt: { N: String(probeAt) } },
      }));
      const coldStarts = local.coldStarts[local.queued!.topology.functionId] ?? 0;
      const run = await local.upload('cams/after-restart.jpg', images.jpeg);
      expect(local.coldStarts[local.queued!.topology.functionId]).toBe(coldStarts + 1);
      // No execution before the probe was due; the probe classified it and closed the breaker.
      expect(run.attempts).toHaveLength(1);
      expect(run.input).toMatchObject({ probe: true });
      expect(run.result?.outcome).toBe('FLAGGED');
      expect(local.sagemaker.invocations.length).toBe(1);
      expect(local.clock.now()).toBeGreaterThanOrEqual(probeAt);
      expect((await breaker(local))?.state).toBe('closed');
    });
  });
});
