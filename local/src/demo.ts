import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BankSecurityPipeline, Classifier } from 'cdk-image-classification-pipeline';
import { scoringFromTemplate } from './capture-report';
import { LocalConsole } from './console';
import { BANK_SECURITY_LABELS } from './models/coco-mapping';
import { cocoVehiclesModel } from './models/coco-vehicles';
import { formatTable, renderHtmlReport, ReportRow } from './report';
import { LocalPipeline } from './runner';
import { CfnTemplate } from './template-resolver';

export const DEMO_IMAGES_DIR = path.join(__dirname, '..', 'demo', 'images');

/**
 * The demo's confidence threshold. The embedded COCO detector's scores are its own detection confidence (not
 * normalised over the six labels), and on the demo photos its clear vehicles score 0.56–0.89: the bank preset's 0.94
 * is for a trained classifier, and no photo would reach it.
 */
export const DEMO_CONFIDENCE_THRESHOLD = 0.5;

/**
 * The demo pipeline: the BankSecurityPipeline preset (SentryCam vehicle labels, flagged classes: motorcycle,
 * pickup_truck, tank) at {@link DEMO_CONFIDENCE_THRESHOLD}, synthesized exactly as a consumer would.
 */
export function demoTemplate(withConsole = false): CfnTemplate {
  const stack = new Stack(new App(), 'IcsDemo');
  new BankSecurityPipeline(stack, 'Ics', {
    classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
    confidenceThreshold: DEMO_CONFIDENCE_THRESHOLD,
    // The console: unsure images go to review, behind the local sign-in.
    ...(withConsole ? { inputPrefix: 'uploads/', review: {}, console: {} } : {}),
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

export interface DemoOptions {
  readonly images?: string[];
  readonly template?: CfnTemplate;
  /** The cloud assembly the template came from: your workflow steps' function assets are read there. */
  readonly assemblyDir?: string;
  readonly reportPath?: string;
  readonly log?: (line: string) => void;
}

/**
 * The endpoint the embedded COCO model can stand in for: the classify function's, when the pipeline's labels are
 * the vehicle labels the model maps COCO classes to. Anything else would report scores for labels it never saw.
 */
export function embeddedModelEndpoint(template: CfnTemplate): string {
  const [scoring] = scoringFromTemplate(template);
  if (!scoring?.endpointName) {
    throw new Error('the template has no SageMaker classify function (a Rekognition classifier?): the embedded COCO model stands in for '
      + 'SageMaker endpoints only; run other pipelines with LocalPipeline and a model of your own (README, "Testing kit")');
  }
  if (scoring.classLabels.join(',') !== BANK_SECURITY_LABELS.join(',')) {
    throw new Error(`the embedded COCO model answers the vehicle labels ${BANK_SECURITY_LABELS.join(', ')}; this pipeline's are `
      + `${scoring.classLabels.join(', ')}: run it with LocalPipeline and a model of your own (onnxModel, tfjsGraphModel, proxyModel)`);
  }
  return scoring.endpointName;
}

/** Runs every image through the pipeline locally, prints the table and writes the HTML report. */
export async function runDemo(options: DemoOptions = {}): Promise<ReportRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const files = options.images ?? fs.readdirSync(DEMO_IMAGES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => path.join(DEMO_IMAGES_DIR, f)).sort();
  const template = options.template ?? demoTemplate();
  const endpoint = embeddedModelEndpoint(template);
  log(`Starting the pipeline locally (endpoint "${endpoint}" served by the embedded COCO detector)...`);
  log(thresholdNote(template));
  const local = await LocalPipeline.start({ template, models: { [endpoint]: cocoVehiclesModel() }, assemblyDir: options.assemblyDir });
  const rows: ReportRow[] = [];
  let denials: string[] = [];
  try {
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      rows.push({ file: path.basename(file), bytes, execution: await local.upload(`uploads/${path.basename(file)}`, bytes) });
    }
    denials = [...new Set(local.denials.map((d) => d.message))];
  } finally {
    await local.close();
  }
  log('');
  log(formatTable(rows));
  // Every call ran with its principal's identity through the template's policies (README, "Permissions").
  log(denials.length === 0 ? '\nIAM: every call was allowed by the template\'s policies.' : `\nIAM: ${denials.length} call(s) AWS would deny:\n  ${denials.join('\n  ')}`);
  const reportPath = options.reportPath ?? path.join(process.cwd(), '.ics-local', 'report.html');
  fs.mkdirSync(path.dirname(reportPath), { recursive: true });
  fs.writeFileSync(reportPath, renderHtmlReport(rows, 'ICS local run', { intro: [thresholdNote(template)] }));
  log(`\nReport: ${reportPath}`);
  log('Review the unsure images in the operator console: npx ics-local console (README, "Human review and feedback")');
  return rows;
}

/**
 * What the scores mean and the threshold they are held against, from the template (so a custom template's own
 * threshold and flagged labels are shown).
 */
export function thresholdNote(template: CfnTemplate): string {
  const [scoring] = scoringFromTemplate(template);
  const threshold = scoring?.threshold;
  const flagged = scoring?.flaggedLabels ?? [];
  return 'Scores are the detector\'s own confidence per label (0% when it sees no vehicle, shown as label "none"); '
    + `${threshold === undefined ? 'the pipeline\'s threshold' : `threshold ${Math.round(threshold * 100)}%`}: below it LOW_CONFIDENCE, `
    + `at or above it FLAGGED for ${flagged.length > 0 ? flagged.join(', ') : 'the flagged labels'}, ACCEPTED for the other labels.`;
}

/** The console's local users: a reviewer and a viewer (the local sign-in stands in for the Cognito user pool). */
export const DEMO_CONSOLE_USERS = [
  { username: 'reviewer', password: 'Reviewer-pass-1', groups: ['reviewers'] },
  { username: 'viewer', password: 'Viewer-pass-1', groups: ['viewers'] },
];

export interface ConsoleDemoOptions {
  /** Your stack's template (with `review` and `console`). @default the bank-security preset with review and the console */
  readonly template?: CfnTemplate;
  readonly assemblyDir?: string;
  /** @default a random free port */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

/**
 * Serves the console of the demo pipeline (or of your template) on loopback, after classifying the demo photos so the
 * chart and the review queue have something to show. Resolves to the running console; close it to stop.
 */
export async function startConsoleDemo(options: ConsoleDemoOptions = {}): Promise<LocalConsole> {
  const log = options.log ?? ((l: string) => console.log(l));
  const template = options.template ?? demoTemplate(true);
  const endpoint = embeddedModelEndpoint(template);
  const local = await LocalConsole.start({
    template, models: { [endpoint]: cocoVehiclesModel() }, assemblyDir: options.assemblyDir, port: options.port, users: DEMO_CONSOLE_USERS,
  });
  try {
    const prefix = consoleInputPrefix(template);
    for (const file of fs.readdirSync(DEMO_IMAGES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()) {
      const run = await local.pipeline.upload(`${prefix}${file}`, fs.readFileSync(path.join(DEMO_IMAGES_DIR, file)));
      log(`  ${file}: ${run.result?.outcome ?? run.status}${run.result?.label ? ` (${run.result.label})` : ''}`);
    }
  } catch (err) {
    await local.close();
    throw err;
  }
  log('');
  log(`Console: ${local.url}`);
  log(`Sign in as ${DEMO_CONSOLE_USERS.map((u) => `${u.username} / ${u.password} (${u.groups.join(', ')})`).join(' or ')}.`);
  log('The sign-in is a local stand-in for the Cognito user pool. Press Ctrl-C to stop.');
  return local;
}

/** The input prefix the console's function was configured with (uploads go there). */
function consoleInputPrefix(template: CfnTemplate): string {
  const fn = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.ICS_CONSOLE_SETTINGS);
  const settings = fn?.Properties.Environment.Variables.ICS_CONSOLE_SETTINGS;
  const text = typeof settings === 'string' ? settings : JSON.stringify(settings);
  return /"inputPrefix":"([^"]*)"/.exec(text.replace(/\\"/g, '"'))?.[1] ?? '';
}
