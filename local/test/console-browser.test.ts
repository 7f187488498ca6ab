import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { RELEASE_REF_METADATA_KEY, reviewIdOf } from 'cdk-image-classification-pipeline/lib/review/decisions';
import { Browser, BrowserContext, launch, Page } from 'puppeteer-core';
import { consoleTemplate, imageFor, KeyedModel, reviewTableOf, scores, startConsole, UNSURE } from './console-fixture';
import { VEHICLE_LABELS } from '../../test/stacks';
import { LocalConsole } from '../src/console';
import { CfnTemplate } from '../src/template-resolver';

/**
 * The operator console end to end: the built page (assets/handlers/console-api.lambda/console) served by LocalConsole,
 * driven in headless Chromium as an operator uses it, its effects checked on the local peers. Needs `npx projen bundle`.
 */

/**
 * The page's globals as the functions run in the browser use them: the project compiles without the DOM library
 * (adding it would type every Node file against the browser's globals too).
 */
interface PageElement {
  readonly textContent: string | null;
  readonly value?: string;
  readonly checked?: boolean;
  readonly disabled?: boolean;
  readonly complete?: boolean;
  readonly naturalWidth?: number;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  addEventListener(type: 'securitypolicyviolation', listener: (e: { blockedURI: string; violatedDirective: string; sourceFile: string; lineNumber: number }) => void): void;
};

const CHROMIUM = '/usr/bin/chromium';
const $ = (testId: string) => `[data-testid="${testId}"]`;

describe('the operator console in headless Chromium, against the local console (queued ingestion, quarantine of LOW_CONFIDENCE)', () => {
  let local: LocalConsole;
  let browser: Browser;
  let template: CfnTemplate;
  let shots: string;
  const model = new KeyedModel();
  /** The browser context of the running test (its own cookies and sessionStorage) and what its pages reported. */
  let context: BrowserContext | undefined;
  let problems: string[] = [];
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run scripts/install-test-tools.sh (it installs Debian's Chromium, which this test drives)`);
    }
    shots = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-console-browser-'));
    template = consoleTemplate();
    local = await startConsole(template, model);
    browser = await launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await local?.close();
  });

  beforeEach(async () => {
    problems = [];
    consoleErrors = [];
    context = await browser.createBrowserContext();
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    // A CSP violation or an uncaught error in the page fails the test that caused it.
    expect(problems).toEqual([]);
  });

  /** A new page of the test's context that records CSP violations, page errors and console errors. */
  async function openPage(): Promise<Page> {
    const page = await context!.newPage();
    await page.setViewport({ width: 1280, height: 860 });
    page.on('pageerror', (e) => problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
    page.on('console', (msg) => {
      if (msg.type() !== 'error' && msg.type() !== 'warn') return;
      const text = msg.text();
      // Chromium words a violation "Refused to ..." or "... violates the following Content Security Policy directive ...".
      if (/Refused to |Content Security Policy/.test(text)) problems.push(`CSP: ${text}`);
      else if (msg.type() === 'error') consoleErrors.push(text);
    });
    // The violation events too, whatever the wording of Chromium's own message.
    await page.evaluateOnNewDocument(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`Content Security Policy violation: ${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
      });
    });
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) as `${string}.png` });

  const waitForText = (page: Page, selector: string, text: string, timeout = 15_000) => page.waitForFunction(
    (sel, t) => !!document.querySelector(sel)?.textContent?.includes(t), { timeout }, selector, text);

  async function signIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto(local.url, { waitUntil: 'load' });
    await page.waitForSelector($('signin-form'));
    await page.type($('signin-username'), username);
    await page.type($('signin-password'), password);
    await page.click($('signin-submit'));
  }

  async function signedIn(page: Page, username: string): Promise<void> {
    await waitForText(page, $('user-name'), username);
  }

  /**
   * Clicks what loads the review list (a nav link or a status filter) and returns the review IDs of the rows the page
   * then shows, once they are the ones the API answered for that status (not the list shown before the click).
   */
  async function listReviews(page: Page, selector: string, status: 'PENDING' | 'DECIDED'): Promise<string[]> {
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${local.api.url}/api/reviews?status=${status}`) && r.request().method() === 'GET'),
      page.click(selector),
    ]);
    expect(res.status()).toBe(200);
    const answered = JSON.stringify(((await res.json()) as { items: Array<{ reviewId: string }> }).items.map((i) => i.reviewId));
    await page.waitForFunction((list, row, ids) => {
      const shown = Array.from(document.querySelectorAll(`${list}[aria-busy="false"] ${row}`)).map((r) => r.getAttribute('data-review-id'));
      return !!document.querySelector(`${list}[aria-busy="false"] li`) && JSON.stringify(shown) === ids;
    }, {}, $('review-list'), $('review-row'), answered);
    return JSON.parse(answered);
  }

  /** Opens a review from the list and waits for its image to load (or fail: the panel shows `.image-missing`). */
  async function openReview(page: Page, reviewId: string): Promise<void> {
    await page.click(`${$('review-row')}[data-review-id="${reviewId}"]`);
    await page.waitForSelector(`${$('review-detail')}:not([aria-busy])`);
    await page.waitForFunction((img) => {
      const el = document.querySelector(img);
      return (el?.complete ?? false) || !!document.querySelector('.image-missing');
    }, {}, $('review-image'));
    expect(await page.$('.image-missing')).toBeNull();
    // Loaded from its presigned GET URL (another origin than the page's) under the page's CSP.
    expect(await page.$eval($('review-image'), (img) => (img as PageElement).naturalWidth)).toBeGreaterThan(0);
  }

  /** An image the model is unsure of (LOW_CONFIDENCE, quarantined), uploaded into the pipeline: its review ID. */
  async function uploadUnsure(key: string, n: number): Promise<string> {
    const bytes = imageFor(n);
    model.answer(bytes, UNSURE);
    const run = await local.pipeline.upload(key, bytes);
    expect(run.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'bus', quarantine: { key: `quarantine/${key}` } });
    expect(run.states).toContain('OpenReview');
    return reviewIdOf(local.pipeline.bucketName, key);
  }

  test('a reviewer sees the overview, opens the one pending review with its thumbnail and scores, and corrects the label', async () => {
    const key = 'uploads/cam/1.jpg';
    const reviewId = await uploadUnsure(key, 1);
    const accepted = await local.pipeline.upload('uploads/cam/ok.jpg', imageFor(100));
    expect(accepted.result).toMatchObject({ outcome: 'ACCEPTED', label: 'bus' });

    const page = await openPage();
    await signIn(page, 'alice', 'Alice-pass-123');
    await signedIn(page, 'alice');

    // The overview: a uPlot canvas and a tile per outcome with this run's counts.
    await page.waitForSelector(`${$('chart-outcomes')} canvas`);
    await page.waitForSelector(`${$('chart-labels')} canvas`);
    const tile = (outcome: string) => `${$('totals')} [data-outcome="${outcome}"] .stat-value`;
    await waitForText(page, tile('LOW_CONFIDENCE'), '1');
    expect(await page.$eval(tile('LOW_CONFIDENCE'), (e) => e.textContent)).toBe('1');
    expect(await page.$eval(tile('ACCEPTED'), (e) => e.textContent)).toBe('1');
    await shot(page, '1-overview');

    // The queue: exactly this review, pending.
    expect(await listReviews(page, $('nav-reviews'), 'PENDING')).toEqual([reviewId]);
    await openReview(page, reviewId);
    expect(page.url()).toBe(`${local.url}#/reviews/${reviewId}`);
    const scoreLabels = await page.$$eval(`${$('review-scores')} .score-label`, (ls) => ls.map((l) => l.textContent));
    expect(scoreLabels[0]).toBe('bus');
    expect(await page.$eval(`${$('review-scores')} li.score-top .score-value`, (e) => e.textContent)).toBe('60.0%');
    // The model's label is preselected: correcting needs another label.
    expect(await page.$eval($('decision-label'), (s) => (s as PageElement).value)).toBe('bus');
    expect(await page.$eval($('decision-correct'), (b) => (b as PageElement).disabled)).toBe(true);
    await page.select($('decision-label'), 'tank');
    await page.waitForSelector(`${$('decision-correct')}:not([disabled])`);
    await shot(page, '1-review');
    await page.click($('decision-correct'));
    await waitForText(page, $('decision-result'), 'CORRECTED');
    expect(await page.$eval($('decision-result'), (e) => e.textContent)).toMatch(/^CORRECTED: tank by alice .*still quarantined/);
    expect(await page.$(`${$('decision-error')}`)).toBeNull();
    expect(await page.$(`${$('decision-correct')}`)).toBeNull();
    await shot(page, '1-decided');

    // The review item: decided by alice.
    const items = await local.pipeline.dynamodb!.scan(reviewTableOf(template));
    expect(items.filter((i) => i.reviewId === reviewId)).toEqual([expect.objectContaining({
      reviewId, status: 'DECIDED', decision: 'CORRECTED', reviewedLabel: 'tank', reviewer: 'alice',
    })]);
    expect(items.find((i) => i.reviewId === reviewId)).not.toHaveProperty('pending');

    // The quarantined copy carries the decision; it was not released.
    const s3 = local.pipeline.s3.client();
    try {
      const bucket = local.pipeline.bucketName;
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: `quarantine/${key}` }));
      expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({ 'ics:review': 'CORRECTED', 'ics:reviewed-label': 'tank' });
      await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });

      // The Ground Truth line in the month's feedback manifest, pointing at where the image is (quarantine).
      const month = new Date().toISOString().slice(0, 7).replace('-', '/');
      const manifest = await s3.send(new GetObjectCommand({ Bucket: local.pipeline.auditBucketName, Key: `feedback/${month}/manifest.jsonl` }));
      const lines = (await manifest.Body!.transformToString()).trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toEqual([{
        'source-ref': `s3://${bucket}/quarantine/${key}`,
        'class': VEHICLE_LABELS.indexOf('tank'),
        'class-metadata': expect.objectContaining({
          'class-name': 'tank', 'human-annotated': 'yes', 'type': 'groundtruth/image-classification', 'review-id': reviewId,
        }),
      }]);
    } finally {
      s3.destroy();
    }
    // Nothing failed in the page but what the test itself caused.
    expect(consoleErrors).toEqual([]);
  });

  test('a reviewer confirms and releases a quarantined image: it is classified again at its key, and the queue is empty', async () => {
    const key = 'uploads/cam/2.jpg';
    const reviewId = await uploadUnsure(key, 2);
    const first = await local.pipeline.whenProcessed(key);

    const page = await openPage();
    await signIn(page, 'alice', 'Alice-pass-123');
    await signedIn(page, 'alice');
    expect(await listReviews(page, $('nav-reviews'), 'PENDING')).toEqual([reviewId]);
    await openReview(page, reviewId);
    await page.click($('decision-release'));
    expect(await page.$eval($('decision-release'), (c) => (c as PageElement).checked)).toBe(true);
    await page.click($('decision-confirm'));
    await waitForText(page, $('decision-result'), 'CONFIRMED');
    expect(await page.$eval($('decision-result'), (e) => e.textContent)).toMatch(/^CONFIRMED: bus by alice .*released to its original key/);
    await shot(page, '2-released');

    // The release copied it back to its key; S3 notified that; the workflow classified it again without reopening a review.
    const again = await local.pipeline.whenProcessed(key);
    expect(again.executionArn).not.toBe(first.executionArn);
    expect(again.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'bus' });
    expect(again.states).not.toContain('CopyToQuarantine');
    expect(again.states).not.toContain('OpenReview');
    const s3 = local.pipeline.s3.client();
    try {
      const bucket = local.pipeline.bucketName;
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.ContentLength).toBe(imageFor(2).length);
      expect(head.Metadata?.[RELEASE_REF_METADATA_KEY]).toMatch(/^[0-9a-f-]{36}$/); // names the console's release marker
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({ 'ics:review': 'CONFIRMED', 'ics:reviewed-label': 'bus' });
      await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `quarantine/${key}` }))).rejects.toMatchObject({ name: 'NotFound' });
    } finally {
      s3.destroy();
    }

    // The queue, loaded again: nothing pending; both decisions under "Decided".
    const decided = await listReviews(page, $('status-filter-decided'), 'DECIDED');
    expect(decided).toHaveLength(2);
    expect(decided).toContain(reviewId);
    expect(await listReviews(page, $('status-filter-pending'), 'PENDING')).toEqual([]);
    await waitForText(page, $('review-list'), 'Nothing to review.');
    expect(await local.measurePendingReviews()).toMatchObject({ pending: 0 });
    expect(consoleErrors).toEqual([]);
  });

  test('a reviewer uploads an image from the browser (presigned PUT, S3 notifies the pipeline) and sees its outcome', async () => {
    const bytes = imageFor(5);
    model.answer(bytes, scores(1, 0.99));
    const file = path.join(shots, 'gate-south.jpg');
    fs.writeFileSync(file, bytes);
    const page = await openPage();
    await signIn(page, 'alice', 'Alice-pass-123');
    await signedIn(page, 'alice');
    await page.click($('nav-upload'));
    const input = await page.waitForSelector($('upload-input'));
    await (input as any).uploadFile(file);
    await waitForText(page, $('upload-status'), 'FLAGGED');
    await waitForText(page, $('upload-status'), 'motorcycle');
    await shot(page, '5-upload');
    // The object the browser PUT is in the input prefix, byte for byte, and the pipeline classified it.
    const run = local.pipeline.executions.find((e) => e.result?.key?.startsWith('uploads/console/') && e.result?.outcome === 'FLAGGED');
    expect(run?.result).toMatchObject({ label: 'motorcycle', sizeBytes: bytes.length });
    expect(consoleErrors).toEqual([]);
  });

  test('a viewer sees the queue and a review but cannot upload or decide', async () => {
    const reviewId = await uploadUnsure('uploads/cam/3.jpg', 3);
    const page = await openPage();
    await signIn(page, 'victor', 'Victor-pass-123');
    await signedIn(page, 'victor');
    await page.waitForSelector($('nav-reviews'));
    expect(await page.$($('nav-upload'))).toBeNull();

    expect(await listReviews(page, $('nav-reviews'), 'PENDING')).toEqual([reviewId]);
    await waitForText(page, '.notice', 'You are a viewer');
    await openReview(page, reviewId);
    await page.waitForSelector($('review-scores'));
    for (const id of ['decision-label', 'decision-confirm', 'decision-correct', 'decision-unusable', 'decision-release', 'decision-result']) {
      expect({ id, present: !!(await page.$($(id))) }).toEqual({ id, present: false });
    }
    await shot(page, '3-viewer');

    // The upload page, reached by its address, says why not.
    await page.goto(`${local.url}#/upload`);
    await waitForText(page, 'main', 'Uploads are for reviewers only');
    expect(await page.$($('upload-input'))).toBeNull();
    expect(consoleErrors).toEqual([]);
  });

  test('a user created with a temporary password chooses a new one at first sign-in; a weak one is refused', async () => {
    local.cognito.createUser({ username: 'nina', temporaryPassword: 'Temp-pass-123', groups: ['reviewers'] });
    const page = await openPage();
    await signIn(page, 'nina', 'Temp-pass-123');
    await page.waitForSelector($('newpassword-form'));
    expect(await page.$($('signin-form'))).toBeNull();

    await page.type($('newpassword-input'), 'weak');
    await page.click($('newpassword-submit'));
    await page.waitForSelector($('signin-error'));
    expect(await page.$eval($('signin-error'), (e) => e.textContent)).toMatch(/password/i);
    expect(local.cognito.user('nina')?.status).toBe('FORCE_CHANGE_PASSWORD');
    await shot(page, '4-weak-password');

    await page.$eval($('newpassword-input'), (i) => { (i as { value: string }).value = ''; });
    await page.type($('newpassword-input'), 'Nina-strong-pass-42!');
    await page.click($('newpassword-submit'));
    await signedIn(page, 'nina');
    expect(local.cognito.user('nina')?.status).toBe('CONFIRMED');
    await page.waitForSelector($('nav-upload'));

    // Signed out, the new password signs in; the temporary one no longer does.
    await page.click($('signout'));
    await page.waitForSelector($('signin-form'));
    await page.type($('signin-username'), 'nina');
    await page.type($('signin-password'), 'Temp-pass-123');
    await page.click($('signin-submit'));
    await page.waitForSelector($('signin-error'));
    await page.$eval($('signin-password'), (i) => { (i as { value: string }).value = ''; });
    await page.type($('signin-password'), 'Nina-strong-pass-42!');
    await page.click($('signin-submit'));
    await signedIn(page, 'nina');
    // Only the refused sign-ins answered errors (Cognito's HTTP 400).
    expect(consoleErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  });
});
