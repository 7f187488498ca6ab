#!/usr/bin/env node
/**
 * ics-local: run the pipeline on this machine. `ics-local --help` lists the commands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCaptureFiles, runCaptureReport, scoringFromLabels, scoringFromTemplate } from './capture-report';
import { runDemo, startConsoleDemo } from './demo';
import { iamReport } from './iam/report';
import { CfnTemplate } from './template-resolver';

const USAGE = `usage: ics-local <command> [options]

commands:
  demo [--report out.html]
      Synthesize the bank-security preset and run it over the kit's demo photos with the embedded COCO model.
  run --template <stack.template.json> [--assembly cdk.out] [--report out.html] <images...>
      Run your synthesized stack's pipeline over image files; the embedded COCO model answers its SageMaker endpoint
      (pipelines with the bank-security vehicle labels; others run with LocalPipeline and your model). Your workflow
      steps' functions run from their assets in the cloud assembly (default: the template's folder).
  console [--template <stack.template.json>] [--assembly cdk.out] [--port 8080]
      Serve the operator console on http://127.0.0.1 (human review, chart, uploads) against the local peers, after
      classifying the demo photos. Without --template: the bank-security preset with review and the console. The sign-in
      is a local stand-in for the Cognito user pool (users reviewer and viewer). Runs until Ctrl-C.
  capture-report (--labels a,b,c | --template <stack.template.json>) [--report out.html] <capture .jsonl files or folders...>
      Report on SageMaker data-capture files (folders are searched for .jsonl): each captured image with a score bar
      per label and its top label. --template reads labels, response format and threshold from your stack's classify
      function and shows the outcome the pipeline would decide; --labels maps scores to labels in model output order.
  iam --template <stack.template.json> [--boundary <policy.json>] [--scp <policy.json>[,<policy.json>...]] [--external <resources.json>]
      List every call each role of the pipeline makes (functions, state machines, EventBridge, Firehose, and the KMS
      calls S3, SNS and SQS make for them) with AWS's decision under the template's policies, your permissions boundary
      and SCPs. --external gives the policies and encryption of buckets, keys and topics you bring
      ({"buckets": {arn: policy}, "keys": {arn: policy}, "other": {arn: policy}, "encryption": {arn: {"keyArn", "bucketKey"}}}).
      Exits 1 when a call would be denied.
  --help
      Show this help.

Reports are self-contained HTML files (default .ics-local/report.html; capture-report: .ics-local/capture-report.html).`;

/** A mistake in the command line: printed with the usage hint, exit code 2, no stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Splits `--name value` options from positional arguments; every option takes a value. */
export function parseArgs(args: readonly string[], known: readonly string[]): { options: Record<string, string>; positional: string[] } {
  const options: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (!known.includes(name)) throw new UsageError(`unknown option ${arg} (options: ${known.map((k) => `--${k}`).join(', ') || 'none'})`);
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
    options[name] = value;
    i++;
  }
  return { options, positional };
}

/** Reads a synthesized CloudFormation template, with an error that says what is wrong with the file. */
export function readTemplate(file: string): CfnTemplate {
  if (!fs.existsSync(file)) throw new UsageError(`template not found: ${file} (synthesize first, e.g. npx cdk synth, then pass cdk.out/<Stack>.template.json)`);
  let parsed: any;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`template ${file} is not JSON: ${(err as Error).message}`);
  }
  const resources = Object.values<any>(parsed?.Resources ?? {});
  if (!resources.some((r) => r?.Type === 'AWS::StepFunctions::StateMachine')) {
    throw new UsageError(`template ${file} holds no state machine: pass the template of the stack that contains the ImageClassificationPipeline`);
  }
  return parsed as CfnTemplate;
}

/** A JSON file given on the command line (a policy document, the external resources). */
function readJson(file: string, what: string): any {
  if (!fs.existsSync(file)) throw new UsageError(`${what} file not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${what} file ${file} is not JSON: ${(err as Error).message}`);
  }
}

function readableFiles(files: readonly string[]): string[] {
  const missing = files.filter((f) => !fs.existsSync(f) || !fs.statSync(f).isFile());
  if (missing.length > 0) throw new UsageError(`not a file: ${missing.join(', ')}`);
  return [...files];
}

/** The scoring of capture-report: labels in model output order, or every classify function of a template. */
function captureScorings(options: Record<string, string>) {
  if (options.template === undefined) {
    const labels = options.labels.split(',').map((l) => l.trim()).filter((l) => l !== '');
    if (labels.length === 0) throw new UsageError('--labels needs comma-separated class labels, in the order of the model output');
    const twice = labels.filter((l, i) => labels.indexOf(l) !== i);
    if (twice.length > 0) throw new UsageError(`--labels names ${twice.join(', ')} more than once`);
    return [scoringFromLabels(labels)];
  }
  const scorings = scoringFromTemplate(readTemplate(options.template));
  if (scorings.length === 0) {
    throw new UsageError(`template ${options.template} has no SageMaker classify function (a function with ICS_CLASS_LABELS): use --labels`);
  }
  return scorings;
}

/** Runs one command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    case 'demo': {
      const { options, positional } = parseArgs(rest, ['report']);
      if (positional.length > 0) throw new UsageError(`demo takes no images (got ${positional.join(' ')}); use run for your own`);
      await runDemo({ reportPath: options.report });
      return 0;
    }
    case 'run': {
      const { options, positional } = parseArgs(rest, ['template', 'assembly', 'report']);
      if (!options.template) throw new UsageError('run needs --template <stack.template.json>');
      if (positional.length === 0) throw new UsageError('run needs at least one image file');
      const template = readTemplate(options.template);
      // The template's folder is its cloud assembly (cdk.out), where your workflow steps' function assets are.
      const assemblyDir = options.assembly ?? path.dirname(path.resolve(options.template));
      if (!fs.existsSync(assemblyDir)) throw new UsageError(`cloud assembly not found: ${assemblyDir}`);
      await runDemo({ images: readableFiles(positional), template, assemblyDir, reportPath: options.report });
      return 0;
    }
    case 'console': {
      const { options, positional } = parseArgs(rest, ['template', 'assembly', 'port']);
      if (positional.length > 0) throw new UsageError(`console takes no images (got ${positional.join(' ')}); upload them in the console`);
      const port = options.port === undefined ? undefined : Number(options.port);
      if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`--port must be a TCP port, got ${options.port}`);
      const template = options.template === undefined ? undefined : readTemplate(options.template);
      const assemblyDir = options.assembly ?? (options.template ? path.dirname(path.resolve(options.template)) : undefined);
      const local = await startConsoleDemo({ template, assemblyDir, port });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await local.close();
      return 0;
    }
    case 'capture-report': {
      const { options, positional } = parseArgs(rest, ['labels', 'template', 'report']);
      if (options.labels !== undefined && options.template !== undefined) throw new UsageError('capture-report takes --labels or --template, not both');
      if (options.labels === undefined && options.template === undefined) {
        throw new UsageError('capture-report needs --labels a,b,c or --template <stack.template.json> to map scores to labels');
      }
      if (positional.length === 0) throw new UsageError('capture-report needs at least one capture .jsonl file or folder');
      const missing = positional.filter((p) => !fs.existsSync(p));
      if (missing.length > 0) throw new UsageError(`not found: ${missing.join(', ')}`);
      const files = listCaptureFiles(positional);
      if (files.length === 0) throw new UsageError(`no .jsonl capture files in ${positional.join(', ')}`);
      runCaptureReport({ files, scorings: captureScorings(options), reportPath: options.report });
      return 0;
    }
    case 'iam': {
      const { options, positional } = parseArgs(rest, ['template', 'boundary', 'scp', 'external']);
      if (!options.template) throw new UsageError('iam needs --template <stack.template.json>');
      if (positional.length > 0) throw new UsageError(`iam takes no positional arguments (got ${positional.join(' ')})`);
      const report = iamReport(readTemplate(options.template), {
        boundary: options.boundary === undefined ? undefined : readJson(options.boundary, 'boundary'),
        scps: options.scp === undefined ? undefined : options.scp.split(',').map((f) => readJson(f, 'SCP')),
        external: options.external === undefined ? undefined : readJson(options.external, 'external resources'),
      });
      console.log(report.text);
      return report.denied.length > 0 ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    if (err instanceof UsageError) {
      console.error(`ics-local: ${err.message}\nRun 'ics-local --help' for the commands.`);
      process.exit(2);
    }
    console.error(`ics-local: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
