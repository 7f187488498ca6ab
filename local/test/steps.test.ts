import { createHash } from 'crypto';
import * as path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import {
  BulkMode, Classifier, ImageClassificationPipeline, ImageClassificationPipelineProps, Ingestion, Outcome, WorkflowStep,
} from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { functionModel } from '../src/models/function-model';
import { LocalPipeline } from '../src/runner';
import { CfnTemplate } from '../src/template-resolver';

const FIXTURES = path.join(__dirname, 'fixtures', 'steps');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Vehicle-label score vectors (bicycle, motorcycle, pickup_truck, bus, tank, tractor). */
const top = (index: number) => [0, 0, 0, 0, 0, 0].map((_, i) => (i === index ? 0.975 : 0.005));
const SCORES = { motorcycle: top(1), pickupTruck: top(2), bus: top(3), tank: top(4) };
/** A real image per scenario: same picture, distinct bytes (the model keys its answer on the bytes). */
const imageFor = (n: number) => Buffer.concat([images.jpeg, Buffer.alloc(n, 0)]);
const node = lambda.Runtime.NODEJS_22_X;
const assetFunction = (stack: Stack, id: string, dir: string, handler = 'index.handler', environment?: Record<string, string>) =>
  new lambda.Function(stack, id, { runtime: node, handler, code: lambda.Code.fromAsset(path.join(FIXTURES, dir)), environment });
const inlineFunction = (stack: Stack, id: string, code: string) =>
  new lambda.Function(stack, id, { runtime: node, handler: 'index.handler', code: lambda.Code.fromInline(code) });

/** The stack's template and the cloud assembly it was synthesized into (where the steps' assets are). */
function synth(steps: (stack: Stack) => WorkflowStep[], props: Partial<ImageClassificationPipelineProps> = {}) {
  const app = new App();
  const stack = new Stack(app, 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ingestion: Ingestion.direct(), ...props, steps: steps(stack) });
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  return { template, assemblyDir: app.outdir };
}

/** Ungrouped SageMaker answers keyed by the image bytes. */
function vehicles(answers: Array<[Buffer, number[]]>) {
  const byHash = new Map(answers.map(([bytes, scores]) => [sha(bytes), scores]));
  return { vehicles: functionModel((bytes) => byHash.get(sha(bytes)) ?? SCORES.bus) };
}

describe('your own Lambda steps, run from their assets in the cloud assembly', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { template, assemblyDir } = synth((stack) => [
      WorkflowStep.lambda(assetFunction(stack, 'AssetRegister', 'enrich', 'index.handler', { SITE_NAME: 'branch-42' }), { name: 'assetRegister' }),
      WorkflowStep.override(WorkflowStep.lambda(assetFunction(stack, 'SecondModel', 'confirm', 'model.confirm'), { outcomes: [Outcome.FLAGGED] })),
      WorkflowStep.lambda(assetFunction(stack, 'Ticket', 'failing'), { name: 'ticket', outcomes: [Outcome.FLAGGED], retry: { maxAttempts: 1 } }),
    ]);
    local = await LocalPipeline.start({
      template,
      assemblyDir,
      models: vehicles([[imageFor(1), SCORES.motorcycle], [imageFor(2), SCORES.bus], [imageFor(3), SCORES.tank], [imageFor(4), SCORES.pickupTruck]]),
    });
  });
  afterAll(async () => {
    // Every call of the suite ran through the enforcing gateway; none was one AWS would deny.
    const denials = local?.denials.map((d) => d.message) ?? [];
    await local?.close();
    expect(denials).toEqual([]);
  });

  test('an enrichment step: its answer, computed with the template\'s environment, lands in the audit record, alert and result event', async () => {
    const run = await local.upload('cams/gate-7.jpg', imageFor(4));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({
      schemaVersion: '1.1',
      outcome: 'FLAGGED',
      label: 'pickup_truck',
      steps: {
        assetRegister: { camera: 'gate-7', site: 'branch-42', sawStep: 'assetRegister', sawOutcome: 'FLAGGED' },
        SecondModel: { confirmed: true, secondLabel: 'pickup_truck' },
        ticket: { ticket: 'T-15' },
      },
    });
    expect(run.output.overrides).toBeUndefined();
    expect(run.auditRecords.map((a) => a.record)).toEqual([run.output]);
    expect(run.events.map((e) => e.detail)).toEqual([run.output]);
    expect(run.alerts.map((a) => JSON.parse(a.message).steps.assetRegister.camera)).toEqual(['gate-7']);
    const trail = await local.readAuditTrail();
    expect(trail.find((r) => r.key === 'cams/gate-7.jpg')?.steps?.assetRegister).toEqual(run.output.steps.assetRegister);
  });

  test('a confirming step turns FLAGGED into ACCEPTED with its reason: no alert, the tag follows, later FLAGGED-only steps are skipped', async () => {
    const run = await local.upload('cams/gate-1.jpg', imageFor(1));
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ outcome: 'ACCEPTED', label: 'motorcycle' });
    expect(run.output.overrides).toEqual([
      { step: 'SecondModel', previousOutcome: 'FLAGGED', outcome: 'ACCEPTED', reason: 'second model: bicycle (0.91)' },
    ]);
    expect(run.output.steps.SecondModel).toEqual({ outcome: 'ACCEPTED', reason: 'second model: bicycle (0.91)', secondLabel: 'bicycle' });
    expect(run.output.steps.ticket).toBeUndefined();
    expect(run.states).not.toContain('Step-ticket');
    expect(run.alerts).toEqual([]);
    expect(run.tags).toMatchObject({ 'ics:outcome': 'ACCEPTED', 'ics:label': 'motorcycle' });
    expect(run.auditRecords[0].record.overrides).toEqual(run.output.overrides);
  });

  test('a step limited to FLAGGED does not run for ACCEPTED images', async () => {
    const run = await local.upload('cams/gate-2.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'ACCEPTED', label: 'bus' } });
    expect(Object.keys(run.output.steps)).toEqual(['assetRegister']);
    expect(run.states).toContain('Step-assetRegister');
    expect(run.states).not.toContain('Step-SecondModel');
    expect(run.states).not.toContain('Step-ticket');
    expect(run.lambdaInvocations).toBe(2); // classify and assetRegister
  });

  test('a step that fails after its retries: ERROR StepFailed naming the step, one alert, audited, no tags', async () => {
    const run = await local.upload('cams/gate-3.jpg', imageFor(3));
    expect(run).toMatchObject({ status: 'FAILED', error: 'StepFailed' });
    expect(run.result).toMatchObject({
      outcome: 'ERROR',
      label: 'tank',
      error: { name: 'StepFailed', step: 'ticket', cause: expect.stringMatching(/^TicketSystemDown: .*the ticket system is down/) },
      steps: { assetRegister: { camera: 'gate-3' }, SecondModel: { confirmed: true } },
    });
    expect(run.alerts).toHaveLength(1);
    expect(run.alerts[0].messageAttributes).toEqual({
      outcome: { dataType: 'String', stringValue: 'ERROR' },
      error: { dataType: 'String', stringValue: 'StepFailed' },
    });
    expect(run.auditRecords.map((a) => a.record.error)).toEqual([run.result.error]);
    expect(run.tags?.['ics:outcome']).toBeUndefined();
    // classify, assetRegister, SecondModel, and ticket twice (one retry)
    expect(run.lambdaInvocations).toBe(5);
  });
});

describe('Express state machine steps, run in the same interpreter', () => {
  let local: LocalPipeline;
  beforeAll(async () => {
    const { template, assemblyDir } = synth((stack) => {
      const express = (id: string, definition: sfn.IChainable) =>
        new sfn.StateMachine(stack, id, {
          stateMachineType: sfn.StateMachineType.EXPRESS,
          definitionBody: sfn.DefinitionBody.fromChainable(definition),
        });
      const lookup = inlineFunction(stack, 'Lookup', 'exports.handler = async (e) => ({ owner: "fleet-" + e.result.label })');
      const review = express('Review', new tasks.LambdaInvoke(stack, 'LookUpOwner', { lambdaFunction: lookup, payloadResponseOnly: true, resultPath: '$.owner' })
        .next(new sfn.Pass(stack, 'Shape', { parameters: { 'owner.$': '$.owner.owner', 'key.$': '$.result.key', 'step.$': '$.step' } })));
      const broken = express('Broken', new sfn.Fail(stack, 'NoCapacity', { error: 'NoCapacity', cause: 'review queue full' }));
      const chatty = express('Chatty', new sfn.Pass(stack, 'TooMuch', { result: sfn.Result.fromObject({ text: 'x'.repeat(9000) }) }));
      const notes = express('ErrorNotes', new sfn.Pass(stack, 'Note', { parameters: { 'noted.$': '$.result.error.name' } }));
      // Four steps with the default timeout and retries would take 132 s at worst: more than Express leaves them.
      const timeout = Duration.seconds(5);
      return [
        WorkflowStep.expressStateMachine(notes, { name: 'errorNotes', outcomes: [Outcome.ERROR], timeout }),
        WorkflowStep.expressStateMachine(review, { name: 'review', outcomes: [Outcome.FLAGGED, Outcome.ACCEPTED], timeout }),
        WorkflowStep.expressStateMachine(broken, { name: 'broken', outcomes: [Outcome.ACCEPTED], timeout }),
        WorkflowStep.expressStateMachine(chatty, { name: 'chatty', outcomes: [Outcome.LOW_CONFIDENCE], timeout }),
      ];
    }, { failOnLowConfidence: false });
    local = await LocalPipeline.start({
      template,
      assemblyDir,
      models: vehicles([[imageFor(1), SCORES.motorcycle], [imageFor(2), SCORES.bus], [imageFor(3), [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]]]),
    });
  });
  afterAll(async () => {
    // Every call of the suite ran through the enforcing gateway; none was one AWS would deny.
    const denials = local?.denials.map((d) => d.message) ?? [];
    await local?.close();
    expect(denials).toEqual([]);
  });

  test('its output is stored under result.steps, its own Lambda task run from the template', async () => {
    const run = await local.upload('cams/e1.jpg', imageFor(1));
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', steps: { review: { owner: 'fleet-motorcycle', key: 'cams/e1.jpg', step: 'review' } } } });
    expect(run.output.steps.errorNotes).toBeUndefined();
  });

  test('a failed execution fails the step with its error and cause', async () => {
    const run = await local.upload('cams/e2.jpg', imageFor(2));
    expect(run).toMatchObject({ status: 'FAILED', error: 'StepFailed' });
    expect(run.result.error).toEqual({ name: 'StepFailed', step: 'broken', cause: 'NoCapacity: review queue full' });
    expect(run.result.steps.review).toMatchObject({ owner: 'fleet-bus' });
    expect(run.alerts).toHaveLength(1);
  });

  test('an answer over the cap fails the step (StepOutputTooLarge) instead of growing the result', async () => {
    const run = await local.upload('cams/e3.jpg', imageFor(3));
    expect(run.result).toMatchObject({ outcome: 'ERROR', error: { name: 'StepFailed', step: 'chatty', cause: expect.stringMatching(/^StepOutputTooLarge: The answer takes 90\d\d characters of JSON; at most 8192/) } });
    expect(run.result.steps.chatty).toBeUndefined();
  });

  test('a step asked to run for ERROR runs for images that could not be classified', async () => {
    const run = await local.upload('cams/empty.jpg', Buffer.alloc(0));
    expect(run).toMatchObject({ status: 'FAILED', error: 'EmptyObject' });
    expect(run.result).toMatchObject({ outcome: 'ERROR', error: { name: 'EmptyObject' }, steps: { errorNotes: { noted: 'EmptyObject' } } });
    expect(run.auditRecords[0].record.steps).toEqual({ errorNotes: { noted: 'EmptyObject' } });
  });
});

test('an Express step whose execution fails is retried as a whole; the image goes on when a retry succeeds', async () => {
  const { template, assemblyDir } = synth((stack) => {
    // Fails on its environment's first invocation, answers afterwards (Lambda keeps an environment after a function error).
    const flaky = inlineFunction(stack, 'Flaky', 'let calls = 0; exports.handler = async () => { if (calls++ === 0) throw new Error("warming up"); return { ok: calls }; }');
    const machine = new sfn.StateMachine(stack, 'Second', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromChainable(new tasks.LambdaInvoke(stack, 'Ask', { lambdaFunction: flaky, payloadResponseOnly: true })),
    });
    return [WorkflowStep.expressStateMachine(machine, { name: 'second', retry: { maxAttempts: 1 } })];
  });
  const local = await LocalPipeline.start({ template, assemblyDir, models: vehicles([[imageFor(7), SCORES.motorcycle]]) });
  try {
    const run = await local.upload('cams/flaky.jpg', imageFor(7));
    // `ok: 2`: the second call of the function, in the retried execution (the first execution failed "warming up").
    expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', steps: { second: { ok: 2 } } } });
    expect(run.output.error).toBeUndefined();
  } finally {
    await local.close();
  }
});

test('a step for ERROR that fails keeps the image\'s own error and records the step\'s under result.stepErrors', async () => {
  const { template, assemblyDir } = synth((stack) => [
    WorkflowStep.lambda(inlineFunction(stack, 'Notify', 'exports.handler = async () => { throw new Error("pager down"); }'),
      { name: 'notify', outcomes: [Outcome.ERROR], retry: { maxAttempts: 0 } }),
  ]);
  const local = await LocalPipeline.start({ template, assemblyDir, models: vehicles([]) });
  try {
    const run = await local.upload('cams/empty.jpg', Buffer.alloc(0));
    expect(run).toMatchObject({ status: 'FAILED', error: 'EmptyObject' });
    expect(run.result).toMatchObject({
      outcome: 'ERROR',
      error: { name: 'EmptyObject' },
      stepErrors: { notify: { error: 'Error', cause: expect.stringContaining('pager down') } },
    });
    expect(run.alerts).toHaveLength(1);
    expect(run.auditRecords[0].record.stepErrors.notify.error).toBe('Error');
  } finally {
    await local.close();
  }
});

describe('steps with the other backends and modes', () => {
  test('Rekognition classifiers: the steps run after its Decide too', async () => {
    const { template, assemblyDir } = synth((stack) => [
      WorkflowStep.lambda(inlineFunction(stack, 'Note', 'exports.handler = async (e) => ({ seen: e.result.label })'), { name: 'note' }),
    ], { classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'] }), classLabels: undefined, flaggedLabels: ['Car'], confidenceThreshold: 0.8 });
    const local = await LocalPipeline.start({
      template, assemblyDir, models: {}, rekognition: { detectLabels: { labels: ['Car', 'Truck'], model: functionModel(() => [0.9, 0]) } },
    });
    try {
      const run = await local.upload('cams/car.jpg', images.jpeg);
      expect(run).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'FLAGGED', label: 'Car', steps: { note: { seen: 'Car' } } } });
    } finally {
      await local.close();
    }
  });

  test('bulk items run the same steps', async () => {
    const { template, assemblyDir } = synth((stack) => [
      WorkflowStep.lambda(assetFunction(stack, 'AssetRegister', 'enrich', 'index.handler', { SITE_NAME: 'hq' }), { name: 'assetRegister' }),
    ], { bulkMode: BulkMode.inline() });
    const local = await LocalPipeline.start({ template, assemblyDir, models: vehicles([[imageFor(1), SCORES.motorcycle]]) });
    try {
      const s3 = local.s3.client();
      await s3.send(new PutObjectCommand({ Bucket: local.bucketName, Key: 'cams/bulk-1.jpg', Body: imageFor(1) }));
      const run = await local.startBulkExecution({ images: [{ key: 'cams/bulk-1.jpg' }] });
      expect(run.status).toBe('SUCCEEDED');
      expect(run.auditRecords.map((a) => a.record)).toEqual([
        expect.objectContaining({ key: 'cams/bulk-1.jpg', outcome: 'FLAGGED', steps: { assetRegister: expect.objectContaining({ camera: 'bulk-1', site: 'hq' }) } }),
      ]);
    } finally {
      await local.close();
    }
  });

  test('a NodejsFunction bundled at synth runs from its bundle', async () => {
    const { template, assemblyDir } = synth((stack) => [
      WorkflowStep.lambda(new nodejs.NodejsFunction(stack, 'Bundled', {
        entry: path.join(FIXTURES, 'nodejs', 'enrich.ts'),
        runtime: node,
        depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
        bundling: { forceDockerBundling: false },
      })),
    ]);
    const local = await LocalPipeline.start({ template, assemblyDir, models: vehicles([]) });
    try {
      const run = await local.upload('cams/b.jpg', imageFor(9));
      expect(run.output.steps).toEqual({ Bundled: { bundled: true, label: 'bus', region: 'us-east-1' } });
    } finally {
      await local.close();
    }
  });
});

describe('steps the runner cannot run are refused, naming the step', () => {
  test.each([
    ['another runtime', (stack: Stack) => new lambda.Function(stack, 'PyStep', {
      runtime: lambda.Runtime.PYTHON_3_13, handler: 'index.handler', code: lambda.Code.fromInline('def handler(e, c): return {}'),
    }), /step PyStep \(state Step-PyStep\): function PyStep[0-9A-F]{8} runs python3\.13; the local runner runs Node\.js functions/],
    ['a container image', (stack: Stack) => new lambda.DockerImageFunction(stack, 'ImageStep', {
      code: lambda.DockerImageCode.fromEcr(ecr.Repository.fromRepositoryName(stack, 'Repo', 'steps')),
    }), /step ImageStep \(state Step-ImageStep\): function ImageStep[0-9A-F]{8} is a container image/],
  ])('%s', async (_what, make, message) => {
    const { template, assemblyDir } = synth((stack) => [WorkflowStep.lambda(make(stack), { timeout: Duration.seconds(5) })]);
    await expect(LocalPipeline.start({ template, assemblyDir, models: vehicles([]) })).rejects.toThrow(message);
  });

  test('an asset without the cloud assembly', async () => {
    const { template } = synth((stack) => [WorkflowStep.lambda(assetFunction(stack, 'Enrich', 'enrich'))]);
    await expect(LocalPipeline.start({ template, models: vehicles([]) })).rejects.toThrow(/step Enrich \(state Step-Enrich\): function Enrich[0-9A-F]{8}: its code is an asset: pass assemblyDir/);
  });
});
