import { createHash } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion, Outcome } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps, VEHICLE_LABELS } from '../../test/stacks';
import { LocalConsole } from '../src/console';
import { functionModel } from '../src/models/function-model';
import { CfnTemplate } from '../src/template-resolver';

/**
 * What the console's two end-to-end suites share (the API through fetch, the page in Chromium): the pipeline they run
 * (queued ingestion, quarantine and review of LOW_CONFIDENCE), a model keyed on image bytes, and the two users.
 */

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Vehicle-label scores (bicycle, motorcycle, pickup_truck, bus, tank, tractor): `index` on top with `score`. */
export const scores = (index: number, score: number) => VEHICLE_LABELS.map((_, i) => (i === index ? score : (1 - score) / 5));

/** A distinct, still decodable JPEG per `n` (the model is keyed on the bytes). */
export const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);

/** LOW_CONFIDENCE: bus at 0.6 (threshold 0.94). Anything the model was not told about is an ACCEPTED bus at 0.99. */
export const UNSURE = scores(3, 0.6);

/** A reviewer and a viewer, in the console's default groups. */
export const CONSOLE_USERS = [
  { username: 'alice', password: 'Alice-pass-123', groups: ['reviewers'] },
  { username: 'victor', password: 'Victor-pass-123', groups: ['viewers'] },
] as const;

/** The pipeline both suites run: review and console on, LOW_CONFIDENCE quarantined, queued ingestion. */
export function consoleTemplate(
  props: Partial<ImageClassificationPipelineProps> | ((stack: Stack) => Partial<ImageClassificationPipelineProps>) = {},
): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', {
    ...icsProps(),
    inputPrefix: 'uploads/',
    review: {},
    console: {},
    quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
    ingestion: Ingestion.queued(),
    ...typeof props === 'function' ? props(stack) : props,
  });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** The review table's logical ID (the local DynamoDB names tables so): the table keyed on `reviewId`. */
export function reviewTableOf(template: CfnTemplate): string {
  const ids = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')
    .filter(([, r]) => (r.Properties?.KeySchema ?? []).some((k: any) => k.AttributeName === 'reviewId' && k.KeyType === 'HASH'))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one review table, found ${ids.length}`);
  return ids[0];
}

/** A model answering what `answer` registered for an image's bytes, an ACCEPTED bus at 0.99 otherwise. */
export class KeyedModel {
  private readonly byHash = new Map<string, number[]>();
  public readonly backend = functionModel((bytes) => this.byHash.get(sha(bytes)) ?? scores(3, 0.99));

  /** The model will answer `answer` for these bytes. */
  public answer(bytes: Uint8Array, answer: number[]): Uint8Array {
    this.byHash.set(sha(bytes), answer);
    return bytes;
  }
}

/** The local console over {@link consoleTemplate} with the two users. */
export async function startConsole(template: CfnTemplate, model: KeyedModel): Promise<LocalConsole> {
  return LocalConsole.start({ template, models: { vehicles: model.backend }, users: CONSOLE_USERS.map((u) => ({ ...u, groups: [...u.groups] })) });
}
