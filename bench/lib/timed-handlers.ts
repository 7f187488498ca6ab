import * as fs from 'node:fs';
import * as path from 'node:path';

/** One handler invocation as the timing wrapper saw it. */
export interface LambdaCall {
  /** The function: `classify`/`summarize` for ICS, the reference's `serialize`/`classify`/`filter`. */
  readonly fn: string;
  readonly ms: number;
  readonly ok: boolean;
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

/**
 * Copies a bundled handler with a timing wrapper appended: the bundle itself is unchanged and still runs in the
 * runner's sandbox (its own `process.env`); the wrapper replaces `module.exports` with a handler that records the
 * wall time of each invocation (what Lambda bills) in `globalThis.__benchLambdaCalls`.
 * `fnExpression` is a JS expression naming the function, evaluated inside the sandbox.
 */
export function writeTimedHandler(bundle: string, outFile: string, fnExpression: string): void {
  const source = fs.readFileSync(bundle, 'utf8');
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
      } finally {
        (globalThis.__benchLambdaCalls ??= []).push({ fn, ms: performance.now() - started, ok });
      }
    },
  };
})();
`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, source + wrapper);
}
