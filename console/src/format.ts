/** Small formatting helpers. */

export const OUTCOME_ORDER = ['FLAGGED', 'LOW_CONFIDENCE', 'ERROR', 'ACCEPTED'];

export const OUTCOME_COLORS: Record<string, string> = {
  FLAGGED: '#d92d20',
  LOW_CONFIDENCE: '#dc8b06',
  ERROR: '#7a5af8',
  ACCEPTED: '#12a150',
};

export const PALETTE = ['#2e6be6', '#12a150', '#d92d20', '#dc8b06', '#7a5af8', '#0ea5b7', '#c0399a', '#667085', '#84a30c', '#b54708'];

export function outcomeColor(outcome: string, index: number): string {
  return OUTCOME_COLORS[outcome] ?? PALETTE[index % PALETTE.length];
}

export function pct(score: number | undefined): string {
  return score === undefined || score === null ? '—' : `${(score * 100).toFixed(1)}%`;
}

export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function ago(iso: string): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function baseName(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? key : key.slice(i + 1);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function humanize(s: string): string {
  return s.replace(/_/g, ' ').toLowerCase().replace(/^./, (c) => c.toUpperCase());
}
