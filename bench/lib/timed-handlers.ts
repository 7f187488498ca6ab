import * as fs from 'node:fs';
import * as path from 'node:path';

/** One handler invocation as the timing wrapper saw it. */
export interface LambdaCall {
  /** The function: `classify`/`summarize` for ICS, the reference's `serialize`/`classify`/`filter`. */
  readonly fn: string;
  readonly ms: number;
  readonly ok: boolean;
  /** Records in the event (an SQS batch), when it has any. */
  readonly records?: number;
}

declare global {
  // eslint-disable-next-line no-var
  var __benchLambdaCalls: LambdaCall[] | undefined;
}

/** Calls recorded since the last `takeLambdaCalls()`. */
export function takeLambdaCalls(): LambdaCall[] {
  const calls = globalThis.__benchLambdaCalls ?? [];
  globalThis.__benchLambdaCalls = [];
  return calls;
}

/** The wrapper's record of one invocation (shared by both kinds of timed handler). */
const RECORD = `
        const records = Array.isArray(event && event.Records) ? event.Records.length : undefined;
        (globalThis.__benchLambdaCalls ??= []).push({ fn, ms: performance.now() - started, ok, records });`;

/**
 * Copies a bundled handler with a timing wrapper appended: the bundle itself is unchanged and still runs in the
 * runner's sandbox (its own `process.env`); the wrapper replaces `module.exports` with a handler that records the
 * wall time of each invocation (what Lambda bills) in `globalThis.__benchLambdaCalls`.
 * `fnExpression` is a JS expression naming the function, evaluated inside the sandbox.
 *
 * With `environmentPerInvocation`, the copy is instead a shim that loads the bundle (kept beside it as `bundle.js`)
 * once per *concurrent* invocation, as Lambda runs each concurrent invocation in an execution environment of its
 * own: an invocation takes an idle instance or evaluates the bundle afresh (its own module state, SDK clients and
 * Powertools singletons), with the sandbox's `process` and `require`. The runner itself invokes one module instance
 * concurrently, which a handler with per-invocation module state (Powertools' BatchProcessor) cannot survive
 * (bench/README.md, known deviations).
 */
export function writeTimedHandler(bundle: string, outFile: string, fnExpression: string, opts: { environmentPerInvocation?: boolean } = {}): void {
  const source = fs.readFileSync(bundle, 'utf8');
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  if (opts.environmentPerInvocation) {
    fs.writeFileSync(path.join(path.dirname(outFile), 'bundle.js'), source);
    fs.writeFileSync(outFile, `
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const file = path.join(__dirname, 'bundle.js');
const load = vm.runInThisContext('(function (exports, require, module, __filename, __dirname, process) {' + fs.readFileSync(file, 'utf8') + '\\n})', { filename: file });
const idle = [];
const fn = ${fnExpression};
/** A fresh execution environment: the bundle evaluated again, with this sandbox's process and require. */
function environment() {
  const mod = { exports: {} };
  load(mod.exports, require, mod, file, __dirname, process);
  return mod.exports.handler;
}
module.exports = {
  handler: async (event, context) => {
    const inner = idle.pop() ?? environment();
    const started = performance.now();
    let ok = false;
    try {
      const out = await inner(event, context);
      ok = true;
      return out;
    } finally {
      idle.push(inner);${RECORD}
    }
  },
};
`);
    return;
  }
  const wrapper = `
;(() => {
  const inner = module.exports.handler;
  const fn = ${fnExpression};
  module.exports = {
    handler: async (event, context) => {
      const started = performance.now();
      let ok = false;
      try {
        const out = await inner(event, context);
        ok = true;
        return out;
      } finally {${RECORD}
      }
    },
  };
})();
`;
  fs.writeFileSync(outFile, source + wrapper);
}
