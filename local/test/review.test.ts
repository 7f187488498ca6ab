import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { IMAGE_FORMATS } from 'cdk-image-classification-pipeline/lib/handlers/image-format';
import { RELEASE_REF_METADATA_KEY, releaseMarkerIdOf, reviewIdOf } from 'cdk-image-classification-pipeline/lib/review/decisions';
import { consoleTemplate, imageFor, KeyedModel, reviewTableOf, scores, startConsole, UNSURE } from './console-fixture';
import { VEHICLE_LABELS } from '../../test/stacks';
import { LocalConsole } from '../src/console';
import type { LocalExecution } from '../src/runner';

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
  afterAll(async () => {
    // Every call of the suite ran through the enforcing gateway; none was one AWS would deny.
    const denials = local.pipeline?.denials.map((d) => d.message) ?? [];
    await local?.close();
    expect(denials).toEqual([]);
  });

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
    expect(head.Metadata?.[RELEASE_REF_METADATA_KEY]).toMatch(/^[0-9a-f-]{36}$/);
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

  test('a forged release (an upload naming a release marker the console never wrote) is quarantined and reviewed like any upload', async () => {
    const bytes = imageFor(3);
    model.answer(bytes, UNSURE);
    const key = `uploads/${'long-camera-name/'.repeat(4)}forged.jpg`;
    const s3 = local.pipeline.s3.client();
    await s3.send(new PutObjectCommand({ Bucket: local.pipeline.bucketName, Key: key, Body: bytes, Metadata: { [RELEASE_REF_METADATA_KEY]: '3c001f52-f4b5-443e-bc65-87619a36f3c4' } }));
    s3.destroy();
    const run = await local.pipeline.whenProcessed(key);
    expect(run.states).toEqual(expect.arrayContaining(['ConsumeRelease', 'CopyToQuarantine', 'OpenReview', 'AlertLowConfidence1']));
    expect(run.states).not.toContain('MarkReleased');
    // A key of 80+ bytes: the review's ID is the real SHA-256, as the API computes it.
    const detail = await api(viewer, `/api/reviews/${reviewIdOf(local.pipeline.bucketName, key)}`);
    expect(detail.status).toBe(200);
  });

  test('a release lets through exactly the copy the console made, once, before it expires; a leaked reference lets nothing through', async () => {
    const bucket = local.pipeline.bucketName;
    const key = 'uploads/cam/5.jpg';
    const released = imageFor(5);
    model.answer(released, UNSURE);
    const s3 = local.pipeline.s3.client();
    const ddb = local.pipeline.dynamodb!.client();
    /** Runs `write` and waits for the execution of the "Object Created" event it causes at `key`. */
    const processed = async (write: () => Promise<unknown>): Promise<LocalExecution> => {
      const before = await local.pipeline.whenProcessed(key, 0).catch(() => undefined);
      await write();
      for (;;) {
        const run = await local.pipeline.whenProcessed(key);
        if (run !== before) return run;
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const put = (body: Uint8Array, ref: string) => processed(() => s3.send(new PutObjectCommand({
      Bucket: bucket, Key: key, Body: body, Metadata: { [RELEASE_REF_METADATA_KEY]: ref },
    })));
    const marker = async (id: string) => (await local.pipeline.dynamodb!.scan(reviewTableId())).find((i) => i.reviewId === id);
    const setMarker = (id: string, update: string, values?: Record<string, { S: string }>) => ddb.send(new UpdateItemCommand({
      TableName: reviewTableId(), Key: { reviewId: { S: id } }, UpdateExpression: update, ExpressionAttributeValues: values,
    }));
    const releasedOnce = ['ConsumeRelease', 'MarkReleased'];
    try {
      await local.pipeline.upload(key, released);
      const reviewId = reviewIdOf(bucket, key);
      // The release: the copy it makes passes once (no quarantine, no review, no alert) and consumes the marker.
      const copied = await processed(() => api(reviewer, `/api/reviews/${reviewId}/decision`, { method: 'POST', body: JSON.stringify({ label: 'bus', release: true }) })
        .then((r) => expect(r.status).toBe(200)));
      expect(copied.states).toEqual(expect.arrayContaining(releasedOnce));
      expect(copied.states).not.toContain('CopyToQuarantine');
      expect(copied.alerts).toEqual([]);
      const ref = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata![RELEASE_REF_METADATA_KEY];
      const markerId = releaseMarkerIdOf(bucket, key, ref);
      const consumed = await marker(markerId);
      // Unversioned here (the local S3 keeps no versions): the copy is known by its ETag.
      expect(consumed).toMatchObject({
        kind: 'RELEASE', releasedCopy: expect.stringMatching(/^etag:[0-9a-f]{32}$/), consumedBy: copied.executionArn, validUntil: expect.any(String),
      });

      // The marker is no review: 404, not a failure; and errors are never cached.
      const asReview = await api(viewer, `/api/reviews/${markerId}`);
      expect(asReview.status).toBe(404);
      expect(asReview.headers.get('cache-control')).toBe('no-store');

      // A replay of the same copy after consumption is an ordinary upload: quarantined and alerted again.
      const replay = await local.pipeline.startExecution({ bucket, key });
      expect(replay.states).toEqual(expect.arrayContaining(['ConsumeRelease', 'CopyToQuarantine', 'AlertLowConfidence1']));
      expect(replay.states).not.toContain('MarkReleased');

      // The reference leaks (a viewer reads the copy's metadata) before the copy's workflow consumed the marker: other
      // bytes at the key with it are any upload. A FLAGGED image alerts; the marker stays unused.
      await setMarker(markerId, 'REMOVE consumedBy, consumedAt');
      const flagged = model.answer(imageFor(6), scores(4, 0.99));
      const leaked = await put(flagged, ref);
      expect(leaked.result).toMatchObject({ outcome: 'FLAGGED', label: 'tank' });
      expect(leaked.states).toContain('ConsumeRelease');
      expect(leaked.states).not.toContain('MarkReleased');
      expect(leaked.alerts).toHaveLength(1);
      expect((await marker(markerId))?.consumedBy).toBeUndefined();
      // The same for a LOW_CONFIDENCE one: quarantined and alerted.
      const unsure = model.answer(imageFor(7), UNSURE);
      const leakedUnsure = await put(unsure, ref);
      expect(leakedUnsure.states).toEqual(expect.arrayContaining(['ConsumeRelease', 'CopyToQuarantine', 'AlertLowConfidence1']));
      expect(leakedUnsure.states).not.toContain('MarkReleased');

      // Expired by the workflow's own clock (DynamoDB's TTL deletes late): the copy itself is refused...
      await setMarker(markerId, 'SET validUntil = :t', { ':t': { S: new Date(Date.now() - 1000).toISOString() } });
      const expired = await put(released, ref);
      expect(expired.states).toEqual(expect.arrayContaining(['ConsumeRelease', 'CopyToQuarantine', 'AlertLowConfidence1']));
      expect(expired.states).not.toContain('MarkReleased');
      // ...which, still valid, would have passed once: in a bucket without versioning the same bytes are the same copy.
      await setMarker(markerId, 'SET validUntil = :t', { ':t': { S: new Date(Date.now() + 3600_000).toISOString() } });
      const valid = await put(released, ref);
      expect(valid.states).toEqual(expect.arrayContaining(releasedOnce));
      expect(valid.alerts).toEqual([]);
    } finally {
      s3.destroy();
      ddb.destroy();
    }
  });

  test('group names match whole: a user whose only group is "ops,reviewers" may neither look, decide nor upload', async () => {
    local.cognito.createUser({ username: 'olga', password: 'Olga-pass-1234', groups: ['ops,reviewers'] });
    local.cognito.createUser({ username: 'rita', password: 'Rita-pass-1234', groups: ['ops', 'reviewers'] });
    const olga = await signIn(local, 'olga', 'Olga-pass-1234');
    const me = await api(olga, '/api/me');
    expect(me.status).toBe(403);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect((await api(olga, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.jpg', contentType: 'image/jpeg', size: 10 }) })).status).toBe(403);
    expect((await api(olga, `/api/reviews/${'a'.repeat(64)}/decision`, { method: 'POST', body: JSON.stringify({ label: 'bus' }) })).status).toBe(403);
    // Two groups arrive as "[ops reviewers]": a reviewer.
    const rita = await signIn(local, 'rita', 'Rita-pass-1234');
    expect(await (await api(rita, '/api/me')).json()).toMatchObject({ username: 'rita', groups: ['ops', 'reviewers'], canReview: true });
  });

  test('bad requests: an overlong status key is 400, an SVG upload is refused; every error is no-store', async () => {
    const long = await api(viewer, `/api/uploads/status?key=${encodeURIComponent(`uploads/${'k'.repeat(2000)}`)}`);
    expect(long.status).toBe(400);
    expect(long.headers.get('cache-control')).toBe('no-store');
    expect(await long.json()).toMatchObject({ code: 'BadRequest' });
    const svg = await api(reviewer, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.svg', contentType: 'image/svg+xml', size: 10 }) });
    expect(svg.status).toBe(400);
    expect(svg.headers.get('cache-control')).toBe('no-store');
    // The formats the classify function recognizes (this pipeline's classifier is a SageMaker endpoint).
    expect((await svg.json() as any).message).toContain(Object.values(IMAGE_FORMATS).join(', '));
    for (const contentType of ['image/x-icon', 'text/html', 'IMAGE/JPEG']) {
      expect((await api(reviewer, '/api/uploads', { method: 'POST', body: JSON.stringify({ fileName: 'x.jpg', contentType, size: 10 }) })).status).toBe(400);
    }
    const unknown = await api(viewer, `/api/reviews/${'f'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('cache-control')).toBe('no-store');
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
