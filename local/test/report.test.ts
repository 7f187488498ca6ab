import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { formatTable, renderHtmlReport, ReportRow } from '../src/report';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const CHROMIUM = '/usr/bin/chromium';
const chromium = (...args: string[]) => execFileSync(CHROMIUM, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', `--user-data-dir=${fs.mkdtempSync(path.join(os.tmpdir(), 'ics-chromium-'))}`,
  ...args,
], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });

describe('the HTML report of a local run, rendered in headless Chromium', () => {
  let rows: ReportRow[];
  let dir: string;

  beforeAll(async () => {
    const stack = new Stack(new App(), 'Report');
    new ImageClassificationPipeline(stack, 'Ics', icsProps());
    const local = await LocalPipeline.start({
      template: Template.fromStack(stack).toJSON() as CfnTemplate,
      // Scores keyed on the format: the PNG is a flagged motorcycle, the JPEG an unsure tractor.
      models: { vehicles: functionModel((_b, type) => (type === 'image/png' ? [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025] : [0.1, 0.1, 0.1, 0.1, 0.1, 0.5])) },
    });
    try {
      rows = [];
      for (const [file, bytes] of [['gate.png', images.png], ['yard.jpg', images.jpeg], ['notes.jpg', Buffer.from('not an image')]] as const) {
        rows.push({ file, bytes, execution: await local.upload(`cams/${file}`, bytes) });
      }
    } finally {
      await local.close();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-report-'));
    fs.writeFileSync(path.join(dir, 'report.html'), renderHtmlReport(rows, 'ICS local run'));
  }, 60_000);

  test('the table lists each image with label, confidence, outcome and alert', () => {
    expect(formatTable(rows).split('\n')).toEqual([
      expect.stringMatching(/^image\s+label\s+confidence\s+outcome\s+alert\s+tags\s+audit\s+execution$/),
      expect.stringMatching(/^-+/),
      expect.stringMatching(/^gate\.png\s+motorcycle\s+97\.0%\s+FLAGGED\s+yes \(1\)\s+ics:label,confidence,outcome\s+written\s+SUCCEEDED$/),
      expect.stringMatching(/^yard\.jpg\s+tractor\s+50\.0%\s+LOW_CONFIDENCE\s+yes \(1\)\s+ics:label,confidence,outcome\s+written\s+FAILED LowConfidence$/),
      expect.stringMatching(/^notes\.jpg\s+-\s+-\s+ERROR\s+yes \(1\)\s+-\s+written\s+FAILED UnsupportedImageFormat$/),
    ]);
  });

  test('Chromium renders one card per image with its outcome, thumbnail, score bars and alerts', () => {
    expect(fs.existsSync(CHROMIUM)).toBe(true); // installed by scripts/install-test-tools.sh
    const dom = chromium('--dump-dom', `file://${path.join(dir, 'report.html')}`);
    const cards = [...dom.matchAll(/<article class="card ([A-Z_]+)" data-file="([^"]+)"/g)].map((m) => [m[2], m[1]]);
    expect(cards).toEqual([['gate.png', 'FLAGGED'], ['yard.jpg', 'LOW_CONFIDENCE'], ['notes.jpg', 'ERROR']]);
    expect(dom.match(/<img alt="gate.png" src="data:image\/png;base64,/)).not.toBeNull();
    expect(dom.match(/class="bar" data-label=/g)).toHaveLength(12); // six labels on each classified image
    expect(dom).toContain('width:97.0%');
    expect(dom).toContain('UnsupportedImageFormat');
    // The alerts' subjects say what happened.
    expect(dom.match(/(FLAGGED: motorcycle 97%|LOW_CONFIDENCE: tractor 50%|ERROR: UnsupportedImageFormat) - /g)).toHaveLength(3);
    // Under each, the text an email subscriber receives.
    expect(dom.match(/<pre class="email">/g)).toHaveLength(3);
    expect(dom).toMatch(/<pre class="email">FLAGGED: motorcycle with 97% confidence/);
    expect(dom).toContain('<code>ics:outcome=FLAGGED</code>');
  });

  test('Chromium takes a screenshot of it', () => {
    const png = path.join(dir, 'report.png');
    chromium(`--screenshot=${png}`, '--window-size=1200,800', `file://${path.join(dir, 'report.html')}`);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1200);
  });
});
