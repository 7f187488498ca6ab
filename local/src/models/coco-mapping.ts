/** One object the COCO detector found: its COCO class name (e.g. 'truck') and detection score in [0, 1]. */
export interface CocoDetection {
  readonly label: string;
  readonly score: number;
}

/**
 * Which COCO classes count as evidence for each pipeline label. Labels absent from the map (or mapped to no class)
 * have no detector evidence and only ever receive the floor share.
 */
export type CocoLabelMapping = Record<string, readonly string[]>;

/**
 * Default mapping for the bank-security labels `bicycle, motorcycle, pickup_truck, bus, tank, tractor`.
 * COCO has no pickup class: both `truck` and `car` count as `pickup_truck`. COCO has no tank or tractor class.
 */
export const BANK_SECURITY_COCO_MAPPING: CocoLabelMapping = {
  bicycle: ['bicycle'],
  motorcycle: ['motorcycle'],
  pickup_truck: ['truck', 'car'],
  bus: ['bus'],
  tank: [],
  tractor: [],
};

export const BANK_SECURITY_LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];

export interface CocoScoringOptions {
  /** Detections scoring below this are ignored as noise. @default 0.2 */
  readonly minScore?: number;
  /** Share added to every label before normalizing, so no label is exactly 0. @default 0.01 */
  readonly floor?: number;
}

/**
 * Turns detections into a probability vector over `labels` (same order):
 *   evidence(label) = max score of detections with score >= minScore whose COCO class maps to label, else 0
 *   p(label)        = (evidence(label) + floor) / sum over labels of (evidence + floor)
 * So the vector sums to 1; with no mapped detection it is uniform (every label gets only the floor), which the
 * pipeline sees as LOW_CONFIDENCE. Confidence is relative among the configured labels: one clear detection of a
 * mapped class dominates even if its detector score is moderate.
 */
export function cocoProbabilities(
  detections: readonly CocoDetection[],
  labels: readonly string[],
  mapping: CocoLabelMapping,
  options: CocoScoringOptions = {},
): number[] {
  const minScore = options.minScore ?? 0.2;
  const floor = options.floor ?? 0.01;
  if (labels.length === 0) throw new Error('labels must not be empty');
  if (!(floor > 0)) throw new Error('floor must be > 0');
  const evidence = labels.map((label) => {
    const classes = mapping[label] ?? [];
    let best = 0;
    for (const d of detections) {
      if (d.score >= minScore && classes.includes(d.label)) best = Math.max(best, d.score);
    }
    return best + floor;
  });
  const total = evidence.reduce((a, b) => a + b, 0);
  return evidence.map((e) => e / total);
}
