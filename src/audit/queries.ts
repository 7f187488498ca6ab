/**
 * Athena named queries over the audit table. Each takes the period as two execution parameters (`?`, first and
 * last day as `'yyyy/MM/dd'`), which prune partitions through `dt`; the Athena console prompts for them.
 *
 * The SQL keeps to what Athena (Trino) and DuckDB share, so the test suite runs these exact strings against the
 * local audit output.
 */
import { AUDIT_TABLE_NAME } from './schema';

/** One named query. */
export interface AuditQuery {
  /** Stable id, also the suffix of the named query's name. */
  readonly id: string;
  readonly description: string;
  readonly sql: string;
}

const PERIOD = 'dt BETWEEN ? AND ?';
const lowConfidence = "sum(CASE WHEN outcome = 'LOW_CONFIDENCE' THEN 1 ELSE 0 END)";

export const AUDIT_QUERIES: readonly AuditQuery[] = [
  {
    id: 'outcomes-per-day',
    description: 'Images per outcome and day in a period (parameters: first and last day, yyyy/MM/dd).',
    sql: [
      'SELECT dt, outcome, count(*) AS images',
      `FROM ${AUDIT_TABLE_NAME}`,
      `WHERE ${PERIOD}`,
      'GROUP BY dt, outcome',
      'ORDER BY dt, outcome',
    ].join('\n'),
  },
  {
    id: 'flagged-images',
    description: 'FLAGGED images in a period, oldest first (parameters: first and last day, yyyy/MM/dd).',
    sql: [
      'SELECT dt, classifiedat, bucket, key, versionid, label, confidence, executionarn',
      `FROM ${AUDIT_TABLE_NAME}`,
      `WHERE outcome = 'FLAGGED' AND ${PERIOD}`,
      'ORDER BY classifiedat, key',
    ].join('\n'),
  },
  {
    id: 'errors-by-name',
    description: 'ERROR images by error name in a period, most frequent first (parameters: first and last day, yyyy/MM/dd).',
    sql: [
      'SELECT error.name AS error_name, count(*) AS images, min(classifiedat) AS first_seen, max(classifiedat) AS last_seen',
      `FROM ${AUDIT_TABLE_NAME}`,
      `WHERE outcome = 'ERROR' AND ${PERIOD}`,
      'GROUP BY error.name',
      'ORDER BY images DESC, error_name',
    ].join('\n'),
  },
  {
    id: 'low-confidence-rate-per-label',
    description: 'Share of LOW_CONFIDENCE images per top label in a period (parameters: first and last day, yyyy/MM/dd).',
    sql: [
      `SELECT label, count(*) AS images, ${lowConfidence} AS low_confidence,`,
      `  round(CAST(${lowConfidence} AS double) / count(*), 4) AS low_confidence_rate`,
      `FROM ${AUDIT_TABLE_NAME}`,
      `WHERE outcome <> 'ERROR' AND ${PERIOD}`,
      'GROUP BY label',
      'ORDER BY low_confidence_rate DESC, label',
    ].join('\n'),
  },
];
