import { createHash } from 'node:crypto';
import { securityHeaders } from '../../src/handlers/console-api';
import { EmfRecord } from '../../src/handlers/metrics';
import { pendingRecord, ReviewMetric } from '../../src/handlers/review-metrics';
import type { ReviewItem } from '../../src/review/console-api';
import {
  appendManifest, checkDecision, groupsOf, imageLocation, manifestKey, manifestLine, releasedCopyOf, releaseMarkerIdOf, REVIEW_ID, ReviewAttribute,
  reviewIdOf, reviewItemOf, reviewTags, ReviewTagKey,
} from '../../src/review/decisions';

const LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];
const ID = reviewIdOf('images', 'uploads/a.jpg', 'v1');

/** A pending review of a LOW_CONFIDENCE `bus`, not quarantined. */
const pending = (over: Partial<ReviewItem> = {}): ReviewItem => ({
  reviewId: ID,
  status: 'PENDING',
  bucket: 'images',
  key: 'uploads/a.jpg',
  versionId: 'v1',
  outcome: 'LOW_CONFIDENCE',
  label: 'bus',
  confidence: 0.61,
  topK: [{ label: 'bus', score: 0.61 }, { label: 'tractor', score: 0.3 }],
  executionArn: 'arn:aws:states:eu-west-1:111111111111:express:Sm:e1:x',
  createdAt: '2026-12-05T02:00:00.000Z',
  ...over,
});
const quarantined = (over: Partial<ReviewItem> = {}) => pending({ quarantine: { bucket: 'images', key: 'quarantine/uploads/a.jpg' }, ...over });

describe('reviewIdOf', () => {
  test('SHA-256 (hex) of bucket/key@versionId', () => {
    expect(ID).toBe(createHash('sha256').update('images/uploads/a.jpg@v1').digest('hex'));
    expect(ID).toMatch(REVIEW_ID);
  });

  test('an unversioned bucket hashes bucket/key@ (an empty version)', () => {
    const id = reviewIdOf('images', 'uploads/a.jpg');
    expect(id).toBe(createHash('sha256').update('images/uploads/a.jpg@').digest('hex'));
    expect(id).toBe(reviewIdOf('images', 'uploads/a.jpg', ''));
    expect(id).toMatch(REVIEW_ID);
  });

  test('each version, key and bucket has its own review; the same upload always the same', () => {
    const ids = [ID, reviewIdOf('images', 'uploads/a.jpg', 'v2'), reviewIdOf('images', 'uploads/b.jpg', 'v1'), reviewIdOf('other', 'uploads/a.jpg', 'v1')];
    expect(new Set(ids).size).toBe(4);
    expect(reviewIdOf('images', 'uploads/a.jpg', 'v1')).toBe(ID);
  });

  test('non-ASCII keys are hashed as UTF-8', () => {
    expect(reviewIdOf('images', 'uploads/ümlaut é.jpg', 'v')).toBe(createHash('sha256').update(Buffer.from('images/uploads/ümlaut é.jpg@v', 'utf8')).digest('hex'));
  });

  test('REVIEW_ID accepts 64 lowercase hex digits only', () => {
    expect(REVIEW_ID.test('a'.repeat(64))).toBe(true);
    expect(REVIEW_ID.test('A'.repeat(64))).toBe(false);
    expect(REVIEW_ID.test('a'.repeat(63))).toBe(false);
    expect(REVIEW_ID.test('a'.repeat(65))).toBe(false);
    expect(REVIEW_ID.test(`${'a'.repeat(63)}g`)).toBe(false);
    expect(REVIEW_ID.test(`../${'a'.repeat(61)}`)).toBe(false);
  });
});

describe('checkDecision', () => {
  const refusal = (body: unknown, item = pending()) => {
    const check = checkDecision(body, item, LABELS);
    if (check.ok) throw new Error(`expected a refusal, got ${JSON.stringify(check)}`);
    return { status: check.status, code: check.code, message: check.message };
  };

  test.each([
    ['undefined', undefined],
    ['null', null],
    ['an array', [{ label: 'bus' }]],
    ['a string', 'bus'],
    ['a number', 1],
    ['true', true],
  ])('refuses a body that is %s (400 BadRequest)', (_name, body) => {
    expect(refusal(body)).toEqual({ status: 400, code: 'BadRequest', message: expect.stringContaining('JSON object') });
  });

  test('refuses unknown fields, naming them', () => {
    expect(refusal({ label: 'bus', reviewer: 'mallory', status: 'DECIDED' })).toEqual({
      status: 400, code: 'BadRequest', message: 'Unknown fields: reviewer, status',
    });
  });

  test.each([
    [{ unusable: 'true' }, '"unusable" must be a boolean'],
    [{ unusable: 1 }, '"unusable" must be a boolean'],
    [{ label: 'bus', release: 'yes' }, '"release" must be a boolean'],
    [{ label: 4 }, '"label" must be a string'],
    [{ label: null }, '"label" must be a string'],
    [{ label: 'bus', unusable: true }, 'Give either "label" or "unusable": true, not both'],
    [{}, 'Give "label" (confirm or correct) or "unusable": true'],
    [{ unusable: false }, 'Give "label" (confirm or correct) or "unusable": true'],
    [{ release: true }, 'Give "label" (confirm or correct) or "unusable": true'],
  ])('refuses %j (400 BadRequest)', (body, message) => {
    expect(refusal(body)).toEqual({ status: 400, code: 'BadRequest', message });
  });

  test('refuses a label outside the class labels (400 InvalidLabel), listing them', () => {
    const r = refusal({ label: 'car' });
    expect(r.status).toBe(400);
    expect(r.code).toBe('InvalidLabel');
    expect(r.message).toBe(`"car" is not one of the class labels (${LABELS.join(', ')})`);
    // Labels are compared exactly.
    expect(refusal({ label: 'Bus' }).code).toBe('InvalidLabel');
    expect(refusal({ label: ' bus' }).code).toBe('InvalidLabel');
  });

  test('refuses a decided review (409 AlreadyDecided), naming the decision and the reviewer', () => {
    const decided = pending({ status: 'DECIDED', decision: 'CORRECTED', reviewedLabel: 'tractor', reviewer: 'alice' });
    expect(refusal({ label: 'bus' }, decided)).toEqual({
      status: 409, code: 'AlreadyDecided', message: 'This review was decided already (CORRECTED by alice); nothing was changed',
    });
    expect(refusal({ unusable: true }, pending({ status: 'DECIDED', decision: 'UNUSABLE' })).message)
      .toBe('This review was decided already (UNUSABLE); nothing was changed');
  });

  test('refuses to release an image that was not quarantined (400 NotQuarantined)', () => {
    expect(refusal({ label: 'bus', release: true })).toEqual({ status: 400, code: 'NotQuarantined', message: 'Only a quarantined image can be released' });
    expect(refusal({ unusable: true, release: true }).code).toBe('NotQuarantined');
  });

  test('the model\'s label confirmed: CONFIRMED', () => {
    expect(checkDecision({ label: 'bus' }, pending(), LABELS)).toEqual({ ok: true, decision: 'CONFIRMED', reviewedLabel: 'bus', release: false });
  });

  test('another class label: CORRECTED', () => {
    expect(checkDecision({ label: 'tractor' }, pending(), LABELS)).toEqual({ ok: true, decision: 'CORRECTED', reviewedLabel: 'tractor', release: false });
    expect(checkDecision({ label: 'tractor', unusable: false }, pending(), LABELS)).toMatchObject({ ok: true, decision: 'CORRECTED' });
  });

  test('unusable: UNUSABLE without a label', () => {
    expect(checkDecision({ unusable: true }, pending(), LABELS)).toEqual({ ok: true, decision: 'UNUSABLE', reviewedLabel: undefined, release: false });
  });

  test('release of a quarantined image, with any decision', () => {
    expect(checkDecision({ label: 'bus', release: true }, quarantined(), LABELS)).toEqual({ ok: true, decision: 'CONFIRMED', reviewedLabel: 'bus', release: true });
    expect(checkDecision({ label: 'tank', release: true }, quarantined(), LABELS)).toMatchObject({ ok: true, decision: 'CORRECTED', release: true });
    expect(checkDecision({ unusable: true, release: true }, quarantined(), LABELS)).toMatchObject({ ok: true, decision: 'UNUSABLE', release: true });
    // A quarantined image stays there unless release is asked for.
    expect(checkDecision({ label: 'bus', release: false }, quarantined(), LABELS)).toMatchObject({ ok: true, release: false });
  });

  test('an item without a model label: any class label corrects it', () => {
    expect(checkDecision({ label: 'bus' }, pending({ label: undefined }), LABELS)).toMatchObject({ ok: true, decision: 'CORRECTED' });
  });
});

describe('imageLocation', () => {
  test('never moved: the uploaded key', () => {
    expect(imageLocation(pending(), false)).toEqual({ bucket: 'images', key: 'uploads/a.jpg' });
    expect(imageLocation(pending(), true)).toEqual({ bucket: 'images', key: 'uploads/a.jpg' });
  });

  test('quarantined: in quarantine until released, then back at its key', () => {
    expect(imageLocation(quarantined(), false)).toEqual({ bucket: 'images', key: 'quarantine/uploads/a.jpg' });
    expect(imageLocation(quarantined({ quarantine: { bucket: 'vault', key: 'q/uploads/a.jpg' } }), false)).toEqual({ bucket: 'vault', key: 'q/uploads/a.jpg' });
    expect(imageLocation(quarantined(), true)).toEqual({ bucket: 'images', key: 'uploads/a.jpg' });
  });
});

describe('reviewTags', () => {
  const pipelineTags = [
    { Key: 'ics:label', Value: 'bus' },
    { Key: 'ics:confidence', Value: '0.61' },
    { Key: 'ics:outcome', Value: 'LOW_CONFIDENCE' },
  ];

  test('keeps the object\'s tags and adds ics:review and ics:reviewed-label', () => {
    expect(reviewTags([...pipelineTags, { Key: 'team', Value: 'a' }], 'CORRECTED', 'tractor')).toEqual([
      ...pipelineTags,
      { Key: 'team', Value: 'a' },
      { Key: ReviewTagKey.REVIEW, Value: 'CORRECTED' },
      { Key: ReviewTagKey.REVIEWED_LABEL, Value: 'tractor' },
    ]);
    expect(ReviewTagKey).toEqual({ REVIEW: 'ics:review', REVIEWED_LABEL: 'ics:reviewed-label' });
  });

  test('UNUSABLE has no reviewed label', () => {
    expect(reviewTags(pipelineTags, 'UNUSABLE')).toEqual([...pipelineTags, { Key: 'ics:review', Value: 'UNUSABLE' }]);
  });

  test('replaces earlier review tags instead of repeating them (a retried or new decision)', () => {
    const before = [...pipelineTags, { Key: 'ics:review', Value: 'CONFIRMED' }, { Key: 'ics:reviewed-label', Value: 'bus' }];
    expect(reviewTags(before, 'UNUSABLE')).toEqual([...pipelineTags, { Key: 'ics:review', Value: 'UNUSABLE' }]);
    const again = reviewTags(before, 'CORRECTED', 'tank')!;
    expect(again.filter((t) => t.Key === 'ics:review')).toEqual([{ Key: 'ics:review', Value: 'CORRECTED' }]);
    expect(again.filter((t) => t.Key === 'ics:reviewed-label')).toEqual([{ Key: 'ics:reviewed-label', Value: 'tank' }]);
    expect(again).toHaveLength(5);
  });

  test('at most 10 tags (S3\'s limit): undefined when they would not fit', () => {
    const own = (n: number) => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    expect(reviewTags(own(8), 'CORRECTED', 'tank')).toHaveLength(10);
    expect(reviewTags(own(9), 'CORRECTED', 'tank')).toBeUndefined();
    expect(reviewTags(own(9), 'UNUSABLE')).toHaveLength(10);
    expect(reviewTags(own(10), 'UNUSABLE')).toBeUndefined();
    // Our own tags being replaced do not count twice.
    expect(reviewTags([...own(8), { Key: 'ics:review', Value: 'CONFIRMED' }, { Key: 'ics:reviewed-label', Value: 'bus' }], 'CORRECTED', 'tank')).toHaveLength(10);
  });

  test('sanitizes the label to characters S3 allows in tag values, at most 256', () => {
    const value = (label: string) => reviewTags([], 'CORRECTED', label)!.find((t) => t.Key === 'ics:reviewed-label')!.Value;
    expect(value('pickup_truck')).toBe('pickup_truck');
    expect(value('a+b-c=d.e_f:g/h@i j')).toBe('a+b-c=d.e_f:g/h@i j');
    expect(value('Drugs & Tobacco')).toBe('Drugs _ Tobacco');
    expect(value('a*b?c<d>e"f\'g#h%i')).toBe('a_b_c_d_e_f_g_h_i');
    expect(value('Straße 東京 42')).toBe('Straße 東京 42');
    expect(value('x'.repeat(300))).toBe('x'.repeat(256));
    // The key is never sanitized away: it is ours.
    expect(reviewTags([], 'CORRECTED', '&&')).toEqual([{ Key: 'ics:review', Value: 'CORRECTED' }, { Key: 'ics:reviewed-label', Value: '__' }]);
  });
});

describe('manifest lines', () => {
  const line = (reviewedLabel: string | undefined, location = { bucket: 'images', key: 'uploads/a.jpg' }) => manifestLine({
    reviewId: ID, location, reviewedLabel, classLabels: LABELS, decidedAt: '2026-12-05T02:47:06.123Z', jobName: 'ics-review/TestStack/Ics',
  });

  test('CONFIRMED and CORRECTED: a Ground Truth image-classification line with the class index', () => {
    expect(line('bus')).toEqual({
      'source-ref': 's3://images/uploads/a.jpg',
      'class': 3,
      'class-metadata': {
        'confidence': 1,
        'job-name': 'ics-review/TestStack/Ics',
        'class-name': 'bus',
        'human-annotated': 'yes',
        'creation-date': '2026-12-05T02:47:06.123',
        'type': 'groundtruth/image-classification',
        'review-id': ID,
      },
    });
    expect(line('bicycle')!.class).toBe(0);
    expect(line('tractor')!.class).toBe(5);
    expect((line('tractor') as any)['class-metadata']['class-name']).toBe('tractor');
  });

  test('the source is where the image is (its quarantine location when kept there)', () => {
    expect(line('tank', { bucket: 'vault', key: 'quarantine/uploads/a.jpg' })!['source-ref']).toBe('s3://vault/quarantine/uploads/a.jpg');
  });

  test('UNUSABLE (no label) and a label outside the class labels give no line', () => {
    expect(line(undefined)).toBeUndefined();
    expect(line('car')).toBeUndefined();
  });

  test('a line is one line of JSON', () => {
    const text = JSON.stringify(line('bus'));
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(line('bus'));
  });

  test('manifestKey: one manifest per month under the prefix', () => {
    expect(manifestKey('feedback/', '2026-12-05T02:47:06.123Z')).toBe('feedback/2026/12/manifest.jsonl');
    expect(manifestKey('feedback/', '2027-01-31T23:59:59.999Z')).toBe('feedback/2027/01/manifest.jsonl');
    expect(manifestKey('', '2026-03-01T00:00:00.000Z')).toBe('2026/03/manifest.jsonl');
  });

  test('appendManifest: appends a line ending in a newline to a new or existing manifest', () => {
    const first = appendManifest('', line('bus')!, ID)!;
    expect(first).toBe(`${JSON.stringify(line('bus'))}\n`);
    const otherId = reviewIdOf('images', 'uploads/b.jpg', 'v1');
    const other = manifestLine({
      reviewId: otherId,
      location: { bucket: 'images', key: 'uploads/b.jpg' },
      reviewedLabel: 'tank',
      classLabels: LABELS,
      decidedAt: '2026-12-05T03:00:00.000Z',
      jobName: 'j',
    })!;
    const second = appendManifest(first, other, otherId)!;
    expect(second.split('\n')).toEqual([JSON.stringify(line('bus')), JSON.stringify(other), '']);
    expect(second.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)['class-metadata']['review-id'])).toEqual([ID, otherId]);
  });

  test('appendManifest is idempotent: a retried decision adds no second line', () => {
    const body = appendManifest('', line('bus')!, ID)!;
    expect(appendManifest(body, line('bus')!, ID)).toBeUndefined();
    // Even with another label (the line of the review is there already).
    expect(appendManifest(body, line('tank')!, ID)).toBeUndefined();
  });

  test('appendManifest drops blank lines and adds a missing final newline', () => {
    const existing = `${JSON.stringify({ 'source-ref': 's3://x/y' })}\n\n  \n${JSON.stringify({ 'source-ref': 's3://x/z' })}`;
    expect(appendManifest(existing, line('bus')!, ID)).toBe([
      JSON.stringify({ 'source-ref': 's3://x/y' }), JSON.stringify({ 'source-ref': 's3://x/z' }), JSON.stringify(line('bus')), '',
    ].join('\n'));
  });
});

describe('reviewItemOf', () => {
  const result = {
    bucket: 'images',
    key: 'uploads/a.jpg',
    versionId: 'v1',
    outcome: 'LOW_CONFIDENCE',
    label: 'bus',
    confidence: 0.61,
    topK: [{ label: 'bus', score: 0.61 }],
    executionArn: 'arn:aws:states:eu-west-1:1:express:Sm:e1:x',
    classifiedAt: '2026-12-05T02:00:00.000Z',
  };
  const attrs = {
    [ReviewAttribute.ID]: ID,
    [ReviewAttribute.STATUS]: 'PENDING',
    [ReviewAttribute.PENDING]: 'PENDING',
    [ReviewAttribute.CREATED_AT]: '2026-12-05T02:00:00.000Z',
    [ReviewAttribute.BUCKET]: 'images',
    [ReviewAttribute.KEY]: 'uploads/a.jpg',
    [ReviewAttribute.OUTCOME]: 'LOW_CONFIDENCE',
    [ReviewAttribute.RESULT]: JSON.stringify(result),
  };

  test('a pending item as the workflow writes it', () => {
    expect(reviewItemOf(attrs)).toEqual(pending({ executionArn: result.executionArn, topK: result.topK }));
  });

  test('a decided, released item of a quarantined image', () => {
    const item = reviewItemOf({
      ...attrs,
      [ReviewAttribute.RESULT]: JSON.stringify({ ...result, quarantine: { bucket: 'images', key: 'quarantine/uploads/a.jpg' } }),
      [ReviewAttribute.STATUS]: 'DECIDED',
      [ReviewAttribute.PENDING]: undefined,
      [ReviewAttribute.DECIDED_KEY]: 'DECIDED',
      [ReviewAttribute.DECISION]: 'CORRECTED',
      [ReviewAttribute.REVIEWED_LABEL]: 'tractor',
      [ReviewAttribute.REVIEWER]: 'alice',
      [ReviewAttribute.DECIDED_AT]: '2026-12-05T03:00:00.000Z',
      [ReviewAttribute.RELEASED]: true,
    });
    expect(item).toEqual({
      ...pending({ executionArn: result.executionArn, topK: result.topK }),
      quarantine: { bucket: 'images', key: 'quarantine/uploads/a.jpg' },
      status: 'DECIDED',
      decision: 'CORRECTED',
      reviewedLabel: 'tractor',
      reviewer: 'alice',
      decidedAt: '2026-12-05T03:00:00.000Z',
      released: true,
    });
  });

  test('absent optional fields stay absent; topK and executionArn default', () => {
    const item = reviewItemOf({ ...attrs, [ReviewAttribute.RESULT]: JSON.stringify({ outcome: 'FLAGGED' }), [ReviewAttribute.RELEASED]: false });
    expect(item).toEqual({
      reviewId: ID,
      status: 'PENDING',
      bucket: 'images',
      key: 'uploads/a.jpg',
      outcome: 'LOW_CONFIDENCE',
      topK: [],
      executionArn: '',
      createdAt: '2026-12-05T02:00:00.000Z',
    });
    for (const k of ['versionId', 'quarantine', 'label', 'confidence', 'decision', 'reviewedLabel', 'reviewer', 'decidedAt', 'released']) {
      expect(item).not.toHaveProperty(k);
    }
  });

  test('confidence 0 and an empty label are kept (only undefined is absent)', () => {
    const item = reviewItemOf({ ...attrs, [ReviewAttribute.RESULT]: JSON.stringify({ ...result, label: '', confidence: 0 }) });
    expect(item.confidence).toBe(0);
    expect(item.label).toBe('');
  });

  test('without a result attribute, and with a topK that is not a list', () => {
    const { [ReviewAttribute.RESULT]: _result, ...rest } = attrs;
    expect(reviewItemOf(rest)).toMatchObject({ reviewId: ID, topK: [], executionArn: '' });
    expect(reviewItemOf({ ...attrs, [ReviewAttribute.RESULT]: JSON.stringify({ topK: 'bus' }) }).topK).toEqual([]);
  });
});

describe('groupsOf', () => {
  test('an array claim (the JWT itself)', () => {
    expect(groupsOf(['reviewers', 'viewers'])).toEqual(['reviewers', 'viewers']);
    expect(groupsOf([])).toEqual([]);
  });

  test('the "[a b]" string HTTP API passes to Lambda', () => {
    expect(groupsOf('[reviewers viewers]')).toEqual(['reviewers', 'viewers']);
    expect(groupsOf('[reviewers]')).toEqual(['reviewers']);
    expect(groupsOf(' [reviewers  viewers] ')).toEqual(['reviewers', 'viewers']);
    expect(groupsOf('reviewers')).toEqual(['reviewers']);
  });

  test('commas and brackets belong to a name (Cognito allows them; only whitespace separates): "ops,reviewers" is one group', () => {
    expect(groupsOf('[ops,reviewers]')).toEqual(['ops,reviewers']);
    expect(groupsOf(['ops,reviewers'])).toEqual(['ops,reviewers']);
    expect(groupsOf('[reviewers,viewers]')).not.toContain('reviewers');
    // Only the one pair of brackets around the list is removed.
    expect(groupsOf('[[reviewers] viewers]')).toEqual(['[reviewers]', 'viewers']);
    expect(groupsOf('[[reviewers]]')).toEqual(['[reviewers]']);
  });

  test('an array keeps its strings only', () => {
    expect(groupsOf(['reviewers', 42, null, 'viewers'])).toEqual(['reviewers', 'viewers']);
  });

  test('empty or absent: no groups', () => {
    expect(groupsOf('')).toEqual([]);
    expect(groupsOf('   ')).toEqual([]);
    expect(groupsOf('[]')).toEqual([]);
    expect(groupsOf(undefined)).toEqual([]);
    expect(groupsOf(null)).toEqual([]);
    expect(groupsOf(42)).toEqual([]);
  });

  test('a group name only matches exactly', () => {
    expect(groupsOf('[not-reviewers]')).not.toContain('reviewers');
    expect(groupsOf('[reviewersX viewers]')).toEqual(['reviewersX', 'viewers']);
  });
});

describe('release markers', () => {
  test('the marker ID: SHA-256 (hex) of bucket/key@release:ref, one per release', () => {
    expect(releaseMarkerIdOf('images', 'uploads/a.jpg', 'r1')).toBe(createHash('sha256').update('images/uploads/a.jpg@release:r1').digest('hex'));
    expect(releaseMarkerIdOf('images', 'uploads/a.jpg', 'r2')).not.toBe(releaseMarkerIdOf('images', 'uploads/a.jpg', 'r1'));
    // Never a review's ID (a version ID is S3's, never "release:...").
    expect(REVIEW_ID.test(releaseMarkerIdOf('images', 'uploads/a.jpg', 'r1'))).toBe(true);
  });

  test('the copy: its version ID, else its ETag without quotes (no versioning, or versioning suspended: version "null")', () => {
    expect(releasedCopyOf('3HL4kqtJlcpXroDTDmJ', '"9b2cf535f27731c974343645a3985328"')).toBe('3HL4kqtJlcpXroDTDmJ');
    expect(releasedCopyOf(undefined, '"9b2cf535f27731c974343645a3985328"')).toBe('etag:9b2cf535f27731c974343645a3985328');
    expect(releasedCopyOf('null', '"9b2cf535f27731c974343645a3985328"')).toBe('etag:9b2cf535f27731c974343645a3985328');
    // The CopyObject answer and the GetObject answer of the same copy agree, quoted or not.
    expect(releasedCopyOf(undefined, '9b2cf535f27731c974343645a3985328')).toBe(releasedCopyOf(undefined, '"9b2cf535f27731c974343645a3985328"'));
    expect(releasedCopyOf(undefined, undefined)).toBeUndefined();
  });
});

describe('pendingRecord (review metrics function)', () => {
  const now = new Date('2026-12-05T03:00:00.000Z');
  const json = (record: EmfRecord) => record.toJSON(now.getTime());

  test('PendingReviews and OldestPendingReviewAge by Pipeline, in the pipeline\'s namespace', () => {
    const record = json(pendingRecord(new EmfRecord('Ics', 'Stack-Ics-ABCD1234'), 3, '2026-12-05T02:50:00.000Z', now));
    expect(record).toEqual({
      _aws: {
        Timestamp: now.getTime(),
        CloudWatchMetrics: [{
          Namespace: 'Ics',
          Dimensions: [['Pipeline']],
          Metrics: [{ Name: ReviewMetric.PENDING, Unit: 'Count' }, { Name: ReviewMetric.OLDEST_PENDING_AGE, Unit: 'None' }],
        }],
      },
      Pipeline: 'Stack-Ics-ABCD1234',
      PendingReviews: 3,
      OldestPendingReviewAge: 600,
    });
    expect(ReviewMetric).toEqual({
      PENDING: 'PendingReviews', OLDEST_PENDING_AGE: 'OldestPendingReviewAge', DECISIONS: 'ReviewDecisions', AGREEMENT: 'ReviewAgreement',
    });
  });

  test('no pending review: 0 and age 0 (the alarm sees data, not missing data)', () => {
    const record = json(pendingRecord(new EmfRecord('Ics', 'P'), 0, undefined, now));
    expect(record).toMatchObject({ PendingReviews: 0, OldestPendingReviewAge: 0 });
  });

  test('the age is rounded to seconds, never negative, 0 for an unreadable time', () => {
    expect(json(pendingRecord(new EmfRecord('Ics', 'P'), 1, '2026-12-05T02:59:58.600Z', now)).OldestPendingReviewAge).toBe(1);
    expect(json(pendingRecord(new EmfRecord('Ics', 'P'), 1, '2026-12-04T03:00:00.000Z', now)).OldestPendingReviewAge).toBe(86400);
    expect(json(pendingRecord(new EmfRecord('Ics', 'P'), 1, '2026-12-05T03:05:00.000Z', now)).OldestPendingReviewAge).toBe(0);
    expect(json(pendingRecord(new EmfRecord('Ics', 'P'), 1, 'not a date', now)).OldestPendingReviewAge).toBe(0);
  });
});

describe('securityHeaders (console API)', () => {
  const headers = securityHeaders('https://cognito-idp.eu-west-1.amazonaws.com/', [
    'https://images.s3.eu-west-1.amazonaws.com', 'https://vault.s3.eu-west-1.amazonaws.com', 'https://images.s3.eu-west-1.amazonaws.com',
  ]);
  const csp = Object.fromEntries(headers['content-security-policy'].split('; ').map((d) => {
    const [name, ...values] = d.split(' ');
    return [name, values];
  }));

  test('the CSP: nothing by default; own scripts and styles; images and connections only to self, Cognito and the buckets', () => {
    expect(csp).toEqual({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:', 'blob:', 'https://images.s3.eu-west-1.amazonaws.com', 'https://vault.s3.eu-west-1.amazonaws.com'],
      'connect-src': ["'self'", 'https://cognito-idp.eu-west-1.amazonaws.com', 'https://images.s3.eu-west-1.amazonaws.com', 'https://vault.s3.eu-west-1.amazonaws.com'],
      'font-src': ["'self'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
    });
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers['content-security-policy']).not.toContain('unsafe-eval');
    expect(headers['content-security-policy']).not.toMatch(/(^|\s)\*(\s|;|$)/);
  });

  test('Cognito\'s endpoint is reduced to its origin (a local stand-in with a path too)', () => {
    const local = securityHeaders('http://localhost:9229/cognito/', ['http://localhost:4568']);
    expect(local['content-security-policy']).toContain("connect-src 'self' http://localhost:9229 http://localhost:4568");
    expect(local['content-security-policy']).not.toContain('/cognito');
  });

  test('the other security headers', () => {
    expect(headers).toMatchObject({
      'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'permissions-policy': 'camera=(), microphone=(), geolocation=()',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    });
    expect(Object.keys(headers).every((k) => k === k.toLowerCase())).toBe(true);
  });
});
