/**
 * Screenshots of the operator console for the documentation: docs/images/console-overview.png, console-review.png
 * (a review open with its thumbnail and scores) and console-upload.png, at 1280×860, taken in the system Chromium
 * (scripts/install-test-tools.sh) from the console served by LocalConsole.
 *
 *   npx projen bundle     # once: the handler bundles and the console's page
 *   npx ts-node --project test/tsconfig.json scripts/console-screenshots.ts
 *
 * What the pages show:
 * - The demo images (local/demo/images) go through the pipeline for real, scored by the embedded COCO model at the
 *   demo's threshold (`npm run demo`, local/demo/images/README.md): the pickup truck FLAGGED, the bus ACCEPTED, the
 *   bicycle with a dog (bicycle 0.47) and the man with a camera (no vehicle, 0) LOW_CONFIDENCE (quarantined, one
 *   review each) and the truncated JPEG an ERROR. The upload page sends the motorcycle photo: FLAGGED.
 * - The overview's history before those uploads is backfilled: a day of traffic (more by day than by night, mostly
 *   ACCEPTED) written with PutMetricData to the local CloudWatch under the metric names and dimensions the pipeline's
 *   own EMF lines use. Without it the charts would be one spike at their right edge.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { launch, Page } from 'puppeteer-core';
import { LocalConsole } from '../local/src/console';
import { DEMO_CONFIDENCE_THRESHOLD } from '../local/src/demo';
import { cocoVehiclesModel } from '../local/src/models/coco-vehicles';
import { CfnTemplate } from '../local/src/template-resolver';
import { Classifier, ImageClassificationPipeline, Outcome } from '../src';
import { reviewIdOf } from '../src/review/decisions';

/**
 * The page's globals as the functions run in the browser use them: the project compiles without the DOM library
 * (adding it would type every Node file against the browser's globals too).
 */
interface PageElement {
  readonly textContent: string | null;
  readonly complete?: boolean;
  readonly naturalWidth?: number;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare const requestAnimationFrame: (callback: () => void) => number;

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'docs', 'images');
const DEMO = path.join(ROOT, 'local', 'demo', 'images');
const CHROMIUM = '/usr/bin/chromium';
const LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];
const FLAGGED = ['motorcycle', 'pickup_truck', 'tank'];
const VIEWPORT = { width: 1280, height: 860 };
const USER = { username: 'alice', password: 'Alice-pass-123', groups: ['reviewers'] };

const demo = (file: string) => fs.readFileSync(path.join(DEMO, file));
const $ = (testId: string) => `[data-testid="${testId}"]`;

/** The image the upload screenshot sends (FLAGGED). */
const UPLOADED = demo('motorcycle.jpg');

/** Uploaded through the pipeline, oldest first: the review queue lists them in this order. */
const UPLOADS: Array<[key: string, file: string]> = [
  ['uploads/gate-north/frame-004821.jpg', 'pickup-truck.jpg'],
  ['uploads/lobby/frame-001377.png', 'camera.png'],
  ['uploads/parking/frame-010562.jpg', 'bus.jpg'],
  ['uploads/gate-north/frame-004833.jpg', 'truncated.jpg'],
  ['uploads/parking/frame-010590.jpg', 'bicycle-dog.jpg'],
];

/** The review the review screenshot opens: a vehicle under the threshold, which a person decides. */
const OPENED = 'uploads/parking/frame-010590.jpg';

function synth(): CfnTemplate {
  const stack = new Stack(new App(), 'BankBranch');
  new ImageClassificationPipeline(stack, 'VehicleCameras', {
    classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
    classLabels: LABELS,
    confidenceThreshold: DEMO_CONFIDENCE_THRESHOLD,
    flaggedLabels: FLAGGED,
    inputPrefix: 'uploads/',
    quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
    review: {},
    console: {},
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** A deterministic PRNG (Park–Miller), so the backfilled day is the same on every run. */
function random(seed: number): () => number {
  let state = seed % 2147483647;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

/**
 * A day of traffic before now, in 5-minute periods (the overview's period for 24 hours): per period, images by
 * outcome (`Images`, dimension `Outcome`) and by top label (`ImagesClassified`, dimension `Label`), as the pipeline's
 * EMF lines record them, written with PutMetricData.
 */
async function backfillDay(local: LocalConsole, until: number): Promise<void> {
  const live = local.cloudwatch.datapoints.find((d) => d.metricName === 'Images');
  if (!live) throw new Error('The pipeline wrote no Images metric: nothing to backfill like');
  const namespace = live.namespace;
  const pipeline = live.dimensions.find((d) => d.Name === 'Pipeline')!;
  const rand = random(20261204);
  const pick = <T>(xs: readonly T[], weights: readonly number[]): T => {
    let r = rand() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < xs.length; i++) if ((r -= weights[i]) < 0) return xs[i];
    return xs[xs.length - 1];
  };
  const data: MetricDatum[] = [];
  const period = 300_000;
  const end = Math.floor(until / period) * period - 2 * period;
  for (let t = end - 287 * period; t <= end; t += period) {
    const hour = new Date(t).getUTCHours() + new Date(t).getUTCMinutes() / 60;
    // Busy in opening hours (about 7:00 to 19:00 UTC), quiet at night; expected images per 5 minutes.
    const expected = 1.5 + 20 * Math.max(0, Math.sin(((hour - 7) / 12) * Math.PI)) ** 1.5;
    const n = Math.max(0, Math.round(expected + (rand() - 0.5) * Math.sqrt(expected)));
    const outcomes = new Map<string, number>();
    const labels = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const outcome = pick(['ACCEPTED', 'FLAGGED', 'LOW_CONFIDENCE', 'ERROR'], [0.78, 0.1, 0.1, 0.02]);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (outcome === 'ERROR') continue;
      const label = outcome === 'ACCEPTED' ? pick(['bicycle', 'bus', 'tractor'], [0.45, 0.4, 0.15])
        : outcome === 'FLAGGED' ? pick(['motorcycle', 'pickup_truck', 'tank'], [0.55, 0.44, 0.01])
          : pick(LABELS, [0.2, 0.3, 0.3, 0.1, 0.02, 0.08]);
      labels.set(label, (labels.get(label) ?? 0) + 1);
    }
    const datum = (metric: string, name: string, value: string, count: number): MetricDatum => ({
      MetricName: metric, Dimensions: [pipeline, { Name: name, Value: value }], Timestamp: new Date(t), Value: count, Unit: 'Count',
    });
    for (const [outcome, count] of outcomes) data.push(datum('Images', 'Outcome', outcome, count));
    for (const [label, count] of labels) data.push(datum('ImagesClassified', 'Label', label, count));
    // The demo pipeline alerts FLAGGED, LOW_CONFIDENCE and ERROR images, one topic each.
    const alerts = ['FLAGGED', 'LOW_CONFIDENCE', 'ERROR'].reduce((a, o) => a + (outcomes.get(o) ?? 0), 0);
    if (alerts > 0) data.push({ MetricName: 'AlertsPublished', Dimensions: [pipeline], Timestamp: new Date(t), Value: alerts, Unit: 'Count' });
  }
  const cloudwatch = new CloudWatchClient({ endpoint: local.cloudwatch.url, region: 'us-east-1', credentials: local.pipeline.gateway.operatorCredentials });
  try {
    for (let i = 0; i < data.length; i += 500) {
      await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(i, i + 500) }));
    }
  } finally {
    cloudwatch.destroy();
  }
}

const waitForText = (page: Page, selector: string, text: string) => page.waitForFunction(
  (sel, t) => !!document.querySelector(sel)?.textContent?.includes(t), { timeout: 30_000 }, selector, text);

async function shoot(page: Page, name: string): Promise<void> {
  // Let layout settle (uPlot sizes itself to its container on the next frame).
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const file = path.join(OUT, name) as `${string}.png`;
  await page.screenshot({ path: file });
  console.log(`${path.relative(ROOT, file)}: ${fs.statSync(file).size} bytes`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-test-tools.sh`);
  fs.mkdirSync(OUT, { recursive: true });
  const local = await LocalConsole.start({
    template: synth(),
    models: { vehicles: cocoVehiclesModel() },
    users: [USER],
  });
  const browser = await launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-console-screenshots-'));
  try {
    for (const [key, file] of UPLOADS) {
      const run = await local.pipeline.upload(key, demo(file));
      console.log(`${key} (${file}): ${run.result?.outcome} ${run.result?.label ?? run.result?.error?.name ?? ''}`);
    }
    await backfillDay(local, Date.now());

    const page = await browser.newPage();
    await page.setViewport(VIEWPORT);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });

    await page.goto(local.url, { waitUntil: 'load' });
    await page.waitForSelector($('signin-form'));
    await page.type($('signin-username'), USER.username);
    await page.type($('signin-password'), USER.password);
    await page.click($('signin-submit'));
    await waitForText(page, $('user-name'), USER.username);
    await page.waitForSelector(`${$('chart-outcomes')} canvas`);
    await page.waitForSelector(`${$('chart-labels')} canvas`);
    await page.waitForFunction((sel) => /\d/.test(document.querySelector(sel)?.textContent ?? ''), {}, `${$('totals')} .stat-total .stat-value`);
    await shoot(page, 'console-overview.png');

    await page.click($('nav-reviews'));
    await page.waitForSelector(`${$('review-list')}[aria-busy="false"] ${$('review-row')}`);
    await page.click(`${$('review-row')}[data-review-id="${reviewIdOf(local.pipeline.bucketName, OPENED)}"]`);
    await page.waitForSelector($('review-scores'));
    await page.waitForFunction((sel) => {
      const img = document.querySelector(sel);
      return !!img?.complete && (img.naturalWidth ?? 0) > 0;
    }, { timeout: 30_000 }, $('review-image'));
    await shoot(page, 'console-review.png');

    await page.click($('nav-upload'));
    const input = await page.waitForSelector(`input${$('upload-input')}`);
    const chosen = path.join(work, 'gate-south-frame-000915.jpg');
    fs.writeFileSync(chosen, UPLOADED);
    await input!.uploadFile(chosen);
    // Classified, or an error (the page says why, e.g. the PUT to S3 failed).
    await page.waitForFunction((sel) => !!document.querySelector(`${sel} .classified, ${sel} .error`), { timeout: 60_000 }, $('upload-status'));
    if (!(await page.$(`${$('upload-status')} .classified`))) {
      throw new Error(`The upload failed: ${await page.$eval($('upload-status'), (el) => el.textContent)}`);
    }
    await page.waitForFunction(() => Array.from(document.querySelectorAll('img.upload-preview')).every((i) => (i.naturalWidth ?? 0) > 0));
    await shoot(page, 'console-upload.png');

    if (problems.length > 0) throw new Error(`The page reported errors:\n${problems.join('\n')}`);
  } finally {
    await browser.close();
    await local.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
