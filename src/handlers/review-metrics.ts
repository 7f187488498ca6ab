import { EmfRecord } from './metrics';

/** EMF metrics of human review, in the pipeline's namespace with its `Pipeline` dimension. */
export const ReviewMetric = {
  /** Reviews waiting for a decision (measured every 5 minutes). */
  PENDING: 'PendingReviews',
  /** Seconds the oldest pending review has waited (0 when none waits). */
  OLDEST_PENDING_AGE: 'OldestPendingReviewAge',
  /** Decisions, by `Decision` (CONFIRMED, CORRECTED, UNUSABLE). */
  DECISIONS: 'ReviewDecisions',
  /** 1 when the reviewer confirmed the model's label, 0 when corrected, by the model's `Label`: its average is the agreement rate. */
  AGREEMENT: 'ReviewAgreement',
} as const;

/** The pending-review gauges at `now`: how many wait, and how long the oldest (its `createdAt`) has waited. */
export function pendingRecord(record: EmfRecord, pending: number, oldestCreatedAt: string | undefined, now: Date): EmfRecord {
  const age = oldestCreatedAt ? Math.max(0, Math.round((now.getTime() - Date.parse(oldestCreatedAt)) / 1000)) : 0;
  return record.add(ReviewMetric.PENDING, 'Count', pending).add(ReviewMetric.OLDEST_PENDING_AGE, 'None', Number.isFinite(age) ? age : 0);
}
