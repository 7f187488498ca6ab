/* eslint-disable import/no-extraneous-dependencies */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { objectCreatedEvent } from '../../local/src/event-pattern';
import { functionModel } from '../../local/src/models/function-model';
import { startS3 } from '../../local/src/peers/s3';
import { startSageMakerRuntime } from '../../local/src/peers/sagemaker-runtime';
import { startSnsSink } from '../../local/src/peers/sns';
import { CfnTemplate, resolveIntrinsics } from '../../local/src/template-resolver';
import { MAX_ENDPOINT_PAYLOAD_BYTES } from '../../src/pipeline-validation';
import { DesignName, icsTemplate, referenceTemplate, startDesign } from '../lib/designs';
import { pngOfSize } from '../lib/images';
import { BENCH, ICS_HANDLERS, REFERENCE_BUNDLES } from '../lib/paths';
import { percentiles, Percentiles, round, summarize, Summary } from '../lib/stats';

export interface BundleSize {
  readonly design: DesignName;
  readonly fn: string;
  readonly path: string;
  readonly bytes: number;
  /** Deflated size: roughly what the function's zip weighs. */
  readonly gzipBytes: number;
}

export interface ColdStartResult {
  readonly design: DesignName;
  readonly fn: string;
  /** require() of the bundle in a fresh process. */
  readonly importMs: Summary;
  /** The first invocation (clients connect, credentials and endpoints resolve). */
  readonly firstInvokeMs: Summary;
  readonly warmMs: Percentiles;
  /** Peak resident memory of the process after its invocations (Lambda's Max Memory Used, roughly). */
  readonly maxRssBytes: Summary;
  /** The function's configured memory in the template (MB). */
  readonly memoryMb: number;
  /** What one invocation handles (one image; a batch of queued uploads). */
  readonly invocation: string;
}

export interface HandlerFigures {
  readonly bundles: BundleSize[];
  readonly coldStarts: ColdStartResult[];
  /** Per image: ICS is one function; the reference runs three, each its own environment (sums of medians / p50 / p99). */
  readonly perImage: Array<{ design: DesignName; coldMs: number; warmP50Ms: number; warmP99Ms: number }>;
  /** Model time the SageMaker peer measured during the warm runs (ms, median): the zero-latency model. */
  readonly modelMsMedian: number;
}

function bundleSize(design: DesignName, fn: string, file: string): BundleSize {
  const bytes = fs.readFileSync(file);
  return { design, fn, path: path.relative(path.join(BENCH, '..'), file), bytes: bytes.length, gzipBytes: zlib.gzipSync(bytes, { level: 9 }).length };
}

/** Environment and configured memory of a template's function, resolved as the runner resolves them. */
function templateFunction(
  template: CfnTemplate, match: (id: string, env: Record<string, string>) => boolean,
): { env: Record<string, string>; memoryMb: number } {
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const env = resolveIntrinsics(r.Properties?.Environment?.Variables ?? {}, template) as Record<string, string>;
    // Lambda's default memory when the template sets none (the reference's CDK defaults).
    if (match(id, env)) return { env, memoryMb: r.Properties?.MemorySize ?? 128 };
  }
  throw new Error('function not found');
}

interface ChildResult { importMs: number; firstInvokeMs: number; warmMs: number[]; maxRssBytes: number; error?: string }

interface ChildCase {
  readonly bundle: string;
  readonly env: Record<string, string>;
  readonly event?: unknown;
  /** One event per invocation, cold first (then `warm` more). */
  readonly events?: unknown[];
  readonly timeoutMs?: number;
  readonly memoryMb?: number;
}

function runChild(c: ChildCase, warm: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(BENCH, 'children', 'cold-start.js'), [], {
      execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    child.once('message', (m: ChildResult) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.once('error', reject);
    child.send({ ...c, warm });
  });
}

/**
 * Bundle sizes, cold initialisation in fresh processes (import + first invocation against the loopback peers) and
 * warm per-invocation time with a zero-latency model, for ICS's classify function and the reference's three.
 */
export async function measureHandlers(children: number, warmPerChild: number, log: (line: string) => void): Promise<HandlerFigures> {
  const bundles: BundleSize[] = [
    bundleSize('ICS', 'classify', path.join(ICS_HANDLERS, 'classify.lambda', 'index.js')),
    bundleSize('ICS', 'dispatch', path.join(ICS_HANDLERS, 'dispatch.lambda', 'index.js')),
    bundleSize('ICS', 'summarize (bulk, once per batch)', path.join(ICS_HANDLERS, 'summarize.lambda', 'index.js')),
    ...['serialize', 'classify', 'filter'].map((fn) => bundleSize('reference', fn, path.join(REFERENCE_BUNDLES, fn, 'index.js'))),
  ];

  const bucket = 'bench-cold';
  const model = functionModel(() => [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]);
  const s3 = await startS3({ buckets: [bucket] });
  const sagemaker = await startSageMakerRuntime({ models: { vehicles: model } });
  const sns = await startSnsSink();
  const image = pngOfSize(100_000, 5).bytes;
  const client = s3.client();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cams/cold.png', Body: image }));
  // The largest image the default classifies (maxImageSize, 6 MiB): the classify function's peak memory.
  const largest = pngOfSize(MAX_ENDPOINT_PAYLOAD_BYTES, 6).bytes;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cams/largest.png', Body: largest }));
  client.destroy();
  const peers = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: sagemaker.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    ICS_S3_FORCE_PATH_STYLE: 'true',
  };

  const ics = icsTemplate();
  const ref = referenceTemplate();
  const serialized = { image_data: image.toString('base64'), s3_bucket: bucket, s3_key: 'cams/cold.png', inferences: [] as number[] };
  const cases: Array<ChildCase & { design: DesignName; fn: string; invocation: string }> = [
    {
      design: 'ICS',
      fn: 'classify',
      invocation: 'one image',
      bundle: path.join(ICS_HANDLERS, 'classify.lambda', 'index.js'),
      ...templateFunction(ics, (id) => /ClassifyFunction/.test(id)),
      event: { input: { bucket, key: 'cams/cold.png' }, executionArn: 'arn:aws:states:us-east-1:123456789012:express:bench:cold' },
    },
    {
      design: 'ICS',
      fn: 'classify',
      invocation: `one ${kib(largest.length)} image (the largest)`,
      bundle: path.join(ICS_HANDLERS, 'classify.lambda', 'index.js'),
      ...templateFunction(ics, (id) => /ClassifyFunction/.test(id)),
      event: { input: { bucket, key: 'cams/largest.png' }, executionArn: 'arn:aws:states:us-east-1:123456789012:express:bench:largest' },
    },
    ...([
      ['serialize', { bucket, key: 'cams/cold.png' }],
      ['classify', serialized],
      ['filter', { ...serialized, inferences: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005] }],
    ] as const).map(([fn, event]) => ({
      design: 'reference' as DesignName,
      fn,
      invocation: 'one image',
      bundle: path.join(REFERENCE_BUNDLES, fn, 'index.js'),
      ...templateFunction(ref, (_id, env) => env.REF_FUNCTION === fn),
      event,
    })),
  ];

  const coldStarts: ColdStartResult[] = [];
  try {
    const modelBefore = sagemaker.invocations.length;
    for (const c of cases) {
      const samples: ChildResult[] = [];
      for (let i = 0; i < children; i++) samples.push(await runChild({ ...c, env: { ...c.env, ...peers } }, warmPerChild));
      coldStarts.push(coldStartOf(c, samples, log));
    }
    const modelMs = sagemaker.invocations.slice(modelBefore).map((i) => i.latencyMs);
    // The dispatch function's invocations wait for their executions, so it is measured for memory, not added here.
    coldStarts.push(await measureDispatch(children, log));
    const perImage = (['ICS', 'reference'] as const).map((design) => {
      const mine = coldStarts.filter((c) => c.design === design && c.invocation === 'one image');
      const sum = (f: (c: ColdStartResult) => number) => round(mine.reduce((s, c) => s + f(c), 0), 1);
      return {
        design,
        coldMs: sum((c) => c.importMs.median + c.firstInvokeMs.median),
        warmP50Ms: sum((c) => c.warmMs.p50),
        warmP99Ms: sum((c) => c.warmMs.p99),
      };
    });
    return { bundles, coldStarts, perImage, modelMsMedian: summarize(modelMs, 1).median };
  } finally {
    await Promise.all([s3.close(), sagemaker.close(), sns.close()]);
  }
}

function coldStartOf(
  c: { design: DesignName; fn: string; invocation: string; memoryMb?: number }, samples: ChildResult[], log: (line: string) => void,
): ColdStartResult {
  const r: ColdStartResult = {
    design: c.design,
    fn: c.fn,
    invocation: c.invocation,
    memoryMb: c.memoryMb ?? 128,
    importMs: summarize(samples.map((s) => s.importMs), 1),
    firstInvokeMs: summarize(samples.map((s) => s.firstInvokeMs), 1),
    warmMs: percentiles(samples.flatMap((s) => s.warmMs), 2),
    maxRssBytes: summarize(samples.map((s) => s.maxRssBytes), 0),
  };
  log(`  ${r.design} ${r.fn}: import ${r.importMs.median} ms, first invocation ${r.firstInvokeMs.median} ms, `
    + `warm p50 ${r.warmMs.p50} / p99 ${r.warmMs.p99} ms (n=${r.warmMs.n}), peak RSS ${round(r.maxRssBytes.max / 2 ** 20, 1)} MiB of ${r.memoryMb} MB`);
  return r;
}

/** Uploads per dispatch invocation: the event source mapping's default batch size. */
const DISPATCH_BATCH = 10;
/** Batches each dispatch process handles after its cold one. */
const DISPATCH_WARM_BATCHES = 3;

const kib = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB`;

/**
 * The dispatch function (queued ingestion) in fresh processes, each handling full batches of new uploads against a
 * local pipeline's peers: the idempotency table (dynalite), StartSyncExecution (the Step Functions peer, which runs
 * the real workflow and classify function in this process) and the ingest queue. Its memory is what matters: it waits
 * for each execution, so its configured memory is billed for the model's latency.
 */
async function measureDispatch(children: number, log: (line: string) => void): Promise<ColdStartResult> {
  const template = icsTemplate();
  const model = functionModel(() => [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]);
  const local = await startDesign('ICS', template, { vehicles: model });
  try {
    const [id] = local.functionIds('DispatchFunction');
    const { memoryMb } = templateFunction(template, (fid) => fid === id);
    const image = pngOfSize(100_000, 7).bytes;
    const client = local.s3.client();
    const samples: ChildResult[] = [];
    try {
      for (let child = 0; child < children; child++) {
        const events: unknown[] = [];
        for (let b = 0; b <= DISPATCH_WARM_BATCHES; b++) {
          const records = [];
          for (let i = 0; i < DISPATCH_BATCH; i++) {
            const key = `cams/dispatch-${child}-${b}-${i}.png`;
            // Written straight to the S3 peer: no rule fires; the child's batch is the only delivery.
            await client.send(new PutObjectCommand({ Bucket: local.bucketName, Key: key, Body: image }));
            const body = JSON.stringify(objectCreatedEvent(local.bucketName, key, image.length, `"${child}-${b}-${i}"`));
            const now = String(Date.now());
            records.push({
              messageId: randomUUID(),
              receiptHandle: randomUUID(),
              body,
              md5OfBody: '',
              eventSource: 'aws:sqs',
              awsRegion: 'us-east-1',
              eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:bench',
              messageAttributes: {},
              attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: '123456789012', ApproximateFirstReceiveTimestamp: now },
            });
          }
          events.push({ Records: records });
        }
        samples.push(await runChild({
          bundle: path.join(ICS_HANDLERS, 'dispatch.lambda', 'index.js'),
          env: local.functionEnvironment(id),
          events,
          timeoutMs: Number(template.Resources[id].Properties?.Timeout ?? 900) * 1000,
          memoryMb,
        }, DISPATCH_WARM_BATCHES));
      }
    } finally {
      client.destroy();
    }
    const failed = local.executions.filter((e) => e.status !== 'SUCCEEDED').length;
    if (failed > 0) throw new Error(`dispatch measurement: ${failed} of ${local.executions.length} executions did not succeed`);
    return coldStartOf({ design: 'ICS', fn: 'dispatch', invocation: `a batch of ${DISPATCH_BATCH} queued uploads`, memoryMb }, samples, log);
  } finally {
    await local.close();
  }
}
