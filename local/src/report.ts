import * as path from 'node:path';
import { deliveredTo } from './peers/sns';
import { LocalExecution } from './runner';

/** One image's line in the demo table and report. */
export interface ReportRow {
  readonly file: string;
  readonly bytes: Buffer;
  readonly execution: LocalExecution;
}

/**
 * One card of an HTML report: an image and what was decided about it. The demo (from a local execution) and
 * the capture report (from a SageMaker data-capture line) both render these, so the two reports look alike.
 */
export interface ReportCard {
  /** Heading, thumbnail alt text and `data-file` (a file name, or `capture.jsonl:3`). */
  readonly name: string;
  readonly bytes: Buffer;
  /** MIME type of the thumbnail; by default guessed from the name's extension. */
  readonly contentType?: string;
  /** The card's class and first word: an outcome (ACCEPTED, FLAGGED, LOW_CONFIDENCE, ERROR) or a status. */
  readonly outcome: string;
  readonly label?: string;
  readonly confidence?: number;
  /** Error name shown after the outcome. */
  readonly error?: string;
  /** Score per label: one bar each, best first. */
  readonly scores?: Record<string, number>;
  /** Extra lines (problems, capture metadata); the list is left out when empty. */
  readonly notes?: readonly string[];
  /** Alerts sent; when given, an empty list reads "no alert". */
  readonly alerts?: readonly ReportAlert[];
  /** Object tags; when given, an empty set reads "no tags". */
  readonly tags?: Record<string, string>;
}

/** One alert on a card: a one-line summary and the text an email subscriber receives. */
export interface ReportAlert {
  /** E.g. `subject → topic`. */
  readonly summary: string;
  /** The email text (with `MessageStructure: json`, the `email` entry; else the message). */
  readonly email?: string;
}

/** Report parts around the cards; each is left out when absent. */
export interface ReportOptions {
  /** Paragraphs under the title (e.g. where the labels came from). */
  readonly intro?: readonly string[];
  /** Inputs that could not be shown as a card, with where they are (e.g. `capture.jsonl:4`). */
  readonly problems?: ReadonlyArray<{ readonly where: string; readonly problem: string }>;
}

const pct = (n: unknown) => (typeof n === 'number' ? `${(n * 100).toFixed(1)}%` : '-');

/**
 * The label to show for a result: "none" when every label scored 0 (a photo with nothing the model knows), where
 * the top label is only the first of a tie at 0.
 */
export function shownLabel(label: string | undefined, confidence: number | undefined): string | undefined {
  return label !== undefined && confidence === 0 ? 'none' : label;
}

/** Left-aligned columns two spaces apart, with a dashed line under the header. */
export function formatColumns(header: readonly string[], lines: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

/** The plain-text results table: image, label, confidence, outcome, alert sent, tags, audit record, execution status. */
export function formatTable(rows: readonly ReportRow[]): string {
  const header = ['image', 'label', 'confidence', 'outcome', 'alert', 'tags', 'audit', 'execution'];
  const lines = rows.map(({ file, execution: e }) => [
    file,
    shownLabel(e.result?.label, e.result?.confidence) ?? '-',
    pct(e.result?.confidence),
    e.result?.outcome ?? e.status,
    e.alerts.length > 0 ? `yes (${e.alerts.length})` : 'no',
    Object.keys(e.tags ?? {}).filter((k) => k.startsWith('ics:')).length > 0 ? 'ics:label,confidence,outcome' : '-',
    e.auditRecords.length > 0 ? 'written' : '-',
    e.status === 'FAILED' ? `FAILED ${e.error}` : e.status,
  ]);
  return formatColumns(header, lines);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const mime = (file: string) => ({ '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp' } as Record<string, string>)[path.extname(file).toLowerCase()] ?? 'image/jpeg';

/**
 * The card of one local execution: its result's outcome, label and scores, the alerts it sent (with the text email
 * subscribers receive) and the object's tags.
 */
export function executionCard({ file, bytes, execution: e }: ReportRow): ReportCard {
  const r = e.result ?? {};
  return {
    name: file,
    bytes,
    outcome: r.outcome ?? e.status,
    label: shownLabel(r.label, r.confidence),
    confidence: r.confidence,
    error: r.error?.name,
    scores: r.scores,
    alerts: e.alerts.map((a) => ({ summary: `${a.subject ?? ''} → ${a.topicArn.split(':').pop() ?? ''}`, email: deliveredTo(a, 'email') })),
    tags: e.tags ?? {},
  };
}

function renderCard(c: ReportCard): string {
  const scores = Object.entries<number>(c.scores ?? {}).sort((a, b) => b[1] - a[1]);
  const bars = scores.map(([label, p]) =>
    `<div class="bar" data-label="${escapeHtml(label)}"><span class="name">${escapeHtml(label)}</span>`
    + `<span class="track"><span class="fill" style="width:${(p * 100).toFixed(1)}%"></span></span><span class="p">${pct(p)}</span></div>`).join('');
  const parts = [
    `<img alt="${escapeHtml(c.name)}" src="data:${c.contentType ?? mime(c.name)};base64,${c.bytes.toString('base64')}">`,
    `<h2>${escapeHtml(c.name)}</h2>`,
    `<p class="outcome">${escapeHtml(c.outcome)}${c.label ? ` · ${escapeHtml(c.label)} ${pct(c.confidence)}` : ''}${c.error ? ` · ${escapeHtml(c.error)}` : ''}</p>`,
    bars,
  ];
  if (c.notes && c.notes.length > 0) parts.push(`<ul class="notes">${c.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  if (c.alerts) {
    const items = c.alerts.map((a) => `<li>${escapeHtml(a.summary)}${a.email === undefined ? '' : `<pre class="email">${escapeHtml(a.email)}</pre>`}</li>`);
    parts.push(`<ul class="alerts">${items.join('') || '<li>no alert</li>'}</ul>`);
  }
  if (c.tags) {
    const tags = Object.entries(c.tags).map(([k, v]) => `<code>${escapeHtml(k)}=${escapeHtml(v)}</code>`).join(' ');
    parts.push(`<p class="tags">${tags || 'no tags'}</p>`);
  }
  return `<article class="card ${escapeHtml(c.outcome)}" data-file="${escapeHtml(c.name)}" data-outcome="${escapeHtml(c.outcome)}">
  ${parts.join('\n  ')}
</article>`;
}

/** A self-contained HTML report: one card per image (thumbnail, outcome, score bar per label), then any problems. */
export function renderReport(cards: readonly ReportCard[], title: string, options: ReportOptions = {}): string {
  const intro = (options.intro ?? []).map((p) => `<p class="intro">${escapeHtml(p)}</p>\n`).join('');
  const problems = options.problems && options.problems.length > 0
    ? `<section class="problems"><h2>Not shown (${options.problems.length})</h2><ul>\n${options.problems
      .map((p) => `<li data-where="${escapeHtml(p.where)}"><code>${escapeHtml(p.where)}</code> ${escapeHtml(p.problem)}</li>`).join('\n')}\n</ul></section>\n`
    : '';
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
.alerts{font-size:.8rem;padding-left:1rem}.email{white-space:pre-wrap;font-size:.75rem;background:#f1f3f4;padding:.4rem;border-radius:4px;margin:.3rem 0}
.card{min-width:0;overflow:hidden;overflow-wrap:anywhere}.notes{font-size:.8rem;padding-left:1rem;color:#5f6368}.problems{margin-top:2rem;font-size:.9rem;overflow-wrap:anywhere}
</style></head>
<body><h1>${escapeHtml(title)}</h1>${intro ? `\n${intro}` : ''}<main>
${cards.map(renderCard).join('\n')}
</main>${problems ? `\n${problems}` : ''}</body></html>
`;
}

/** The demo's HTML report: thumbnail, score bar per label, outcome, alerts (with their email text) and tags for each image. */
export function renderHtmlReport(rows: readonly ReportRow[], title: string, options: ReportOptions = {}): string {
  return renderReport(rows.map(executionCard), title, options);
}
