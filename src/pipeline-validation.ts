import { Duration, Size, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BulkMode, BulkModeType } from './bulk-mode';
import { Outcome } from './outcomes';

/** The props the validator checks, resolved to plain values (tokens pass through unchecked). */
export interface ValidatedProps {
  /** The class labels, when known (given, or the classifier's own). */
  readonly classLabels?: string[];
  /** The classifier maps scores to labels by position, so it needs `classLabels`. */
  readonly classLabelsRequired: boolean;
  readonly flaggedLabels: string[];
  readonly confidenceThreshold: number;
  readonly inputPrefix?: string;
  readonly inputSuffixes: string[];
  readonly handlerMemorySize: number;
  readonly handlerTimeout: Duration;
  readonly maxImageSize: Size;
  readonly topK: number;
  readonly workflowType: sfn.StateMachineType;
  /** Outcomes of each `alerts` route. */
  readonly alertRouteOutcomes: Outcome[][];
  /** `alertEmails` given together with topics the user brings. */
  readonly alertEmailsWithOwnTopics: boolean;
  readonly quarantine?: { readonly outcomes: Outcome[]; readonly prefix: string; readonly sameBucket: boolean };
  readonly auditPrefix: string;
  readonly auditEnabled: boolean;
  readonly bulkMode: BulkMode;
}

/** SageMaker real-time InvokeEndpoint payload limit. */
export const MAX_ENDPOINT_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Lambda's 4 KB environment limit, less room for the other variables. */
const MAX_LABELS_ENV_CHARS = 3000;
/** Express executions stop at 5 minutes; the classify retries must fit, with room for alerts. */
const MAX_EXPRESS_HANDLER_TIMEOUT_SECONDS = 30;

const resolved = (v: unknown) => !Token.isUnresolved(v);

/** Every problem with the props, as readable sentences; empty when valid. */
export function validatePipelineProps(p: ValidatedProps): string[] {
  const problems: string[] = [];

  const classLabels = p.classLabels ?? [];
  const labels = classLabels.filter(resolved);
  if (p.classLabels === undefined && p.classLabelsRequired) {
    problems.push('classLabels is required with a SageMaker classifier (index i names the model\'s output i)');
  } else if (p.classLabels !== undefined && classLabels.length === 0) {
    problems.push('classLabels must list at least one label (index i names the model\'s output i)');
  }
  const empty = labels.filter((l) => l.trim() === '');
  if (empty.length > 0) problems.push('classLabels must not contain empty labels');
  const dupes = [...new Set(labels.filter((l, i) => labels.indexOf(l) !== i))];
  if (dupes.length > 0) problems.push(`classLabels must be unique; repeated: ${dupes.join(', ')}`);
  if (JSON.stringify(labels).length > MAX_LABELS_ENV_CHARS) {
    problems.push(`classLabels are too long (${JSON.stringify(labels).length} characters as JSON; at most ${MAX_LABELS_ENV_CHARS} fit the function's environment)`);
  }

  const unknownFlagged = p.classLabels === undefined ? [] : p.flaggedLabels.filter((l) => resolved(l) && !classLabels.includes(l));
  if (unknownFlagged.length > 0) {
    problems.push(`flaggedLabels must be class labels; unknown: ${unknownFlagged.join(', ')}`);
  }

  if (resolved(p.confidenceThreshold) && !(p.confidenceThreshold >= 0 && p.confidenceThreshold <= 1)) {
    problems.push(`confidenceThreshold must be between 0 and 1, got ${p.confidenceThreshold}`);
  }

  if (p.inputPrefix !== undefined && resolved(p.inputPrefix)) {
    if (p.inputPrefix.startsWith('/')) problems.push(`inputPrefix must not start with "/" (S3 keys have no leading slash), got "${p.inputPrefix}"`);
    if (p.inputPrefix.length > 1024) problems.push('inputPrefix must be at most 1024 characters');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(p.inputPrefix)) problems.push('inputPrefix must not contain control characters');
  }
  for (const s of p.inputSuffixes.filter(resolved)) {
    if (s === '' || /[*\u0000-\u001f]/.test(s)) problems.push(`inputSuffixes entries must be non-empty and contain no "*" or control characters, got ${JSON.stringify(s)}`);
  }

  if (resolved(p.handlerMemorySize) && !(Number.isInteger(p.handlerMemorySize) && p.handlerMemorySize >= 128 && p.handlerMemorySize <= 10240)) {
    problems.push(`handlerMemorySize must be an integer between 128 and 10240 MB, got ${p.handlerMemorySize}`);
  }
  if (!p.handlerTimeout.isUnresolved()) {
    const seconds = p.handlerTimeout.toSeconds();
    if (seconds < 1 || seconds > 900) problems.push(`handlerTimeout must be between 1 second and 15 minutes, got ${seconds} seconds`);
    if (p.workflowType === sfn.StateMachineType.EXPRESS && seconds > MAX_EXPRESS_HANDLER_TIMEOUT_SECONDS) {
      problems.push(`handlerTimeout must be at most ${MAX_EXPRESS_HANDLER_TIMEOUT_SECONDS} seconds with an EXPRESS workflow (its retries must finish within Express's 5-minute limit); use workflowType STANDARD for slower endpoints`);
    }
  }
  const bytes = p.maxImageSize.toBytes();
  if (resolved(bytes)) {
    if (bytes <= 0 || bytes > MAX_ENDPOINT_PAYLOAD_BYTES) {
      problems.push(`maxImageSize must be more than 0 and at most 6 MiB (SageMaker's InvokeEndpoint payload limit), got ${bytes} bytes`);
    }
  }
  if (resolved(p.topK) && !(Number.isInteger(p.topK) && p.topK >= 1)) {
    problems.push(`topK must be a positive integer, got ${p.topK}`);
  }

  p.alertRouteOutcomes.forEach((outcomes, i) => {
    if (outcomes.length === 0) problems.push(`alerts[${i}].outcomes must name at least one outcome`);
  });
  if (p.alertEmailsWithOwnTopics) {
    problems.push('alertEmails subscribes the topic the pipeline creates; with alertTopics or alerts, subscribe your own topics');
  }

  const q = p.quarantine;
  if (q) {
    if (q.outcomes.length === 0) problems.push('quarantine.outcomes must name at least one outcome');
    if (q.outcomes.includes(Outcome.ERROR)) {
      problems.push('quarantine.outcomes cannot include ERROR (the object may be missing or unreadable); alert on ERROR instead');
    }
    if (resolved(q.prefix)) {
      if (q.prefix === '' || q.prefix.startsWith('/')) problems.push(`quarantine.prefix must be non-empty and not start with "/", got "${q.prefix}"`);
      if (q.sameBucket && resolved(p.inputPrefix ?? '')) {
        const input = p.inputPrefix ?? '';
        if (input === '') {
          problems.push('quarantine into the pipeline\'s own bucket needs inputPrefix, so quarantined images are not classified again');
        } else if (q.prefix.startsWith(input) || input.startsWith(q.prefix)) {
          problems.push(`quarantine.prefix "${q.prefix}" must not overlap inputPrefix "${input}", or quarantined images would be classified again`);
        }
      }
    }
  }
  const { bulkMode } = p;
  const c = bulkMode.maxConcurrency;
  const maxConcurrency = bulkMode.type === BulkModeType.DISTRIBUTED ? 10_000 : 40;
  if (c !== undefined && resolved(c) && !(Number.isInteger(c) && c >= 1 && c <= maxConcurrency)) {
    problems.push(`bulkMode maxConcurrency must be an integer from 1 to ${maxConcurrency} (the ${bulkMode.type.toLowerCase()} Map limit), got ${c}`);
  }
  const t = bulkMode.toleratedFailurePercentage;
  if (t !== undefined && resolved(t) && !(t >= 0 && t <= 100)) {
    problems.push(`bulkMode toleratedFailurePercentage must be between 0 and 100, got ${t}`);
  }
  const b = bulkMode.itemBatchSize;
  if (b !== undefined && resolved(b) && !(Number.isInteger(b) && b >= 1 && b <= 1000)) {
    problems.push(`bulkMode itemBatchSize must be an integer from 1 to 1000, got ${b}`);
  }
  if (bulkMode.type === BulkModeType.DISTRIBUTED && !p.auditEnabled) {
    problems.push('bulkMode distributed writes its results next to the audit records: keep auditTrail enabled');
  }

  // The prefix is a literal inside a States.Format template, where quotes, braces and backslashes are syntax.
  if (resolved(p.auditPrefix) && (p.auditPrefix.startsWith('/') || /['{}\\]/.test(p.auditPrefix))) {
    problems.push(`auditTrail.prefix must not start with "/" or contain ' { } \\, got "${p.auditPrefix}"`);
  }
  return problems;
}
