import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CfnTemplate, stateMachineDefinition } from '../local/src/template-resolver';
import {
  BankSecurityPipeline, BulkMode, Classifier, ImageClassificationPipeline, LogisticsDamagePipeline, ModerationCategory, Outcome,
  ProductTaggingPipeline, SchoolModerationPipeline,
} from '../src';

const endpoint = () => Classifier.sagemakerEndpoint({ endpointName: 'model' });

function synth<T extends ImageClassificationPipeline>(build: (stack: Stack) => T) {
  const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  const pipeline = build(stack);
  const template = Template.fromStack(stack);
  const json = template.toJSON() as CfnTemplate;
  const definition = stateMachineDefinition(json, stack.getLogicalId(pipeline.stateMachine.node.defaultChild as any));
  const env = pipeline.classifyFunction
    ? json.Resources[stack.getLogicalId(pipeline.classifyFunction.node.defaultChild as any)].Properties.Environment.Variables
    : undefined;
  return { stack, pipeline, template, json, definition, env };
}

const flaggedOf = (definition: any) => /flagged labels: (.*)\.$/.exec(definition.States.Decide.Comment)![1];
const emails = (template: Template) => Object.values(template.findResources('AWS::SNS::Subscription')).map((s: any) => s.Properties.Endpoint);

describe('BankSecurityPipeline', () => {
  test('defaults: SentryCam vehicles, three flagged, high threshold, security alerts, long audit retention', () => {
    const { env, definition, template, pipeline } = synth((s) => new BankSecurityPipeline(s, 'Bank', {
      classifier: endpoint(),
      securityEmails: ['soc@bank.example'],
    }));
    expect(JSON.parse(env.ICS_CLASS_LABELS)).toEqual(['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor']);
    expect(flaggedOf(definition)).toBe('motorcycle, pickup_truck, tank');
    expect(env.ICS_CONFIDENCE_THRESHOLD).toBe('0.94');
    expect(pipeline.alertTopics).toHaveLength(1);
    expect(emails(template)).toEqual(['soc@bank.example']);
    expect(Object.keys(definition.States)).toEqual(expect.arrayContaining(['AlertFlagged1', 'AlertLowConfidence1', 'AlertError1', 'TagObject']));
    const audit = template.findResources('AWS::S3::Bucket', { Properties: { LifecycleConfiguration: { Rules: [{ ExpirationInDays: 2557, Status: 'Enabled' }] } } });
    expect(Object.keys(audit)).toHaveLength(1);
  });

  test('every default can be overridden', () => {
    const { env, definition, pipeline } = synth((s) => new BankSecurityPipeline(s, 'Bank', {
      classifier: endpoint(),
      classLabels: ['car', 'van'],
      flaggedLabels: ['van'],
      confidenceThreshold: 0.5,
      alertTopics: [new sns.Topic(s, 'Soc')],
      auditTrail: { enabled: false },
      tagObjects: false,
    }));
    expect(JSON.parse(env.ICS_CLASS_LABELS)).toEqual(['car', 'van']);
    expect(flaggedOf(definition)).toBe('van');
    expect(env.ICS_CONFIDENCE_THRESHOLD).toBe('0.5');
    expect(pipeline.auditBucket).toBeUndefined();
    expect(definition.States.TagObject).toBeUndefined();
  });
});

describe('SchoolModerationPipeline', () => {
  test('defaults: Rekognition moderation, no Lambda, FLAGGED and LOW_CONFIDENCE quarantined, admins alerted', () => {
    const { definition, template, pipeline } = synth((s) => new SchoolModerationPipeline(s, 'School', { adminEmails: ['it@school.example'] }));
    expect(pipeline.classifyFunction).toBeUndefined();
    // No function classifies: only queued ingestion's dispatch function and CDK's deploy-time notifications handler.
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => !id.startsWith('BucketNotificationsHandler')))
      .toEqual([expect.stringMatching(/^SchoolIngestionDispatchFunction/)]);
    expect(definition.States.Classify.Resource).toBe('arn:aws:states:::aws-sdk:rekognition:detectModerationLabels');
    expect(flaggedOf(definition)).toBe(Object.values(ModerationCategory).join(', '));
    expect(definition.States.ShouldQuarantine.Choices[0].Or.map((c: any) => c.StringEquals)).toEqual(['FLAGGED', 'LOW_CONFIDENCE']);
    expect(definition.States.LowConfidenceFailed).toBeUndefined();
    expect(emails(template)).toEqual(['it@school.example']);
    expect(JSON.stringify(template.findResources('AWS::Events::Rule'))).toContain('uploads/');
  });

  test('every default can be overridden', () => {
    const { definition, env } = synth((s) => new SchoolModerationPipeline(s, 'School', {
      classifier: endpoint(),
      classLabels: ['ok', 'nsfw'],
      flaggedLabels: ['nsfw'],
      inputPrefix: 'in/',
      quarantine: { outcomes: [Outcome.FLAGGED], prefix: 'hold/' },
      failOnLowConfidence: true,
      tagObjects: false,
    }));
    expect(env.ICS_QUARANTINE_PREFIX).toBe('hold/');
    expect(flaggedOf(definition)).toBe('nsfw');
    expect(definition.States.ShouldQuarantine.Choices[0].StringEquals).toBe('FLAGGED');
    expect(definition.States.LowConfidenceFailed).toBeDefined();
  });
});

describe('LogisticsDamagePipeline', () => {
  test('defaults: damaged flagged, operations alerted, objects tagged, distributed bulk mode', () => {
    const { env, definition, pipeline, template } = synth((s) => new LogisticsDamagePipeline(s, 'Depot', {
      classifier: endpoint(),
      operationsEmails: ['ops@depot.example'],
    }));
    expect(JSON.parse(env.ICS_CLASS_LABELS)).toEqual(['damaged', 'intact']);
    expect(flaggedOf(definition)).toBe('damaged');
    expect(env.ICS_CONFIDENCE_THRESHOLD).toBe('0.85');
    expect(definition.States.TagObject).toBeDefined();
    expect(pipeline.bulkStateMachine).toBeDefined();
    expect(JSON.stringify(template.toJSON())).toContain('DISTRIBUTED');
    expect(emails(template)).toEqual(['ops@depot.example']);
  });

  test('every default can be overridden', () => {
    const { env, definition, pipeline } = synth((s) => new LogisticsDamagePipeline(s, 'Depot', {
      classifier: endpoint(),
      classLabels: ['crushed', 'wet', 'ok'],
      flaggedLabels: ['crushed', 'wet'],
      confidenceThreshold: 0.6,
      bulkMode: BulkMode.none(),
      tagObjects: false,
    }));
    expect(JSON.parse(env.ICS_CLASS_LABELS)).toEqual(['crushed', 'wet', 'ok']);
    expect(flaggedOf(definition)).toBe('crushed, wet');
    expect(pipeline.bulkStateMachine).toBeUndefined();
    expect(definition.States.TagObject).toBeUndefined();
  });
});

describe('ProductTaggingPipeline', () => {
  test('defaults: Rekognition over the categories, tags, LOW_CONFIDENCE to review without failing, no alert on ACCEPTED', () => {
    const { definition } = synth((s) => new ProductTaggingPipeline(s, 'Shop', { categories: ['Shoe', 'Handbag'] }));
    expect(definition.States.Classify.Parameters.Settings.GeneralLabels.LabelInclusionFilters).toEqual(['Shoe', 'Handbag']);
    expect(definition.States.ReadRekognitionResult.Output).toContain('0.7');
    expect(definition.States.ShouldQuarantine.Choices[0].StringEquals).toBe('LOW_CONFIDENCE');
    expect(definition.States.ReadRekognitionResult.Output).toContain('"review/"');
    expect(definition.States.LowConfidenceFailed).toBeUndefined();
    expect(definition.States.AlertAccepted1).toBeUndefined();
    expect(definition.States.TagObject).toBeDefined();
  });

  test('every default can be overridden, including the classifier (categories then name its outputs)', () => {
    const { env, definition } = synth((s) => new ProductTaggingPipeline(s, 'Shop', {
      classifier: endpoint(),
      categories: ['shoe', 'bag'],
      confidenceThreshold: 0.9,
      inputPrefix: 'catalogue/',
      quarantine: { outcomes: [Outcome.LOW_CONFIDENCE, Outcome.FLAGGED], prefix: 'hold/' },
      failOnLowConfidence: true,
    }));
    expect(JSON.parse(env.ICS_CLASS_LABELS)).toEqual(['shoe', 'bag']);
    expect(env.ICS_CONFIDENCE_THRESHOLD).toBe('0.9');
    expect(env.ICS_QUARANTINE_PREFIX).toBe('hold/');
    expect(definition.States.LowConfidenceFailed).toBeDefined();
  });
});

test('presets expose the pipeline\'s fields and validate like it', () => {
  const { pipeline } = synth((s) => new BankSecurityPipeline(s, 'Bank', { classifier: endpoint() }));
  expect(pipeline).toBeInstanceOf(ImageClassificationPipeline);
  expect(pipeline.stateMachine).toBeDefined();
  expect(pipeline.bucket).toBeDefined();
  expect(() => synth((s) => new BankSecurityPipeline(s, 'Bank', { classifier: endpoint(), flaggedLabels: ['ufo'], confidenceThreshold: 2 })))
    .toThrow(/flaggedLabels must be class labels; unknown: ufo[\s\S]*confidenceThreshold must be between 0 and 1/);
});
