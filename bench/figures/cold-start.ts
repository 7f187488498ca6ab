/* eslint-disable import/no-extraneous-dependencies */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { functionModel } from '../../local/src/models/function-model';
import { startS3 } from '../../local/src/peers/s3';
import { startSageMakerRuntime } from '../../local/src/peers/sagemaker-runtime';
import { startSnsSink } from '../../local/src/peers/sns';
import { CfnTemplate, resolveIntrinsics } from '../../local/src/template-resolver';
import { DesignName, icsTemplate, referenceTemplate } from '../lib/designs';
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

/** Environment of a template's function, resolved as the runner resolves it. */
function functionEnv(template: CfnTemplate, match: (id: string, env: Record<string, string>) => boolean): Record<string, string> {
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const env = resolveIntrinsics(r.Properties?.Environment?.Variables ?? {}, template) as Record<string, string>;
    if (match(id, env)) return env;
  }
  throw new Error('function not found');
}

interface ChildResult { importMs: number; firstInvokeMs: number; warmMs: number[]; error?: string }

function runChild(bundle: string, env: Record<string, string>, event: unknown, warm: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(BENCH, 'children', 'cold-start.js'), [], {
      execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    child.once('message', (m: ChildResult) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.once('error', reject);
    child.send({ bundle, env, event, warm });
  });
}

/**
 * Bundle sizes, cold initialisation in fresh processes (import + first invocation against the loopback peers) and
 * warm per-invocation time with a zero-latency model, for ICS's classify function and the reference's three.
 */
export async function measureHandlers(children: number, warmPerChild: number, log: (line: string) => void): Promise<HandlerFigures> {
  const bundles: BundleSize[] = [
    bundleSize('ICS', 'classify', path.join(ICS_HANDLERS, 'classify.lambda', 'index.js')),
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
  const cases: Array<{ design: DesignName; fn: string; bundle: string; env: Record<string, string>; event: unknown }> = [
    {
      design: 'ICS',
      fn: 'classify',
      bundle: path.join(ICS_HANDLERS, 'classify.lambda', 'index.js'),
      env: functionEnv(ics, (id) => /ClassifyFunction/.test(id)),
      event: { input: { bucket, key: 'cams/cold.png' }, executionArn: 'arn:aws:states:us-east-1:123456789012:express:bench:cold' },
    },
    ...([
      ['serialize', { bucket, key: 'cams/cold.png' }],
      ['classify', serialized],
      ['filter', { ...serialized, inferences: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005] }],
    ] as const).map(([fn, event]) => ({
      design: 'reference' as DesignName,
      fn,
      bundle: path.join(REFERENCE_BUNDLES, fn, 'index.js'),
      env: functionEnv(ref, (_id, env) => env.REF_FUNCTION === fn),
      event,
    })),
  ];

  const coldStarts: ColdStartResult[] = [];
  try {
    const modelBefore = sagemaker.invocations.length;
    for (const c of cases) {
      const samples: ChildResult[] = [];
      for (let i = 0; i < children; i++) samples.push(await runChild(c.bundle, { ...c.env, ...peers }, c.event, warmPerChild));
      coldStarts.push({
        design: c.design,
        fn: c.fn,
        importMs: summarize(samples.map((s) => s.importMs), 1),
        firstInvokeMs: summarize(samples.map((s) => s.firstInvokeMs), 1),
        warmMs: percentiles(samples.flatMap((s) => s.warmMs), 2),
      });
      const last = coldStarts[coldStarts.length - 1];
      log(`  ${c.design} ${c.fn}: import ${last.importMs.median} ms, first invocation ${last.firstInvokeMs.median} ms, `
        + `warm p50 ${last.warmMs.p50} / p99 ${last.warmMs.p99} ms (n=${last.warmMs.n})`);
    }
    const modelMs = sagemaker.invocations.slice(modelBefore).map((i) => i.latencyMs);
    const perImage = (['ICS', 'reference'] as const).map((design) => {
      const mine = coldStarts.filter((c) => c.design === design);
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
