/* eslint-disable import/no-extraneous-dependencies */
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ICS_HANDLERS, TMP } from './paths';
import { writeTimedHandler } from './timed-handlers';
import { ModelBackend } from '../../local/src/models/model-backend';
import { LocalPipeline } from '../../local/src/runner';
import { CfnTemplate, resolveIntrinsics } from '../../local/src/template-resolver';
import { Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps } from '../../src';
import { REFERENCE_RUNNER_BUNDLES } from '../reference/bundle';
import { REFERENCE_FLAGGED, REFERENCE_LABELS, ReferenceStack } from '../reference/stack';

export type DesignName = 'ICS' | 'reference';

/** The ICS configuration the bench measures: the README's one-statement example, otherwise defaults. */
export const icsProps = (): ImageClassificationPipelineProps => ({
  classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
  classLabels: REFERENCE_LABELS,
  confidenceThreshold: 0.94,
  flaggedLabels: REFERENCE_FLAGGED,
});

export function icsTemplate(props: Partial<ImageClassificationPipelineProps> = {}): CfnTemplate {
  const stack = new Stack(new App(), 'IcsBench');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...props });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

export function referenceTemplate(): CfnTemplate {
  const stack = new ReferenceStack(new App(), 'ReferenceBench');
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** A Lambda function of a template as it is billed: memory and architecture, by the bench's function name. */
export interface BilledFunction {
  readonly memoryMb: number;
  readonly architecture: string;
  /** X-Ray active tracing: Lambda adds the trace and segment ids to each invocation's REPORT log line. */
  readonly tracing: boolean;
  /** The function's `LoggingConfig`: `Text` (Lambda's default) or `JSON`, and with JSON the levels Lambda filters by. */
  readonly logging: { readonly format: string; readonly applicationLogLevel?: string; readonly systemLogLevel?: string };
}

/** The functions a design invokes, by the name the timing wrapper records (`classify`, `dispatch`, `serialize`...). */
export function billedFunctions(design: DesignName, template: CfnTemplate): Record<string, BilledFunction> {
  const out: Record<string, BilledFunction> = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const env = resolveIntrinsics(r.Properties?.Environment?.Variables ?? {}, template);
    const name = design === 'reference' ? env.REF_FUNCTION : /(Classify|Summarize|Dispatch)Function/.exec(id)?.[1]?.toLowerCase();
    if (!name) continue;
    out[name] = {
      memoryMb: r.Properties?.MemorySize ?? 128,
      architecture: r.Properties?.Architectures?.[0] ?? 'x86_64',
      tracing: r.Properties?.TracingConfig?.Mode === 'Active',
      logging: {
        format: r.Properties?.LoggingConfig?.LogFormat ?? 'Text',
        applicationLogLevel: r.Properties?.LoggingConfig?.ApplicationLogLevel,
        systemLogLevel: r.Properties?.LoggingConfig?.SystemLogLevel,
      },
    };
  }
  return out;
}

/** Writes timing-wrapped copies of a design's bundles and returns the directory to pass as `handlersDir`. */
export function timedHandlersDir(design: DesignName): string {
  const dir = path.join(TMP, 'timed', design);
  if (design === 'ICS') {
    for (const name of ['classify', 'summarize', 'dispatch']) {
      // The event source mapping invokes the dispatch function concurrently: one environment per concurrent invocation.
      writeTimedHandler(path.join(ICS_HANDLERS, `${name}.lambda`, 'index.js'), path.join(dir, `${name}.lambda`, 'index.js'), `'${name}'`,
        { environmentPerInvocation: name === 'dispatch' });
    }
  } else {
    writeTimedHandler(path.join(REFERENCE_RUNNER_BUNDLES, 'classify.lambda', 'index.js'), path.join(dir, 'classify.lambda', 'index.js'), 'process.env.REF_FUNCTION');
  }
  return dir;
}

/**
 * Starts a design in the local runner with timed handlers. The reference's filter function publishes to SNS itself;
 * the runner gives handlers only S3 and SageMaker endpoints, so the SNS peer's URL is added to the environment the
 * handlers inherit (the runner gives each function `process.env` + peers + its own variables, captured when the
 * bundle is first loaded, i.e. at the first invocation).
 */
export async function startDesign(design: DesignName, template: CfnTemplate, models: Record<string, ModelBackend>): Promise<LocalPipeline> {
  // The reference's functions run from its own bundles (the runner knows the library's by their description).
  const bundledFunctions = design === 'reference'
    ? Object.keys(template.Resources).filter((id) => template.Resources[id].Type === 'AWS::Lambda::Function')
    : undefined;
  const local = await LocalPipeline.start({ template, models, handlersDir: timedHandlersDir(design), bundledFunctions });
  process.env.AWS_ENDPOINT_URL_SNS = local.sns.url;
  return local;
}

/** `host:port` of a peer URL, as request probes see it. */
export const hostOf = (url: string): string => new URL(url).host;
