/** Scores ranked for the result: the top label, all scores by label, and the best `topK`. */
export interface RankedScores {
  readonly label: string;
  readonly confidence: number;
  readonly scores: Record<string, number>;
  readonly topK: Array<{ label: string; score: number }>;
}

/**
 * Pairs positional scores with labels and ranks them. Ties keep label order, so the same scores always
 * give the same top label.
 */
export function rankScores(scores: readonly number[], labels: readonly string[], topK: number): RankedScores {
  const pairs = labels.map((label, i) => ({ label, score: scores[i] }));
  const ranked = [...pairs].sort((a, b) => b.score - a.score);
  return {
    label: ranked[0].label,
    confidence: ranked[0].score,
    scores: Object.fromEntries(pairs.map((p) => [p.label, p.score])),
    topK: ranked.slice(0, Math.max(1, topK)),
  };
}
