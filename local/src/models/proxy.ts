import { ModelBackend, ModelInvocationError, ModelOutput } from './model-backend';

export interface ProxyModelOptions {
  /** Base URL of a SageMaker-compatible inference container, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Per-request timeout. SageMaker's own limit is 60 s. @default 60_000 */
  readonly timeoutMs?: number;
}

/**
 * Forwards each request to a container that implements SageMaker's serving contract (`POST /invocations`, the body
 * and Content-Type passed through, `Accept` asking for JSON) and returns its answer unchanged.
 *
 * Failures throw `ModelInvocationError`, so the runtime peer answers 424 ModelError, as SageMaker does when a
 * container fails: a non-2xx answer keeps the container's status and body as OriginalStatusCode/OriginalMessage;
 * connection refused, a reset or a timeout is reported with OriginalStatusCode 503.
 */
export function proxyModel(options: ProxyModelOptions): ModelBackend {
  const target = new URL('invocations', options.url.endsWith('/') ? options.url : `${options.url}/`).href;
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    async invoke(body: Buffer, contentType: string): Promise<ModelOutput> {
      let res: Response;
      try {
        res = await fetch(target, {
          method: 'POST',
          body,
          headers: { 'content-type': contentType, 'accept': 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new ModelInvocationError(`model container at ${target} unreachable (${cause})`, 503);
      }
      const out = Buffer.from(await res.arrayBuffer());
      if (!res.ok) {
        throw new ModelInvocationError(`model container answered ${res.status}`, res.status, out.toString('utf8'));
      }
      return { body: out, contentType: res.headers.get('content-type') ?? 'application/json' };
    },
  };
}
