import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server bound to 127.0.0.1 only, on the given port or a random free one. */
export interface LoopbackServer {
  readonly url: string;
  /** Failures no handler answered (see {@link startLoopbackServer}), in order. */
  readonly errors: PeerError[];
  close(): Promise<void>;
}

/** A request a peer failed on: answered with the service's 500-class error, or its connection dropped. */
export interface PeerError {
  readonly method: string;
  readonly url: string;
  readonly message: string;
}

/** A request handler; a rejected promise is a failure of that request only. */
export type PeerRequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<unknown>;

/** Answers a request the handler failed on, in the service's own protocol (e.g. S3 `InternalError` XML). */
export type PeerErrorAnswer = (res: http.ServerResponse, err: unknown, req: http.IncomingMessage) => void;

/**
 * Starts a peer's server. Whatever its handler throws or rejects with fails that one request, never the process:
 * it is recorded in `errors`, logged, and answered by `answer` (the service's 500 error) unless the answer had
 * begun, in which case the connection is dropped as a service would (SDKs retry both).
 */
export async function startLoopbackServer(
  handler: PeerRequestHandler,
  port = 0,
  answer: PeerErrorAnswer = answerInternalFailure,
  name = 'local',
): Promise<LoopbackServer> {
  const errors: PeerError[] = [];
  const fail = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown) => {
    recordPeerError(errors, name, req, err);
    try {
      if (res.headersSent || res.destroyed) res.destroy();
      else answer(res, err, req);
    } catch {
      res.destroy();
    }
  };
  const server = http.createServer((req, res) => {
    // A client that drops its connection mid-request makes the request emit 'error': unheard, that ends the process.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    try {
      Promise.resolve(handler(req, res)).catch((err) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  });
  // SDK clients keep connections alive; without this, close() waits for their idle sockets to time out.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // After listening, a server error (e.g. EMFILE on accept) is the peer's to report, not the process's to die of.
  server.on('error', (err) => recordPeerError(errors, name, undefined, err));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    errors,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Records and logs (one line on stderr) a failure of a peer, so a failed execution can be traced to its cause. */
export function recordPeerError(errors: PeerError[], peer: string, req: http.IncomingMessage | undefined, err: unknown): PeerError {
  const e = err as { stack?: string; message?: string } | undefined;
  const entry = { method: req?.method ?? '', url: req?.url ?? '', message: e?.message ?? String(err) };
  errors.push(entry);
  process.stderr.write(`[ics-local] ${peer} peer: ${entry.method} ${entry.url} failed: ${e?.stack?.split('\n')[0] ?? entry.message}\n`);
  return entry;
}

/** The AWS JSON protocols' internal error, for peers that name no other. */
function answerInternalFailure(res: http.ServerResponse, err: unknown): void {
  res.writeHead(500, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': 'InternalFailure' });
  res.end(JSON.stringify({ __type: 'InternalFailure', message: String((err as Error)?.message ?? err) }));
}

/** Where {@link cacheBody} keeps a body it read ahead of the peer (the gateway reads it to verify and authorize). */
const CACHED_BODY = Symbol('ics-local cached body');

/** Reads the body once, ahead of the peer's handler, which then gets it from {@link readBody}. */
export async function cacheBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const cached = (req as any)[CACHED_BODY] as Buffer | undefined;
  if (cached) return cached;
  const body = await readBody(req, limit);
  (req as any)[CACHED_BODY] = body;
  return body;
}

/** Reads a request body, refusing more than `limit` bytes. */
export async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const cached = (req as any)[CACHED_BODY] as Buffer | undefined;
  if (cached) {
    if (cached.length > limit) throw new Error(`request body exceeds ${limit} bytes`);
    return cached;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
