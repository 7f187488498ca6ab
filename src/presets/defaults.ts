/**
 * A preset's props over its defaults: a prop the user sets (even to `false` or `[]`) wins; only props left
 * undefined take the preset's value. Spreading would let an explicit `undefined` erase a default.
 */
export function withDefaults<T extends object>(defaults: Partial<T>, props: T): T {
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as T;
}
