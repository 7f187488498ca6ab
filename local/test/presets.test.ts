import { createHash } from 'crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ModerationCategory, ProductTaggingPipeline, SchoolModerationPipeline } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);
const tableModel = (labels: string[], table: Map<string, number[]>) =>
  ({ labels, model: functionModel((bytes) => table.get(sha(bytes)) ?? labels.map(() => 0)) });

function synth(build: (stack: Stack) => void): CfnTemplate {
  const stack = new Stack(new App(), 'Local');
  build(stack);
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('SchoolModerationPipeline with its defaults, run locally end to end', () => {
  let local: LocalPipeline;
  const answers = new Map<string, number[]>([[sha(imageFor(1)), [0.96, 0.02]], [sha(imageFor(2)), [0.02, 0.45]]]);
  beforeAll(async () => {
    local = await LocalPipeline.start({
      template: synth((s) => { new SchoolModerationPipeline(s, 'School', { adminEmails: ['it@school.example'] }); }),
      models: {},
      rekognition: { detectModerationLabels: tableModel([ModerationCategory.EXPLICIT, ModerationCategory.VIOLENCE], answers) },
    });
  });
  afterAll(() => local?.close());

  const exists = async (key: string) =>
    local.s3.client().send(new GetObjectCommand({ Bucket: local.bucketName, Key: key })).then(() => true, () => false);

  test('a flagged upload disappears from uploads/ into quarantine/ and the administrator is alerted', async () => {
    const run = await local.upload('uploads/class-7/photo.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', label: 'Explicit', quarantine: { key: 'quarantine/uploads/class-7/photo.jpg' } } });
    expect(run.alerts).toHaveLength(1);
    expect(await exists('uploads/class-7/photo.jpg')).toBe(false);
    expect(await exists('quarantine/uploads/class-7/photo.jpg')).toBe(true);
  });

  test('an uncertain upload is quarantined too, without failing the execution', async () => {
    const run = await local.upload('uploads/class-7/unsure.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'LOW_CONFIDENCE', label: 'Violence' } });
    expect(await exists('quarantine/uploads/class-7/unsure.jpg')).toBe(true);
  });

  test('a clean upload stays, tagged Safe', async () => {
    const run = await local.upload('uploads/class-7/clean.jpg', imageFor(3));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label: 'Safe' } });
    expect(run.alerts).toHaveLength(0);
    expect(run.tags).toMatchObject({ 'ics:label': 'Safe', 'ics:outcome': 'ACCEPTED' });
  });

  test('uploads outside uploads/ (the quarantine itself) start nothing', async () => {
    expect((await local.upload('quarantine/x.jpg', imageFor(1))).status).toBe('NOT_TRIGGERED');
  });
});

describe('ProductTaggingPipeline with its defaults, run locally end to end', () => {
  let local: LocalPipeline;
  const answers = new Map<string, number[]>([[sha(imageFor(1)), [0.93, 0.1]], [sha(imageFor(2)), [0.55, 0.3]]]);
  beforeAll(async () => {
    local = await LocalPipeline.start({
      template: synth((s) => { new ProductTaggingPipeline(s, 'Shop', { categories: ['Shoe', 'Handbag'] }); }),
      models: {},
      rekognition: { detectLabels: tableModel(['Shoe', 'Handbag'], answers) },
    });
  });
  afterAll(() => local?.close());

  test('a product photo is tagged with its category and confidence, and nobody is alerted', async () => {
    const run = await local.upload('products/sku-1.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label: 'Shoe', confidence: 0.93 } });
    expect(run.tags).toMatchObject({ 'ics:label': 'Shoe', 'ics:outcome': 'ACCEPTED' });
    expect(run.alerts).toHaveLength(0);
  });

  test('an uncertain photo goes to review/ instead of failing', async () => {
    const run = await local.upload('products/sku-2.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'LOW_CONFIDENCE', quarantine: { key: 'review/products/sku-2.jpg' } } });
  });
});
