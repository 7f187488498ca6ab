/**
 * What the pipeline decided about one image. Every part (state machine, alerts, audit records,
 * local runner) shares this contract.
 */
export enum Outcome {
  /** The top label is one of `flaggedLabels` and its confidence is at or above the threshold. */
  FLAGGED = 'FLAGGED',
  /** The top label's confidence is at or above the threshold and the label is not flagged. */
  ACCEPTED = 'ACCEPTED',
  /** The top label's confidence is below the threshold (whatever the label). */
  LOW_CONFIDENCE = 'LOW_CONFIDENCE',
  /** The image could not be classified: unreadable or unsupported bytes, or S3/endpoint failures after retries. */
  ERROR = 'ERROR',
}

/**
 * Version of the classification result JSON: the major part changes with any breaking change to its fields, the
 * minor part when fields are added. 1.1 added `steps`, `overrides`, `stepErrors` and `error.step` (your own workflow
 * steps).
 */
export const RESULT_SCHEMA_VERSION = '1.1';

/**
 * The decision table the workflow's Choice states implement. Kept as a plain function so tests and
 * the local runner can check the synthesized states against it.
 */
export function decideOutcome(
  label: string,
  confidence: number,
  threshold: number,
  flaggedLabels: readonly string[],
): Outcome {
  if (confidence < threshold) return Outcome.LOW_CONFIDENCE;
  return flaggedLabels.includes(label) ? Outcome.FLAGGED : Outcome.ACCEPTED;
}

/** A label and its score. */
export interface LabelScore {
  /** Class label. */
  readonly label: string;
  /** Score reported by the model, usually a probability in [0, 1]. */
  readonly score: number;
}

/** Why an image ended as `ERROR`. */
export interface ResultError {
  /** Stable error name, e.g. `UnsupportedImageFormat`, `ModelError`, `States.Timeout`. */
  readonly name: string;
  /** Human-readable cause as Step Functions recorded it (may be a JSON string from Lambda). */
  readonly cause: string;
  /** For `ActionFailed`: the action that failed after retries (`TagObject`, `Quarantine`). */
  readonly action?: string;
  /** For `StepFailed`: the name of the workflow step that failed after its retries. */
  readonly step?: string;
}

/** A change of outcome made by a `WorkflowStep.override()` step. */
export interface OutcomeOverride {
  /** Name of the step that changed the outcome. */
  readonly step: string;
  /** The outcome before the step. */
  readonly previousOutcome: Outcome;
  /** The outcome the step chose. */
  readonly outcome: Outcome;
  /** Why, as the step answered. */
  readonly reason: string;
}

/** A workflow step that failed for an image that was ERROR already (the image's own error is kept). */
export interface StepError {
  /** The step's error name, e.g. the function's error type, `States.Timeout`, `StepOutputTooLarge`. */
  readonly error: string;
  /** The cause, as Step Functions recorded it. */
  readonly cause: string;
}

/** Where a quarantined image was moved. */
export interface QuarantineLocation {
  /** Quarantine bucket. */
  readonly bucket: string;
  /** Key in the quarantine bucket. */
  readonly key: string;
}

/**
 * The classification result (schema version 1.1): the state machine's output, the body of every
 * alert, and (with the outcome-actions feature) the audit record and result event.
 *
 * Fields that do not apply are omitted (e.g. `label` of an `ERROR`, `versionId` in an unversioned
 * bucket); Athena and other schema-on-read tools see them as null.
 */
export interface ClassificationResult {
  /** Schema version of this record, currently `1.1`. */
  readonly schemaVersion: string;
  /** The decided outcome. */
  readonly outcome: Outcome;
  /** Bucket of the image. */
  readonly bucket: string;
  /** Key of the image (as found in S3, i.e. decoded). */
  readonly key: string;
  /** Object version classified, absent in an unversioned bucket. */
  readonly versionId?: string;
  /** Size of the image in bytes (absent for some errors). */
  readonly sizeBytes?: number;
  /** Format sniffed from the bytes, e.g. `jpeg` (absent for some errors). */
  readonly format?: string;
  /** Top label (absent for `ERROR`). */
  readonly label?: string;
  /** Score of the top label (absent for `ERROR`). */
  readonly confidence?: number;
  /** The confidence threshold in force. */
  readonly threshold: number;
  /** Score per class label (absent for `ERROR`). */
  readonly scores?: Record<string, number>;
  /** The highest-scoring labels, best first (absent for `ERROR`). */
  readonly topK?: LabelScore[];
  /** Name of the endpoint that classified the image. */
  readonly modelEndpoint: string;
  /** Endpoint call latency in milliseconds (absent for `ERROR`). */
  readonly modelLatencyMs?: number;
  /** ARN of the Step Functions execution. */
  readonly executionArn: string;
  /** ISO-8601 time the classification finished. */
  readonly classifiedAt: string;
  /** Set only for `ERROR`. */
  readonly error?: ResultError;
  /** `SKIPPED_TAG_LIMIT` when tagging is on but the object already had too many tags of its own. */
  readonly tagging?: string;
  /** Set when the image was quarantined. */
  readonly quarantine?: QuarantineLocation;
  /**
   * With `steps`: each step's JSON answer under its name (`{}` when no step ran). Absent without steps.
   */
  readonly steps?: Record<string, any>;
  /** Outcome changes made by override steps, in order; absent when none changed the outcome. */
  readonly overrides?: OutcomeOverride[];
  /** Steps that failed for an image that was ERROR already, by step name; absent when none did. */
  readonly stepErrors?: Record<string, StepError>;
}
