import { PRICES } from './prices';
import { fmt } from './stats';
import { BurstCaseResult, BurstFigures, recoveryText } from '../figures/bursts';
import type { HandlerFigures } from '../figures/cold-start';
import type { CostScenarioResult, QueuedAddedCost } from '../figures/cost';
import type { SizeLimitResult } from '../figures/size-limit';
import type { SynthResult } from '../figures/synth';
import type { ThroughputFigures } from '../figures/throughput';

export interface BenchResults {
  readonly meta: {
    readonly date: string;
    readonly commit: string;
    readonly node: string;
    readonly cpu: string;
    readonly cores: number;
    readonly wallSeconds: number;
    readonly workload: string;
  };
  readonly prices: typeof PRICES;
  readonly cost: CostScenarioResult[];
  /** What queued ingestion adds to the direct path (from the two Express rows). */
  readonly queuedAddedCost?: QueuedAddedCost;
  readonly sizeLimits: SizeLimitResult[];
  readonly handlers: HandlerFigures;
  readonly synth: SynthResult[];
  readonly throughput: ThroughputFigures;
  readonly bursts: BurstFigures;
}

const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const n = (v: number, d = 0) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const kib = (b: number) => `${n(b / 1024, 1)} KiB`;
const usd = (v: number) => `$${n(v, 2)}`;

export function costTable(cost: CostScenarioResult[]): string {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return table(
    ['path', 'Standard transitions', 'Express requests', 'Lambda invocations', 'Lambda GB-s', 'SNS', 'EventBridge', 'S3 requests',
      'SQS requests', 'DynamoDB WRU / RRU', 'log KiB', 'USD / 1M images, all-in'],
    cost.map((c) => [
      c.label,
      n(c.work.standardTransitions, 2),
      n(c.work.expressRequests, 2),
      n(c.work.lambdaInvocations, 2),
      n(c.work.lambdaGbSeconds, 4),
      n(c.work.snsPublishes, 2),
      n(c.work.eventBridgeEvents, 2),
      n(sum(c.work.s3Requests), 2),
      n(sum(c.work.sqsRequests), 2),
      `${n(c.work.dynamoDbWriteUnits, 2)} / ${n(c.work.dynamoDbReadUnits, 2)}`,
      n(c.work.logBytes / 1024, 1),
      `**${usd(c.usdPerMillion.total)}** (${usd(c.usdPerMillionRuns.min)}–${usd(c.usdPerMillionRuns.max)})`,
    ]),
  );
}

/** USD per 1M images by service; the total is all of them. */
export function costByServiceTable(cost: CostScenarioResult[]): string {
  return table(
    ['path', 'Step Functions', 'Lambda', 'SNS', 'EventBridge', 'S3', 'SQS', 'DynamoDB', 'CloudWatch Logs', 'Firehose', 'all-in total',
      'of which per-request charges', 'S3 requests per image'],
    cost.map((c) => [
      c.label, usd(c.usdPerMillion.stepFunctions), usd(c.usdPerMillion.lambda), usd(c.usdPerMillion.sns),
      usd(c.usdPerMillion.eventBridge), usd(c.usdPerMillion.s3), usd(c.usdPerMillion.sqs), usd(c.usdPerMillion.dynamoDb),
      usd(c.usdPerMillion.cloudWatchLogs), usd(c.usdPerMillion.firehose), `**${usd(c.usdPerMillion.total)}**`,
      usd(c.usdPerMillion.perRequest), Object.entries(c.work.s3Requests).map(([k, v]) => `${k} ${n(v, 2)}`).join(', ') || 'none',
    ]),
  );
}

const bytes = (b: number) => (b >= 1024 ? kib(b) : `${n(b)} B`);

/** Log bytes per image: the state machines' at the template's level and re-rendered at ALL and ERROR, the functions', Firehose's records. */
export function logsTable(cost: CostScenarioResult[]): string {
  return table(
    ['path', 'state machine logging', 'state machine logs', 'same executions at ALL', 'at ERROR', 'handler JSON lines',
      'Lambda START/END/REPORT', 'all logs', 'Firehose records (billed)'],
    cost.map((c) => [
      c.label,
      `${c.stateMachineLogging.level}${c.stateMachineLogging.includeExecutionData ? ', with data' : ''}`,
      `${bytes(c.work.stateMachineLogBytes)} (${n(c.work.stateMachineLogEvents, 1)} events)`,
      `${bytes(c.work.stateMachineLogBytesAt.ALL)} (${usd(c.stateMachineLogsUsdPerMillionAt.ALL)})`,
      `${bytes(c.work.stateMachineLogBytesAt.ERROR)} (${usd(c.stateMachineLogsUsdPerMillionAt.ERROR)})`,
      `${bytes(c.work.handlerLogBytes)} (${n(c.work.handlerLogEvents, 1)} lines)`,
      bytes(c.work.lambdaPlatformLogBytes),
      `**${bytes(c.work.logBytes)}**`,
      c.work.firehoseRecords > 0 ? `${n(c.work.firehoseRecords, 2)} × ${n(c.work.firehoseRecordBytes)} B (${bytes(c.work.firehoseBilledBytes)})` : '–',
    ]),
  );
}

/** The issue's targets, PASS or FAIL with the measured numbers, and what dominates a missed one. */
export function costTargets(cost: CostScenarioResult[]): string[] {
  const find = (id: string) => cost.find((c) => c.id === id);
  const ref = find('reference-single-standard');
  const top = (c: CostScenarioResult) => Object.entries(c.usdPerMillion).filter(([k]) => SERVICE_NAMES[k]).sort((a, b) => b[1] - a[1]).slice(0, 3)
    .map(([k, v]) => `${SERVICE_NAMES[k]} ${usd(v)}`).join(', ');
  // What requests alone cost says whether tuning (memory, logs, latency) could reach the target at all.
  const floor = (c: CostScenarioResult) => {
    const r = c.usdPerMillion.perRequest;
    return `; per-request charges alone ${usd(r)}${r > 10 ? ', above the target before any duration, log or Firehose byte' : ''}`;
  };
  const out: string[] = [];
  for (const def of [find('ics-single-express-queued'), find('ics-default-backlog')]) {
    if (!def) continue;
    const ok = def.usdPerMillion.total <= 10;
    out.push(`- ${def.label} ≤ $10 per 1M images all-in: **${ok ? 'PASS' : 'FAIL'}** (${usd(def.usdPerMillion.total)}`
      + `${ok ? '' : `; largest: ${top(def)}${floor(def)}`}).`);
  }
  for (const alerts of [find('ics-alerts-only'), find('ics-alerts-only-direct')]) {
    if (!alerts || !ref) continue;
    const ratio = ref.usdPerMillion.total / alerts.usdPerMillion.total;
    const ok = ratio >= 20;
    out.push(`- ${alerts.label} ≥ 20× cheaper than the reference all-in: **${ok ? 'PASS' : 'FAIL'}** (${usd(alerts.usdPerMillion.total)} against `
      + `${usd(ref.usdPerMillion.total)}: ${n(ratio, 1)}×${ok ? '' : `; largest: ${top(alerts)}`}).`);
  }
  return out;
}

/** What waiting for the model costs: the rows with a slow model against the same paths with a zero-latency one. */
function modelLatencyText(cost: CostScenarioResult[]): string[] {
  const find = (id: string) => cost.find((c) => c.id === id);
  const pairs = [['ics-single-express-queued', 'ics-default-model-latency'], ['reference-single-standard', 'reference-model-latency']]
    .map(([fast, slow]) => ({ fast: find(fast), slow: find(slow) }))
    .filter((p): p is { fast: CostScenarioResult; slow: CostScenarioResult } => !!p.fast && !!p.slow && !!p.slow.modelLatencyMs);
  if (pairs.length === 0) return [];
  const parts = pairs.map(({ fast, slow }) => {
    const added = slow.usdPerMillion.total - fast.usdPerMillion.total;
    const perSecond = added / (slow.modelLatencyMs! / 1000);
    return `${slow.label}: ${usd(slow.usdPerMillion.total)}, ${usd(added)} more than with a zero-latency model (about ${usd(perSecond)} `
      + 'per 1M images per second of model latency)';
  });
  return [`Waiting for the model: ${parts.join('; ')}. Lambda bills each function's memory while it waits: ICS's classify `
    + 'function for the endpoint call, its dispatch function for the whole execution; the reference\'s classify function for the '
    + 'endpoint call.', ''];
}

const SERVICE_NAMES: Record<string, string> = {
  stepFunctions: 'Step Functions',
  lambda: 'Lambda',
  sns: 'SNS',
  eventBridge: 'EventBridge',
  s3: 'S3',
  sqs: 'SQS',
  dynamoDb: 'DynamoDB',
  cloudWatchLogs: 'CloudWatch Logs',
  firehose: 'Firehose',
};

function queuedCostText(q: QueuedAddedCost | undefined, cost: CostScenarioResult[]): string[] {
  const row = cost.find((c) => c.id === 'ics-single-express-queued');
  if (!q || !row) return [];
  const w = row.work;
  const d = w.lambdaByFunction.dispatch;
  const list = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${n(v, 2)}`).join(', ') || 'none';
  return [
    `**Queued ingestion adds ${usd(q.usdPerMillion.total)} per 1M images** to the direct path: SQS ${usd(q.usdPerMillion.sqs)} `
      + `(${list(w.sqsRequests)} per image), DynamoDB ${usd(q.usdPerMillion.dynamoDb)} (${list(w.dynamoDbRequests)} per image: `
      + `${n(w.dynamoDbWriteUnits, 2)} WRU, ${n(w.dynamoDbReadUnits, 2)} RRU), the dispatch function ${usd(q.usdPerMillion.dispatchFunction)} `
      + `(${n(d?.invocations ?? 0, 2)} invocations, ${n(q.dispatchGbSecondsPerImage, 4)} GB-s per image at ${n(q.dispatchMemoryMb, 0)} MB arm64; `
      + `${n(w.startSyncExecutions, 2)} StartSyncExecution per image, the Express request counted under Step Functions). `
      + `Total difference between the two rows: ${usd(q.totalDifferenceUsdPerMillion)} (the direct row logs at ALL, which its outcome `
      + 'metrics need, and includes run-to-run noise in shared durations).',
    '',
    `Not per image: with MaximumConcurrency set, Lambda keeps ${q.idlePolls.pollers} pollers long-polling the ingest queue `
      + `(${q.idlePolls.waitSeconds}-second ReceiveMessage waits) whether or not images arrive: about ${n(q.idlePolls.requestsPer30Days)} `
      + `requests, ${usd(q.idlePolls.usdPer30Days)} per pipeline per 30 days, on top (at 1M images a month, at most that much per 1M images, `
      + 'since polls that return messages are already counted above). The dispatch function waits for each execution: every second of '
      + `execution time (a model's latency) adds ${usd(q.dispatchUsdPerMillionPerExecutionSecond)} per 1M images (zero-latency model here). `
      + 'Uploads are one at a time, so each batch holds one message; a backlog batches up to 10 messages per invocation, receive and '
      + 'delete (figure 6 shows dispatch invocations per image under bursts).',
    '',
  ];
}

const s1 = (ms: number | undefined) => (ms === undefined ? '–' : `${n(ms / 1000, 1)} s`);
const dupText = (r: BurstCaseResult) => {
  const d = r.duplicateEffects;
  return `${d.alerts} / ${d.auditRecords} / ${d.resultEvents}`;
};
const notClassified = (r: BurstCaseResult) => [
  ...Object.entries(r.errors).map(([k, v]) => `${n(v)} ERROR ${k}`),
  ...Object.entries(r.unfinished).map(([k, v]) => `**${n(v)} ${k}**`),
].join(', ') || '0';

export function burstTables(b: BurstFigures): string[] {
  const out: string[] = [];
  const bursts = b.cases.filter((c) => c.kind === 'burst');
  out.push(table(
    ['ingestion', 'uploads', 'endpoint concurrency', 'classified', 'not classified', 'duplicate alerts / audit records / result events',
      'highest in flight', 'throttled requests', 'drain (simulated)', 'ideal', 'drain ÷ ideal', 'net of per-image work', 'per-image work (real ms)',
      'time scale', 'event loop busy'],
    bursts.map((r) => [
      r.mode, n(r.uploads), String(r.concurrency), n(r.classified), notClassified(r), dupText(r), String(r.endpoint.highestInFlight),
      n(r.endpoint.throttled), s1(r.drainMs), s1(r.idealMs), r.ratio === undefined ? '–' : n(r.ratio, 2),
      r.lanes?.netRatio === undefined ? '–' : n(r.lanes.netRatio, 2), r.lanes ? n(r.lanes.perImageWorkRealMs, 0) : '–',
      String(r.timeScale), `${n(r.runner.eventLoopUtilization * 100)} %`,
    ]),
  ), '');
  const direct = bursts.filter((r) => r.mode === 'direct' && r.lastFirstReadMs !== undefined);
  if (direct.length > 0) {
    out.push(`Direct: the runner took ${direct.map((r) => `${s1(r.lastFirstReadMs)} (${n(r.uploads)} at ${r.concurrency})`).join(', ')} `
      + 'of simulated time to start every upload of a burst (its CPU is one thread); AWS starts them within about a second, so more would '
      + 'meet a busy endpoint: the ERROR counts above are lower bounds.', '');
  }
  const others = b.cases.filter((c) => c.kind !== 'burst');
  out.push(table(
    ['case', 'ingestion', 'uploads', 'classified', 'not classified', 'duplicate alerts / audit records / result events', 'failed deliveries', 'executions',
      'executions per upload (max)', 'endpoint requests (503)', 'circuit breaker: opened / probes', 'drain (simulated)', 'recovery → drained'],
    others.map((r) => [
      r.kind === 'outage' ? `endpoint down ${n(r.outageMs! / 60_000)} min, uploads arriving throughout` : `each event delivered ${r.deliveries}×`,
      r.mode, n(r.uploads), n(r.classified), notClassified(r), dupText(r),
      Object.entries(r.deliveryErrors ?? {}).map(([k, v]) => `${n(v)} ${k}`).join(', ') || '0', n(r.executions), `${n(r.attemptsPerUpload.mean, 1)} (${r.attemptsPerUpload.max})`,
      `${n(r.endpoint.requests)} (${n(r.endpoint.unavailable)})`,
      r.circuitBreaker ? `${n(r.circuitBreaker.opened)} / ${n(r.circuitBreaker.probes)}` : '–', s1(r.drainMs),
      r.recoveryToDrainedMs === undefined ? '–' : recoveryText(r.recoveryToDrainedMs),
    ]),
  ), '');
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push('Generated by `npm run bench` (bench/run.ts); do not edit by hand. How each figure is measured: bench/README.md.', '');
  out.push(`Run ${r.meta.date} on ${r.meta.cores} × ${r.meta.cpu}, Node ${r.meta.node}, commit \`${r.meta.commit}\`, `
    + `${n(r.meta.wallSeconds)} s. Timings are medians (min–max) of local runs; they are not AWS latencies.`, '');

  out.push('## 1. Cost per image, all-in', '');
  out.push(`${r.meta.workload} Work per image counted from local-runner executions; USD per 1 million images at ${r.prices.region} list `
    + `prices (${r.prices.retrieved}, bench/lib/prices.ts), **all-in**: CloudWatch Logs (the state machines' execution logs emulated at `
    + 'each template\'s LoggingConfiguration, the functions\' JSON lines and Lambda\'s START/END/REPORT lines) and Firehose (5 KB '
    + 'record steps, delivered objects\' PUTs) are in the total. Not included: the endpoint, storage, data transfer, X-Ray and KMS, '
    + 'which both designs pay alike or which are listed in bench/README.md. Lambda GB-s use each function\'s configured memory and '
    + 'measured local durations.', '');
  out.push(costTable(r.cost), '');
  out.push(costByServiceTable(r.cost), '');
  out.push('Targets (issue #15):', '', ...costTargets(r.cost), '');
  out.push(...modelLatencyText(r.cost));
  out.push('Log bytes per image (ingested: each event\'s UTF-8 message + 26 bytes); "at ALL" and "at ERROR" render the same '
    + 'executions\' events at that level, with the template\'s IncludeExecutionData, and the USD is what the state machine\'s logs '
    + 'alone would cost per 1M images at that level.', '');
  out.push(logsTable(r.cost), '');
  out.push(...queuedCostText(r.queuedAddedCost, r.cost));

  out.push('## 2. Largest image that completes end to end', '');
  out.push(table(
    ['design', 'largest image that completes', 'one byte more', 'expected limit'],
    r.sizeLimits.map((s) => [
      s.design,
      `${n(s.largestOkBytes)} bytes (${kib(s.largestOkBytes)}, ${s.largestOkPixels} px PNG)`,
      `\`${s.failure.split(':')[0]}\``,
      `${n(s.expectedLimitBytes)} bytes: ${s.expectedLimit}`,
    ]),
  ), '');

  out.push('## 3. Handlers: bundle size, cold start, warm overhead', '');
  out.push(table(
    ['design', 'function', 'bundle', 'gzipped', 'one invocation', 'import (cold)', 'first invocation (cold)', 'warm p50', 'warm p99',
      'peak memory (RSS) / configured'],
    r.handlers.bundles.flatMap((b) => {
      const runs = r.handlers.coldStarts.filter((x) => x.design === b.design && x.fn === b.fn);
      return (runs.length > 0 ? runs : [undefined]).map((c) => [
        b.design, b.fn, kib(b.bytes), kib(b.gzipBytes), c?.invocation ?? '–',
        c ? `${fmt(c.importMs)} ms` : '–', c ? `${fmt(c.firstInvokeMs)} ms` : '–',
        c ? `${n(c.warmMs.p50, 2)} ms` : '–', c ? `${n(c.warmMs.p99, 2)} ms` : '–',
        c?.maxRssBytes ? `${n(c.maxRssBytes.max / 2 ** 20, 1)} MiB / ${n(c.memoryMb, 0)} MB` : '–',
      ]);
    }),
  ), '');
  out.push(table(
    ['design', 'cold start per image (Σ import + first invocation)', 'warm per image, p50', 'warm per image, p99'],
    r.handlers.perImage.map((p) => [p.design, `${n(p.coldMs, 1)} ms`, `${n(p.warmP50Ms, 2)} ms`, `${n(p.warmP99Ms, 2)} ms`]),
  ), '');
  out.push(`Zero-latency model (the SageMaker peer measured ${n(r.handlers.modelMsMedian, 1)} ms median per call); warm figures `
    + `are over ${r.handlers.coldStarts[0]?.warmMs.n ?? 0} invocations per function and include the loopback S3 and endpoint round trips. `
    + 'The dispatch function\'s invocations include the executions they wait for (the workflow runs in the bench process), so '
    + 'its times are not overhead and it is left out of the per-image sums; it is here for its memory. Peak memory is the '
    + 'largest resident set of a fresh Node.js process after its invocations (`VmHWM` of /proc/self/status): roughly what '
    + 'Lambda reports as Max Memory Used, where the runtime\'s own client shares the process.', '');

  out.push('## 4. Synth time', '');
  out.push(table(
    ['design', 'pipelines', 'resources per pipeline', 'construct + synth', 'per pipeline (amortized)', 'per added pipeline', 'imports (once)'],
    r.synth.map((s, i) => {
      const prev = r.synth[i - 1];
      const marginal = prev && prev.design === s.design
        ? `${n((s.totalMs.median - prev.totalMs.median) / (s.pipelines - prev.pipelines), 0)} ms` : '–';
      return [s.design, String(s.pipelines), n(s.resourcesPerPipeline, 0), `${fmt(s.totalMs, 0)} ms`, `${fmt(s.msPerPipeline, 0)} ms`, marginal,
        `${fmt(s.importMs, 0)} ms`];
    }),
  ), '');
  out.push('Each app runs in a fresh process, one stack per pipeline; the first pipeline also pays one-time costs (lazy module '
    + 'loading, JIT warm-up), so "per added pipeline" (the difference between app sizes) is the growth rate.', '');

  out.push('## 5. Local end-to-end throughput', '');
  out.push(table(
    ['design', 'model', 'concurrency', 'images/s', 'ms per image'],
    r.throughput.zeroLatency.map((t) => [t.design, t.model, String(t.concurrency), fmt(t.imagesPerSecond), t.msPerImage ? fmt(t.msPerImage) : '–']),
  ), '');
  const enforced = r.throughput.zeroLatency.filter((t) => t.enforcement);
  if (enforced.length > 0) {
    out.push('IAM enforcement (every call identified by its SigV4 signature and authorized against the template\'s policies, '
      + 'both designs; concurrency 1): '
      + enforced.map((t) => `${t.design} ${n(t.enforcement!.requestsPerImage, 1)} gateway requests and ${n(t.enforcement!.msPerImage, 2)} ms `
        + `per image, ${n(t.enforcement!.percentOfWall, 1)} % of its wall time`).join('; ') + '.', '');
  }
  out.push(table(
    ['design', 'model alone (ms/image)', 'model alone (images/s)', 'whole pipeline (ms/image)', 'whole pipeline (images/s)', 'pipeline overhead'],
    r.throughput.embedded.map((e) => [e.design, fmt(e.modelMsPerImage), n(e.modelImagesPerSecond, 2), fmt(e.pipelineMsPerImage),
      n(e.pipelineImagesPerSecond, 2), `${n(e.overheadPercent, 1)} %`]),
  ), '');
  out.push(`Embedded model: the COCO detector of \`npm run demo\` on ${r.throughput.photos.join(', ')}, one image at a time.`, '');

  out.push('## 6. Bursts, outages and duplicates', '');
  out.push(`${r.bursts.note} Every image is FLAGGED (one alert, audit record, result event and tag write each); model latency `
    + `${n(r.bursts.latencyMs)} ms (simulated) per request; queued runs \`Ingestion.queued({ maxConcurrency: <endpoint concurrency> })\`, `
    + 'the duplicates case the default (10) against an endpoint that never throttles. Times are simulated (the runner\'s clock at the '
    + 'time scale shown: real ms per simulated ms); "per-image work" is what a queued lane spends per image besides the endpoint\'s '
    + 'latency, here the runner\'s own CPU and its wait for the shared event loop (on AWS: the services\' latencies), and "net of '
    + 'per-image work" is the drain ratio without it: how much of the lanes\' time no dispatch invocation ran (bench/README.md). '
    + `${r.bursts.cases.length} cases over ${r.bursts.workers} worker processes, ${n(r.bursts.wallSeconds)} s.`, '');
  out.push(...burstTables(r.bursts));
  return out.join('\n');
}
