/* eslint-disable import/no-extraneous-dependencies */
import '../lib/quiet';
import '../../local/src/polyfills';
import * as dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import * as os from 'node:os';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectCreatedEvent } from '../../local/src/event-pattern';
import { functionModel } from '../../local/src/models/function-model';
import { LocalExecution, LocalPipeline } from '../../local/src/runner';
import type { CfnTemplate } from '../../local/src/template-resolver';
import { CIRCUIT_ITEM_ID } from '../../src/handlers/circuit-breaker';
import type { BurstCase, BurstCaseResult, EffectCounts } from '../figures/bursts';
import { pngOfSize } from '../lib/images';
import { round } from '../lib/stats';
import { takeLambdaCalls } from '../lib/timed-handlers';

/**
 * Runs bursts, outages and duplicate deliveries through the local runner, one case per IPC message, in a process of
 * its own (bench/figures/bursts.ts keeps two of these busy). Every case gets a fresh LocalPipeline of the template the
 * parent synthesized, with the timing-wrapped bundles (bench/lib/timed-handlers.ts) in `handlersDir`.
 */

const hostOf = (url: string): string => new URL(url).host;

/** Every image is FLAGGED, so each upload has exactly one alert, one audit record, one result event and one tag write. */
const FLAGGED = [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025];
const IMAGE = pngOfSize(2_000, 11).bytes;
const CLASSIFIED = ['ACCEPTED', 'FLAGGED', 'LOW_CONFIDENCE'];

interface Upload {
  readonly key: string;
  readonly event: Record<string, unknown>;
}

/** Per upload key: how many of each effect the pipeline had. */
function effectsByKey(local: LocalPipeline, keys: Set<string>): Record<keyof EffectCounts, Map<string, number>> {
  const count = (items: Array<string | undefined>) => {
    const m = new Map<string, number>();
    for (const k of items) if (k !== undefined && keys.has(k)) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const json = (text: string): any => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  return {
    alerts: count(local.sns.messages.map((a) => json(a.message)?.key)),
    // Records put into the delivery stream (the default) and records written one object per image.
    auditRecords: count([...local.firehoseRecords, ...local.objectWrites.filter((w) => w.key.startsWith('results/'))].map((w) => json(w.body)?.key)),
    resultEvents: count(local.events.map((e) => (typeof e.detail === 'string' ? json(e.detail) : e.detail)?.key)),
    tagWrites: count(local.executions.filter((e) => e.states.includes('TagObject')).map((e) => (e.input as any)?.key)),
  };
}

async function storeObjects(local: LocalPipeline, keys: string[]): Promise<Upload[]> {
  const client = local.s3.client();
  const out: Upload[] = new Array(keys.length);
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const i = next++;
      const put = await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: keys[i], Body: IMAGE }));
      out[i] = { key: keys[i], event: objectCreatedEvent(local.bucketName, keys[i], IMAGE.length, (put.ETag ?? '').replace(/"/g, ''), { versionId: put.VersionId }) };
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  client.destroy();
  return out;
}

async function runCase(c: BurstCase, template: CfnTemplate, handlersDir: string): Promise<BurstCaseResult> {
  const setup0 = performance.now();
  const local = await LocalPipeline.start({
    template,
    handlersDir,
    models: { vehicles: functionModel(() => FLAGGED) },
    timeScale: c.timeScale,
    capacity: { vehicles: { concurrency: c.concurrency, latencyMs: c.latencyMs } },
  });
  try {
    // Loads the bundles (one upload, not counted) so that the burst does not include their compilation.
    await local.upload('warm/0.png', IMAGE);
    const keys = Array.from({ length: c.uploads }, (_, i) => `cams/${c.id}/${String(i).padStart(4, '0')}.png`);
    const uploads = await storeObjects(local, keys);
    const keySet = new Set(keys);
    const setupMs = performance.now() - setup0;

    // When each upload's object is first read (its classify function's GetObject): when the burst reached the pipeline.
    const s3Host = hostOf(local.s3.url);
    const firstRead = new Map<string, number>();
    const onRequest = (message: unknown) => {
      const request = (message as { request: ClientRequest }).request;
      if (request.method !== 'GET' || String(request.getHeader('host')) !== s3Host) return;
      const [p, q = ''] = request.path.split('?');
      if (/(^|&)tagging/.test(q)) return;
      const key = decodeURIComponent(p.split('/').slice(2).join('/'));
      if (keySet.has(key) && !firstRead.has(key)) firstRead.set(key, local.clock.now());
    };
    dc.subscribe('http.client.request.start', onRequest);

    const executionsBefore = local.executions.length;
    const invocationsBefore = local.sagemaker.invocations.length;
    const dispatchBefore = local.queued?.mapping.invocations ?? 0;
    const load = os.loadavg()[0];
    takeLambdaCalls();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const real0 = performance.now();
    const t0 = local.clock.now();
    const ends: number[] = [];
    const deliver = (u: Upload): Promise<LocalExecution> => local.putEvent(u.event).then((run) => {
      ends.push(local.clock.now());
      return run;
    });

    let runs: Array<{ upload: Upload; run: LocalExecution; delivery: number }> = [];
    let recoveredAt: number | undefined;
    if (c.kind === 'burst') {
      runs = await Promise.all(uploads.map(async (upload) => ({ upload, run: await deliver(upload), delivery: 1 })));
    } else if (c.kind === 'outage') {
      local.sagemaker.setDown('vehicles', true);
      const recovery = local.clock.sleep(c.outageMs!).then(() => {
        local.sagemaker.setDown('vehicles', false);
        recoveredAt = local.clock.now();
      });
      const spacing = c.outageMs! / c.uploads;
      const pending: Array<Promise<{ upload: Upload; run: LocalExecution; delivery: number }>> = [];
      for (const [i, upload] of uploads.entries()) {
        // Uploads keep arriving through the outage, one every `spacing` simulated ms.
        const due = t0 + i * spacing;
        if (due > local.clock.now()) await local.clock.sleep(due - local.clock.now());
        pending.push(deliver(upload).then((run) => ({ upload, run, delivery: 1 })));
      }
      await recovery;
      runs = await Promise.all(pending);
    } else {
      // Each event twice at once (every first copy, then every second copy), then once more after those are done.
      const round1 = [...uploads.map((u) => [u, 1] as const), ...uploads.map((u) => [u, 2] as const)];
      runs = await Promise.all(round1.map(async ([upload, delivery]) => ({ upload, run: await deliver(upload), delivery })));
      for (let d = 3; d <= c.deliveries!; d++) {
        runs.push(...await Promise.all(uploads.map(async (upload) => ({ upload, run: await deliver(upload), delivery: d }))));
      }
    }
    const t1 = Math.max(...ends);
    const realMs = performance.now() - real0;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const calls = takeLambdaCalls();
    dc.unsubscribe('http.client.request.start', onRequest);

    // Outcome per upload: its (last) delivery that ran an execution.
    const byKey = new Map<string, LocalExecution[]>();
    for (const r of runs) byKey.set(r.upload.key, [...byKey.get(r.upload.key) ?? [], r.run]);
    const outcomes: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const unfinished: Record<string, number> = {};
    const deliveries: Record<string, number> = {};
    let attemptsMax = 0;
    let attemptsTotal = 0;
    const deliveryErrors: Record<string, number> = {};
    for (const r of runs) {
      deliveries[r.run.status] = (deliveries[r.run.status] ?? 0) + 1;
      if (r.run.error) deliveryErrors[r.run.error] = (deliveryErrors[r.run.error] ?? 0) + 1;
    }
    for (const key of keys) {
      const executed = (byKey.get(key) ?? []).filter((r) => r.status !== 'DEDUPLICATED');
      const final = executed[executed.length - 1];
      const outcome: string = final?.result?.outcome ?? final?.status ?? 'NO_EXECUTION';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (outcome === 'ERROR') {
        errors[final.error ?? 'unknown'] = (errors[final.error ?? 'unknown'] ?? 0) + 1;
      } else if (!CLASSIFIED.includes(outcome)) {
        // No execution at all, or the last one was deferred (no effects) and nothing followed: the upload left the
        // pipeline unclassified and without an ERROR record.
        const why = !final ? 'no execution' : final.error === 'ClassificationDeferred' ? 'deferred, then gone' : `${final.status} ${final.error ?? ''}`.trim();
        unfinished[why] = (unfinished[why] ?? 0) + 1;
      }
      const attempts = (byKey.get(key) ?? []).reduce((n, r) => n + (r.attempts?.length ?? 1), 0);
      attemptsMax = Math.max(attemptsMax, attempts);
      attemptsTotal += attempts;
    }
    const effects = effectsByKey(local, keySet);
    // The breaker's item in the idempotency table: its counters of openings and probes over the case.
    const breakerItem: any = local.queued
      ? (await local.queued.dynamodb.scan(local.queued.topology.tables[0].id)).find((i: any) => i.id === CIRCUIT_ITEM_ID)
      : undefined;
    const duplicates = (m: Map<string, number>) => [...m.values()].reduce((n, v) => n + Math.max(0, v - 1), 0);
    const missing = (m: Map<string, number>) => keys.filter((k) => !m.has(k)).length;
    const total = (m: Map<string, number>) => [...m.values()].reduce((n, v) => n + v, 0);
    const invocations = local.sagemaker.invocations.slice(invocationsBefore);
    const byStatus = (pred: (i: { status: number; errorType?: string }) => boolean) => invocations.filter(pred).length;
    const reads = [...firstRead.values()];
    const idealMs = c.kind === 'burst' ? (c.uploads * c.latencyMs) / c.concurrency : undefined;
    const drainMs = t1 - t0;
    // Queued: the lanes are the mapping's `concurrency` pollers, each running one dispatch invocation at a time, which
    // classifies its batch one image after another. Busy lane time = Σ dispatch invocations (simulated); what a lane
    // spends per image beyond the endpoint's latency is the per-image work (locally: the runner's CPU, slowed by 1/s).
    const dispatch = calls.filter((x) => x.fn === 'dispatch');
    const laneBusyMs = dispatch.reduce((n, x) => n + x.ms, 0) / c.timeScale;
    const records = dispatch.reduce((n, x) => n + (x.records ?? 0), 0);
    const accepted = local.sagemaker.invocations.slice(invocationsBefore).filter((i) => i.status === 200).length;
    const perImageWorkMs = records ? (laneBusyMs - accepted * c.latencyMs) / records : 0;
    const laneIdleMs = c.concurrency * drainMs - laneBusyMs;
    return {
      ...c,
      classified: Object.entries(outcomes).filter(([o]) => CLASSIFIED.includes(o)).reduce((n, [, v]) => n + v, 0),
      outcomes,
      errors,
      unfinished,
      deliveryStatuses: deliveries,
      deliveryErrors,
      duplicateEffects: {
        alerts: duplicates(effects.alerts),
        auditRecords: duplicates(effects.auditRecords),
        resultEvents: duplicates(effects.resultEvents),
        tagWrites: duplicates(effects.tagWrites),
      },
      effects: {
        alerts: total(effects.alerts),
        auditRecords: total(effects.auditRecords),
        resultEvents: total(effects.resultEvents),
        tagWrites: total(effects.tagWrites),
      },
      uploadsWithoutAuditRecord: missing(effects.auditRecords),
      executions: local.executions.length - executionsBefore,
      attemptsPerUpload: { max: attemptsMax, mean: round(attemptsTotal / keys.length, 2) },
      endpoint: {
        highestInFlight: local.sagemaker.highestInFlight.vehicles ?? 0,
        requests: invocations.length,
        accepted: byStatus((i) => i.status === 200),
        throttled: byStatus((i) => i.errorType === 'ThrottlingException'),
        unavailable: byStatus((i) => i.errorType === 'ServiceUnavailable'),
      },
      dispatchInvocations: local.queued ? local.queued.mapping.invocations - dispatchBefore : undefined,
      deadLettered: local.queued?.deadLetterQueue.messages().length,
      circuitBreaker: local.queued ? { opened: Number(breakerItem?.opened ?? 0), probes: Number(breakerItem?.probes ?? 0) } : undefined,
      drainMs: round(drainMs, 0),
      idealMs,
      ratio: idealMs ? round(drainMs / idealMs, 3) : undefined,
      recoveryToDrainedMs: recoveredAt !== undefined ? round(t1 - recoveredAt, 0) : undefined,
      lastFirstReadMs: reads.length ? round(Math.max(...reads) - t0, 0) : undefined,
      runner: {
        realMs: round(realMs, 0),
        busyMs: round(elu.active, 0),
        eventLoopUtilization: round(elu.utilization, 3),
        cpuMs: round((cpu.user + cpu.system) / 1000, 0),
        busyMsPerImage: round(elu.active / c.uploads, 1),
        loadAverage: round(load, 2),
        setupMs: round(setupMs, 0),
      },
      ...(c.mode === 'queued' && dispatch.length > 0 && {
        lanes: {
          dispatchRecords: records,
          busyMs: round(laneBusyMs, 0),
          idleMs: round(laneIdleMs, 0),
          perImageWorkSimMs: round(perImageWorkMs, 0),
          perImageWorkRealMs: round(perImageWorkMs * c.timeScale, 1),
          ...(idealMs && { netRatio: round(1 + laneIdleMs / (c.concurrency * idealMs), 3) }),
        },
      }),
    };
  } finally {
    await local.close();
  }
}

process.on('message', (msg: { case?: BurstCase; template?: CfnTemplate; handlersDir?: string; exit?: boolean }) => {
  if (msg.exit) process.exit(0);
  runCase(msg.case!, msg.template!, msg.handlersDir!).then(
    (result) => process.send!({ result }),
    (err: Error) => process.send!({ error: `${err.name}: ${err.message}\n${err.stack ?? ''}` }),
  );
});
