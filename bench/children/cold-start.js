// A fresh process standing in for a new Lambda execution environment: load one bundled handler, invoke it once
// (cold), then `warm` more times. Timings go back to the parent over IPC; the handler's own logs go to stdout.
// Plain JavaScript, so nothing but Node and the bundle is loaded.
'use strict';
const { performance } = require('node:perf_hooks');

process.once('message', async ({ bundle, env, event, warm }) => {
  Object.assign(process.env, env);
  try {
    const t0 = performance.now();
    const { handler } = require(bundle);
    const importMs = performance.now() - t0;
    const t1 = performance.now();
    await handler(event);
    const firstInvokeMs = performance.now() - t1;
    const warmMs = [];
    for (let i = 0; i < warm; i++) {
      const t = performance.now();
      await handler(event);
      warmMs.push(performance.now() - t);
    }
    process.send({ importMs, firstInvokeMs, warmMs }, () => process.exit(0));
  } catch (err) {
    process.send({ error: String(err && err.stack || err) }, () => process.exit(1));
  }
});
