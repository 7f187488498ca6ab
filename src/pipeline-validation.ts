import { Duration, Size, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BulkMode, BulkModeType } from './bulk-mode';
import { Outcome } from './outcomes';
import { WorkflowStepConfig, WorkflowStepKind } from './workflow/steps';

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
  /** Your own steps, bound. */
  readonly steps: WorkflowStepConfig[];
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
  problems.push(...validateSteps(p));
  return problems;
}

/** Most steps a pipeline runs: ten answers at the size cap take 80 KiB of the 256 KiB an alert or event allows. */
export const MAX_STEPS = 10;
/** With an EXPRESS workflow, every step's worst case together: the rest of the 5 minutes is classification's and the actions'. */
export const MAX_EXPRESS_STEPS_SECONDS = 120;
const STEP_NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/** The longest a step can take: every attempt timing out, with the waits between them. */
export function stepWorstCaseSeconds(step: WorkflowStepConfig): number {
  const secondsOf = (d: Duration) => d.toMilliseconds() / 1000;
  let seconds = (step.maxAttempts + 1) * secondsOf(step.timeout);
  for (let i = 0; i < step.maxAttempts; i++) seconds += secondsOf(step.interval) * step.backoffRate ** i;
  return seconds;
}

/** The outcomes the decision can produce with these labels, flagged labels and threshold (ERROR always). */
export function decidedOutcomes(p: Pick<ValidatedProps, 'classLabels' | 'flaggedLabels' | 'confidenceThreshold'>): Set<Outcome> {
  const labels = p.classLabels?.filter(resolved);
  const flagged = p.flaggedLabels.filter(resolved);
  const occurs = new Set<Outcome>([Outcome.ERROR]);
  if (flagged.length > 0) occurs.add(Outcome.FLAGGED);
  if (!(labels && labels.length > 0 && flagged.length > 0 && labels.every((l) => flagged.includes(l)))) occurs.add(Outcome.ACCEPTED);
  if (!resolved(p.confidenceThreshold) || p.confidenceThreshold > 0) occurs.add(Outcome.LOW_CONFIDENCE);
  return occurs;
}

/** Every outcome an image can end with: the decision's, and those override steps may choose. */
export function occurringOutcomes(p: Pick<ValidatedProps, 'classLabels' | 'flaggedLabels' | 'confidenceThreshold' | 'steps'>): Set<Outcome> {
  const occurs = decidedOutcomes(p);
  for (const step of p.steps) step.overrideOutcomes?.forEach((o) => occurs.add(o));
  return occurs;
}

/** Problems with the steps: names, outcomes that never occur, retries, timeouts, state machine types. */
function validateSteps(p: ValidatedProps): string[] {
  const problems: string[] = [];
  const { steps } = p;
  if (steps.length > MAX_STEPS) problems.push(`steps: at most ${MAX_STEPS}, got ${steps.length}`);
  const names = steps.map((s) => s.name);
  const dupes = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (dupes.length > 0) problems.push(`steps must have unique names; repeated: ${dupes.join(', ')} (give each a name)`);

  // What the decision can produce; an override step before a step can produce its allowed outcomes too.
  const occurs = decidedOutcomes(p);

  let totalSeconds = 0;
  let timingsKnown = true;
  steps.forEach((step, i) => {
    const at = `steps[${i}]${resolved(step.name) ? ` (${step.name})` : ''}`;
    if (resolved(step.name) && !STEP_NAME.test(step.name)) {
      problems.push(`${at}: the name must be 1 to 40 letters, digits and _, starting with a letter (it is a key of result.steps and part of state names)`);
    }
    if (step.outcomes.length === 0) problems.push(`${at}: outcomes must name at least one outcome`);
    const never = [...new Set(step.outcomes.filter((o) => !occurs.has(o)))];
    if (never.length > 0) {
      const why: Record<string, string> = {
        [Outcome.FLAGGED]: 'no label is flagged',
        [Outcome.ACCEPTED]: 'every class label is flagged',
        [Outcome.LOW_CONFIDENCE]: 'confidenceThreshold is 0',
      };
      problems.push(`${at}: runs for ${never.join(', ')}, which never occurs (${never.map((o) => why[o]).join('; ')})`);
    }
    if (step.overrideOutcomes) {
      if (step.outcomes.includes(Outcome.ERROR)) problems.push(`${at}: an override step cannot run for ERROR images`);
      if (step.overrideOutcomes.length === 0) problems.push(`${at}: override allowedOutcomes must name at least one outcome`);
      if (step.overrideOutcomes.includes(Outcome.ERROR)) problems.push(`${at}: override allowedOutcomes cannot include ERROR (a step that fails turns the image into ERROR StepFailed)`);
      step.overrideOutcomes.filter((o) => o !== Outcome.ERROR).forEach((o) => occurs.add(o));
    }
    if (step.kind === WorkflowStepKind.EXPRESS_STATE_MACHINE && step.stateMachineType === sfn.StateMachineType.STANDARD) {
      problems.push(`${at}: the state machine is STANDARD; WorkflowStep.expressStateMachine() runs EXPRESS state machines synchronously (StartSyncExecution)`);
    }
    const timings = [step.timeout, step.interval].every((d) => !d.isUnresolved()) && [step.maxAttempts, step.backoffRate].every(resolved);
    if (!timings) {
      timingsKnown = false;
      return;
    }
    const timeout = step.timeout.toMilliseconds() / 1000;
    if (!(Number.isInteger(timeout) && timeout >= 1)) problems.push(`${at}: timeout must be a whole number of seconds, at least 1, got ${step.timeout.toHumanString()}`);
    if (!(Number.isInteger(step.maxAttempts) && step.maxAttempts >= 0)) problems.push(`${at}: retry maxAttempts must be a non-negative integer, got ${step.maxAttempts}`);
    const interval = step.interval.toMilliseconds() / 1000;
    if (!(Number.isInteger(interval) && interval >= 1)) problems.push(`${at}: retry interval must be a whole number of seconds, at least 1, got ${step.interval.toHumanString()}`);
    if (!(step.backoffRate >= 1)) problems.push(`${at}: retry backoffRate must be at least 1, got ${step.backoffRate}`);
    totalSeconds += stepWorstCaseSeconds(step);
  });
  if (p.workflowType === sfn.StateMachineType.EXPRESS && timingsKnown && totalSeconds > MAX_EXPRESS_STEPS_SECONDS) {
    problems.push(`steps can take ${Math.round(totalSeconds)} seconds together (every attempt timing out, with the retries' waits); `
      + `with an EXPRESS workflow they must fit in ${MAX_EXPRESS_STEPS_SECONDS} seconds so the execution ends within Express's 5 minutes: `
      + 'shorten timeouts, retry less, or use workflowType STANDARD');
  }
  return problems;
}

