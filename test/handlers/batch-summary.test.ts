import { summarizeBatch } from '../../src/handlers/batch-summary';
import { handler } from '../../src/handlers/summarize.lambda';

describe('summarizeBatch', () => {
  const items = [
    { bucket: 'b', key: '1.jpg', outcome: 'FLAGGED', label: 'tank', confidence: 0.99 },
    { bucket: 'b', key: '2.jpg', outcome: 'ACCEPTED', label: 'bus', confidence: 0.97 },
    { bucket: 'b', key: '3.jpg', outcome: 'ACCEPTED', label: 'bus', confidence: 0.95 },
    { bucket: 'b', key: '4.jpg', outcome: 'LOW_CONFIDENCE', label: 'tractor', confidence: 0.5 },
    { bucket: 'b', key: '5.jpg', outcome: 'ERROR', error: 'TruncatedImage' },
    { outcome: 'ERROR', error: 'InvalidInput' },
  ];

  test('counts per outcome and label, lists failed and flagged items, says where the results are', () => {
    expect(summarizeBatch(items, 's3://audit/results/')).toEqual({
      schemaVersion: '1.0',
      total: 6,
      byOutcome: { FLAGGED: 1, ACCEPTED: 2, LOW_CONFIDENCE: 1, ERROR: 2 },
      byLabel: { tank: 1, bus: 2, tractor: 1 },
      alerting: 4,
      failed: [{ bucket: 'b', key: '5.jpg', error: 'TruncatedImage' }, { bucket: undefined, key: undefined, error: 'InvalidInput' }],
      flagged: [{ bucket: 'b', key: '1.jpg', label: 'tank' }],
      omitted: 0,
      resultsLocation: 's3://audit/results/',
    });
  });

  test('lists are capped, the rest counted', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({ key: `${i}.jpg`, outcome: 'ERROR', error: 'EmptyObject' }));
    const summary = summarizeBatch(many, undefined, 100);
    expect(summary.failed).toHaveLength(100);
    expect(summary.omitted).toBe(150);
    expect(summary.byOutcome.ERROR).toBe(250);
    expect(JSON.stringify(summarizeBatch(Array.from({ length: 10000 }, () => items[4]))).length).toBeLessThan(20_000);
  });

  test('the handler tolerates a missing item list', async () => {
    expect(await handler({} as any)).toMatchObject({ total: 0, alerting: 0 });
    expect(await handler({ items })).toMatchObject({ total: 6 });
  });
});
