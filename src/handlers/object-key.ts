/**
 * Keys to try for an object named in an event, in order.
 *
 * S3 event notifications URL-encode keys form-style (`my photo+1.jpg` arrives as `my+photo%2B1.jpg`),
 * while manual starts, bulk listings and manifests carry keys as stored. All reach the same state
 * machine, so the handler tries the key as given and, only if no such object exists, its form-decoded
 * spelling: one extra GetObject on the not-found path, none on the happy path. A key that is valid both
 * ways (`a+b.jpg`) resolves to the object stored under the literal key first.
 */
export function candidateKeys(key: string): string[] {
  if (!/[+%]/.test(key)) return [key];
  let decoded: string;
  try {
    decoded = decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return [key]; // a literal `%` that is not an escape, e.g. `100%.jpg`
  }
  return decoded === key ? [key] : [key, decoded];
}
