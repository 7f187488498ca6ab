import { handler as classify } from './classify';
import { handler as filter } from './filter';
import { handler as serialize } from './serialize';

/**
 * The three reference handlers in one bundle, picked by the function's own `REF_FUNCTION` variable, for the local
 * runner, which loads `<handlersDir>/classify.lambda/index.js` for every function whose logical ID contains
 * `ClassifyFunction`. Each function still gets its own module instance and environment; the deployable assets are
 * the three separate bundles.
 */
const HANDLERS: Record<string, (event: any) => Promise<unknown>> = { serialize, classify, filter };

export async function handler(event: unknown): Promise<unknown> {
  const fn = HANDLERS[process.env.REF_FUNCTION ?? ''];
  if (!fn) throw new Error(`REF_FUNCTION must be one of ${Object.keys(HANDLERS).join(', ')}`);
  return fn(event);
}
