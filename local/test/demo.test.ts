import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEMO_CONFIDENCE_THRESHOLD, DEMO_IMAGES_DIR, runDemo } from '../src/demo';
import { ReportRow } from '../src/report';

// The demo photos and what they show (local/demo/images/README.md). The outcomes are the embedded COCO detector's
// on these exact files: a new photo or detector version must keep every outcome and the rules below.
const EXPECTED: Record<string, { outcome: string; label?: string; shows: 'vehicle' | 'person' | 'animal' | 'broken' }> = {
  'pickup-truck.jpg': { outcome: 'FLAGGED', label: 'pickup_truck', shows: 'vehicle' },
  'motorcycle.jpg': { outcome: 'FLAGGED', label: 'motorcycle', shows: 'vehicle' },
  'bus.jpg': { outcome: 'ACCEPTED', label: 'bus', shows: 'vehicle' },
  'bicycle-dog.jpg': { outcome: 'LOW_CONFIDENCE', label: 'bicycle', shows: 'animal' }, // a dog in front of a bicycle
  'camera.png': { outcome: 'LOW_CONFIDENCE', shows: 'person' },
  'chelsea.jpg': { outcome: 'LOW_CONFIDENCE', shows: 'animal' },
  'truncated.jpg': { outcome: 'ERROR', shows: 'broken' },
};

describe('npm run demo', () => {
  let rows: ReportRow[];
  const lines: string[] = [];
  const reportPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ics-demo-')), 'report.html');
  const row = (file: string) => rows.find((r) => r.file === file)!;

  beforeAll(async () => {
    rows = await runDemo({ reportPath, log: (l) => lines.push(l) });
  }, 60_000);

  test('runs every demo photo, and each outcome occurs', () => {
    expect(rows.map((r) => r.file).sort()).toEqual(fs.readdirSync(DEMO_IMAGES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort());
    for (const outcome of ['FLAGGED', 'ACCEPTED', 'LOW_CONFIDENCE', 'ERROR']) {
      expect(rows.some((r) => r.execution.result?.outcome === outcome)).toBe(true);
    }
  });

  test.each(Object.entries(EXPECTED))('%s: %o', (file, { outcome, label }) => {
    const result = row(file).execution.result!;
    expect(result.outcome).toBe(outcome);
    if (label) expect(result.label).toBe(label);
    if (outcome === 'FLAGGED' || outcome === 'ACCEPTED') expect(result.confidence).toBeGreaterThanOrEqual(DEMO_CONFIDENCE_THRESHOLD);
  });

  test('no photo of a person or an animal is flagged', () => {
    const people = Object.entries(EXPECTED).filter(([, e]) => e.shows === 'person' || e.shows === 'animal').map(([f]) => f);
    expect(people.length).toBeGreaterThan(0);
    for (const file of people) expect(row(file).execution.result?.outcome).not.toBe('FLAGGED');
  });

  test("scores are the detector's own: no uniform tie, a photo without a vehicle scores 0", () => {
    for (const { execution } of rows) {
      const scores = Object.values<number>(execution.result?.scores ?? {});
      if (scores.length === 0) continue;
      const tie = scores.every((s) => s === scores[0]);
      expect(tie ? scores[0] : 0).toBe(0); // the only tie allowed is all zeros
    }
    expect(Object.values<number>(row('camera.png').execution.result!.scores!)).toEqual(Array(6).fill(0));
    expect(Object.values<number>(row('chelsea.jpg').execution.result!.scores!)).toEqual(Array(6).fill(0));
  });

  test('the table and the report say "none" for a photo without a vehicle and state the threshold', () => {
    const table = lines.find((l) => l.startsWith('image'))!.split('\n');
    expect(table.find((l) => l.startsWith('camera.png'))).toMatch(/^camera\.png\s+none\s+0\.0%\s+LOW_CONFIDENCE/);
    expect(table.find((l) => l.startsWith('bus.jpg'))).toMatch(/^bus\.jpg\s+bus\s+\d\d\.\d%\s+ACCEPTED/);
    expect(lines.join('\n')).toContain(`threshold ${DEMO_CONFIDENCE_THRESHOLD * 100}%`);
    const html = fs.readFileSync(reportPath, 'utf8');
    expect(html).toContain(`threshold ${DEMO_CONFIDENCE_THRESHOLD * 100}%`);
    expect(html).toMatch(/data-file="chelsea\.jpg"[^]*?<p class="outcome">LOW_CONFIDENCE · none 0\.0%/);
  });

  test('the report shows the email text of each alert', () => {
    const html = fs.readFileSync(reportPath, 'utf8');
    const alerts = rows.reduce((n, r) => n + r.execution.alerts.length, 0);
    expect(alerts).toBe(6); // every image but the accepted bus
    expect(html.match(/<pre class="email">/g)).toHaveLength(alerts);
    expect(html).toMatch(/<pre class="email">FLAGGED: pickup_truck with 65% confidence \(threshold 50%\)/);
    expect(html).toMatch(/<pre class="email">ERROR: [^<]*TruncatedImage/);
    // Every label at 0 (the cat): the email names no label rather than the first of the tie.
    expect(html).toMatch(/<pre class="email">LOW_CONFIDENCE: no label with 0% confidence/);
  });
});
