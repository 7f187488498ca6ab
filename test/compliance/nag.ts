import { App, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import {
  BankSecurityPipeline, BulkMode, Classifier, ClassifierEndpoint, EndpointHosting, ImageClassificationPipeline, ImageClassificationPipelineProps,
  Ingestion, LogisticsDamagePipeline, ModelData, Outcome, ProductTaggingPipeline, SchoolModerationPipeline, WorkflowStep,
} from '../../src';
import { icsProps } from '../stacks';

/** The five rule packs the pipeline must pass. */
export const packs = (): NagPack[] => [
  new AwsSolutionsChecks(), new ServerlessChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks(),
];

/** One unacknowledged cdk-nag finding. */
export interface NagFinding {
  readonly severity: string;
  readonly rule: string;
  readonly path: string;
  readonly message: string;
}

/** Builds what a configuration puts in the stack. */
export type Build = (stack: Stack) => void;

/** A pipeline with the reference props plus `configure`'s (those that need the stack: topics, keys, buckets). */
const pipeline = (configure: (stack: Stack) => Partial<ImageClassificationPipelineProps>): Build => (stack) => {
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), ...configure(stack) });
};

/** An app with one stack holding what `build` creates (by default, a pipeline with the reference props). */
export function pipelineApp(build: Build = pipeline(() => ({}))) {
  const app = new App();
  const stack = new Stack(app, 'NagStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  return { app, stack };
}

/**
 * Synthesizes the app once (aspects run, so the pipeline's acknowledgements are in place), then runs every
 * pack over the finished construct tree and returns what is left unacknowledged.
 */
export function unacknowledgedFindings(app: App): NagFinding[] {
  app.synth();
  return packs().flatMap((pack) => pack.validateScope(app).violations.flatMap((v) => v.violatingResources.map((r) => ({
    severity: v.severity ?? 'error',
    rule: v.ruleName,
    path: r.constructPath ?? '?',
    message: v.description,
  }))));
}

/** A topic the way a compliant consumer would bring it (the packs check the consumer's resources too). */
const topic = (stack: Stack, id: string) =>
  new sns.Topic(stack, id, { masterKey: new kms.Key(stack, `${id}Key`, { enableKeyRotation: true }), enforceSSL: true });

/** Every configuration a platform team may embed; each is synthesized once and checked by all five packs. */
export const CONFIGURATIONS: Array<[string, Build]> = [
  ['defaults', pipeline(() => ({}))],
  ['direct ingestion', pipeline(() => ({ ingestion: Ingestion.direct() }))],
  ['queued ingestion with every option', pipeline(() => ({
    ingestion: Ingestion.queued({
      maxConcurrency: 4, batchSize: 5, maxBatchingWindow: Duration.seconds(20), maxReceiveCount: 10, idempotencyWindow: Duration.hours(2),
    }),
  }))],
  ['STANDARD workflow (direct ingestion)', pipeline(() => ({ workflowType: sfn.StateMachineType.STANDARD }))],
  ['alerts, tagging, quarantine, audit trail and result events', pipeline((stack) => ({
    alerts: [{ topic: topic(stack, 'Security'), outcomes: [Outcome.FLAGGED] }, { topic: topic(stack, 'Ops'), outcomes: [Outcome.ERROR] }],
    tagObjects: true,
    inputPrefix: 'in/',
    quarantine: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
    auditTrail: { retention: Duration.days(7 * 365), prefix: 'audit/' },
    resultEvents: { eventBus: new events.EventBus(stack, 'Results') },
  }))],
  ['bulk mode inline', pipeline(() => ({ bulkMode: BulkMode.inline({ alertPerItem: true }) }))],
  ['human review with the console, quarantine and uploads', pipeline(() => ({
    inputPrefix: 'in/',
    quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
    review: { outcomes: [Outcome.LOW_CONFIDENCE, Outcome.FLAGGED] },
    console: {},
  }))],
  ['human review without a console (direct ingestion)', pipeline(() => ({ ingestion: Ingestion.direct(), review: {} }))],
  // The steps' own functions and machines are imported: the packs would judge a consumer's resources, not the pipeline's grants.
  ['your own steps: a Lambda, an override, an Express state machine, in bulk mode too', pipeline((stack) => ({
    bulkMode: BulkMode.inline(),
    steps: [
      WorkflowStep.lambda(lambda.Function.fromFunctionArn(stack, 'Enrich', `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:enrich`)),
      WorkflowStep.override(WorkflowStep.lambda(lambda.Function.fromFunctionArn(stack, 'Confirm', `arn:${stack.partition}:lambda:${stack.region}:${stack.account}:function:confirm:live`), { outcomes: [Outcome.FLAGGED] })),
      WorkflowStep.expressStateMachine(sfn.StateMachine.fromStateMachineName(stack, 'Review', 'review'), { outcomes: [Outcome.ERROR] }),
    ],
  }))],
  ['bulk mode distributed with item batches', pipeline(() => ({ bulkMode: BulkMode.distributed({ itemBatchSize: 25 }) }))],
  ['customer managed key', pipeline((stack) => ({ encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }), bulkMode: BulkMode.inline() }))],
  ['monitoring with an alarm topic', pipeline((stack) => ({ monitoring: { alarmTopic: topic(stack, 'Oncall') } }))],
  ['existing bucket', pipeline((stack) => ({ bucket: s3.Bucket.fromBucketName(stack, 'Images', 'existing-images'), inputPrefix: 'uploads/' }))],
  ['Rekognition moderation', pipeline(() => ({ classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined }))],
  ['Rekognition labels in distributed bulk mode', pipeline(() => ({
    classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'] }), classLabels: undefined, flaggedLabels: ['Truck'], bulkMode: BulkMode.distributed(),
  }))],
  ['a serverless ClassifierEndpoint', (stack) => {
    const endpoint = new ClassifierEndpoint(stack, 'Model', { modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifacts'), 'model.tar.gz') });
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), classifier: Classifier.fromEndpoint(endpoint) });
  }],
  ['an instance ClassifierEndpoint with autoscaling and data capture', (stack) => {
    const encryptionKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const endpoint = new ClassifierEndpoint(stack, 'Model', {
      modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'artifacts'), 'model.tar.gz'),
      hosting: EndpointHosting.instances({ instanceType: 'ml.m5.large', autoScaling: { minCapacity: 1, maxCapacity: 2, targetInvocationsPerInstance: 100 } }),
      dataCapture: { samplingPercentage: 10 },
      encryptionKey,
    });
    new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), classifier: Classifier.fromEndpoint(endpoint), encryptionKey });
  }],
  ['BankSecurityPipeline', (stack) => {
    new BankSecurityPipeline(stack, 'Bank', { classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }), securityEmails: ['soc@bank.example'] });
  }],
  ['SchoolModerationPipeline', (stack) => { new SchoolModerationPipeline(stack, 'School', { adminEmails: ['it@school.example'] }); }],
  ['LogisticsDamagePipeline', (stack) => {
    new LogisticsDamagePipeline(stack, 'Depot', { classifier: Classifier.sagemakerEndpoint({ endpointName: 'damage' }) });
  }],
  ['ProductTaggingPipeline', (stack) => { new ProductTaggingPipeline(stack, 'Shop', { categories: ['Shoe'] }); }],
];
