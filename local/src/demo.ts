import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BankSecurityPipeline, Classifier } from 'cdk-image-classification-pipeline';
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
  readonly reportPath?: string;
  readonly log?: (line: string) => void;
}

/** Runs every image through the pipeline locally, prints the table and writes the HTML report. */
export async function runDemo(options: DemoOptions = {}): Promise<ReportRow[]> {
  const log = options.log ?? ((l: string) => console.log(l));
  const files = options.images ?? fs.readdirSync(DEMO_IMAGES_DIR).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => path.join(DEMO_IMAGES_DIR, f)).sort();
  const template = options.template ?? demoTemplate();
  const endpoint = Object.values<any>(template.Resources)
    .find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.ICS_ENDPOINT_NAME)
    ?.Properties.Environment.Variables.ICS_ENDPOINT_NAME as string;
  log(`Starting the pipeline locally (endpoint "${endpoint}" served by the embedded COCO detector)...`);
  const local = await LocalPipeline.start({ template, models: { [endpoint]: cocoVehiclesModel() } });
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
