import { randomUUID } from 'node:crypto';
import { readBody, startLoopbackServer } from './loopback-server';
import { gated, Gateway } from '../gateway/gateway';
import { EVENTS_BINDING } from '../gateway/services';

/** An entry put on a bus. */
export interface EventBridgeEntry {
  readonly source: string;
  readonly detailType: string;
  /** The `Detail` JSON string as sent. */
  readonly detail: string;
  readonly eventBusName?: string;
}

export interface EventBridgePeer {
  /** Endpoint URL for `new EventBridgeClient({ endpoint })`. */
  readonly url: string;
  close(): Promise<void>;
}

/** PutEvents' limits: 10 entries, 256 KiB per request (entry sizes summed approximately as their UTF-8 JSON). */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * A local EventBridge that accepts `PutEvents` (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`, as
 * `@aws-sdk/client-eventbridge` sends it) and hands each entry to `onEvent`: the runner's record of events, which the
 * workflow's own `events:putEvents` tasks also feed. Entries without Source, DetailType or a JSON object Detail fail
 * per entry, as EventBridge reports them (`FailedEntryCount`, `ErrorCode`), not the request.
 */
export async function startEventBridge(onEvent: (entry: EventBridgeEntry) => void, gateway?: Gateway): Promise<EventBridgePeer> {
  const server = await startLoopbackServer(gated(gateway, EVENTS_BINDING, async (req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    const target = String(req.headers['x-amz-target'] ?? '');
    const raw = await readBody(req, 1024 * 1024);
    if (target !== 'AWSEvents.PutEvents') return answer(400, { __type: 'UnknownOperationException', message: `${target} is not supported by the local EventBridge` });
    if (raw.length > MAX_REQUEST_BYTES) return answer(400, { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });
    const body = JSON.parse(raw.toString('utf8') || '{}');
    const entries: any[] = body.Entries ?? [];
    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      return answer(400, { __type: 'ValidationException', message: `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}` });
    }
    const results = entries.map((e) => {
      let detailOk = false;
      try {
        const d = JSON.parse(e.Detail);
        detailOk = typeof d === 'object' && d !== null && !Array.isArray(d);
      } catch { /* not JSON */ }
      if (!e.Source || !e.DetailType || !detailOk) {
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail, Source and DetailType are required; Detail must be a JSON object.' };
      }
      onEvent({ source: e.Source, detailType: e.DetailType, detail: e.Detail, eventBusName: e.EventBusName });
      return { EventId: randomUUID() };
    });
    return answer(200, { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length });
  }), 0, undefined, 'eventbridge');
  return { url: server.url, close: () => server.close() };
}
