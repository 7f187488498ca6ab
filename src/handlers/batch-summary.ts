/** One image's compact outcome, as the bulk workflow's item processor emits it. */
export interface BatchItem {
  readonly bucket?: string;
  readonly key?: string;
  readonly outcome: string;
  readonly label?: string;
  readonly confidence?: number;
  readonly error?: string;
}

/** The bulk execution's output: counts and the items that need attention. */
export interface BatchSummary {
  readonly schemaVersion: string;
  readonly total: number;
  readonly byOutcome: Record<string, number>;
  readonly byLabel: Record<string, number>;
  /** FLAGGED, LOW_CONFIDENCE and ERROR count: how many items the digest alert is about. */
  readonly alerting: number;
  /** ERROR items with their error names (at most `maxListed`). */
  readonly failed: Array<{ bucket?: string; key?: string; error: string }>;
  readonly flagged: Array<{ bucket?: string; key?: string; label?: string }>;
  /** Items not listed because of the cap. */
  readonly omitted: number;
  /** Where every item's full result is (the audit trail), when it is on. */
  readonly resultsLocation?: string;
}

const OUTCOMES = ['FLAGGED', 'ACCEPTED', 'LOW_CONFIDENCE', 'ERROR'];

/**
 * Counts a batch's outcomes and labels and lists the items that need attention. Lists are capped so the
 * summary stays far below the 256 KiB state limit however large the batch.
 */
export function summarizeBatch(items: readonly BatchItem[], resultsLocation?: string, maxListed = 100): BatchSummary {
  const byOutcome: Record<string, number> = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  const byLabel: Record<string, number> = {};
  const failed: BatchSummary['failed'] = [];
  const flagged: BatchSummary['flagged'] = [];
  let omitted = 0;
  for (const item of items) {
    byOutcome[item.outcome] = (byOutcome[item.outcome] ?? 0) + 1;
    if (item.label !== undefined) byLabel[item.label] = (byLabel[item.label] ?? 0) + 1;
    const list = item.outcome === 'ERROR' ? failed : item.outcome === 'FLAGGED' ? flagged : undefined;
    if (!list) continue;
    if (list.length >= maxListed) {
      omitted++;
    } else if (item.outcome === 'ERROR') {
      failed.push({ bucket: item.bucket, key: item.key, error: item.error ?? 'Unknown' });
    } else {
      flagged.push({ bucket: item.bucket, key: item.key, label: item.label });
    }
  }
  return {
    schemaVersion: '1.0',
    total: items.length,
    byOutcome,
    byLabel,
    alerting: byOutcome.FLAGGED + byOutcome.LOW_CONFIDENCE + byOutcome.ERROR,
    failed,
    flagged,
    omitted,
    ...(resultsLocation ? { resultsLocation } : {}),
  };
}
