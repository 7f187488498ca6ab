/** Image suffixes the upload rule matches by default (case-insensitive). */
export const DEFAULT_INPUT_SUFFIXES = ['.jpg', '.jpeg', '.png', '.gif', '.webp', '.bmp', '.tif', '.tiff'];

const escapeWildcard = (s: string) => s.replace(/[\\*]/g, (c) => `\\${c}`);

/**
 * EventBridge matchers for `detail.object.key`, or undefined to match every key.
 *
 * A field's matchers are OR-ed, and EventBridge cannot AND a prefix with a suffix on one field, so with
 * a prefix each suffix becomes a wildcard `prefix*suffix` in its lower- and upper-case spelling
 * (wildcards are case-sensitive); without a prefix, suffixes match case-insensitively.
 */
export function keyFilterPattern(prefix: string | undefined, suffixes: readonly string[]): unknown[] | undefined {
  if (suffixes.length === 0) {
    return prefix ? [{ prefix }] : undefined;
  }
  if (!prefix) {
    return suffixes.map((s) => ({ suffix: { 'equals-ignore-case': s } }));
  }
  const spellings = [...new Set(suffixes.flatMap((s) => [s.toLowerCase(), s.toUpperCase()]))];
  return spellings.map((s) => ({ wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(s)}` }));
}
