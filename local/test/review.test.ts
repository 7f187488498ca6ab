import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { reviewIdOf } from 'cdk-image-classification-pipeline/lib/review/decisions';
import { consoleTemplate, imageFor, KeyedModel, reviewTableOf, startConsole, UNSURE } from './console-fixture';
import { images } from '../../test/handlers/fixtures';
import { VEHICLE_LABELS } from '../../test/stacks';
import { LocalConsole } from '../src/console';

/** The review table's logical ID (the local table name). */
let reviewTableId: () => string;

/** Signs in through the local stand-in for Cognito as the page does (InitiateAuth, USER_PASSWORD_AUTH). */
async function signIn(local: LocalConsole, username: string, password: string): Promise<string> {
  const config = await (await fetch(`${local.url}config.json`)).json() as any;
  const res = await fetch(config.cognitoEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
    body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: config.userPoolClientId, AuthParameters: { USERNAME: username, PASSWORD: password } }),
  });
  const body = await res.json() as any;
  if (!body.AuthenticationResult) throw new Error(JSON.stringify(body));
  return body.AuthenticationResult.IdToken;
}

describe('human review through the console API, locally (queued ingestion, quarantine of LOW_CONFIDENCE)', () => {
  let local: LocalConsole;
  let reviewer: string;
  let viewer: string;
  const model = new KeyedModel();
  const api = (token: string | undefined, path: string, init: RequestInit = {}) => fetch(`${local.api.url}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
  });

  beforeAll(async () => {
    const template = consoleTemplate();
    reviewTableId = () => reviewTableOf(template);
    local = await startConsole(template, model);
    reviewer = await signIn(local, 'alice', 'Alice-pass-123');
    viewer = await signIn(local, 'victor', 'Victor-pass-123');
  });
  afterAll(() => local?.close());

  test('a LOW_CONFIDENCE image opens one pending review (a duplicate delivery opens none); a reviewer corrects and releases it', async () => {
    const bytes = imageFor(1);
    model.answer(bytes, UNSURE);
    const run = await local.pipeline.upload('uploads/cam/1.jpg', bytes);
    expect(run.result).toMatchObject({ outcome: 'LOW_CONFIDENCE', label: 'bus', quarantine: { key: 'quarantine/uploads/cam/1.jpg' } });
    expect(run.states).toContain('OpenReview');
    const reviewId = reviewIdOf(local.pipeline.bucketName, 'uploads/cam/1.jpg');
    // The same execution again (an at-least-once redelivery reaching the workflow): the conditional put keeps one review.
    await local.pipeline.startExecution({ bucket: local.pipeline.bucketName, key: 'uploads/cam/1.jpg' }).catch(() => undefined);

    // Its status: moved to quarantine (S3 copied its tags there), under review.
    const status = await (await api(viewer, `/api/uploads/status?key=${encodeURIComponent('uploads/cam/1.jpg')}`)).json();
    expect(status).toEqual({ key: 'uploads/cam/1.jpg', status: 'CLASSIFIED', outcome: 'LOW_CONFIDENCE', label: 'bus', confidence: 0.6, reviewId });

    const list = await (await api(viewer, '/api/reviews')).json() as any;
    expect(list.items.map((i: any) => i.reviewId)).toEqual([reviewId]);
    expect(list.items[0]).toMatchObject({ status: 'PENDING', outcome: 'LOW_CONFIDENCE', label: 'bus', quarantine: { key: 'quarantine/uploads/cam/1.jpg' } });

    const detail = await (await api(viewer, `/api/reviews/${reviewId}`)).json() as any;
    expect(detail.topK[0]).toEqual({ label: 'bus', score: 0.6 });
    // The presigned GET reads the quarantined bytes.
    expect(Buffer.from(await (await fetch(detail.imageUrl)).arrayBuffer()).equals(bytes)).toBe(true);

    // A viewer may not decide; a label that is not a class label and a missing token change nothing.
    expect((await api(viewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'tank' }) })).status).toBe(403);
    const bad = await api(reviewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'spaceship' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'InvalidLabel' });
    expect((await api(undefined, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'tank' }) })).status).toBe(401);
    expect((await api(reviewer, '/api/reviews/0000/decision', { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await api(reviewer, `/api/reviews/${'f'.repeat(64)}/decision`, { method: 'POST', body: JSON.stringify({ label: 'tank' }) })).status).toBe(404);

    const decided = await api(reviewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'tank', release: true }) });
    expect(decided.status).toBe(200);
    expect(await decided.json()).toMatchObject({ status: 'DECIDED', decision: 'CORRECTED', reviewedLabel: 'tank', reviewer: 'alice', released: true });

    // Released: back at its key with the reviewer's tags; the re-classification it triggers neither quarantines nor reopens.
    const again = await local.pipeline.whenProcessed('uploads/cam/1.jpg');
    expect(again.result).toMatchObject({ outcome: 'LOW_CONFIDENCE' });
    expect(again.states).not.toContain('CopyToQuarantine');
    expect(again.states).not.toContain('OpenReview');
    expect(again.alerts).toEqual([]);
    const s3 = local.pipeline.s3.client();
    const head = await s3.send(new HeadObjectCommand({ Bucket: local.pipeline.bucketName, Key: 'uploads/cam/1.jpg' }));
    expect(head.Metadata?.['ics-release-token']).toMatch(/^[0-9a-f-]{36}$/);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: local.pipeline.bucketName, Key: 'uploads/cam/1.jpg' }));
    expect(Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({ 'ics:review': 'CORRECTED', 'ics:reviewed-label': 'tank' });

    // The Ground Truth line in the month's manifest.
    const audit = local.pipeline.auditBucketName!;
    const month = new Date().toISOString().slice(0, 7).replace('-', '/');
    const manifest = await (await s3.send(new GetObjectCommand({ Bucket: audit, Key: `feedback/${month}/manifest.jsonl` }))).Body!.transformToString();
    const lines = manifest.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{
      'source-ref': `s3://${local.pipeline.bucketName}/uploads/cam/1.jpg`,
      'class': VEHICLE_LABELS.indexOf('tank'),
      'class-metadata': expect.objectContaining({ 'class-name': 'tank', 'human-annotated': 'yes', 'type': 'groundtruth/image-classification' }),
    }]);
    s3.destroy();

    // Decided twice: 409, and nothing changes.
    const twice = await api(reviewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'bus' }) });
    expect(twice.status).toBe(409);
    expect((await (await api(viewer, '/api/reviews?status=DECIDED')).json() as any).items).toMatchObject([{ reviewId, reviewedLabel: 'tank' }]);
    expect(local.pipeline.events.filter((e) => e.detailType === 'ImageReviewed')).toHaveLength(1);
  });

  test('a forged release (an upload carrying a release token the console never wrote) is quarantined and reviewed like any upload', async () => {
    const bytes = imageFor(3);
    model.answer(bytes, UNSURE);
    const key = `uploads/${'long-camera-name/'.repeat(4)}forged.jpg`;
    const s3 = local.pipeline.s3.client();
    await s3.send(new PutObjectCommand({ Bucket: local.pipeline.bucketName, Key: key, Body: bytes, Metadata: { 'ics-release-token': '3c001f52-f4b5-443e-bc65-87619a36f3c4' } }));
    s3.destroy();
    const run = await local.pipeline.whenProcessed(key);
    expect(run.states).toEqual(expect.arrayContaining(['ConfirmRelease', 'CopyToQuarantine', 'OpenReview', 'AlertLowConfidence1']));
    expect(run.states).not.toContain('MarkReleased');
    // A key of 80+ bytes: the review's ID is the real SHA-256, as the API computes it.
    const detail = await api(viewer, `/api/reviews/${reviewIdOf(local.pipeline.bucketName, key)}`);
    expect(detail.status).toBe(200);
  });

  test('an effect that fails after the decision is recorded answers 502; the same decision again finishes it, another is refused', async () => {
    const bytes = imageFor(4);
    model.answer(bytes, UNSURE);
    await local.pipeline.upload('uploads/cam/4.jpg', bytes);
    const reviewId = reviewIdOf(local.pipeline.bucketName, 'uploads/cam/4.jpg');
    const month = new Date().toISOString().slice(0, 7).replace('-', '/');
    // The manifest write fails (the store breaks) for every attempt of the first request.
    local.pipeline.s3.failNext(Infinity, { operation: 'PutObject', bucket: local.pipeline.auditBucketName, key: `feedback/${month}/manifest.jsonl` });
    const decide = (body: unknown) => api(reviewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify(body) });
    const failed = await decide({ label: 'tractor' });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ code: 'EffectsIncomplete' });
    local.pipeline.s3.clearFaults();
    const item = (await local.pipeline.dynamodb!.scan(reviewTableId())).find((i) => i.reviewId === reviewId);
    expect(item).toMatchObject({ status: 'DECIDED', decision: 'CORRECTED', reviewedLabel: 'tractor', effectsPending: true });
    expect((await decide({ label: 'bus' })).status).toBe(409);
    const finished = await decide({ label: 'tractor' });
    expect(finished.status).toBe(200);
    const after = (await local.pipeline.dynamodb!.scan(reviewTableId())).find((i) => i.reviewId === reviewId);
    expect(after?.effectsPending).toBeUndefined();
    const s3 = local.pipeline.s3.client();
    const manifest = await (await s3.send(new GetObjectCommand({ Bucket: local.pipeline.auditBucketName, Key: `feedback/${month}/manifest.jsonl` }))).Body!.transformToString();
    s3.destroy();
    // Exactly one line for this review, whatever the retries.
    expect(manifest.split('\n').filter((l) => l.includes(reviewId))).toHaveLength(1);
    expect((await decide({ label: 'tractor' })).status).toBe(409);
  });

  test('uploads: a presigned PUT for the exact size lands in the input prefix, is classified, and its status says so; bad requests are refused', async () => {
    const bytes = imageFor(2);
    const tooBig = await api(reviewer, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.jpg', contentType: 'image/jpeg', size: 7 * 1024 * 1024 }) });
    expect(tooBig.status).toBe(413);
    expect((await api(viewer, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.jpg', contentType: 'image/jpeg', size: 10 }) })).status).toBe(403);
    expect((await api(reviewer, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.exe', contentType: 'image/jpeg', size: 10 }) })).status).toBe(400);
    const ticket = await (await api(reviewer, '/api/uploads', {
      method: 'POST', body: JSON.stringify({ fileName: 'gate.jpg', contentType: 'image/jpeg', size: bytes.length }),
    })).json() as any;
    expect(ticket.key).toMatch(/^uploads\/console\/\d{4}-\d\d-\d\d\/[0-9a-f-]+-gate\.jpg$/);
    // A body of another length does not match the signature.
    expect((await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: Buffer.concat([bytes, Buffer.from('x')]) })).ok).toBe(false);
    expect((await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: bytes })).status).toBe(200);
    const run = await local.pipeline.whenProcessed(ticket.key);
    expect(run.result).toMatchObject({ outcome: 'ACCEPTED', label: 'bus' });
    const status = await (await api(reviewer, `/api/uploads/status?key=${encodeURIComponent(ticket.key)}`)).json();
    expect(status).toMatchObject({ key: ticket.key, status: 'CLASSIFIED', outcome: 'ACCEPTED', label: 'bus' });
  });

  test('the page and its security headers; metrics from the functions\' EMF records', async () => {
    const page = await fetch(local.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('/static/app.js');
    const metrics = await (await api(viewer, '/api/metrics?hours=1')).json() as any;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(metrics.outcomes.LOW_CONFIDENCE)).toBeGreaterThanOrEqual(2);
    expect(sum(metrics.outcomes.ACCEPTED)).toBeGreaterThanOrEqual(1);
    // The LOW_CONFIDENCE images alerted (the released one did not again).
    expect(sum(metrics.alerts)).toBeGreaterThanOrEqual(2);
    expect(metrics.alerts).toHaveLength(metrics.timestamps.length);
    expect((await api(viewer, '/api/metrics?hours=0')).status).toBe(400);
    const measured = await local.measurePendingReviews() as any;
    // The forged release's review waits.
    expect(measured).toMatchObject({ pending: 1, oldestCreatedAt: expect.any(String) });
  });
});
