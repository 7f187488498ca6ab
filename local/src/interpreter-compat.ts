/**
 * Rewrites for two aws-local-stepfunctions 3.0 defects, each to the AWS-equivalent form:
 *
 * - `ResultPath: "$"` stores the result under a key named `$` instead of replacing the input; an absent
 *   ResultPath means the same on AWS (the result replaces the input), so it is removed.
 * - It strips every backslash from an intrinsic function's string result, which corrupts
 *   `States.JsonToString` output whenever a value contains a quote, backslash or newline (an error cause
 *   does). AWS's `States.JsonToString(path)` is exactly `JSON.stringify` of the value at the path, so such
 *   parameters pass the value and the task handler stringifies it, at any depth of the Parameters object (the
 *   Firehose integration's `Record: { "Data.$": "States.JsonToString($.result)" }`).
 *
 * Nothing else in the definition changes.
 */
const JSON_TO_STRING = /^States\.JsonToString\((\$[^,()]*)\)$/;
/** Joins the keys of a nested parameter's path (a character no parameter name holds). */
export const PATH_SEPARATOR = '\u001f';

export interface CompatDefinition {
  /** The definition to interpret. */
  readonly definition: any;
  /**
   * Per Task state name, the parameter keys whose values must be JSON-stringified before use; a nested key is its
   * path with {@link PATH_SEPARATOR} between the keys.
   */
  readonly stringify: Record<string, string[]>;
}

export function compatDefinition(definition: any): CompatDefinition {
  const copy = JSON.parse(JSON.stringify(definition));
  const stringify: Record<string, string[]> = {};
  const visit = (states: Record<string, any>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.ResultPath === '$') delete state.ResultPath;
      if (state.Type === 'Task' && state.Parameters) {
        const rewrite = (params: Record<string, any>, path: string[]) => {
          for (const [key, value] of Object.entries<any>(params)) {
            const m = typeof value === 'string' && key.endsWith('.$') ? JSON_TO_STRING.exec(value) : null;
            if (m) {
              params[key] = m[1];
              (stringify[name] ??= []).push([...path, key.slice(0, -2)].join(PATH_SEPARATOR));
            } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
              rewrite(value, [...path, key]);
            }
          }
        };
        rewrite(state.Parameters, []);
      }
      const nested = state.ItemProcessor ?? state.Iterator;
      if (nested) visit(nested.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(copy.States);
  return { definition: copy, stringify };
}

/** Applies the stringification a compat definition deferred to the task handler. */
export function stringifyDeferred(params: any, keys: readonly string[] | undefined): any {
  if (!keys || typeof params !== 'object' || params === null) return params;
  const out = { ...params };
  for (const k of keys) {
    const path = k.split(PATH_SEPARATOR);
    let target = out;
    for (const segment of path.slice(0, -1)) {
      if (typeof target[segment] !== 'object' || target[segment] === null) break;
      target = target[segment] = { ...target[segment] };
    }
    const last = path[path.length - 1];
    if (last in target) target[last] = JSON.stringify(target[last]);
  }
  return out;
}
