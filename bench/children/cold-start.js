// A fresh process standing in for a new Lambda execution environment: load one bundled handler, invoke it once
// (cold), then `warm` more times. Timings and the process's peak resident memory go back to the parent over IPC; the
// handler's own logs go to stdout. Plain JavaScript, so nothing but Node and the bundle is loaded.
'use strict';
const { randomUUID } = require('node:crypto');
const { performance } = require('node:perf_hooks');

/** A Lambda context with the function's timeout (the dispatch function checks the time left before each execution). */
function lambdaContext(timeoutMs, memoryMb) {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName: 'bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/bench',
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * Peak resident memory of this process: Linux's VmHWM, which starts anew at exec. (getrusage's maxRSS does not: it
 * keeps the forked copy of the parent's memory from before the exec.) Elsewhere, the resident set now.
 */
function peakRss() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

// `event` is sent to every invocation; `events`, when given, holds one event per invocation (cold first), for handlers
// that must see new work each time (the dispatch function's idempotency would answer a repeated batch from its records).
process.once('message', async ({ bundle, env, event, events, warm, timeoutMs = 60_000, memoryMb = 128 }) => {
  Object.assign(process.env, env);
  const eventOf = (i) => (events ? events[i] : event);
  try {
    const t0 = performance.now();
    const { handler } = require(bundle);
    const importMs = performance.now() - t0;
    const t1 = performance.now();
    await handler(eventOf(0), lambdaContext(timeoutMs, memoryMb));
    const firstInvokeMs = performance.now() - t1;
    const warmMs = [];
    for (let i = 0; i < warm; i++) {
      const t = performance.now();
      await handler(eventOf(i + 1), lambdaContext(timeoutMs, memoryMb));
      warmMs.push(performance.now() - t);
    }
    const maxRssBytes = peakRss();
    process.send({ importMs, firstInvokeMs, warmMs, maxRssBytes }, () => process.exit(0));
  } catch (err) {
    process.send({ error: String(err && err.stack || err) }, () => process.exit(1));
  }
});
