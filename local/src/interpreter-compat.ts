import { createHash } from 'node:crypto';

/**
 * Rewrites for three aws-local-stepfunctions 3.0 defects, each to the AWS-equivalent form:
 *
 * - `ResultPath: "$"` stores the result under a key named `$` instead of replacing the input; an absent
 *   ResultPath means the same on AWS (the result replaces the input), so it is removed.
 * - It strips every backslash from an intrinsic function's string result, which corrupts
 *   `States.JsonToString` output whenever a value contains a quote, backslash or newline (an error cause
 *   does). AWS's `States.JsonToString(path)` is exactly `JSON.stringify` of the value at the path, so such
 *   parameters pass the value and the task handler stringifies it, at any depth of the Parameters object (the
 *   Firehose integration's `Record: { "Data.$": "States.JsonToString($.result)" }`). A Pass state has no handler:
  it becomes a task of the runner, as for `States.Hash` below, that stringifies the value (an alert's `default`).
 *
 * - Its `States.Hash` SHA-256 is wrong for every string of 56 bytes or more (measured: every length from 56 to 200),
 *   so a review ID of a long key would differ from AWS's. A Pass state whose parameters hash becomes a task of the
 *   runner that gets the same parameters with the hash's input in place of the hash, and hashes it with node:crypto
 *   (AWS's States.Hash is the hex digest of the UTF-8 string).
 *
 * Nothing else in the definition changes.
 */
const HASH = /^States\.Hash\(([\s\S]*),\s*'(MD5|SHA-1|SHA-256|SHA-384|SHA-512)'\)$/;
/** The resource of a Pass state rewritten to compute `States.Hash` in the runner. */
export const HASH_PASS_RESOURCE = 'arn:aws:states:::ics-local:hash-pass';
const JSON_TO_STRING = /^States\.JsonToString\((\$[^,()]*)\)$/;
/** The "algorithm" of a rewritten Pass state's parameter that `States.JsonToString` stringifies. */
export const JSON_TO_STRING_STEP = 'JsonToString';
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
  /**
   * Per rewritten Pass state, the parameter paths (joined with {@link PATH_SEPARATOR}) to hash and the algorithm, or
   * to JSON-stringify (`algorithm` {@link JSON_TO_STRING_STEP}).
   */
  readonly hashes: Record<string, Array<{ readonly path: string; readonly algorithm: string }>>;
}

export function compatDefinition(definition: any): CompatDefinition {
  const copy = JSON.parse(JSON.stringify(definition));
  const stringify: Record<string, string[]> = {};
  const hashes: CompatDefinition['hashes'] = {};
  const visit = (states: Record<string, any>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.ResultPath === '$') delete state.ResultPath;
      if (state.Type === 'Pass' && state.Parameters) {
        const found: Array<{ path: string; algorithm: string }> = [];
        const unhash = (params: Record<string, any>, path: string[]) => {
          for (const [key, value] of Object.entries<any>(params)) {
            const m = typeof value === 'string' && key.endsWith('.$') ? HASH.exec(value.trim()) : null;
            const json = typeof value === 'string' && key.endsWith('.$') ? JSON_TO_STRING.exec(value) : null;
            if (m) {
              params[key] = m[1].trim();
              found.push({ path: [...path, key.slice(0, -2)].join(PATH_SEPARATOR), algorithm: m[2] });
            } else if (json) {
              params[key] = json[1];
              found.push({ path: [...path, key.slice(0, -2)].join(PATH_SEPARATOR), algorithm: JSON_TO_STRING_STEP });
            } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
              unhash(value, [...path, key]);
            }
          }
        };
        unhash(state.Parameters, []);
        if (found.length > 0) {
          hashes[name] = found;
          state.Type = 'Task';
          state.Resource = HASH_PASS_RESOURCE;
        }
      }
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
  return { definition: copy, stringify, hashes };
}

const NODE_ALGORITHM: Record<string, string> = { 'MD5': 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/**
 * A rewritten Pass state's output: its evaluated parameters with each recorded path hashed as States.Hash does, or
 * stringified as States.JsonToString does.
 */
export function applyHashes(params: any, hashes: ReadonlyArray<{ path: string; algorithm: string }>): any {
  const out = JSON.parse(JSON.stringify(params));
  for (const { path, algorithm } of hashes) {
    const keys = path.split(PATH_SEPARATOR);
    let target = out;
    for (const k of keys.slice(0, -1)) target = target?.[k];
    const last = keys[keys.length - 1];
    const value = target?.[last];
    if (algorithm === JSON_TO_STRING_STEP) {
      target[last] = JSON.stringify(value);
      continue;
    }
    if (typeof value !== 'string') {
      throw Object.assign(new Error(`States.Hash needs a string; got ${JSON.stringify(value)}`), { name: 'States.IntrinsicFailure' });
    }
    if (value.length > 10_000) {
      throw Object.assign(new Error('States.Hash cannot hash a string with more than 10,000 characters'), { name: 'States.IntrinsicFailure' });
    }
    target[last] = createHash(NODE_ALGORITHM[algorithm]).update(value, 'utf8').digest('hex');
  }
  return out;
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
