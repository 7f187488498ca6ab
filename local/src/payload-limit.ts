import { stringifyDeferred } from './interpreter-compat';

/**
 * Step Functions' payload quota, which aws-local-stepfunctions does not enforce: 256 KiB for the input or output
 * of a task, a state or an execution, counted as the bytes of the UTF-8 encoded JSON text (the history API
 * documents the same `Maximum length of 262144`, "expressed as bytes in UTF-8 encoding").
 */
export const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** The size Step Functions counts for a payload: the UTF-8 bytes of its JSON text. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/**
 * `States.DataLimitExceeded`: terminal on AWS, so neither retried nor caught by `States.ALL`. The interpreter reads
 * `isRetryable` / `isCatchable` from any error a task throws. It cannot tell an explicit
 * `ErrorEquals: ["States.DataLimitExceeded"]` catcher from a wildcard, so locally no catcher catches it.
 */
export class DataLimitExceededError extends Error {
  public readonly isRetryable = false;
  public readonly isCatchable = false;

  constructor(message: string) {
    super(message);
    this.name = 'States.DataLimitExceeded';
  }
}

/** Throws `States.DataLimitExceeded` when `value` is over the quota; `what` completes "The state/task 'X' ...". */
export function checkPayload(stateName: string, what: 'input' | 'result', value: unknown, limit = STATE_PAYLOAD_LIMIT_BYTES): void {
  const size = payloadBytes(value);
  if (size <= limit) return;
  const subject = what === 'input' ? 'has an input (after Parameters)' : 'returned a result';
  throw new DataLimitExceededError(
    `The state/task '${stateName}' ${subject} with a size exceeding the maximum number of bytes service limit (${size} > ${limit} bytes).`,
  );
}

type TaskHandler = (input: any) => Promise<any>;

/**
 * Enforces the quota at the boundaries the interpreter exposes: every Task state's effective input (after
 * Parameters, with deferred `States.JsonToString` values stringified as AWS would have) and its result, by wrapping
 * each local task handler in place. State outputs of Pass/Choice/Map states and ResultPath merges are not seen
 * (the interpreter has no per-state hook), nor the execution input (StartExecution refuses that on AWS).
 */
export function enforcePayloadLimit(
  handlers: Record<string, TaskHandler>,
  deferredStringify: Record<string, string[]> = {},
  limit = STATE_PAYLOAD_LIMIT_BYTES,
): void {
  for (const [name, handler] of Object.entries(handlers)) {
    handlers[name] = async (input: any) => {
      checkPayload(name, 'input', stringifyDeferred(input, deferredStringify[name]), limit);
      const result = await handler(input);
      checkPayload(name, 'result', result, limit);
      return result;
    };
  }
}
