import { stringifyDeferred } from './interpreter-compat';
import { CfnTemplate, LOCAL_ACCOUNT, resolveIntrinsics } from './template-resolver';

/**
 * The CloudWatch Logs records Step Functions would send for one execution, rendered from the events
 * aws-local-stepfunctions 3.0.0 emits (`run.eventLogs`) and the task attempts the runner sees.
 *
 * What was checked against AWS documentation (2026-12):
 *
 * - Which event types each level logs: the "Log levels" table of the Step Functions developer guide
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html, read from its source
 *   awsdocs/aws-step-functions-developer-guide doc_source/cloudwatch-log-level.md). ALL logs every type; ERROR logs
 *   ExecutionAborted/Failed/TimedOut, FailStateEntered, LambdaFunctionFailed/ScheduleFailed/StartFailed/TimedOut,
 *   MapIterationAborted/Failed, MapStateAborted/Failed, ParallelStateAborted/Failed, TaskFailed, TaskStartFailed,
 *   TaskStateAborted, TaskSubmitFailed, TaskTimedOut, WaitStateAborted — a failed task attempt is logged whether or not
 *   a Retry or Catch then handles it; FATAL logs ExecutionAborted/Failed/TimedOut; OFF logs nothing.
 *   `TaskStateExited` and every `*StateEntered` but FailStateEntered are ALL only.
 * - Record shape `{ id, type, details, previous_event_id, event_timestamp, execution_arn }`, ids and timestamps
 *   (epoch ms) as strings, the first event's `previous_event_id` "0", ExecutionStarted's details
 *   `{ input, inputDetails: { truncated }, roleArn }`: records delivered by Step Functions as quoted in
 *   DataDog/datadog-serverless-functions' log forwarder tests (aws/logs_monitoring/tests); the details of each type
 *   are the HistoryEvent API's `*EventDetails` (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html;
 *   TaskFailedEventDetails: resourceType, resource, error, cause; StateEntered: name, input, inputDetails).
 * - IncludeExecutionData false leaves out "execution data (input or output of a history event)" (GetExecutionHistory's
 *   includeExecutionData, https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html):
 *   here input, output, a task's parameters and their `*Details`; names, errors and causes stay.
 * - "If escaped input or escaped output sent to CloudWatch Logs exceeds 248KB, it will be truncated"
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html): such a string is cut to 248 KB of its
 *   JSON-escaped form and its `*Details.truncated` is true.
 * - Ingested bytes: each record's UTF-8 JSON plus 26 bytes per log event, the per-event size PutLogEvents counts
 *   ("the sum of all event messages in UTF-8, plus 26 bytes for each log event",
 *   https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html); Step Functions logs
 *   are billed at the vended-logs rate (cw-logs.html above).
 * - Distributed Map children log with the parent's logging configuration: DescribeStateMachineForExecution of a
 *   child returns the parent's state machine and its loggingConfiguration
 *   (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html).
 *
 * Where the emulation differs from AWS:
 *
 * - Ids are sequential per execution; `previous_event_id` is the previous event of the same Map iteration (or of
 *   the execution), whereas AWS links some events to their cause (a TaskSucceeded to its TaskStarted). Sizes differ
 *   by the digits only.
 * - Task events are derived: TaskScheduled + TaskStarted per attempt (LambdaFunctionScheduled + LambdaFunctionStarted
 *   for a function ARN resource), then TaskSucceeded/TaskFailed/TaskTimedOut. TaskScheduled carries `resourceType`,
 *   `resource`, `region`, `parameters` and the state's timeouts; AWS may add fields (`taskCredentials`, a Lambda's
 *   `timeoutInSeconds` default) that are not emulated. Parameters and results are matched to events by state name in
 *   order, so concurrent iterations of one state may swap theirs (sizes stay alike).
 * - Distributed Maps (which the runner runs as a task): MapStateStarted, MapRunStarted, MapRunSucceeded/Failed,
 *   MapStateSucceeded/Failed, without the service's Map Run ARN format; MapRunFailed and MapRunAborted are logged
 *   at ERROR as failures, though the level table above predates Map Runs and does not list them.
 * - Parallel branches have no events of their own on AWS and none here; Wait and Activity specifics
 *   (WaitStateAborted, ActivityScheduled...) are not produced, since the interpreter has no such events.
 */

/** Step Functions' log levels (`LoggingConfiguration.Level`). */
export type StepFunctionsLogLevel = 'ALL' | 'ERROR' | 'FATAL' | 'OFF';

export interface StepFunctionsLogging {
  readonly level: StepFunctionsLogLevel;
  readonly includeExecutionData: boolean;
}

/** One event of an execution's history, with every detail (execution data included). */
export interface ExecutionHistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly type: string;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  readonly executionArn: string;
  readonly details: Record<string, unknown>;
}

/** A record as Step Functions writes it to CloudWatch Logs. */
export interface StepFunctionsLogRecord {
  readonly id: string;
  readonly type: string;
  readonly details: Record<string, unknown>;
  readonly previous_event_id: string;
  readonly event_timestamp: string;
  readonly execution_arn: string;
}

const FATAL_TYPES = new Set(['ExecutionAborted', 'ExecutionFailed', 'ExecutionTimedOut']);
const ERROR_TYPES = new Set([
  ...FATAL_TYPES, 'FailStateEntered',
  'LambdaFunctionFailed', 'LambdaFunctionScheduleFailed', 'LambdaFunctionStartFailed', 'LambdaFunctionTimedOut',
  'MapIterationAborted', 'MapIterationFailed', 'MapStateAborted', 'MapStateFailed', 'MapRunFailed', 'MapRunAborted',
  'ParallelStateAborted', 'ParallelStateFailed',
  'TaskFailed', 'TaskStartFailed', 'TaskStateAborted', 'TaskSubmitFailed', 'TaskTimedOut', 'WaitStateAborted',
]);

/** Whether Step Functions logs an event of this type at this level. */
export function loggedAtLevel(type: string, level: StepFunctionsLogLevel): boolean {
  if (level === 'ALL') return true;
  if (level === 'ERROR') return ERROR_TYPES.has(type);
  if (level === 'FATAL') return FATAL_TYPES.has(type);
  return false;
}

/** A state machine's logging configuration in the template; no LoggingConfiguration (or no Level) is OFF. */
export function loggingConfigurationOf(template: CfnTemplate, stateMachineId: string): StepFunctionsLogging {
  const config = template.Resources[stateMachineId]?.Properties?.LoggingConfiguration;
  const level = String(config?.Level ?? 'OFF').toUpperCase();
  return {
    level: (['ALL', 'ERROR', 'FATAL'].includes(level) ? level : 'OFF') as StepFunctionsLogLevel,
    includeExecutionData: config?.IncludeExecutionData === true,
  };
}

/** The state machine's role ARN as ExecutionStarted names it. */
export function roleArnOf(template: CfnTemplate, stateMachineId: string): string | undefined {
  const role = template.Resources[stateMachineId]?.Properties?.RoleArn;
  if (role === undefined) return undefined;
  const resolved = resolveIntrinsics(role, template);
  return typeof resolved === 'string' ? resolved : undefined;
}

/** "248KB" (cw-logs.html): escaped payloads beyond it are truncated. */
export const LOG_PAYLOAD_LIMIT_BYTES = 248 * 1024;
/** PutLogEvents counts 26 bytes per log event on top of its message. */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

/** Bytes CloudWatch Logs ingests for these records: UTF-8 JSON of each + 26 per event. */
export function cloudWatchLogBytes(records: readonly StepFunctionsLogRecord[]): number {
  return records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r), 'utf8') + LOG_EVENT_OVERHEAD_BYTES, 0);
}

/** Renders the history as the records a logging configuration sends (ids and links as recorded). */
export function renderLogRecords(history: readonly ExecutionHistoryEvent[], logging: StepFunctionsLogging): StepFunctionsLogRecord[] {
  return history.filter((e) => loggedAtLevel(e.type, logging.level)).map((e) => ({
    id: String(e.id),
    type: e.type,
    details: logging.includeExecutionData ? e.details : withoutExecutionData(e.details),
    previous_event_id: String(e.previousEventId),
    event_timestamp: String(e.timestamp),
    execution_arn: e.executionArn,
  }));
}

const DATA_FIELDS = ['input', 'output', 'parameters'];
function withoutExecutionData(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([k]) => !DATA_FIELDS.includes(k) && !DATA_FIELDS.some((f) => k === `${f}Details`)));
}

/** What a task state's local handler was called with and answered, one entry per attempt. */
export interface TaskAttempt {
  /** The effective input (after Parameters, deferred `States.JsonToString` applied), as the service receives it. */
  readonly parameters: unknown;
  readonly timestamp: number;
  output?: unknown;
  error?: { readonly name: string; readonly cause: string };
}

/** Attempts per task state name, in call order. */
export type TaskAttempts = Map<string, TaskAttempt[]>;

type TaskHandler = (input: any) => Promise<any>;

/**
 * Wraps each task handler (in place) to record its attempts: what it was called with and what it answered, the
 * TaskScheduled parameters and TaskSucceeded output the interpreter's events do not carry.
 */
export function recordTaskAttempts(handlers: Record<string, TaskHandler>, deferredStringify: Record<string, string[]> = {}): TaskAttempts {
  const attempts: TaskAttempts = new Map();
  for (const [name, handler] of Object.entries(handlers)) {
    handlers[name] = async (input: any) => {
      const attempt: TaskAttempt = { parameters: stringifyDeferred(input, deferredStringify[name]), timestamp: Date.now() };
      const list = attempts.get(name) ?? [];
      list.push(attempt);
      attempts.set(name, list);
      try {
        attempt.output = await handler(input);
        return attempt.output;
      } catch (e: any) {
        attempt.error = { name: String(e?.name ?? 'Error'), cause: String(e?.cause ?? e?.message ?? e) };
        throw e;
      }
    };
  }
  return attempts;
}

/** The interpreter's events, typed by the fields read here. */
export interface InterpreterEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly index?: number;
  readonly state?: { readonly name: string; readonly type: string; readonly input?: unknown; readonly output?: unknown };
  readonly parentState?: { readonly name: string; readonly type: string };
}

export interface ExecutionHistoryOptions {
  /** The definition as the template has it (before the runner's rewrites): state types and resources. */
  readonly definition: any;
  readonly executionArn: string;
  readonly roleArn?: string;
  /** @default LOCAL_ACCOUNT.region */
  readonly region?: string;
  /** Attempts recorded by `recordTaskAttempts`; consumed in order. */
  readonly taskAttempts?: TaskAttempts;
  /** Ids continue after this one (a Distributed Map child's history is its own execution: leave 0). @default 0 */
  readonly firstId?: number;
}

/** Serializes a payload as the history carries it: a JSON string, truncated beyond 248 KB escaped. */
function payload(value: unknown): { text: string; truncated: boolean } {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  const escaped = Buffer.byteLength(JSON.stringify(text), 'utf8');
  if (escaped <= LOG_PAYLOAD_LIMIT_BYTES) return { text, truncated: false };
  // Cut until the escaped form fits (escaping only grows a string, so the prefix is a safe start).
  let end = Math.min(text.length, LOG_PAYLOAD_LIMIT_BYTES);
  while (end > 0 && Buffer.byteLength(JSON.stringify(text.slice(0, end)), 'utf8') > LOG_PAYLOAD_LIMIT_BYTES) end = Math.floor(end * 0.95);
  return { text: text.slice(0, end), truncated: true };
}
const dataField = (key: 'input' | 'output' | 'parameters', value: unknown) => {
  const p = payload(value);
  return { [key]: p.text, [`${key}Details`]: { truncated: p.truncated } };
};

const causeText = (cause: unknown) => (typeof cause === 'string' ? cause : JSON.stringify(cause ?? ''));

interface StateInfo {
  readonly type: string;
  readonly resource?: string;
  readonly distributed: boolean;
  readonly timeoutSeconds?: number;
  readonly heartbeatSeconds?: number;
}

function stateInfos(definition: any, out = new Map<string, StateInfo>()): Map<string, StateInfo> {
  for (const [name, state] of Object.entries<any>(definition?.States ?? {})) {
    out.set(name, {
      type: state.Type,
      resource: state.Resource,
      distributed: state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED',
      timeoutSeconds: state.TimeoutSeconds,
      heartbeatSeconds: state.HeartbeatSeconds,
    });
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) stateInfos(nested, out);
    for (const branch of state.Branches ?? []) stateInfos(branch, out);
  }
  return out;
}

/** `arn:aws:states:::aws-sdk:s3:putObject` → resourceType `aws-sdk:s3`, resource `putObject`, as TaskScheduled names them. */
export function taskResource(arn: string): { resourceType: string; resource: string } {
  const m = /^arn:[^:]+:states:::(.+)$/.exec(arn);
  if (!m) return { resourceType: 'lambda', resource: arn };
  const parts = m[1].split(':');
  return { resourceType: parts.slice(0, -1).join(':'), resource: parts[parts.length - 1] };
}

/**
 * The execution's history in AWS's event types, from the interpreter's events (in the order it emitted them) and
 * the recorded task attempts. Every detail is kept; `renderLogRecords` applies a logging configuration.
 */
export function executionHistory(events: readonly InterpreterEvent[], options: ExecutionHistoryOptions): ExecutionHistoryEvent[] {
  const states = stateInfos(options.definition);
  const region = options.region ?? LOCAL_ACCOUNT.region;
  const attemptsUsed = new Map<string, number>();
  const history: ExecutionHistoryEvent[] = [];
  let id = options.firstId ?? 0;
  const lastByLane = new Map<string, number>();
  const push = (type: string, timestamp: number, details: Record<string, unknown>, lane = 'root') => {
    id++;
    const previousEventId = lastByLane.get(lane) ?? (lane === 'root' ? id - 1 : lastByLane.get('root') ?? id - 1);
    history.push({ id, previousEventId, type, timestamp, executionArn: options.executionArn, details });
    lastByLane.set(lane, id);
  };
  const nextAttempt = (name: string): TaskAttempt | undefined => {
    const n = attemptsUsed.get(name) ?? 0;
    attemptsUsed.set(name, n + 1);
    return options.taskAttempts?.get(name)?.[n];
  };
  // A task state's attempt in progress: scheduled and started, not yet ended.
  const open = new Map<string, TaskAttempt | undefined>();
  // Events of a Map iteration carry its index (the interpreter forwards them without the Map's name).
  const laneOf = (e: InterpreterEvent) => (e.index === undefined ? 'root' : `iteration#${e.index}`);
  // Items of each inline Map state, counted from its iterations (MapStateStarted carries the length).
  const mapLength = (from: number, name: string) => {
    let n = 0;
    for (let i = from + 1; i < events.length; i++) {
      const e = events[i];
      if (e.type === 'MapIterationStarted' && e.parentState?.name === name) n++;
      if ((e.type === 'StateExited' || e.type === 'StateFailed') && e.state?.name === name && e.index === events[from].index) break;
    }
    return n;
  };

  const startAttempt = (name: string, info: StateInfo, ts: number, lane: string) => {
    const attempt = nextAttempt(name);
    open.set(name, attempt);
    const resource = info.resource ?? '';
    if (/^arn:[^:]+:lambda:/.test(resource)) {
      push('LambdaFunctionScheduled', attempt?.timestamp ?? ts, {
        resource,
        ...dataField('input', attempt?.parameters ?? null),
        ...(info.timeoutSeconds !== undefined && { timeoutInSeconds: info.timeoutSeconds }),
      }, lane);
      push('LambdaFunctionStarted', attempt?.timestamp ?? ts, {}, lane);
      return;
    }
    const r = taskResource(resource);
    push('TaskScheduled', attempt?.timestamp ?? ts, {
      ...r,
      region,
      ...dataField('parameters', attempt?.parameters ?? {}),
      ...(info.timeoutSeconds !== undefined && { timeoutInSeconds: info.timeoutSeconds }),
      ...(info.heartbeatSeconds !== undefined && { heartbeatInSeconds: info.heartbeatSeconds }),
    }, lane);
    push('TaskStarted', attempt?.timestamp ?? ts, r, lane);
  };
  const isLambdaArn = (info: StateInfo) => /^arn:[^:]+:lambda:/.test(info.resource ?? '');

  events.forEach((e, i) => {
    const lane = laneOf(e);
    const name = e.state?.name ?? '';
    const info = states.get(name) ?? { type: e.state?.type ?? 'Task', distributed: false };
    const task = info.type === 'Task';
    switch (e.type) {
      case 'ExecutionStarted':
        push('ExecutionStarted', e.timestamp, { ...dataField('input', e.input), ...(options.roleArn && { roleArn: options.roleArn }) });
        break;
      case 'ExecutionSucceeded':
        push('ExecutionSucceeded', e.timestamp, dataField('output', e.output));
        break;
      case 'ExecutionFailed':
        push('ExecutionFailed', e.timestamp, { error: e.Error ?? '', cause: causeText(e.Cause) });
        break;
      case 'ExecutionTimeout':
        push('ExecutionTimedOut', e.timestamp, { error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' });
        break;
      case 'ExecutionAborted':
      case 'ExecutionTerminated':
        push('ExecutionAborted', e.timestamp, {});
        break;
      case 'StateEntered':
        push(`${info.type}StateEntered`, e.timestamp, { name, ...dataField('input', e.state?.input) }, lane);
        if (task) startAttempt(name, info, e.timestamp, lane);
        if (info.type === 'Map') {
          push('MapStateStarted', e.timestamp, { length: info.distributed ? 0 : mapLength(i, name) }, lane);
          if (info.distributed) {
            nextAttempt(name);
            push('MapRunStarted', e.timestamp, { mapRunArn: `${options.executionArn.replace(':execution:', ':mapRun:')}/${name}` }, lane);
          }
        }
        if (info.type === 'Parallel') push('ParallelStateStarted', e.timestamp, {}, lane);
        break;
      case 'StateRetried':
        if (task) startAttempt(name, info, e.timestamp, lane);
        break;
      case 'StateFailed': {
        const error = e.Error ?? '';
        const cause = causeText(e.Cause);
        if (task && open.has(name)) {
          open.delete(name);
          const timedOut = error === 'States.Timeout' || error === 'States.HeartbeatTimeout';
          if (isLambdaArn(info)) push(timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', e.timestamp, { error, cause }, lane);
          else push(timedOut ? 'TaskTimedOut' : 'TaskFailed', e.timestamp, { ...taskResource(info.resource ?? ''), error, cause }, lane);
        } else if (info.type === 'Map') {
          if (info.distributed) push('MapRunFailed', e.timestamp, { error, cause }, lane);
          push('MapStateFailed', e.timestamp, { error, cause }, lane);
        } else if (info.type === 'Parallel') {
          push('ParallelStateFailed', e.timestamp, { error, cause }, lane);
        }
        break;
      }
      case 'StateExited': {
        if (task && open.has(name)) {
          const attempt = open.get(name);
          open.delete(name);
          const output = attempt && 'output' in attempt ? attempt.output : e.state?.output;
          if (isLambdaArn(info)) push('LambdaFunctionSucceeded', e.timestamp, dataField('output', output), lane);
          else push('TaskSucceeded', e.timestamp, { ...taskResource(info.resource ?? ''), ...dataField('output', output) }, lane);
        }
        if (info.type === 'Map') {
          if (info.distributed) push('MapRunSucceeded', e.timestamp, {}, lane);
          push('MapStateSucceeded', e.timestamp, {}, lane);
        }
        if (info.type === 'Parallel') push('ParallelStateSucceeded', e.timestamp, {}, lane);
        // A Fail state never exits; every other state does, a caught task included.
        if (info.type !== 'Fail') push(`${info.type}StateExited`, e.timestamp, { name, ...dataField('output', e.state?.output) }, lane);
        break;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const iterationLane = `iteration#${e.index}`;
        const details = { name: e.parentState?.name ?? '', index: e.index ?? 0 };
        if (e.type === 'MapIterationStarted') lastByLane.delete(iterationLane);
        push(e.type, e.timestamp, e.type === 'MapIterationFailed' ? { ...details, error: e.Error ?? '', cause: causeText(e.Cause) } : details, iterationLane);
        break;
      }
      default:
        // StateCaught and ParallelBranch* have no event of their own on AWS (a caught task's TaskFailed is logged above).
        break;
    }
  });
  return history;
}
