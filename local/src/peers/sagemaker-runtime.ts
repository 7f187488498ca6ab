import type * as http from 'node:http';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { SAGEMAKER_RUNTIME_BINDING } from '../gateway/services';
import { ModelBackend, ModelInvocationError } from '../models/model-backend';

/** The account id the peer pretends to be, as it appears in SageMaker's error messages and ARNs. */
export const LOCAL_ACCOUNT_ID = '123456789012';

/** A request the peer answered, for assertions and the runner's report. */
export interface SageMakerInvocation {
  readonly endpointName: string;
  readonly contentType: string;
  readonly accept?: string;
  readonly targetVariant?: string;
  readonly customAttributes?: string;
  /** Request body length in bytes. */
  readonly bytes: number;
  readonly status: number;
  /** The `x-amzn-ErrorType` answered, when status is not 200. */
  readonly errorType?: string;
  readonly latencyMs: number;
}

/**
 * Faults `failNext` can inject, each answered as SageMaker does: 500 InternalFailure, 503 ServiceUnavailable,
 * 424 ModelError (container failed), 400 ThrottlingException, 400 ModelNotReadyException.
 */
export type SageMakerFault = 500 | 503 | 424 | 'ThrottlingException' | 'ModelNotReadyException';

/**
 * What an endpoint serves at once, as SageMaker enforces it: requests beyond `concurrency` in flight are answered
 * `ThrottlingException` (HTTP 400, as SageMaker throttles), and each accepted request takes at least `latencyMs`.
 */
export interface EndpointCapacity {
  /** Requests served at the same time (a serverless endpoint's `MaxConcurrency`). */
  readonly concurrency: number;
  /**
   * Least time one request takes, in simulated ms (scaled by `clock`).
   * @default 0
   */
  readonly latencyMs?: number;
}

export interface SageMakerRuntimeOptions {
  /** The gateway that identifies and authorizes each request (a LocalPipeline's). @default none: every caller is served */
  readonly gateway?: Gateway;
  /** Models by endpoint name. */
  readonly models: Record<string, ModelBackend>;
  /**
   * Capacity per endpoint name.
   * @default - unlimited, no added latency
   */
  readonly capacity?: Record<string, EndpointCapacity>;
  /**
   * Simulated time for `latencyMs`.
   * @default - real time
   */
  readonly clock?: { sleep(simulatedMs: number): Promise<void> };
  /** @default a random free port */
  readonly port?: number;
  /**
   * Wait for every model's `ready()` before resolving. When false, requests to an endpoint whose model is still
   * loading are answered ModelNotReadyException, as a freshly created endpoint does.
   * @default true
   */
  readonly waitForModels?: boolean;
}

export interface SageMakerRuntimePeer {
  /** Endpoint URL for `new SageMakerRuntimeClient({ endpoint })`. */
  readonly url: string;
  readonly invocations: SageMakerInvocation[];
  /** The most requests the peer had in flight at once, per endpoint name (every request, throttled ones included). */
  readonly highestInFlight: Record<string, number>;
  /** Sets (or, with undefined, removes) an endpoint's capacity. */
  setCapacity(endpointName: string, capacity: EndpointCapacity | undefined): void;
  /** The next `count` requests to the endpoint fail with `fault`; later ones reach the model again. */
  failNext(endpointName: string, count: number, fault: SageMakerFault): void;
  /** While down, every request to the endpoint is answered 503 ServiceUnavailable (retried by SDKs, then fatal). */
  setDown(endpointName: string, down: boolean): void;
  close(): Promise<void>;
}

/** SageMaker's own cap on a real-time InvokeEndpoint payload. */
const MAX_PAYLOAD = 6 * 1024 * 1024;
const PATH = /^\/endpoints\/([^/]+)\/invocations$/;

/**
 * A SageMaker Runtime `InvokeEndpoint` implementation on loopback, speaking restJson1 so `@aws-sdk/client-
 * sagemaker-runtime` (and the bundled classify handler) work against it unchanged: errors carry
 * `x-amzn-ErrorType: <Code>` and a JSON body, which the SDK turns into its modeled exception classes.
 */
export async function startSageMakerRuntime(options: SageMakerRuntimeOptions): Promise<SageMakerRuntimePeer> {
  const models = new Map(Object.entries(options.models));
  const loaded = new Set<string>();
  const loads = [...models].map(async ([name, model]) => {
    await model.ready?.();
    loaded.add(name);
  });
  if (options.waitForModels ?? true) await Promise.all(loads);
  else loads.forEach((p) => p.catch(() => undefined)); // a model that never loads stays "not ready"

  const faults = new Map<string, SageMakerFault[]>();
  const down = new Set<string>();
  const invocations: SageMakerInvocation[] = [];
  const capacity = new Map(Object.entries(options.capacity ?? {}));
  const inFlight = new Map<string, number>();
  const highestInFlight: Record<string, number> = {};

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = Date.now();
    const match = req.method === 'POST' ? PATH.exec((req.url ?? '').split('?')[0]) : null;
    if (!match) {
      return sendError(res, 404, 'UnknownOperationException', `No operation for ${req.method} ${req.url}`);
    }
    const endpointName = decodeURIComponent(match[1]);
    const contentType = header(req, 'content-type') ?? 'application/octet-stream';
    const targetVariant = header(req, 'x-amzn-sagemaker-target-variant');
    let body: Buffer;
    try {
      body = await readBody(req, MAX_PAYLOAD);
    } catch {
      req.resume();
      return sendError(res, 413, 'ValidationError', `Request payload for endpoint ${endpointName} exceeds 6 MB.`);
    }
    // In flight from the moment the request arrives until it is answered, whatever the answer.
    const now = (inFlight.get(endpointName) ?? 0) + 1;
    inFlight.set(endpointName, now);
    highestInFlight[endpointName] = Math.max(highestInFlight[endpointName] ?? 0, now);
    let answer: Answer;
    try {
      answer = await respond(endpointName, body, contentType, targetVariant, now);
    } finally {
      inFlight.set(endpointName, (inFlight.get(endpointName) ?? 1) - 1);
    }
    invocations.push({
      endpointName,
      contentType,
      accept: header(req, 'accept'),
      targetVariant,
      customAttributes: header(req, 'x-amzn-sagemaker-custom-attributes'),
      bytes: body.length,
      status: answer.status,
      errorType: answer.errorType,
      latencyMs: Date.now() - started,
    });
    if (answer.errorType) return sendError(res, answer.status, answer.errorType, answer.message, answer.extra);
    res.writeHead(200, {
      'Content-Type': answer.contentType,
      'x-Amzn-Invoked-Production-Variant': targetVariant ?? 'AllTraffic',
    });
    res.end(answer.body);
  };

  const respond = async (name: string, body: Buffer, contentType: string, variant: string | undefined, inFlightNow: number): Promise<Answer> => {
    const model = models.get(name);
    if (!model) {
      return fail(400, 'ValidationError', `Endpoint ${name} of account ${LOCAL_ACCOUNT_ID} not found.`);
    }
    if (variant !== undefined && variant !== 'AllTraffic') {
      return fail(400, 'ValidationError', `Endpoint ${name} does not have a production variant named ${variant}.`);
    }
    if (down.has(name)) return fail(503, 'ServiceUnavailable', 'Service Unavailable');
    const fault = faults.get(name)?.shift();
    if (fault !== undefined) return injected(name, fault);
    if (!loaded.has(name)) return fail(400, 'ModelNotReadyException', `Model for endpoint ${name} is not ready.`);
    const cap = capacity.get(name);
    if (cap && inFlightNow > cap.concurrency) return fail(400, 'ThrottlingException', 'Rate exceeded');
    if (cap?.latencyMs) await (options.clock?.sleep(cap.latencyMs) ?? new Promise((r) => setTimeout(r, cap.latencyMs)));
    try {
      const out = await model.invoke(body, contentType);
      return { status: 200, body: out.body, contentType: out.contentType };
    } catch (err) {
      const e = err instanceof ModelInvocationError ? err : new ModelInvocationError(String((err as Error)?.message ?? err));
      return modelError(name, e.originalStatusCode, e.originalMessage);
    }
  };

  const server = await startLoopbackServer(gated(options.gateway, SAGEMAKER_RUNTIME_BINDING, handle), options.port, (res, err) => {
    sendError(res, 500, 'InternalFailure', String((err as Error)?.message ?? err));
  }, 'sagemaker-runtime');

  return {
    url: server.url,
    invocations,
    highestInFlight,
    setCapacity(endpointName, c) {
      if (c) capacity.set(endpointName, c);
      else capacity.delete(endpointName);
    },
    failNext(endpointName, count, fault) {
      const queue = faults.get(endpointName) ?? [];
      for (let i = 0; i < count; i++) queue.push(fault);
      faults.set(endpointName, queue);
    },
    setDown(endpointName, isDown) {
      if (isDown) down.add(endpointName);
      else down.delete(endpointName);
    },
    async close() {
      await server.close();
      await Promise.all([...models.values()].map((m) => m.close?.()));
    },
  };
}

interface Answer {
  readonly status: number;
  readonly body?: Buffer | string;
  readonly contentType?: string;
  readonly errorType?: string;
  readonly message?: string;
  readonly extra?: Record<string, unknown>;
}

function fail(status: number, errorType: string, message: string, extra?: Record<string, unknown>): Answer {
  return { status, errorType, message, extra };
}

function injected(name: string, fault: SageMakerFault): Answer {
  switch (fault) {
    case 500:
      return fail(500, 'InternalFailure', 'An internal failure occurred (injected).');
    case 503:
      return fail(503, 'ServiceUnavailable', 'Service Unavailable (injected).');
    case 424:
      return modelError(name, 500, 'injected model failure');
    case 'ThrottlingException':
      return fail(400, 'ThrottlingException', 'Rate exceeded (injected).');
    case 'ModelNotReadyException':
      return fail(400, 'ModelNotReadyException', `Model for endpoint ${name} is not ready (injected).`);
  }
}

/** The 424 SageMaker answers when the container fails, with the container's status and message. */
function modelError(name: string, originalStatus: number, originalMessage: string): Answer {
  const logStreamArn = `arn:aws:logs:us-east-1:${LOCAL_ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/${name}`;
  const kind = originalStatus >= 500 ? 'server' : 'client';
  return fail(
    424,
    'ModelError',
    `Received ${kind} error (${originalStatus}) from primary with message "${originalMessage}". See ${logStreamArn} in account ${LOCAL_ACCOUNT_ID} for more information.`,
    { OriginalStatusCode: originalStatus, OriginalMessage: originalMessage, LogStreamArn: logStreamArn },
  );
}

function sendError(res: http.ServerResponse, status: number, errorType: string, message = errorType, extra?: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': errorType });
  res.end(JSON.stringify({ message, ...extra }));
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
