import { BatchItem } from './batch-summary';

/** One entry of a Distributed Map result file (`SUCCEEDED_n.json`, `FAILED_n.json`). */
export interface MapRunResult {
  readonly Input?: string;
  readonly Output?: string;
  readonly Status?: string;
  readonly Error?: string;
  readonly Cause?: string;
}

/** The result writer's `manifest.json`. */
export interface MapRunManifest {
  readonly DestinationBucket: string;
  readonly ResultFiles: Record<string, Array<{ Key: string; Size?: number }>>;
}

const parse = (text: string | undefined): any => {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
};

/**
 * Turns result-writer entries into batch items: a succeeded child's output is its compact item (or, for a
 * batch, its items); a failed child (an ERROR image, or a child that could not finish) becomes ERROR items
 * named after its error, keyed by its input.
 */
export function itemsFromMapResults(results: readonly MapRunResult[]): BatchItem[] {
  return results.flatMap((r): BatchItem[] => {
    // A batched child outputs one item per image.
    if (r.Status === 'SUCCEEDED') return [parse(r.Output)].flat() as BatchItem[];
    const input = parse(r.Input);
    // A failed batch: every image in it is an ERROR item.
    const inputs: any[] = Array.isArray(input.Items) ? input.Items : [input];
    return inputs.map((i) => ({ bucket: i.bucket, key: i.key, outcome: 'ERROR', error: r.Error ?? 'Unknown' }));
  });
}
