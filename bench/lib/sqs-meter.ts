import { PRICES } from './prices';
import type { LocalQueue } from '../../local/src/peers/sqs';

/** SQS API requests made on one queue, as SQS bills them (each 64 KB chunk of a request's payload is one request). */
export interface SqsRequestCounts {
  /** SendMessage: EventBridge delivering the upload event to the rule's queue target. */
  SendMessage: number;
  /** ReceiveMessage calls that returned messages (the event source mapping taking a batch). */
  ReceiveMessage: number;
  /** One per batch whose messages the mapping deleted (Lambda deletes a batch's messages together). */
  DeleteMessageBatch: number;
  /** The dispatch function deferring a message (backoff). */
  ChangeMessageVisibility: number;
}

export interface SqsMeter {
  /** Billed requests so far, by action. */
  readonly counts: SqsRequestCounts;
  /** Receives that returned nothing: the local mapping's wake-ups, not AWS's long polls (see bench/README.md). */
  readonly emptyReceives: number;
  /** Messages deleted one by one (the local mapping deletes each message of a batch separately). */
  readonly deletedMessages: number;
  /** Puts the queue's own methods back. */
  stop(): void;
}

const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / PRICES.sqs.chunkBytes));

/**
 * Counts the SQS requests made on a queue of the local runner by wrapping the queue object's own methods: the
 * event source mapping and the rule's SQS target call them in-process (no HTTP request to observe), and the SQS
 * peer calls the same methods for the dispatch function's HTTP requests, so every action is counted once. Nothing
 * the queue does changes.
 */
export function meterQueue(queue: LocalQueue): SqsMeter {
  const counts: SqsRequestCounts = { SendMessage: 0, ReceiveMessage: 0, DeleteMessageBatch: 0, ChangeMessageVisibility: 0 };
  let emptyReceives = 0;
  let deletedMessages = 0;
  // The mapping deletes a batch's messages in one synchronous loop: deletes within one microtask are one batch request.
  let batchOpen = false;
  const original = { send: queue.send, receive: queue.receive, delete: queue.delete, changeVisibility: queue.changeVisibility };
  queue.send = function send(this: LocalQueue, body, opts) {
    counts.SendMessage += chunks(Buffer.byteLength(body));
    return original.send.call(this, body, opts);
  };
  queue.receive = function receive(this: LocalQueue, max, visibility) {
    const got = original.receive.call(this, max, visibility);
    if (got.length === 0) emptyReceives++;
    else counts.ReceiveMessage += chunks(got.reduce((n, m) => n + Buffer.byteLength(m.Body), 0));
    return got;
  };
  queue.delete = function del(this: LocalQueue, handle) {
    deletedMessages++;
    if (!batchOpen) {
      batchOpen = true;
      counts.DeleteMessageBatch++;
      queueMicrotask(() => (batchOpen = false));
    }
    return original.delete.call(this, handle);
  };
  queue.changeVisibility = function changeVisibility(this: LocalQueue, handle, seconds) {
    counts.ChangeMessageVisibility++;
    return original.changeVisibility.call(this, handle, seconds);
  };
  return {
    counts,
    get emptyReceives() {
      return emptyReceives;
    },
    get deletedMessages() {
      return deletedMessages;
    },
    stop() {
      // The wrappers are own properties of the instance; removing them uncovers the class's methods again.
      for (const name of Object.keys(original)) delete (queue as unknown as Record<string, unknown>)[name];
    },
  };
}
