import jsonata from 'jsonata';

/**
 * aws-local-stepfunctions ignores JSONata. The pipeline uses it only in Pass states that compute their `Output`
 * from `$states.input` (the Rekognition path); the runner turns each such state into a task whose handler
 * evaluates the same `Output` with the JSONata reference implementation, as Step Functions does. Any other
 * JSONata construct is refused (see {@link unsupportedJsonata}), never approximated.
 */
export const JSONATA_PASS_RESOURCE = 'arn:aws:states:::ics-local:jsonata-pass';

const PASS_KEYS = new Set(['Type', 'QueryLanguage', 'Comment', 'Output', 'Next', 'End']);

/** Why a JSONata state cannot run locally, or undefined when it can. */
export function unsupportedJsonata(name: string, state: any): string | undefined {
  if (state.QueryLanguage !== 'JSONata') return undefined;
  if (state.Type !== 'Pass') return `state ${name} is a JSONata ${state.Type}; the local runner evaluates only JSONata Pass states`;
  const extra = Object.keys(state).filter((k) => !PASS_KEYS.has(k));
  if (extra.length > 0) return `JSONata Pass state ${name} uses ${extra.join(', ')}; the local runner evaluates only Output`;
  return undefined;
}

/**
 * Replaces every JSONata Pass state (nested ones included) by a task on {@link JSONATA_PASS_RESOURCE}, in place;
 * returns each state's `Output` template by name (names are unique across a state machine).
 */
export function rewriteJsonataPassStates(definition: any): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  const visit = (states: Record<string, any>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.QueryLanguage === 'JSONata' && state.Type === 'Pass') {
        outputs[name] = state.Output ?? '{% $states.input %}';
        states[name] = {
          Type: 'Task',
          Resource: JSONATA_PASS_RESOURCE,
          ...(state.Comment ? { Comment: state.Comment } : {}),
          ...(state.Next ? { Next: state.Next } : { End: true }),
        };
      }
      const nested = state.ItemProcessor ?? state.Iterator;
      if (nested) visit(nested.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return outputs;
}

const EXPRESSION = /^\{%([\s\S]*)%\}$/;

/**
 * Evaluates an `Output` template: strings `{% expr %}` are JSONata with `$states.input` bound, objects and
 * arrays are evaluated member by member, other values are literals. Errors are `States.QueryEvaluationError`.
 */
export async function evaluateOutput(template: unknown, input: unknown): Promise<unknown> {
  if (typeof template === 'string') {
    const m = EXPRESSION.exec(template.trim());
    if (!m) return template;
    try {
      return await jsonata(m[1]).evaluate({}, { states: { input } });
    } catch (e: any) {
      throw Object.assign(new Error(`JSONata: ${e.message}`), { name: 'States.QueryEvaluationError' });
    }
  }
  if (Array.isArray(template)) return Promise.all(template.map((t) => evaluateOutput(t, input)));
  if (template && typeof template === 'object') {
    const entries = await Promise.all(Object.entries(template).map(async ([k, v]) => [k, await evaluateOutput(v, input)] as const));
    return Object.fromEntries(entries);
  }
  return template;
}
