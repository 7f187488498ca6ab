import * as path from 'node:path';
import { LocalExecution } from './runner';

/** One image's line in the demo table and report. */
export interface ReportRow {
  readonly file: string;
  readonly bytes: Buffer;
  readonly execution: LocalExecution;
}

const pct = (n: unknown) => (typeof n === 'number' ? `${(n * 100).toFixed(1)}%` : '-');

/** The plain-text results table: image, label, confidence, outcome, alert sent, tags, audit record, execution status. */
export function formatTable(rows: readonly ReportRow[]): string {
  const header = ['image', 'label', 'confidence', 'outcome', 'alert', 'tags', 'audit', 'execution'];
  const lines = rows.map(({ file, execution: e }) => [
    file,
    e.result?.label ?? '-',
    pct(e.result?.confidence),
    e.result?.outcome ?? e.status,
    e.alerts.length > 0 ? `yes (${e.alerts.length})` : 'no',
    Object.keys(e.tags ?? {}).filter((k) => k.startsWith('ics:')).length > 0 ? 'ics:label,confidence,outcome' : '-',
    e.auditRecords.length > 0 ? 'written' : '-',
    e.status === 'FAILED' ? `FAILED ${e.error}` : e.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const mime = (file: string) => ({ '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp' } as Record<string, string>)[path.extname(file).toLowerCase()] ?? 'image/jpeg';

/** A self-contained HTML report: thumbnail, score bar per label, outcome and alerts for each image. */
export function renderHtmlReport(rows: readonly ReportRow[], title: string): string {
  const cards = rows.map(({ file, bytes, execution: e }) => {
    const r = e.result ?? {};
    const outcome = r.outcome ?? e.status;
    const scores = Object.entries<number>(r.scores ?? {}).sort((a, b) => b[1] - a[1]);
    const bars = scores.map(([label, p]) =>
      `<div class="bar" data-label="${escapeHtml(label)}"><span class="name">${escapeHtml(label)}</span>`
      + `<span class="track"><span class="fill" style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${pct(p)}</span></div>`).join('');
    const alerts = e.alerts.map((a) => `<li>${escapeHtml(a.subject ?? '')} → ${escapeHtml(a.topicArn.split(':').pop() ?? '')}</li>`).join('');
    return `<article class="card ${escapeHtml(outcome)}" data-file="${escapeHtml(file)}" data-outcome="${escapeHtml(outcome)}">
  <img alt="${escapeHtml(file)}" src="data:${mime(file)};base64,${bytes.toString('base64')}">
  <h2>${escapeHtml(file)}</h2>
  <p class="outcome">${escapeHtml(outcome)}${r.label ? ` · ${escapeHtml(r.label)} ${pct(r.confidence)}` : ''}${r.error ? ` · ${escapeHtml(r.error.name)}` : ''}</p>
  ${bars}
  <ul class="alerts">${alerts || '<li>no alert</li>'}</ul>
  <p class="tags">${Object.entries(e.tags ?? {}).map(([k, v]) => `<code>${escapeHtml(k)}=${escapeHtml(v)}</code>`).join(' ') || 'no tags'}</p>
</article>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;background:#f6f7f9}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:1rem}
.card{background:#fff;border-radius:8px;padding:1rem;border-top:6px solid #999}
.card.FLAGGED{border-color:#d93025}.card.ACCEPTED{border-color:#188038}.card.LOW_CONFIDENCE{border-color:#f9ab00}.card.ERROR{border-color:#5f6368}
img{width:100%;height:160px;object-fit:cover;border-radius:4px;background:#ddd}
h2{font-size:1rem;margin:.5rem 0 0}.outcome{font-weight:600}
.bar{display:flex;align-items:center;gap:.4rem;font-size:.8rem}.name{width:6.5rem}.track{flex:1;background:#eee;height:.6rem;border-radius:3px}
.fill{display:block;height:100%;background:#1a73e8;border-radius:3px}.p{width:3.5rem;text-align:right}
.alerts{font-size:.8rem;padding-left:1rem}
</style></head>
<body><h1>${escapeHtml(title)}</h1><main>
${cards}
</main></body></html>
`;
}
