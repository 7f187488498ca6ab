import { randomUUID } from 'node:crypto';
import * as S3 from '@aws-sdk/client-s3';
import { runDistributedMap } from './distributed-map';
import { cloudWatchLogBytes, executionHistory, ExecutionHistoryEvent, InterpreterEvent, loggingConfigurationOf, recordTaskAttempts, renderLogRecords, roleArnOf, StepFunctionsLogRecord } from './execution-log';
import { Denial, Gateway } from './gateway/gateway';
import { CallPrincipal } from './iam/model';
import { taskHandler } from './integrations';
import { IntegrationContext, IntegrationRecords, LocalEvent, TaskHandler } from './integrations/context';
import { applyHashes, compatDefinition, HASH_PASS_RESOURCE, stringifyDeferred } from './interpreter-compat';
import { evaluateOutput, JSONATA_PASS_RESOURCE, rewriteJsonataPassStates } from './jsonata-states';
import { enforcePayloadLimit } from './payload-limit';
import { SnsPublished, SnsSink } from './peers/sns';
import { scaleDefinitionTime } from './scaled-time';
import { allStates, isLambdaTask } from './template-model';
import { CfnTemplate, LOCAL_ACCOUNT, physicalName } from './template-resolver';

/**
 * aws-local-stepfunctions ships ESM type declarations under `"type": "module"`, which a CommonJS (jsii) module
 * cannot import; its CommonJS build is loaded with require and typed here by what the runner uses.
 */
interface LocalStateMachine {
  run(input: unknown, options: unknown): { result: Promise<unknown>; eventLogs: AsyncIterable<{ type: string; state?: { name: string } }> };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as {
  StateMachine: new (definition: unknown, options: unknown) => LocalStateMachine;
};

/** One execution of the pipeline's state machine. */
export interface LocalExecution {
  readonly executionArn: string;
  /**
   * SUCCEEDED, FAILED or TIMED_OUT, as Step Functions reports; NOT_TRIGGERED when the upload rule did not match.
   * Queued ingestion: DEDUPLICATED when the dispatch function found the upload done already (no execution, no
   * effect), DEAD_LETTERED when the message failed every receive without a final execution.
   */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'NOT_TRIGGERED' | 'DEDUPLICATED' | 'DEAD_LETTERED';
  /** The state machine's input. */
  readonly input?: unknown;
  /** The output of a SUCCEEDED execution (the classification result). */
  readonly output?: any;
  /** Error and cause of a FAILED execution (e.g. `UnsupportedImageFormat`, `LowConfidence`). */
  readonly error?: string;
  readonly cause?: string;
  /** The classification result: the output, or the ERROR/LOW_CONFIDENCE result the execution alerted before failing. */
  readonly result?: any;
  /** Alerts published during the execution. */
  readonly alerts: SnsPublished[];
  /** Result events put on EventBridge during the execution. */
  readonly events: LocalEvent[];
  /** Objects written by s3:putObject during the execution (the audit record), bodies parsed as JSON. */
  readonly auditRecords: Array<{ bucket: string; key: string; record: any }>;
  /** The uploaded object's tags after the execution, when it still exists where it was uploaded. */
  readonly tags?: Record<string, string>;
  /** Names of the states entered, in order. */
  readonly states: string[];
  /** Invocations of the classify function (retries included). */
  readonly lambdaInvocations: number;
  /**
   * The records Step Functions would send to CloudWatch Logs for this execution at the state machine's
   * LoggingConfiguration in the template (none when OFF), Distributed Map children's included (local/src/execution-log.ts).
   */
  readonly logRecords: StepFunctionsLogRecord[];
  /** Bytes CloudWatch Logs would ingest for `logRecords`: the UTF-8 JSON of each plus 26 per event. */
  readonly logBytes: number;
  /** Every event of the execution's history in AWS's types, with its data: `renderLogRecords` renders any level from it. */
  readonly history: ExecutionHistoryEvent[];
  /** Calls the gateway denied while the execution ran (with concurrent executions, theirs too): principal, action, resource, why. */
  readonly denials?: Denial[];
  /**
   * Queued ingestion: the executions this delivery ran, in order (deferred attempts first, then the final one,
   * whose fields this record carries; alerts, events and audit records are those of all of them).
   */
  readonly attempts?: LocalExecution[];
}

export interface ExecutionRunnerOptions {
  readonly template: CfnTemplate;
  readonly gateway: Gateway;
  /** Real ms per simulated ms: the definition's own backoff, jitter and timeouts, scaled. @default - retries wait `retryDelayMs` */
  readonly timeScale?: number;
  /** Wait before each retry, in ms, without `timeScale`. @default 0 */
  readonly retryDelayMs?: number;
  /** The SNS peer, whose messages are the alerts. */
  readonly sns: SnsSink;
  /** Where the integrations record their effects. */
  readonly records: IntegrationRecords;
  /** The integrations' context for a principal. */
  readonly integrations: (principal: CallPrincipal) => IntegrationContext;
  /** Reads the input object's tags after an execution (not a request of the pipeline's). */
  readonly observer: S3.S3Client;
  /** Receives every recorded execution, in the order they ended. */
  readonly executions: LocalExecution[];
}

/**
 * Runs executions of the template's state machines in aws-local-stepfunctions: the definition rewritten where the
 * interpreter departs from AWS, each Task state's integration as the state machine's role, Distributed Maps as child
 * executions, Step Functions' payload quota, and the history and log records Step Functions would keep.
 */
export class ExecutionRunner {
  /** Definitions validated already (validation costs more than an execution). */
  private readonly validated = new Set<unknown>();

  constructor(private readonly options: ExecutionRunnerOptions) {}

  /** Runs one execution to its end; recorded in `executions` unless `record` is false (a step's Express execution). */
  public async run(stateMachineId: string, original: any, input: unknown, arn?: string, record = true): Promise<LocalExecution> {
    const { template, gateway, sns, records } = this.options;
    const executionArn = arn ?? `arn:aws:states:${LOCAL_ACCOUNT.region}:${LOCAL_ACCOUNT.account}:express:${physicalName(stateMachineId, '')}:${randomUUID()}`;
    const { definition, stringify, hashes } = compatDefinition(original);
    const scaled = this.options.timeScale !== undefined;
    if (scaled) scaleDefinitionTime(definition, this.options.timeScale!);
    const jsonataOutputs = rewriteJsonataPassStates(definition);
    // Effects are told apart by the execution ARN every result carries: executions run concurrently.
    const alertsBefore = sns.messages.length;
    const denialsBefore = gateway.denials.length;
    const eventsBefore = records.events.length;
    const writesBefore = records.objectWrites.length;
    const firehoseBefore = records.firehoseRecords.length;
    let invocations = 0;
    const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
    // The integrations run as the state machine's role, as Step Functions calls them.
    const roleArn = roleArnOf(template, stateMachineId);
    const principal: CallPrincipal = { kind: 'role', roleArn: roleArn ?? '', sessionName: 'StepFunctions' };
    const integrations = this.options.integrations(principal);
    for (const [name, state] of allStates(definition)) {
      if (state.Resource === HASH_PASS_RESOURCE) {
        taskResourceLocalHandlers[name] = async (params: any) => applyHashes(params, hashes[name]);
      } else if (state.Resource === JSONATA_PASS_RESOURCE) {
        const output = jsonataOutputs[name];
        taskResourceLocalHandlers[name] = async (passInput: any) => JSON.parse(JSON.stringify(await evaluateOutput(output, passInput) ?? null));
      } else if (state.Type === 'Task') {
        const handler = taskHandler(state, integrations);
        const lambda = isLambdaTask(state);
        taskResourceLocalHandlers[name] = (params: any) => {
          if (lambda) invocations++;
          return handler(stringifyDeferred(params, stringify[name]));
        };
      }
    }
    // Scaled time runs the definition's own backoff and jitter; otherwise every retry waits retryDelayMs.
    const retryIntervalOverrides = scaled ? {} : Object.fromEntries(
      allStates(definition).filter(([, s]) => s.Retry).map(([name]) => [name, this.options.retryDelayMs ?? 0]),
    );
    const overrides = { taskResourceLocalHandlers, retryIntervalOverrides };
    const context = (id: string) => ({
      Execution: { Id: id, Name: executionNameOf(id) },
      // The interpreter does not fill $$.State; the execution start stands in for the entered time.
      State: { EnteredTime: new Date().toISOString() },
    });
    // The interpreter validates the ASL once per definition (it takes longer than running one execution); a scaled
    // definition has fractional intervals, which the validator rejects, so the unscaled one is validated.
    this.validateOnce(original);
    const options = { validationOptions: { noValidate: true } };

    const childHistories: ExecutionHistoryEvent[][] = [];
    // Distributed Maps run here (the interpreter ignores ItemReader and ResultWriter): each becomes a task
    // whose handler reads the items, runs the item processor as child executions and writes the results.
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Map' || state.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
      const keep = ['Comment', 'InputPath', 'ResultPath', 'OutputPath', 'Next', 'End', 'Retry', 'Catch'];
      definition.States[name] = {
        Type: 'Task',
        Resource: 'arn:aws:states:::ics-local:distributed-map',
        ...Object.fromEntries(keep.filter((k) => k in state).map((k) => [k, state[k]])),
      };
      taskResourceLocalHandlers[name] = (mapInput: any) => runDistributedMap(state, mapInput, {
        s3: integrations.clients.s3,
        executionArn,
        runChild: async (childInput) => {
          const childArn = `${executionArn}:${randomUUID()}`;
          const child = new StateMachine({ StartAt: state.ItemProcessor.StartAt, States: state.ItemProcessor.States }, options)
            .run(childInput, { overrides, context: context(childArn) });
          const childEvents: InterpreterEvent[] = [];
          const childCollect = (async () => {
            for await (const e of child.eventLogs) childEvents.push(e as InterpreterEvent);
          })();
          try {
            return { status: 'SUCCEEDED', output: await child.result };
          } catch (e: any) {
            return { status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
          } finally {
            // A child is an execution of its own, logged with the parent's configuration.
            await childCollect;
            childHistories.push(executionHistory(childEvents, { definition: state.ItemProcessor, executionArn: childArn, roleArn, taskAttempts }));
          }
        },
      });
    }

    // Step Functions' 256 KiB payload quota (States.DataLimitExceeded), which the interpreter does not enforce.
    enforcePayloadLimit(taskResourceLocalHandlers, stringify);
    // What each task attempt was called with and answered: the log's TaskScheduled parameters and TaskSucceeded output.
    const taskAttempts = recordTaskAttempts(taskResourceLocalHandlers, stringify);
    const machine = new StateMachine(definition, options);
    const run = machine.run(input as any, { overrides, context: context(executionArn) });
    const states: string[] = [];
    const interpreterEvents: InterpreterEvent[] = [];
    const collect = (async () => {
      for await (const e of run.eventLogs) {
        interpreterEvents.push(e as InterpreterEvent);
        if (e.type === 'StateEntered' && e.state) states.push(e.state.name);
      }
    })();
    let outcome: Pick<LocalExecution, 'status' | 'output' | 'error' | 'cause'>;
    try {
      outcome = { status: 'SUCCEEDED', output: await run.result };
    } catch (e: any) {
      outcome = e?.name === 'ExecutionTimeoutError'
        ? { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution ran longer than its TimeoutSeconds' }
        : { status: 'FAILED', error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message };
    }
    await collect;
    // A record without an ARN (a bulk digest) belongs to the execution that wrote it; child executions' ARNs extend the parent's.
    const mine = (r: any) => typeof r?.executionArn !== 'string' || r.executionArn === executionArn
      || r.executionArn.startsWith(`${executionArn}:`);
    const alerts = sns.messages.slice(alertsBefore).filter((a) => mine(safeJson(a.message)));
    const alerted = alerts.map((a) => safeJson(a.message))[0];
    const events = records.events.slice(eventsBefore).filter((e) => mine(e.detail));
    const auditWrites = [...records.objectWrites.slice(writesBefore), ...records.firehoseRecords.slice(firehoseBefore)];
    const auditRecords = auditWrites.map((w) => ({ bucket: w.bucket, key: w.key, record: safeJson(w.body) }))
      .filter((w) => mine(w.record));
    const result = outcome.output ?? auditRecords[0]?.record ?? events[0]?.detail ?? alerted;
    const history = [
      ...executionHistory(interpreterEvents, { definition: original, executionArn, roleArn, taskAttempts }),
      ...childHistories.flat(),
    ];
    const logRecords = renderLogRecords(history, loggingConfigurationOf(template, stateMachineId));
    const execution: LocalExecution = {
      executionArn,
      input,
      ...outcome,
      result,
      alerts,
      events,
      auditRecords,
      tags: await objectTags(this.options.observer, input),
      states,
      lambdaInvocations: invocations,
      logRecords,
      logBytes: cloudWatchLogBytes(logRecords),
      history,
      denials: gateway.denials.slice(denialsBefore),
    };
    if (record) this.options.executions.push(execution);
    return execution;
  }

  /** Validates a definition as the interpreter does, once: its rewritten form, with every JSONata Pass state a task. */
  private validateOnce(original: unknown) {
    if (this.validated.has(original)) return;
    const { definition } = compatDefinition(original);
    rewriteJsonataPassStates(definition);
    for (const state of Object.values<any>(definition.States)) {
      // Distributed Maps run as tasks of the runner; the interpreter's validator does not know their fields.
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
        Object.assign(state, { Type: 'Task', Resource: 'arn:aws:states:::ics-local:distributed-map' });
        for (const k of ['ItemProcessor', 'ItemReader', 'ItemSelector', 'ItemBatcher', 'ResultWriter', 'MaxConcurrency', 'ToleratedFailurePercentage', 'Label', 'ItemsPath', 'Parameters']) delete state[k];
      }
    }
    new StateMachine(definition, { validationOptions: { checkArn: false, checkPaths: false } });
    this.validated.add(original);
  }
}

/** Tags of an execution's input object, if it still exists (it does not after quarantine). */
export async function objectTags(client: S3.S3Client, input: any): Promise<Record<string, string> | undefined> {
  if (typeof input?.bucket !== 'string' || typeof input?.key !== 'string') return undefined;
  try {
    const res = await client.send(new S3.GetObjectTaggingCommand({ Bucket: input.bucket, Key: input.key }));
    return Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  } catch {
    return undefined;
  }
}

/** The name in an execution ARN: `...:execution:<machine>:<name>`, or Express's `...:express:<machine>:<name>[:<id>]`. */
export function executionNameOf(arn: string): string {
  const parts = arn.split(':');
  return parts[7] ?? parts[parts.length - 1];
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
