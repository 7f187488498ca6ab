/** One object the COCO detector found: its COCO class name (e.g. 'truck') and detection score in [0, 1]. */
export interface CocoDetection {
  readonly label: string;
  readonly score: number;
}

/**
 * Which COCO classes count as evidence for each pipeline label. Labels absent from the map (or mapped to no class)
 * have no detector evidence and always score 0.
 */
export type CocoLabelMapping = Record<string, readonly string[]>;

/**
 * Default mapping for the bank-security labels `bicycle, motorcycle, pickup_truck, bus, tank, tractor`.
 * COCO has no pickup class: its `truck` counts as `pickup_truck`. COCO's `car` does not (a sedan is not a pickup,
 * and weak `car` detections in street scenes would raise alerts). COCO has no tank or tractor class.
 */
export const BANK_SECURITY_COCO_MAPPING: CocoLabelMapping = {
  bicycle: ['bicycle'],
  motorcycle: ['motorcycle'],
  pickup_truck: ['truck'],
  bus: ['bus'],
  tank: [],
  tractor: [],
};

export const BANK_SECURITY_LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];

export interface CocoScoringOptions {
  /** Detections scoring below this are ignored as noise. @default 0.3 */
  readonly minScore?: number;
}

/**
 * Turns detections into one score per label (same order as `labels`):
 *   score(label) = max score of the detections with score >= minScore whose COCO class maps to label, else 0.
 * The detector's own confidence is kept: nothing is normalised, so the scores need not sum to 1, a photo without a
 * mapped detection scores 0 everywhere (LOW_CONFIDENCE for the pipeline) and a weak detection stays weak.
 */
export function cocoScores(
  detections: readonly CocoDetection[],
  labels: readonly string[],
  mapping: CocoLabelMapping,
  options: CocoScoringOptions = {},
): number[] {
  const minScore = options.minScore ?? 0.3;
  if (labels.length === 0) throw new Error('labels must not be empty');
  return labels.map((label) => {
    const classes = mapping[label] ?? [];
    let best = 0;
    for (const d of detections) {
      if (d.score >= minScore && classes.includes(d.label)) best = Math.max(best, d.score);
    }
    return best;
  });
}
