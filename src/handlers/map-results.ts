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
 * Turns result-writer entries into batch items: a succeeded child's output is its compact item; a
 * failed child (an ERROR image, or a child that could not finish) becomes an ERROR item named after its
 * error, keyed by its input.
 */
export function itemsFromMapResults(results: readonly MapRunResult[]): BatchItem[] {
  return results.map((r) => {
    if (r.Status === 'SUCCEEDED') return parse(r.Output) as BatchItem;
    const input = parse(r.Input);
    return { bucket: input.bucket, key: input.key, outcome: 'ERROR', error: r.Error ?? 'Unknown' };
  });
}
