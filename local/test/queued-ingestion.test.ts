import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { objectCreatedEvent } from '../src/event-pattern';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline, LocalPipelineOptions } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];

function synth(props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

async function withPipeline(
  props: Partial<ImageClassificationPipelineProps>,
  opts: Partial<LocalPipelineOptions>,
  body: (local: LocalPipeline) => Promise<void>,
): Promise<void> {
  const local = await LocalPipeline.start({
    template: synth(props),
    models: { vehicles: functionModel(() => FLAGGED) },
    // 30 s of AWS time take 300 ms: backoff, visibility timeouts and retry intervals run on AWS's schedule.
    timeScale: 0.01,
    ...opts,
  });
  try {
    await body(local);
  } finally {
    await local.close();
  }
}

const keys = (n: number, prefix = 'cams/burst-') => Array.from({ length: n }, (_, i) => `${prefix}${i}.jpg`);
const outcomes = (runs: Array<{ result?: any }>) => runs.reduce<Record<string, number>>((acc, r) => {
  const o = r.result?.outcome ?? 'NONE';
  acc[o] = (acc[o] ?? 0) + 1;
  return acc;
}, {});

// Bursts and outages run hundreds of executions on two cores: give them room beyond jest's default.
jest.setTimeout(240_000);

describe('queued ingestion, run locally as synthesized', () => {
  test('300 uploads at once against an endpoint serving 2: all classified, never more than 2 in flight', async () => {
    const capacity = { vehicles: { concurrency: 2, latencyMs: 200 } };
    await withPipeline({ ingestion: Ingestion.queued({ maxConcurrency: 2 }) }, { capacity }, async (local) => {
      const runs = await Promise.all(keys(300).map((k) => local.upload(k, images.jpeg)));
      expect(outcomes(runs)).toEqual({ FLAGGED: 300 });
      expect(local.sagemaker.highestInFlight.vehicles).toBeLessThanOrEqual(2);
      expect(local.sagemaker.invocations.filter((i) => i.status !== 200)).toEqual([]);
      // One audit record per upload, in the audit bucket as users read it (the delivery stream's GZIP objects).
      expect((await local.readAuditTrail()).map((r) => r.key).sort()).toEqual(keys(300).sort());
      expect(local.executions).toHaveLength(300);
    });
  });

  test('the endpoint down for simulated minutes, then back, without the circuit breaker: every upload backs off on its own, classified, none ERROR', async () => {
    // The breaker's own outage tests are in circuit-breaker.test.ts; this is the path with it off.
    await withPipeline({ ingestion: Ingestion.queued({ circuitBreaker: { enabled: false } }) }, {}, async (local) => {
      local.sagemaker.setDown('vehicles', true);
      const pending = Promise.all(keys(10, 'cams/outage-').map((k) => local.upload(k, images.jpeg)));
      // Down for at least 10 simulated minutes, and until every upload has been deferred at least once (how long the
      // first attempts take in real time depends on the machine: cold starts and CPU do not scale).
      const deferredKeys = () => new Set(local.executions.filter((e) => e.error === 'ClassificationDeferred').map((e) => (e.input as any).key));
      await local.clock.sleep(10 * 60_000);
      while (deferredKeys().size < 10) await local.clock.sleep(60_000);
      const deferredSoFar = local.executions.filter((e) => e.error === 'ClassificationDeferred').length;
      local.sagemaker.setDown('vehicles', false);
      const runs = await pending;
      expect(outcomes(runs)).toEqual({ FLAGGED: 10 });
      expect(deferredSoFar).toBeGreaterThanOrEqual(10);
      // Deferred attempts had no effect: one alert and one audit record per upload.
      expect(runs.every((r) => r.alerts.length === 1 && r.auditRecords.length === 1 && r.attempts!.length > 1)).toBe(true);
      expect(local.sns.messages).toHaveLength(10);
    });
  });

  test('the endpoint down for good: each upload ends ERROR exactly once, on its last receive', async () => {
    // The circuit breaker opens and holds the uploads (each held receive spends one of the three): the last receive runs.
    await withPipeline({ ingestion: Ingestion.queued({ maxReceiveCount: 3 }) }, {}, async (local) => {
      local.sagemaker.setDown('vehicles', true);
      const runs = await Promise.all(keys(4, 'cams/down-').map((k) => local.upload(k, images.jpeg)));
      for (const run of runs) {
        expect(run).toMatchObject({ status: 'FAILED', error: 'EndpointUnavailable', result: { outcome: 'ERROR' } });
        const errors = run.attempts!.map((a) => a.error);
        expect(errors[errors.length - 1]).toBe('EndpointUnavailable');
        expect(errors.slice(0, -1).every((e) => e === 'ClassificationDeferred')).toBe(true);
        expect(run.alerts).toHaveLength(1);
        expect(run.auditRecords).toHaveLength(1);
      }
      expect(local.queued!.deadLetterQueue.messages()).toEqual([]);
    });
  });

  test('one upload event delivered 3 times: 1 alert, 1 audit record, 1 result event, 1 tag write', async () => {
    // The handlers' EMF lines (stdout on Lambda) are read back to check what the dashboard would count.
    const emf: any[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      for (const line of String(chunk).split('\n')) if (line.includes('"_aws"')) emf.push(JSON.parse(line));
      return true;
    });
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    try {
      await deliverThreeTimes();
    } finally {
      delete process.env.POWERTOOLS_METRICS_DISABLED;
      write.mockRestore();
    }
    const sum = (name: string) => emf.reduce((n, m) => n + (typeof m[name] === 'number' ? 1 : Array.isArray(m[name]) ? m[name].length : 0), 0);
    // One dispatch counted (attempts, latency); the two redeliveries only as suppressed duplicates.
    expect(sum('DispatchAttempts')).toBe(1);
    expect(sum('EndToEndLatency')).toBe(1);
    expect(emf.reduce((n, m) => n + (m.DuplicatesSuppressed ?? 0), 0)).toBe(2);
  });

  async function deliverThreeTimes(): Promise<void> {
    await withPipeline({}, {}, async (local) => {
      const put = await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'cams/dup.jpg', Body: images.jpeg }));
      const event = objectCreatedEvent(local.bucketName, 'cams/dup.jpg', images.jpeg.length, 'etag', { versionId: put.VersionId });
      // Two copies at once (one finds the other in progress and waits), one after.
      const first = await Promise.all([local.putEvent(event), local.putEvent(event)]);
      const third = await local.putEvent(event);
      const runs = [...first, third];
      expect(runs.map((r) => r.status).sort()).toEqual(['DEDUPLICATED', 'DEDUPLICATED', 'SUCCEEDED']);
      expect(runs.flatMap((r) => r.alerts)).toHaveLength(1);
      expect(runs.flatMap((r) => r.auditRecords)).toHaveLength(1);
      expect(local.events).toHaveLength(1);
      expect(local.executions.filter((e) => e.states.includes('TagObject'))).toHaveLength(1);
      // One idempotency record, COMPLETED with the execution's end.
      const records = await local.queued!.dynamodb.scan(local.queued!.topology.tables[0].id);
      expect(records).toEqual([expect.objectContaining({ status: 'COMPLETED' })]);
    });
  }

  test('concurrent batches each run in their own execution environment: no delivery is lost or mis-reported', async () => {
    // Regression: one shared module instance let concurrent batches overwrite each other's partial batch responses.
    const capacity = { vehicles: { concurrency: 1000, latencyMs: 1000 } };
    await withPipeline({}, { capacity, timeScale: 0.05 }, async (local) => {
      const events = await Promise.all(keys(30, 'cams/pair-').map(async (key) => {
        const put = await local.s3.client().send(new PutObjectCommand({ Bucket: local.bucketName, Key: key, Body: images.jpeg }));
        return objectCreatedEvent(local.bucketName, key, images.jpeg.length, 'etag', { versionId: put.VersionId });
      }));
      const runs = await Promise.all(events.flatMap((e) => [local.putEvent(e), local.putEvent(e)]));
      expect(runs.filter((r) => r.status === 'SUCCEEDED')).toHaveLength(30);
      expect(runs.filter((r) => r.status === 'DEDUPLICATED')).toHaveLength(30);
      expect(local.executions).toHaveLength(30);
      expect(local.sns.messages).toHaveLength(30);
      // Batches overlapped, and no two overlapping invocations shared an environment (module state).
      const overlapping = local.queued!.mapping.maxConcurrentInvocations;
      expect(overlapping).toBeGreaterThan(1);
      expect(local.coldStarts[local.queued!.topology.functionId]).toBeGreaterThanOrEqual(overlapping);
    });
  });

  test('the same key uploaded again (a new version) is classified again', async () => {
    await withPipeline({}, {}, async (local) => {
      const first = await local.upload('cams/again.jpg', images.jpeg);
      const second = await local.upload('cams/again.jpg', images.jpeg);
      expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      // A new version (versioned bucket) or at least a new sequencer: a new upload, not a redelivery.
      expect((second.input as any).object.sequencer).not.toEqual((first.input as any).object.sequencer);
      expect(local.executions).toHaveLength(2);
    });
  });

  test('a permanent failure ends ERROR at once, without waiting in the queue', async () => {
    await withPipeline({}, {}, async (local) => {
      const run = await local.upload('cams/not-an-image.jpg', 'hello');
      expect(run).toMatchObject({ status: 'FAILED', error: 'UnsupportedImageFormat' });
      expect(run.attempts).toHaveLength(1);
      expect(run.alerts).toHaveLength(1);
    });
  });
});
