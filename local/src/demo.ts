import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BankSecurityPipeline, Classifier } from 'cdk-image-classification-pipeline';
import { scoringFromTemplate } from './capture-report';
import { BANK_SECURITY_LABELS } from './models/coco-mapping';
import { cocoVehiclesModel } from './models/coco-vehicles';
import { formatTable, renderHtmlReport, ReportRow } from './report';
import { LocalPipeline } from './runner';
import { CfnTemplate } from './template-resolver';

export const DEMO_IMAGES_DIR = path.join(__dirname, '..', 'demo', 'images');

/**
 * The demo pipeline: the BankSecurityPipeline preset (SentryCam vehicle labels, flagged classes), at a threshold
 * the embedded COCO model can reach, synthesized exactly as a consumer would.
 */
export function demoTemplate(): CfnTemplate {
  const stack = new Stack(new App(), 'IcsDemo');
  new BankSecurityPipeline(stack, 'Ics', {
    classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
    confidenceThreshold: 0.8,
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
  const local = await LocalPipeline.start({ template, models: { [endpoint]: cocoVehiclesModel() }, assemblyDir: options.assemblyDir });
  const rows: ReportRow[] = [];
  try {
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      rows.push({ file: path.basename(file), bytes, execution: await local.upload(`uploads/${path.basename(file)}`, bytes) });
    }
  } finally {
    await local.close();
  }
  log('');
  log(formatTable(rows));
  const reportPath = options.reportPath ?? path.join(process.cwd(), '.ics-local', 'report.html');
  fs.mkdirSync(path.dirname(reportPath), { recursive: true });
  fs.writeFileSync(reportPath, renderHtmlReport(rows, 'ICS local run'));
  log(`\nReport: ${reportPath}`);
  return rows;
}
