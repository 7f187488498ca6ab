/* eslint-disable import/no-extraneous-dependencies */
import * as dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { payloadBytes } from '../../local/src/payload-limit';
import { OBSERVER_USER_AGENT } from '../../local/src/runner';

/**
 * Counting probes for real local-runner executions. Nothing here changes what runs:
 *
 * - Executions: `StateMachine.prototype.run` of aws-local-stepfunctions is wrapped so every *execution* (the
 *   runner's root executions and its Distributed Map children; inline Map iterations are not executions) is
 *   recorded with its StateEntered and StateRetried events (Standard bills both as transitions) and its wall time.
 * - Requests: Node's `http.client.request.start` diagnostics channel sees every request any in-process client
 *   (the bundled handlers, the runner's service integrations, the Distributed Map reader and writer) sends to the
 *   loopback peers while an execution is running; requests to the hosts named by `recordHosts` (the queued path's SQS,
 *   Step Functions and DynamoDB peers, which only the dispatch function calls, before, around and after the
 *   execution it starts) are recorded whenever they are sent.
 */

export interface ExecutionRecord {
  /** Started while another execution was running: a Distributed Map child. */
  readonly child: boolean;
  transitions: number;
  retries: number;
  /** UTF-8 bytes of every state's input (on entry) and output (on exit): the execution data a log level ALL records. */
  dataBytes: number;
  readonly startedAt: number;
  durationMs: number;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
}

export interface RequestRecord {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly copy: boolean;
  /** `X-Amz-Target` of JSON-protocol requests (`DynamoDB_20120810.PutItem`, `AWSStepFunctions.StartSyncExecution`...). */
  readonly target?: string;
}

interface RunResult {
  result: Promise<unknown>;
  eventLogs: AsyncIterable<{ type: string; state?: { input?: unknown; output?: unknown } }>;
  abort(): void;
}

class Probe {
  public executions: ExecutionRecord[] = [];
  public requests: RequestRecord[] = [];
  private active = 0;
  private installed = false;
  private readonly always = new Set<string>();

  /** Clears what was recorded (call between measurements). */
  public reset(): void {
    this.executions = [];
    this.requests = [];
  }

  /** Records every request to these hosts (`host:port`), inside an execution or not; replaces the previous set. */
  public recordHosts(hosts: string[]): void {
    this.always.clear();
    hosts.forEach((h) => this.always.add(h));
  }

  public install(): void {
    if (this.installed) return;
    this.installed = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { StateMachine } = require('aws-local-stepfunctions') as { StateMachine: { prototype: { run: (...args: any[]) => RunResult } } };
    const original = StateMachine.prototype.run;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const probe = this;
    StateMachine.prototype.run = function run(this: unknown, input: unknown, options?: { _rootAbortSignal?: unknown }): RunResult {
      const execution = original.call(this, input, options);
      // Inline Map iterations and Parallel branches are runs nested with the root's abort signal; their events
      // are forwarded to the root's log, so they are counted there.
      if (options?._rootAbortSignal !== undefined) return execution;
      const record: ExecutionRecord = {
        child: probe.active > 0, transitions: 0, retries: 0, dataBytes: 0, startedAt: performance.now(), durationMs: 0, status: 'RUNNING',
      };
      probe.executions.push(record);
      probe.active++;
      const settle = (status: ExecutionRecord['status']) => {
        record.status = status;
        record.durationMs = performance.now() - record.startedAt;
        probe.active--;
      };
      execution.result.then(() => settle('SUCCEEDED'), () => settle('FAILED'));
      // Tee the event log: count here, and hand the same events on to whoever reads them (the runner reads the root's).
      const buffered: Array<{ type: string; state?: { input?: unknown; output?: unknown } }> = [];
      let done = false;
      let wake: (() => void) | undefined;
      void (async () => {
        for await (const event of execution.eventLogs) {
          if (event.type === 'StateEntered') {
            record.transitions++;
            record.dataBytes += payloadBytes(event.state?.input);
          }
          if (event.type === 'StateExited') record.dataBytes += payloadBytes(event.state?.output);
          if (event.type === 'StateRetried') record.retries++;
          buffered.push(event);
          wake?.();
        }
        done = true;
        wake?.();
      })();
      const eventLogs = (async function* replay() {
        for (;;) {
          while (buffered.length > 0) yield buffered.shift()!;
          if (done) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      })();
      return { result: execution.result, abort: execution.abort, eventLogs };
    };

    dc.subscribe('http.client.request.start', (message) => {
      const request = (message as { request: ClientRequest }).request;
      const host = String(request.getHeader('host') ?? request.host);
      if (this.active === 0 && !this.always.has(host)) return;
      // The runner's own reads (tags after an execution, the audit trail) are not the pipeline's requests.
      if (String(request.getHeader('user-agent') ?? '').includes(OBSERVER_USER_AGENT)) return;
      const target = request.getHeader('x-amz-target');
      this.requests.push({
        host,
        method: request.method,
        path: request.path,
        copy: request.getHeader('x-amz-copy-source') !== undefined,
        ...(target !== undefined && { target: String(target) }),
      });
    });
  }
}

/** The process-wide probe (aws-local-stepfunctions is one module per process). */
export const probe = new Probe();

/** Billing class of an S3 request: LIST, PUT, COPY and POST are priced alike; GET/HEAD as "GET and all other"; DELETE free. */
export function s3RequestClass(r: RequestRecord): 'put' | 'get' | 'free' {
  if (r.method === 'DELETE') return 'free';
  if (r.method === 'PUT' || r.method === 'POST') return 'put';
  if (r.method === 'GET' && /[?&]list-type=2/.test(r.path)) return 'put';
  return 'get';
}

/** A short name for an S3 request, for the breakdown in results.json. */
export function s3Operation(r: RequestRecord): string {
  const q = r.path.split('?')[1] ?? '';
  if (/(^|&)tagging/.test(q)) return r.method === 'GET' ? 'GetObjectTagging' : 'PutObjectTagging';
  if (/(^|&)list-type=2/.test(q)) return 'ListObjectsV2';
  if (r.method === 'PUT') return r.copy ? 'CopyObject' : 'PutObject';
  if (r.method === 'GET') return 'GetObject';
  if (r.method === 'HEAD') return 'HeadObject';
  if (r.method === 'DELETE') return 'DeleteObject';
  return `${r.method} ${r.path}`;
}
