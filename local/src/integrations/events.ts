import { randomUUID } from 'node:crypto';
import { authorizeOrFail, IntegrationContext, TaskHandler } from './context';
import { putEventsCall } from '../iam/calls';
import { integrationError } from '../integration-errors';

/** The optimized `events:putEvents` integration, in the runner: each entry is recorded, or fails as its bus is set to. */
export function putEventsTask(ctx: IntegrationContext): TaskHandler {
  return async (params) => {
    const entries = (params.Entries ?? []) as any[];
    authorizeOrFail(ctx.gateway, [...new Set(entries.map((e) => String(e.EventBusName ?? 'default')))].map((bus) => putEventsCall(ctx.gateway.policies, ctx.principal, bus)),
      'EventBridge.AccessDeniedException');
    const results = entries.map((e) => {
      const bus = String(e.EventBusName ?? 'default');
      const code = ctx.failingEventBuses.get(bus) ?? ctx.failingEventBuses.get(bus.split('/').pop()!);
      if (code) return { ErrorCode: code, ErrorMessage: `The entry for event bus ${bus} failed (${code})` };
      ctx.records.events.push({ source: e.Source, detailType: e.DetailType, detail: e.Detail, eventBusName: e.EventBusName });
      return { EventId: randomUUID() };
    });
    const out = { Entries: results, FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length };
    // A response with a non-zero FailedEntryCount fails the task `EventBridge.FailedEntry` (Step Functions
    // Developer Guide, "Add EventBridge events with Step Functions"); EventBridge itself keeps the other entries.
    if (out.FailedEntryCount > 0) throw integrationError('EventBridge.FailedEntry', JSON.stringify(out));
    return out;
  };
}
