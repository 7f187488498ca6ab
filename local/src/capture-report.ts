/**
 * The capture report: what the pipeline would make of the inferences SageMaker recorded with data capture
 * (Model Monitor). SageMaker writes one JSON line per invocation to
 * `s3://<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`:
 * `{"captureData":{"endpointInput":{observedContentType, mode, data, encoding},"endpointOutput":{...}},
 * "eventMetadata":{eventId, inferenceId?, inferenceTime},"eventVersion":"0"}`, where `encoding` is BASE64 (the
 * default), or JSON / CSV for the content types listed in the endpoint's CaptureContentTypeHeader.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClassifyEnv, readClassifyConfig } from 'cdk-image-classification-pipeline/lib/handlers/config';
import { ClassificationError, ErrorName } from 'cdk-image-classification-pipeline/lib/handlers/errors';
import { inspectImage, sniffImageFormat } from 'cdk-image-classification-pipeline/lib/handlers/image-format';
import { parseModelScores } from 'cdk-image-classification-pipeline/lib/handlers/model-response';
import { rankScores } from 'cdk-image-classification-pipeline/lib/handlers/scores';
import { decideOutcome, Outcome } from 'cdk-image-classification-pipeline/lib/outcomes';
import { ResponseFormat, ScoreType } from 'cdk-image-classification-pipeline/lib/response-format';
import { formatColumns, renderReport, ReportCard } from './report';
import { CfnTemplate, resolveIntrinsics } from './template-resolver';

/** How to read a captured output body: the labels in model order, and (from a template) the decision rule. */
export interface CaptureScoring {
  /** The endpoint the classify function calls; picks the scoring of a capture file by its folder when a template has several. */
  readonly endpointName?: string;
  readonly classLabels: readonly string[];
  readonly responseFormat: ResponseFormat;
  readonly scoreType: ScoreType;
  /** With a threshold, rows get the outcome the pipeline would decide; without, only the top label. */
  readonly threshold?: number;
  readonly flaggedLabels?: readonly string[];
  /** Larger images are ImageTooLarge before the endpoint is called. */
  readonly maxImageBytes?: number;
  /** Where the scoring came from, for the report's header. */
  readonly source: string;
}

/** A capture file and the name the report gives it (relative to the folder argument it was found in). */
export interface CaptureFile {
  readonly path: string;
  readonly name: string;
}

/** One captured inference with an image input, scored as the pipeline would. */
export interface CaptureRow {
  readonly file: string;
  /** 1-based line in the file. */
  readonly line: number;
  /** `<file name>:<line>`. */
  readonly name: string;
  readonly bytes: Buffer;
  /** MIME type sniffed from the bytes (the observed content type may be a fixed one such as application/x-image). */
  readonly contentType: string;
  readonly observedContentType?: string;
  readonly eventId?: string;
  readonly inferenceId?: string;
  readonly inferenceTime?: string;
  readonly label?: string;
  readonly confidence?: number;
  readonly scores?: Record<string, number>;
  /** The pipeline's decision; absent when scoring by --labels (no threshold). */
  readonly outcome?: Outcome;
  /** Why the pipeline would end this image as ERROR (bad output body, truncated image, ...). */
  readonly error?: { readonly name: string; readonly message: string };
}

/** A line (or a whole file, line 0) the report cannot show as an image card. */
export interface SkippedLine {
  readonly file: string;
  readonly line: number;
  /** `<file name>:<line>`, or the file name. */
  readonly where: string;
  readonly problem: string;
}

export interface CaptureReport {
  readonly files: readonly CaptureFile[];
  /** Non-blank lines read. */
  readonly lines: number;
  readonly rows: readonly CaptureRow[];
  readonly skipped: readonly SkippedLine[];
  readonly scorings: readonly CaptureScoring[];
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Scores mapped by position onto `labels`, read as the handler reads them by default (AUTO format, probabilities). */
export function scoringFromLabels(labels: readonly string[]): CaptureScoring {
  return { classLabels: [...labels], responseFormat: ResponseFormat.AUTO, scoreType: ScoreType.PROBABILITIES, source: '--labels' };
}

/**
 * The scoring of each classify function in a synthesized template, read from the environment the construct gives
 * it with the handler's own parser (labels, response format, score type, threshold, flagged labels, size cap).
 */
export function scoringFromTemplate(template: CfnTemplate): CaptureScoring[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.[ClassifyEnv.CLASS_LABELS] !== undefined)
    .sort(([a], [b]) => byCodeUnit(a, b))
    .map(([id, r]) => {
      const env: Record<string, string> = {};
      for (const [name, raw] of Object.entries<unknown>(r.Properties.Environment.Variables)) {
        // Variables this report does not need may reference things only a deployment knows (imports, parameters).
        try {
          const value = resolveIntrinsics(raw, template);
          if (typeof value === 'string' || typeof value === 'number') env[name] = String(value);
        } catch {
          continue;
        }
      }
      const config = readClassifyConfig(env);
      return {
        endpointName: config.endpointName,
        classLabels: config.classLabels,
        responseFormat: config.responseFormat,
        scoreType: config.scoreType,
        threshold: config.threshold,
        flaggedLabels: config.flaggedLabels,
        maxImageBytes: config.maxImageBytes,
        source: `classify function ${id}`,
      };
    });
}


/**
 * The capture files named by `paths`: files as given, folders searched recursively for `.jsonl` files (sorted, so
 * SageMaker's yyyy/mm/dd/hh folders come in time order). Paths must exist; duplicates are read once.
 */
export function listCaptureFiles(paths: readonly string[]): CaptureFile[] {
  const seen = new Set<string>();
  const files: CaptureFile[] = [];
  const add = (file: string, name: string) => {
    const key = path.resolve(file);
    if (!seen.has(key)) {
      seen.add(key);
      files.push({ path: file, name });
    }
  };
  for (const arg of paths) {
    if (!fs.statSync(arg).isDirectory()) {
      add(arg, arg);
      continue;
    }
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        // Symlinked folders are not followed, so a link loop cannot hang the search.
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith('.jsonl') && fs.statSync(full).isFile()) found.push(full);
      }
    };
    walk(arg);
    for (const file of found.sort(byCodeUnit)) add(file, path.relative(arg, file).split(path.sep).join('/'));
  }
  return files;
}

/** Endpoint and variant from SageMaker's `<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl` layout, when the path has it. */
export function captureLocation(file: string): { endpoint: string; variant: string } | undefined {
  const parts = path.resolve(file).split(/[\\/]/);
  const n = parts.length;
  const dated = n >= 7 && /^\d{4}$/.test(parts[n - 5]) && [parts[n - 4], parts[n - 3], parts[n - 2]].every((p) => /^\d{2}$/.test(p));
  return dated ? { endpoint: parts[n - 7], variant: parts[n - 6] } : undefined;
}

/** The bytes of a captured body: BASE64 is decoded; JSON and CSV bodies are stored as text. */
export function decodeCaptureData(captured: { data?: unknown; encoding?: unknown }): Buffer {
  const data = typeof captured.data === 'string' ? captured.data : JSON.stringify(captured.data ?? '');
  switch (captured.encoding) {
    case 'BASE64':
      return Buffer.from(data, 'base64');
    case 'JSON':
    case 'CSV':
      return Buffer.from(data, 'utf8');
    default:
      throw new Error(`unknown encoding ${JSON.stringify(captured.encoding)} (SageMaker writes BASE64, JSON or CSV)`);
  }
}

const isRecord = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/**
 * Reads one capture line: the image from the input, scores from the output with the library's parser, and the
 * outcome with its decision table. Returns a problem instead when the line has no image to show.
 */
export function readCaptureLine(
  text: string,
  scoring: CaptureScoring,
  at: { readonly file: string; readonly line: number; readonly name: string },
): { row: CaptureRow } | { problem: string } {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    return { problem: `not a JSON line, e.g. cut off (${text.length} characters): ${(err as Error).message}` };
  }
  const capture = isRecord(record) ? record.captureData : undefined;
  if (!isRecord(capture)) return { problem: 'not a SageMaker data-capture record: no captureData object' };
  const input = capture.endpointInput;
  if (!isRecord(input)) return { problem: 'no endpointInput: the endpoint captured outputs only, so there is no image to show' };
  const observed = str(input.observedContentType);
  if (input.encoding === 'JSON' || input.encoding === 'CSV') {
    return { problem: `input is ${observed ?? 'untyped'} captured as ${input.encoding}, not an image` };
  }
  let bytes: Buffer;
  try {
    bytes = decodeCaptureData(input);
  } catch (err) {
    return { problem: `input has an ${(err as Error).message}` };
  }
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed) {
    return { problem: `input is not an image (${observed ?? 'untyped'}, ${bytes.length} bytes starting ${bytes.subarray(0, 8).toString('hex') || '-'})` };
  }

  const meta = isRecord((record as any).eventMetadata) ? (record as any).eventMetadata : {};
  const base = {
    ...at,
    bytes,
    contentType: sniffed.contentType,
    observedContentType: observed,
    eventId: str(meta.eventId),
    inferenceId: str(meta.inferenceId),
    inferenceTime: str(meta.inferenceTime),
  };

  // The pipeline checks the image before it calls the endpoint; an image it rejects ends as ERROR whatever the model said.
  let imageError: CaptureRow['error'];
  try {
    inspectImage(bytes);
    if (scoring.maxImageBytes !== undefined && bytes.length > scoring.maxImageBytes) {
      throw new ClassificationError(ErrorName.ImageTooLarge, `The image is ${bytes.length} bytes; the maximum is ${scoring.maxImageBytes} bytes.`);
    }
  } catch (err) {
    imageError = { name: (err as Error).name, message: `${(err as Error).message} The pipeline would not call the endpoint.` };
  }

  const output = capture.endpointOutput;
  if (!isRecord(output)) {
    return { row: { ...base, outcome: Outcome.ERROR, error: imageError ?? { name: 'NoCapturedOutput', message: 'No endpointOutput: the endpoint captured inputs only.' } } };
  }
  let scores: number[];
  try {
    scores = parseModelScores(decodeCaptureData(output).toString('utf8'), scoring.responseFormat, scoring.classLabels, scoring.scoreType);
  } catch (err) {
    const name = err instanceof ClassificationError ? err.name : 'UnreadableOutput';
    const kind = `${str(output.observedContentType) ?? 'untyped'} output captured as ${String(output.encoding)}`;
    return { row: { ...base, outcome: Outcome.ERROR, error: imageError ?? { name, message: `${(err as Error).message} (${kind})` } } };
  }
  const ranked = rankScores(scores, scoring.classLabels, 1);
  const outcome = imageError
    ? Outcome.ERROR
    : scoring.threshold !== undefined ? decideOutcome(ranked.label, ranked.confidence, scoring.threshold, scoring.flaggedLabels ?? []) : undefined;
  return { row: { ...base, label: ranked.label, confidence: ranked.confidence, scores: ranked.scores, outcome, error: imageError } };
}

/** Reads every line of the capture files; lines without an image are collected as skipped, never fatal. */
export function readCaptureFiles(files: readonly CaptureFile[], scorings: readonly CaptureScoring[]): CaptureReport {
  const rows: CaptureRow[] = [];
  const skipped: SkippedLine[] = [];
  let lines = 0;
  for (const file of files) {
    const location = captureLocation(file.path);
    const scoring = scorings.length === 1 ? scorings[0] : scorings.find((s) => s.endpointName === location?.endpoint);
    if (!scoring) {
      const endpoints = scorings.map((s) => s.endpointName).join(', ');
      skipped.push({
        file: file.path,
        line: 0,
        where: file.name,
        problem: location
          ? `no classify function of the template calls endpoint ${location.endpoint} (it has ${endpoints})`
          : `the template has several classify functions (endpoints ${endpoints}) and the path is not <endpoint>/<variant>/yyyy/mm/dd/hh/<file>`,
      });
      continue;
    }
    fs.readFileSync(file.path, 'utf8').split(/\r?\n/).forEach((text, i) => {
      if (text.trim() === '') return;
      lines++;
      const at = { file: file.path, line: i + 1, name: `${file.name}:${i + 1}` };
      const read = readCaptureLine(text, scoring, at);
      if ('row' in read) rows.push(read.row);
      else skipped.push({ file: at.file, line: at.line, where: at.name, problem: read.problem });
    });
  }
  return { files, lines, rows, skipped, scorings };
}

/** A row as a report card; without a decision rule the card says SCORED and shows the top label. */
export function captureCard(row: CaptureRow): ReportCard {
  const meta = [row.inferenceTime, row.eventId && `event ${row.eventId}`, row.inferenceId && `inference ${row.inferenceId}`].filter(Boolean).join(' · ');
  const topLabel = row.error && row.label ? [`The model's top label: ${row.label} ${((row.confidence ?? 0) * 100).toFixed(1)}%`] : [];
  return {
    name: row.name,
    bytes: row.bytes,
    contentType: row.contentType,
    outcome: row.outcome ?? 'SCORED',
    label: row.error ? undefined : row.label,
    confidence: row.error ? undefined : row.confidence,
    error: row.error?.name,
    scores: row.scores,
    notes: [...(row.error ? [row.error.message] : []), ...topLabel, ...(meta ? [meta] : [])],
  };
}

function describeScoring(s: CaptureScoring): string {
  const reading = `labels ${s.classLabels.join(', ')}; response format ${s.responseFormat}; score type ${s.scoreType}`;
  if (s.threshold === undefined) {
    return `Labels from ${s.source}, in model output order: ${reading}. No threshold: each image shows its top label (pass --template for the outcome).`;
  }
  const flagged = s.flaggedLabels && s.flaggedLabels.length > 0 ? s.flaggedLabels.join(', ') : 'none';
  return `Labels and outcome rule from ${s.source}${s.endpointName ? ` (endpoint ${s.endpointName})` : ''}: ${reading}; `
    + `confidence threshold ${s.threshold}; flagged labels ${flagged}.`;
}

/** The capture report's HTML: the demo's cards, one per captured image, then the lines that have none. */
export function renderCaptureReport(report: CaptureReport, title = 'ICS capture report'): string {
  return renderReport(report.rows.map(captureCard), title, {
    intro: [
      `${report.files.length} capture file${report.files.length === 1 ? '' : 's'}, ${report.lines} lines: `
      + `${report.rows.length} images, ${report.skipped.length} not shown.`,
      ...report.scorings.map(describeScoring),
    ],
    problems: report.skipped,
  });
}

/** The printed summary: counts, one line per image, and where each skipped line is. */
export function formatCaptureSummary(report: CaptureReport): string {
  const counts = new Map<string, number>();
  for (const row of report.rows) counts.set(row.outcome ?? 'SCORED', (counts.get(row.outcome ?? 'SCORED') ?? 0) + 1);
  const byOutcome = [...counts].map(([o, n]) => `${o} ${n}`).join(', ');
  const out = [
    `${report.files.length} capture file${report.files.length === 1 ? '' : 's'}, ${report.lines} lines: `
    + `${report.rows.length} images${byOutcome ? ` (${byOutcome})` : ''}, ${report.skipped.length} not shown.`,
  ];
  if (report.rows.length > 0) {
    out.push('', formatColumns(['inference', 'label', 'confidence', 'outcome', 'problem'], report.rows.map((r) => [
      r.name,
      r.label ?? '-',
      r.confidence === undefined ? '-' : `${(r.confidence * 100).toFixed(1)}%`,
      r.outcome ?? 'SCORED',
      r.error ? r.error.name : '-',
    ])));
  }
  if (report.skipped.length > 0) {
    out.push('', 'Not shown:', ...report.skipped.map((s) => `  ${s.where}  ${s.problem}`));
  }
  return out.join('\n');
}

export interface CaptureReportOptions {
  readonly files: readonly CaptureFile[];
  readonly scorings: readonly CaptureScoring[];
  /** Default `.ics-local/capture-report.html` (beside the demo's report.html). */
  readonly reportPath?: string;
  readonly log?: (line: string) => void;
}

/** Reads the capture files, prints the summary and writes the HTML report. */
export function runCaptureReport(options: CaptureReportOptions): CaptureReport {
  const log = options.log ?? ((l: string) => console.log(l));
  const report = readCaptureFiles(options.files, options.scorings);
  log(formatCaptureSummary(report));
  const reportPath = options.reportPath ?? path.join(process.cwd(), '.ics-local', 'capture-report.html');
  fs.mkdirSync(path.dirname(reportPath), { recursive: true });
  fs.writeFileSync(reportPath, renderCaptureReport(report));
  log(`\nReport: ${reportPath}`);
  return report;
}
