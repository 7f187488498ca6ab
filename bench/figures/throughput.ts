import * as fs from 'node:fs';
import * as path from 'node:path';
import { cocoVehiclesModel } from '../../local/src/models/coco-vehicles';
import { functionModel } from '../../local/src/models/function-model';
import { ModelBackend } from '../../local/src/models/model-backend';
import { LocalPipeline } from '../../local/src/runner';
import { CfnTemplate } from '../../local/src/template-resolver';
import { DesignName, icsTemplate, referenceTemplate, startDesign } from '../lib/designs';
import { pngOfSize } from '../lib/images';
import { REPO } from '../lib/paths';
import { round, since, summarize, Summary } from '../lib/stats';

export interface ThroughputResult {
  readonly design: DesignName;
  readonly model: 'zero-latency' | 'embedded COCO detector';
  readonly concurrency: number;
  readonly images: number;
  readonly imagesPerSecond: Summary;
  /** End-to-end wall time per image at concurrency 1 (upload → execution finished), ms. */
  readonly msPerImage?: Summary;
  /**
   * What the kit's IAM enforcement costs, at concurrency 1: the time its gateway spends identifying (SigV4) and
   * authorizing the calls of one image, and that time's share of the image's wall time.
   */
  readonly enforcement?: { readonly requestsPerImage: number; readonly msPerImage: number; readonly percentOfWall: number };
}

export interface ModelOverheadResult {
  readonly design: DesignName;
  /** The model alone, called directly on the same photos (ms per image). */
  readonly modelMsPerImage: Summary;
  readonly modelImagesPerSecond: number;
  /** Through the whole local pipeline, one image at a time (ms per image). */
  readonly pipelineMsPerImage: Summary;
  readonly pipelineImagesPerSecond: number;
  /** (pipeline − model) / model, from the medians. */
  readonly overheadPercent: number;
}

export interface ThroughputFigures {
  readonly zeroLatency: ThroughputResult[];
  readonly embedded: ModelOverheadResult[];
  readonly photos: string[];
}

const TEMPLATES: Record<DesignName, () => CfnTemplate> = { ICS: () => icsTemplate(), reference: referenceTemplate };

/** Runs `images` through `local.upload` with at most `concurrency` in flight; returns the wall time in ms. */
async function pump(local: LocalPipeline, images: Array<{ key: string; bytes: Buffer }>, concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < images.length) {
      const image = images[next++];
      const run = await local.upload(image.key, image.bytes);
      if (run.status !== 'SUCCEEDED') throw new Error(`${image.key}: ${run.status} ${run.error} ${run.cause}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return since(started);
}

/** Zero-latency model: how many images per second the local pipeline itself sustains (interpreter, handler, peers). */
async function zeroLatency(design: DesignName, count: number, reps: number, concurrencies: number[]): Promise<ThroughputResult[]> {
  const model = functionModel(() => [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]);
  const local = await startDesign(design, TEMPLATES[design](), { vehicles: model });
  const results: ThroughputResult[] = [];
  try {
    const images = Array.from({ length: count }, (_, i) => pngOfSize(100_000, 300 + i).bytes);
    await pump(local, [{ key: 'warm/0.png', bytes: images[0] }], 1);
    for (const concurrency of concurrencies) {
      const walls: number[] = [];
      const before = { ...local.gateway.stats };
      for (let rep = 0; rep < reps; rep++) {
        walls.push(await pump(local, images.map((bytes, i) => ({ key: `tp/c${concurrency}-r${rep}-${i}.png`, bytes })), concurrency));
      }
      const uploads = count * reps;
      const gatewayMs = local.gateway.stats.ms - before.ms;
      const enforcement = concurrency === 1 ? {
        requestsPerImage: round((local.gateway.stats.requests - before.requests) / uploads, 1),
        msPerImage: round(gatewayMs / uploads, 2),
        percentOfWall: round((gatewayMs / walls.reduce((a, b) => a + b, 0)) * 100, 1),
      } : undefined;
      results.push({
        ...(enforcement && { enforcement }),
        design,
        model: 'zero-latency',
        concurrency,
        images: count,
        imagesPerSecond: summarize(walls.map((w) => (count / w) * 1000), 1),
        ...(concurrency === 1 && { msPerImage: summarize(walls.map((w) => w / count), 1) }),
      });
    }
  } finally {
    await local.close();
  }
  return results;
}

/**
 * The embedded model (the COCO detector `npm run demo` uses) on the demo photos: the model's own rate (called
 * directly, one image at a time) against the whole local pipeline's, also one image at a time.
 */
async function embedded(design: DesignName, model: ModelBackend, photos: Buffer[], passes: number): Promise<ModelOverheadResult> {
  for (const photo of photos) await model.invoke(photo, 'image/jpeg'); // warm: the detector's first calls are slower
  const direct: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    for (const photo of photos) {
      const t = performance.now();
      await model.invoke(photo, 'image/jpeg');
      direct.push(since(t));
    }
  }
  const local = await startDesign(design, TEMPLATES[design](), { vehicles: model });
  const piped: number[] = [];
  try {
    await local.upload('warm/photo.jpg', photos[0]);
    for (let pass = 0; pass < passes; pass++) {
      for (const [i, photo] of photos.entries()) {
        const t = performance.now();
        const run = await local.upload(`photos/${pass}-${i}.jpg`, photo);
        piped.push(since(t));
        // LOW_CONFIDENCE fails the ICS execution by design and the reference's filter throws: both still ran end to end.
        if (run.lambdaInvocations === 0) throw new Error(`photo ${i} was not classified: ${run.status} ${run.error}`);
      }
    }
  } finally {
    // The model is shared across designs: close only the runner's peers, not the detector.
    await local.close();
  }
  const modelMs = summarize(direct, 1);
  const pipelineMs = summarize(piped, 1);
  return {
    design,
    modelMsPerImage: modelMs,
    modelImagesPerSecond: round(1000 / modelMs.median, 2),
    pipelineMsPerImage: pipelineMs,
    pipelineImagesPerSecond: round(1000 / pipelineMs.median, 2),
    overheadPercent: round(((pipelineMs.median - modelMs.median) / modelMs.median) * 100, 1),
  };
}

export async function measureThroughput(
  options: { count: number; reps: number; concurrencies: number[]; passes: number }, log: (line: string) => void,
): Promise<ThroughputFigures> {
  const zero: ThroughputResult[] = [];
  for (const design of ['ICS', 'reference'] as const) {
    zero.push(...await zeroLatency(design, options.count, options.reps, options.concurrencies));
  }
  for (const r of zero) {
    log(`  ${r.design}, zero-latency model, concurrency ${r.concurrency}: ${r.imagesPerSecond.median} images/s`
      + (r.enforcement ? `; IAM enforcement ${r.enforcement.msPerImage} ms per image (${r.enforcement.percentOfWall} %)` : ''));
  }

  const dir = path.join(REPO, 'local', 'demo', 'images');
  const names = fs.readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f) && f !== 'truncated.jpg').sort();
  const photos = names.map((f) => fs.readFileSync(path.join(dir, f)));
  const model = cocoVehiclesModel();
  await model.ready?.();
  const overheads: ModelOverheadResult[] = [];
  try {
    for (const design of ['ICS', 'reference'] as const) {
      // The runner closes the models it was given; hand it a view whose close() is a no-op.
      const shared: ModelBackend = { invoke: (body, type) => model.invoke(body, type) };
      overheads.push(await embedded(design, shared, photos, options.passes));
      const o = overheads[overheads.length - 1];
      log(`  ${design}, embedded model: model ${o.modelMsPerImage.median} ms/image, pipeline ${o.pipelineMsPerImage.median} ms/image, `
        + `overhead ${o.overheadPercent} %`);
    }
  } finally {
    await model.close?.();
  }
  return { zeroLatency: zero, embedded: overheads, photos: names };
}
