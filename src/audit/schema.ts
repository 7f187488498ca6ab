/**
 * The audit records' table: one row per result record (schema version 1.1), columns named after the record's
 * fields in lower case (Glue column names are lower case; the OpenX JSON SerDe matches keys case-insensitively),
 * plus the partition column `dt` (`yyyy/MM/dd`, UTC) that both audit modes write under.
 *
 * Shared by the Glue table, the Athena named queries and the test that runs those queries with DuckDB.
 */
import { RESULT_SCHEMA_VERSION } from '../outcomes';

/** A column: name and Hive type (the type Glue and Athena read). */
export interface AuditColumn {
  readonly name: string;
  readonly type: string;
  readonly comment: string;
}

/** Schema version the table's columns follow. */
export const AUDIT_TABLE_SCHEMA_VERSION = RESULT_SCHEMA_VERSION;

/** Columns of the audit table, in the order of `ClassificationResult`'s fields. */
export const AUDIT_COLUMNS: readonly AuditColumn[] = [
  { name: 'schemaversion', type: 'string', comment: 'Result schema version, e.g. 1.0' },
  { name: 'outcome', type: 'string', comment: 'FLAGGED, ACCEPTED, LOW_CONFIDENCE or ERROR' },
  { name: 'bucket', type: 'string', comment: 'Bucket of the image' },
  { name: 'key', type: 'string', comment: 'Key of the image' },
  { name: 'versionid', type: 'string', comment: 'Object version classified' },
  { name: 'sizebytes', type: 'bigint', comment: 'Size of the image in bytes' },
  { name: 'format', type: 'string', comment: 'Format sniffed from the bytes' },
  { name: 'label', type: 'string', comment: 'Top label (null for ERROR)' },
  { name: 'confidence', type: 'double', comment: 'Score of the top label' },
  { name: 'threshold', type: 'double', comment: 'Confidence threshold in force' },
  { name: 'scores', type: 'map<string,double>', comment: 'Score per class label' },
  { name: 'topk', type: 'array<struct<label:string,score:double>>', comment: 'Highest-scoring labels, best first' },
  { name: 'modelendpoint', type: 'string', comment: 'Endpoint that classified the image' },
  { name: 'modellatencyms', type: 'double', comment: 'Endpoint call latency in milliseconds' },
  { name: 'executionarn', type: 'string', comment: 'Step Functions execution' },
  { name: 'classifiedat', type: 'string', comment: 'ISO-8601 time the classification finished' },
  { name: 'error', type: 'struct<name:string,cause:string,action:string,step:string>', comment: 'Why an image is ERROR (step: the workflow step of a StepFailed)' },
  { name: 'tagging', type: 'string', comment: 'SKIPPED_TAG_LIMIT when the object had too many tags' },
  { name: 'quarantine', type: 'struct<bucket:string,key:string>', comment: 'Where a quarantined image was moved' },
  { name: 'alerterror', type: 'struct<error:string,cause:string>', comment: 'An alert that could not be published' },
  { name: 'steps', type: 'string', comment: 'Your workflow steps\' answers by step name, as JSON (schema 1.1)' },
  { name: 'overrides', type: 'array<struct<step:string,previousoutcome:string,outcome:string,reason:string>>', comment: 'Outcome changes made by override steps, in order (schema 1.1)' },
  { name: 'steperrors', type: 'map<string,struct<error:string,cause:string>>', comment: 'Steps that failed for an image that was ERROR already (schema 1.1)' },
];

/** The partition column: the UTC day a record was written, `yyyy/MM/dd` (the key segment it sits under). */
export const AUDIT_PARTITION_COLUMN: AuditColumn = { name: 'dt', type: 'string', comment: 'UTC day the record was written, yyyy/MM/dd' };

/** Name of the audit table in the pipeline's Glue database. */
export const AUDIT_TABLE_NAME = 'audit_records';
