import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { readBody, startLoopbackServer } from './loopback-server';
import type { ScaledClock } from '../clock';
import { gated, Gateway } from '../gateway/gateway';
import { STEP_FUNCTIONS_BINDING } from '../gateway/services';

export interface ExecutionRequest {
  readonly stateMachineArn: string;
  /** The execution input, valid JSON (`{}` when the caller sent none). */
  readonly input: string;
  /** The execution name: the caller's, or a generated UUID. */
  readonly name: string;
  readonly traceHeader?: string;
  /** The ARN the peer gives this execution. */
  readonly executionArn: string;
}

export interface ExecutionResult {
  /** @default the request's executionArn */
  readonly executionArn?: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  /** Epoch milliseconds (the simulated clock's). */
  readonly startDate: number;
  readonly stopDate: number;
}

/** An error the callback can throw to answer as Step Functions would (e.g. `new SfnError('StateMachineDeleting', ...)`). */
export class SfnError extends Error {
  constructor(public readonly code: string, message: string, public readonly status = 400) {
    super(message);
    this.name = code;
  }
}

export interface StepFunctionsPeerOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** State machines that exist, with their type. @default every well-formed ARN is an EXPRESS machine */
  readonly stateMachines?: Record<string, 'STANDARD' | 'EXPRESS'>;
  /** Answer ThrottlingException (which SDKs retry) while this returns true. */
  readonly throttle?: (operation: string, req: { stateMachineArn?: string }) => boolean;
  /** Dates StartExecution's answer before the execution reports its own. @default real time */
  readonly clock?: ScaledClock;
  /** @default a random free port */
  readonly port?: number;
  /** Runs one execution to its end: StartSyncExecution answers with it, StartExecution runs it in the background. */
  startSync(req: ExecutionRequest): Promise<ExecutionResult>;
}

export interface StepFunctionsPeer {
  /** Endpoint URL for `new SFNClient({ endpoint, disableHostPrefix: true })`. */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_INPUT = 256 * 1024;
const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})(:[^:]+)?$/;
/** Step Functions' name rule: 1 to 80 characters, none of whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or controls. */
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

interface Execution {
  readonly request: ExecutionRequest;
  readonly stateMachineArn: string;
  readonly startDate: number;
  result?: ExecutionResult;
}

/**
 * Step Functions on loopback, AWS JSON 1.0 (`X-Amz-Target: AWSStepFunctions.<Operation>`): StartSyncExecution,
 * StartExecution and DescribeExecution, validated as the API reference documents (ARN, name, JSON input, type).
 * The SDK sends StartSyncExecution to `sync-<host>` (the operation's endpoint hostPrefix), which a loopback address
 * cannot take: clients need `disableHostPrefix: true`.
 */
export async function startStepFunctions(options: StepFunctionsPeerOptions): Promise<StepFunctionsPeer> {
  const now = (): number => options.clock?.now() ?? Date.now();
  const executions = new Map<string, Execution>();
  const byName = new Map<string, Execution>(); // STANDARD names are unique per state machine

  /** Validates a start request; returns the execution and whether it is new (not an idempotent repeat). */
  const begin = (input: Record<string, any>, sync: boolean): [Execution, boolean] => {
    const stateMachineArn = input.stateMachineArn;
    const arn = typeof stateMachineArn === 'string' ? STATE_MACHINE_ARN.exec(stateMachineArn) : null;
    if (!arn) throw new SfnError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${String(stateMachineArn)}'`);
    const type = options.stateMachines ? options.stateMachines[stateMachineArn] : 'EXPRESS';
    if (!type) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    if (sync && type !== 'EXPRESS') throw new SfnError('StateMachineTypeNotSupported', 'This operation is not supported by this type of state machine');
    const name = input.name ?? randomUUID();
    if (typeof name !== 'string' || name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new SfnError('InvalidName', `Invalid Name: '${String(name)}'`);
    }
    const text = input.input ?? '{}';
    if (typeof text !== 'string' || Buffer.byteLength(text) > MAX_INPUT) {
      throw new SfnError('ValidationException', `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INPUT}`);
    }
    try {
      JSON.parse(text);
    } catch (e) {
      throw new SfnError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(e as Error).message}'`);
    }
    const [, region, account, machine] = arn;
    const prior = type === 'STANDARD' ? byName.get(`${stateMachineArn}:${name}`) : undefined;
    if (prior) {
      // StartExecution is idempotent for a running execution with the same name and input.
      if (!prior.result && prior.request.input === text) return [prior, false];
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${prior.request.executionArn}'`);
    }
    const executionArn = type === 'STANDARD'
      ? `arn:aws:states:${region}:${account}:execution:${machine}:${name}`
      : `arn:aws:states:${region}:${account}:express:${machine}:${name}:${randomUUID()}`;
    const execution: Execution = {
      request: { stateMachineArn, input: text, name, executionArn, ...(input.traceHeader && { traceHeader: input.traceHeader }) },
      stateMachineArn,
      startDate: now(),
    };
    executions.set(executionArn, execution);
    if (type === 'STANDARD') byName.set(`${stateMachineArn}:${name}`, execution);
    return [execution, true];
  };

  const operations: Record<string, (input: Record<string, any>) => Promise<object> | object> = {
    StartSyncExecution: async (input) => {
      const [{ request }] = begin(input, true);
      const r = await options.startSync(request);
      return {
        executionArn: r.executionArn ?? request.executionArn,
        stateMachineArn: request.stateMachineArn,
        name: request.name,
        startDate: r.startDate / 1000,
        stopDate: r.stopDate / 1000,
        status: r.status,
        ...(r.error !== undefined && { error: r.error }),
        ...(r.cause !== undefined && { cause: r.cause }),
        input: request.input,
        inputDetails: { included: true },
        ...(r.output !== undefined && { output: r.output, outputDetails: { included: true } }),
        ...(request.traceHeader && { traceHeader: request.traceHeader }),
        // Express billing: duration rounded up to the next 100 ms, memory in 64-MB chunks.
        billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: Math.max(100, Math.ceil((r.stopDate - r.startDate) / 100) * 100) },
      };
    },
    StartExecution: (input) => {
      const [execution, fresh] = begin(input, false);
      if (fresh) {
        options.startSync(execution.request).then(
          (r) => void (execution.result = r),
          (e) => void (execution.result = {
            status: 'FAILED', error: 'States.Runtime', cause: String((e as Error)?.message ?? e), startDate: execution.startDate, stopDate: now(),
          }),
        );
      }
      return { executionArn: execution.request.executionArn, startDate: execution.startDate / 1000 };
    },
    DescribeExecution: (input) => {
      const execution = executions.get(input.executionArn);
      if (!execution) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(input.executionArn)}'`);
      const { request, result: r } = execution;
      return {
        executionArn: request.executionArn,
        stateMachineArn: request.stateMachineArn,
        name: request.name,
        status: r?.status ?? 'RUNNING',
        startDate: (r?.startDate ?? execution.startDate) / 1000,
        ...(r && { stopDate: r.stopDate / 1000 }),
        input: request.input,
        inputDetails: { included: true },
        ...(r?.output !== undefined && { output: r.output, outputDetails: { included: true } }),
        ...(r?.error !== undefined && { error: r.error }),
        ...(r?.cause !== undefined && { cause: r.cause }),
        ...(request.traceHeader && { traceHeader: request.traceHeader }),
      };
    },
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    try {
      const target = req.headers['x-amz-target'];
      const name = typeof target === 'string' && target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
      const operation = operations[name];
      if (!operation) throw new SfnError('UnknownOperationException', `Unknown operation ${String(target)}`);
      let input: Record<string, any>;
      try {
        input = JSON.parse((await readBody(req, 2 * MAX_INPUT)).toString('utf8') || '{}');
      } catch {
        throw new SfnError('SerializationException', 'The request body is not valid JSON.');
      }
      if (options.throttle?.(name, input)) throw new SfnError('ThrottlingException', 'Rate exceeded');
      const output = await operation(input);
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': randomUUID() });
      res.end(JSON.stringify(output));
    } catch (err) {
      // The callback may throw an SfnError, or any error with a Step Functions `code` (e.g. StateMachineDoesNotExist);
      // anything else (Node's `ENOENT`, `ERR_...` codes included) is a failure of the peer: answered InternalFailure (500)
      // and recorded by the server.
      const code = (err as { code?: unknown } | undefined)?.code;
      if (!(err instanceof SfnError) && !(typeof code === 'string' && /^[A-Z][a-z]\w*$/.test(code))) throw err;
      const e = err instanceof SfnError ? err : new SfnError(code as string, String((err as Error)?.message ?? err));
      sendSfnError(res, e);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, STEP_FUNCTIONS_BINDING, handle), options.port, (res, err) => {
    sendSfnError(res, new SfnError('InternalFailure', String((err as Error)?.message ?? err), 500));
  }, 'stepfunctions');
  return { url: server.url, close: () => server.close() };
}

function sendSfnError(res: http.ServerResponse, e: SfnError): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(e.status, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': randomUUID() });
  res.end(JSON.stringify({ __type: `com.amazonaws.sfn#${e.code}`, message: e.message }));
}
