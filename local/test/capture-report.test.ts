import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline } from 'cdk-image-classification-pipeline';
import { ScoreType } from 'cdk-image-classification-pipeline/lib/response-format';
import { icsProps, VEHICLE_LABELS } from '../../test/stacks';
import {
  captureLocation, decodeCaptureData, formatCaptureSummary, listCaptureFiles, readCaptureFiles, readCaptureLine,
  renderCaptureReport, scoringFromLabels, scoringFromTemplate,
} from '../src/capture-report';
import { main, UsageError } from '../src/cli';
import { DEMO_IMAGES_DIR } from '../src/demo';
import { CfnTemplate } from '../src/template-resolver';

const image = (name: string) => fs.readFileSync(path.join(DEMO_IMAGES_DIR, name));

interface Captured { readonly observedContentType: string; readonly data: string; readonly encoding: 'BASE64' | 'JSON' | 'CSV' }

/** One line as SageMaker data capture writes it (Model Monitor's documented JSON lines format). */
function captureLine(n: number, endpointInput: Captured, endpointOutput?: Captured): string {
  return JSON.stringify({
    captureData: {
      endpointInput: { observedContentType: endpointInput.observedContentType, mode: 'INPUT', data: endpointInput.data, encoding: endpointInput.encoding },
      ...(endpointOutput ? { endpointOutput: { ...endpointOutput, mode: 'OUTPUT' } } : {}),
    },
    eventMetadata: { eventId: `event-${n}`, inferenceId: `inference-${n}`, inferenceTime: `2024-01-01T00:0${n}:00Z` },
    eventVersion: '0',
  });
}
const jpegIn = (name: string): Captured => ({ observedContentType: 'image/jpeg', data: image(name).toString('base64'), encoding: 'BASE64' });
const pngIn = (name: string): Captured => ({ observedContentType: 'image/png', data: image(name).toString('base64'), encoding: 'BASE64' });
// JSON encoding: the body as text, as captured for content types listed in JsonContentTypes.
const jsonOut = (body: unknown): Captured => ({ observedContentType: 'application/json', data: JSON.stringify(body), encoding: 'JSON' });
// BASE64 is the default when the endpoint's CaptureContentTypeHeader lists no content types.
const base64Out = (body: unknown): Captured => ({ observedContentType: 'application/json', data: Buffer.from(JSON.stringify(body)).toString('base64'), encoding: 'BASE64' });

const SCORES = {
  motorcycle: [0.01, 0.97, 0.01, 0.005, 0.0025, 0.0025],
  bus: [0.01, 0.01, 0.01, 0.96, 0.005, 0.005],
  unsureTractor: [0.1, 0.1, 0.1, 0.1, 0.1, 0.5],
};

/** Two hours of captures of endpoint "vehicles", variant AllTraffic, in SageMaker's folder layout, plus a stray file. */
function writeCaptures(root: string): { a: string; b: string } {
  const hour = (h: string) => path.join(root, 'vehicles', 'AllTraffic', '2024', '01', '01', h);
  fs.mkdirSync(hour('00'), { recursive: true });
  fs.mkdirSync(hour('01'), { recursive: true });
  const cutOff = captureLine(9, jpegIn('bus.jpg'), jsonOut({ prediction: SCORES.bus })).slice(0, 300);
  const a = path.join(hour('00'), 'capture-a.jsonl');
  fs.writeFileSync(a, [
    captureLine(1, jpegIn('motorcycle.jpg'), jsonOut({ prediction: SCORES.motorcycle })),
    captureLine(2, pngIn('camera.png'), base64Out({ prediction: SCORES.bus })),
    captureLine(3, { observedContentType: 'application/json', data: '{"instances":[[1,2,3]]}', encoding: 'JSON' }, jsonOut({ prediction: SCORES.bus })),
    cutOff,
  ].join('\n') + '\n');
  const b = path.join(hour('01'), 'capture-b.jsonl');
  fs.writeFileSync(b, [
    captureLine(4, jpegIn('chelsea.jpg'), { observedContentType: 'text/csv', data: SCORES.unsureTractor.join(','), encoding: 'CSV' }),
    captureLine(5, jpegIn('pickup-truck.jpg'), jsonOut({ prediction: [0.5, 0.5] })),
    captureLine(6, jpegIn('bicycle-dog.jpg'), jsonOut({ prediction: SCORES.unsureTractor })),
    captureLine(7, jpegIn('truncated.jpg'), jsonOut({ prediction: SCORES.motorcycle })),
    '',
    captureLine(8, { observedContentType: 'text/csv', data: '5.1,3.5,1.4,0.2', encoding: 'CSV' }, jsonOut({ prediction: SCORES.bus })),
  ].join('\r\n'));
  fs.writeFileSync(path.join(root, 'README.txt'), 'not a capture file');
  return { a, b };
}

const A = 'vehicles/AllTraffic/2024/01/01/00/capture-a.jsonl';
const B = 'vehicles/AllTraffic/2024/01/01/01/capture-b.jsonl';
const cards = (html: string) => [...html.matchAll(/<article class="card ([A-Z_]+)" data-file="([^"]+)"/g)].map((m) => [m[2], m[1]]);
const card = (html: string, name: string) => html.split('<article').find((c) => c.includes(`data-file="${name}"`)) ?? '';

describe('capture-report: SageMaker data-capture files as the demo report', () => {
  let dir: string;
  let captures: string;
  let log: jest.SpyInstance;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-capture-'));
    captures = path.join(dir, 'captures');
    writeCaptures(captures);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());
  const printed = () => log.mock.calls.map((c) => String(c[0])).join('\n');

  test('a folder is searched recursively for .jsonl files, sorted, named relative to it', () => {
    const files = listCaptureFiles([captures]);
    expect(files.map((f) => f.name)).toEqual([A, B]);
    expect(captureLocation(files[0].path)).toEqual({ endpoint: 'vehicles', variant: 'AllTraffic' });
    expect(captureLocation(path.join(dir, 'x.jsonl'))).toBeUndefined();
    // A file given twice (or inside a given folder) is read once; a file argument keeps its name.
    expect(listCaptureFiles([files[1].path, captures]).map((f) => f.name)).toEqual([files[1].path, A]);
  });

  test('with --labels: one card per captured image with its top label and score bars, the rest listed with file and line', async () => {
    const out = path.join(dir, 'labels.html');
    await expect(main(['capture-report', '--labels', VEHICLE_LABELS.join(','), '--report', out, captures])).resolves.toBe(0);
    const html = fs.readFileSync(out, 'utf8');

    expect(cards(html)).toEqual([
      [`${A}:1`, 'SCORED'], [`${A}:2`, 'SCORED'],
      [`${B}:1`, 'ERROR'], [`${B}:2`, 'ERROR'], [`${B}:3`, 'SCORED'], [`${B}:4`, 'ERROR'],
    ]);
    // Thumbnails typed by the bytes; the top label and every label's bar, best first.
    expect(card(html, `${A}:1`)).toContain('src="data:image/jpeg;base64,/9j/');
    expect(card(html, `${A}:2`)).toContain('src="data:image/png;base64,iVBORw0KGgo');
    expect(card(html, `${A}:1`)).toContain('<p class="outcome">SCORED · motorcycle 97.0%</p>');
    expect(card(html, `${A}:2`)).toContain('<p class="outcome">SCORED · bus 96.0%</p>'); // BASE64-encoded output
    expect(card(html, `${B}:3`)).toContain('<p class="outcome">SCORED · tractor 50.0%</p>');
    expect([...card(html, `${A}:1`).matchAll(/data-label="([a-z_]+)"/g)].map((m) => m[1]))
      .toEqual(['motorcycle', 'bicycle', 'pickup_truck', 'bus', 'tank', 'tractor']);
    expect(html.match(/class="bar" data-label=/g)).toHaveLength(4 * 6);
    expect(card(html, `${A}:1`)).toContain('<li>2024-01-01T00:01:00Z · event event-1 · inference inference-1</li>');

    // Bad output bodies, per row, with the library's error names and messages.
    expect(card(html, `${B}:1`)).toContain('<p class="outcome">ERROR · MalformedModelResponse</p>');
    expect(card(html, `${B}:1`)).toContain('The endpoint response is not JSON: 0.1,0.1,0.1,0.1,0.1,0.5 (text/csv output captured as CSV)');
    expect(card(html, `${B}:2`)).toContain('ERROR · LabelCountMismatch');
    expect(card(html, `${B}:2`)).toContain('The endpoint returned 2 scores but the pipeline has 6 class labels');
    // A cut-off image is ERROR before the endpoint, whatever the model answered; its scores are still shown.
    expect(card(html, `${B}:4`)).toContain('ERROR · TruncatedImage');
    expect(card(html, `${B}:4`)).toContain('The pipeline would not call the endpoint.');
    expect(card(html, `${B}:4`)).toContain('The model&#39;s top label: motorcycle 97.0%');

    // Lines without an image: where they are and why.
    const problems = [...html.matchAll(/<li data-where="([^"]+)"><code>[^<]+<\/code> ([^<]+)<\/li>/g)].map((m) => [m[1], m[2]]);
    expect(problems).toEqual([
      [`${A}:3`, 'input is application/json captured as JSON, not an image'],
      [`${A}:4`, expect.stringMatching(/^not a JSON line, e\.g\. cut off \(300 characters\): /)],
      [`${B}:6`, 'input is text/csv captured as CSV, not an image'],
    ]);
    expect(html).toContain('<h2>Not shown (3)</h2>');
    expect(html).toContain('2 capture files, 9 lines: 6 images, 3 not shown.');
    expect(html).toContain('No threshold: each image shows its top label');

    expect(printed()).toContain('2 capture files, 9 lines: 6 images (SCORED 3, ERROR 3), 3 not shown.');
    expect(printed()).toMatch(new RegExp(`${A}:1\\s+motorcycle\\s+97\\.0%\\s+SCORED\\s+-`));
    expect(printed()).toMatch(new RegExp(`${B}:1\\s+-\\s+-\\s+ERROR\\s+MalformedModelResponse`));
    expect(printed()).toContain(`  ${A}:3  input is application/json captured as JSON, not an image`);
    expect(printed()).toContain(`Report: ${out}`);
  });

  describe('with --template', () => {
    let templateFile: string;

    beforeAll(() => {
      const stack = new Stack(new App(), 'Capture');
      new ImageClassificationPipeline(stack, 'Ics', icsProps());
      templateFile = path.join(dir, 'Capture.template.json');
      fs.writeFileSync(templateFile, JSON.stringify(Template.fromStack(stack).toJSON()));
    });

    test('the classify function gives labels, response format, threshold and flagged labels', () => {
      const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as CfnTemplate;
      expect(scoringFromTemplate(template)).toEqual([expect.objectContaining({
        endpointName: 'vehicles',
        classLabels: VEHICLE_LABELS,
        responseFormat: 'AUTO',
        scoreType: 'PROBABILITIES',
        threshold: 0.94,
        flaggedLabels: ['motorcycle', 'pickup_truck', 'tank'],
        maxImageBytes: 6 * 1024 * 1024,
      })]);
    });

    test('each captured image gets the outcome the pipeline would decide', async () => {
      const out = path.join(dir, 'template.html');
      await expect(main(['capture-report', '--template', templateFile, '--report', out, captures])).resolves.toBe(0);
      const html = fs.readFileSync(out, 'utf8');
      expect(cards(html)).toEqual([
        [`${A}:1`, 'FLAGGED'], [`${A}:2`, 'ACCEPTED'],
        [`${B}:1`, 'ERROR'], [`${B}:2`, 'ERROR'], [`${B}:3`, 'LOW_CONFIDENCE'], [`${B}:4`, 'ERROR'],
      ]);
      expect(card(html, `${A}:1`)).toContain('<p class="outcome">FLAGGED · motorcycle 97.0%</p>');
      expect(card(html, `${B}:3`)).toContain('<p class="outcome">LOW_CONFIDENCE · tractor 50.0%</p>');
      expect(html).toMatch(/Labels and outcome rule from classify function IcsClassifyFunction\w+ \(endpoint vehicles\): labels bicycle, motorcycle, [a-z_, ]+; response format AUTO; score type PROBABILITIES;/);
      expect(html).toContain('confidence threshold 0.94; flagged labels motorcycle, pickup_truck, tank.');
      expect(printed()).toContain('6 images (FLAGGED 1, ACCEPTED 1, ERROR 3, LOW_CONFIDENCE 1), 3 not shown.');
    });
  });

  test('usage errors: no files, a missing path, no labels, both, a template without a classify function', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    const noClassifier = path.join(dir, 'no-classifier.template.json');
    fs.writeFileSync(noClassifier, JSON.stringify({ Resources: { Sm: { Type: 'AWS::StepFunctions::StateMachine', Properties: {} } } }));
    const cases: Array<[string[], RegExp]> = [
      [['--labels', 'a,b'], /needs at least one capture \.jsonl file or folder/],
      [['--labels', 'a,b', empty], /no \.jsonl capture files in /],
      [['--labels', 'a,b', path.join(dir, 'nope')], /not found: .*nope/],
      [[captures], /needs --labels a,b,c or --template/],
      [['--labels', 'a', '--template', noClassifier, captures], /--labels or --template, not both/],
      [['--labels', ' , ', captures], /--labels needs comma-separated class labels/],
      [['--labels', 'a,b,a', captures], /--labels names a more than once/],
      [['--template', noClassifier, captures], /has no SageMaker classify function/],
      [['--template', path.join(dir, 'missing.json'), captures], /template not found/],
    ];
    for (const [args, message] of cases) {
      const run = main(['capture-report', ...args]);
      await expect(run).rejects.toBeInstanceOf(UsageError);
      await expect(run).rejects.toThrow(message);
    }
  });

  test('pure functions: decoding, logits, and one scoring per endpoint when a template has several', () => {
    expect(decodeCaptureData({ data: Buffer.from('hi').toString('base64'), encoding: 'BASE64' }).toString()).toBe('hi');
    expect(decodeCaptureData({ data: '1,2', encoding: 'CSV' }).toString()).toBe('1,2');
    expect(() => decodeCaptureData({ data: 'x', encoding: 'GZIP' })).toThrow(/unknown encoding "GZIP"/);

    const at = { file: 'f.jsonl', line: 1, name: 'f.jsonl:1' };
    const logits = readCaptureLine(captureLine(1, jpegIn('chelsea.jpg'), jsonOut([2, 0])), { ...scoringFromLabels(['cat', 'dog']), scoreType: ScoreType.LOGITS }, at);
    expect('row' in logits && logits.row).toMatchObject({ label: 'cat', confidence: expect.closeTo(0.8808, 4), outcome: undefined, error: undefined });
    expect(readCaptureLine('{"eventVersion":"0"}', scoringFromLabels(['a']), at)).toEqual({ problem: expect.stringMatching(/no captureData/) });
    const noOutput = readCaptureLine(captureLine(1, jpegIn('chelsea.jpg')), scoringFromLabels(['a']), at);
    expect('row' in noOutput && noOutput.row.error?.name).toBe('NoCapturedOutput');

    // Outside SageMaker's <endpoint>/<variant>/yyyy/mm/dd/hh layout, so no scoring can be picked for it.
    const stray = path.join(dir, 'stray.jsonl');
    fs.writeFileSync(stray, captureLine(1, jpegIn('chelsea.jpg'), jsonOut({ prediction: [1] })));
    const files = listCaptureFiles([captures, stray]);
    const vehicles = { ...scoringFromLabels(VEHICLE_LABELS), endpointName: 'vehicles', threshold: 0.6, flaggedLabels: ['motorcycle'] };
    const other = { ...scoringFromLabels(['x']), endpointName: 'other', threshold: 0.6 };
    const report = readCaptureFiles(files, [vehicles, other]);
    expect(report.rows.map((r) => r.outcome)).toEqual(['FLAGGED', 'ACCEPTED', 'ERROR', 'ERROR', 'LOW_CONFIDENCE', 'ERROR']);
    expect(report.skipped.at(-1)).toMatchObject({ line: 0, problem: expect.stringMatching(/several classify functions \(endpoints vehicles, other\)/) });
    expect(formatCaptureSummary(report)).toContain('3 capture files, 9 lines');
    expect(renderCaptureReport(report)).toContain('(endpoint other): labels x; response format AUTO');
  });
});
