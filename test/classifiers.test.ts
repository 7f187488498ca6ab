import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { pipelineStack } from './stacks';
import {
  BulkMode, Classifier, ClassifierEndpoint, ImageClassificationPipeline, ModelData, ModerationCategory, ResponseFormat, ScoreType,
} from '../src';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

const rekognition = (props: Parameters<typeof pipelineStack>[0] = {}, configure?: Parameters<typeof pipelineStack>[1]) =>
  pipelineStack({ classifier: Classifier.rekognitionLabels(), classLabels: undefined, flaggedLabels: undefined, ...props }, configure);

const statementsOf = (template: Template) => Object.values(template.findResources('AWS::IAM::Policy'))
  .flatMap((p: any) => p.Properties.PolicyDocument.Statement);

describe('Classifier.rekognitionLabels', () => {
  test('no classify Lambda: the state machine calls Rekognition with the S3 object and may read only the input objects', () => {
    const { template, pipeline, definition } = rekognition({ inputPrefix: 'cams/' });
    // No function classifies: only queued ingestion's dispatch function and CDK's deploy-time notifications handler.
    expect(Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => !id.startsWith('BucketNotificationsHandler')))
      .toEqual([expect.stringMatching(/^IcsIngestionDispatchFunction/)]);
    expect(pipeline.classifyFunction).toBeUndefined();
    expect(pipeline.functionLogGroup).toBeUndefined();
    expect(definition.States.Classify).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:rekognition:detectLabels',
      Parameters: { Image: { 'S3Object.$': '$.s3Object' }, MinConfidence: 50, MaxLabels: 10 },
      ResultPath: '$.rekognition',
    });
    expect(definition.States.Classify.Parameters.Settings).toBeUndefined();
    expect(definition.States.ReadRekognitionResult).toMatchObject({ Type: 'Pass', QueryLanguage: 'JSONata' });
    expect(aslValidator(definition).errorsText()).toBe('');

    const statements = statementsOf(template);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'rekognition:DetectLabels', Resource: '*' }));
    // The image read (the audit delivery stream's role also reads back under the audit prefix, as Firehose requires).
    const read = statements.find((s: any) => JSON.stringify(s.Action).includes('s3:GetObject"') && !JSON.stringify(s.Action).includes('s3:PutObject'));
    expect(JSON.stringify(read.Resource)).toContain('/cams/*');
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'] }));
  });

  test('labels become the label filter and the class labels; flagged labels are checked against them', () => {
    const { definition } = rekognition({
      classifier: Classifier.rekognitionLabels({ labels: ['Car', 'Truck'], minConfidence: 70, maxLabels: 3 }),
      flaggedLabels: ['Truck'],
    });
    expect(definition.States.Classify.Parameters).toMatchObject({
      MinConfidence: 70,
      MaxLabels: 3,
      Features: ['GENERAL_LABELS'],
      Settings: { GeneralLabels: { LabelInclusionFilters: ['Car', 'Truck'] } },
    });
    expect(() => rekognition({ classifier: Classifier.rekognitionLabels({ labels: ['Car'] }), flaggedLabels: ['Tank'] }))
      .toThrow(/flaggedLabels must be class labels; unknown: Tank/);
  });

  test('without tagging there is no tag read', () => {
    const { definition } = rekognition({ tagObjects: false });
    expect(definition.States.ReadObjectTags).toBeUndefined();
    // Queued ingestion (the default): a circuit breaker probe calls Rekognition once, the others with retries.
    expect(definition.States.PrepareRekognitionRequest.Next).toBe('IsProbe');
    expect(definition.States.IsProbe.Default).toBe('Classify');
    expect(definition.States.IsProbe.Choices[0].Next).toBe('ClassifyProbe');
    expect(definition.States.ClassifyProbe.Retry).toBeUndefined();
    expect(definition.States.Classify.Retry).toEqual([expect.objectContaining({ MaxAttempts: 2 })]);
  });

  test('works in every bulk mode', () => {
    for (const bulkMode of [BulkMode.inline(), BulkMode.distributed(), BulkMode.distributed({ itemBatchSize: 10 })]) {
      const { json } = rekognition({ bulkMode });
      const machines = Object.values(json.Resources).filter((r: any) => r.Type === 'AWS::StepFunctions::StateMachine');
      expect(machines).toHaveLength(2);
    }
  });

  test.each([
    [{ labels: [] }, /labels must not be empty/],
    [{ labels: ['Car', 'Car', ' '] }, /repeated: Car[\s\S]*empty strings|empty strings[\s\S]*repeated: Car/],
    [{ minConfidence: 101 }, /minConfidence must be between 0 and 100, got 101/],
    [{ maxLabels: 0 }, /maxLabels must be an integer from 1 to 1000, got 0/],
  ])('invalid options %j', (options, message) => {
    expect(() => rekognition({ classifier: Classifier.rekognitionLabels(options) })).toThrow(message);
  });
});

describe('Classifier.rekognitionModeration', () => {
  test('defaults: minConfidence from the threshold, every category flagged, Safe below it', () => {
    const { definition, template } = rekognition({ classifier: Classifier.rekognitionModeration(), confidenceThreshold: 0.9 });
    expect(definition.States.Classify).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:rekognition:detectModerationLabels',
      Parameters: { Image: { 'S3Object.$': '$.s3Object' }, MinConfidence: 10 },
    });
    expect(definition.States.Decide.Comment).toContain(`flagged labels: ${Object.values(ModerationCategory).join(', ')}`);
    expect(definition.States.ReadRekognitionResult.Output).toContain('"Safe"');
    expect(statementsOf(template)).toContainEqual(expect.objectContaining({ Action: 'rekognition:DetectModerationLabels', Resource: '*' }));
  });

  test('flaggedLabels narrows the categories', () => {
    const { definition } = rekognition({ classifier: Classifier.rekognitionModeration(), flaggedLabels: [ModerationCategory.EXPLICIT] });
    expect(definition.States.Decide.Comment).toContain('flagged labels: Explicit.');
  });

  test('a minConfidence that would make every clean image LOW_CONFIDENCE is refused', () => {
    expect(() => rekognition({ classifier: Classifier.rekognitionModeration({ minConfidence: 50 }), confidenceThreshold: 0.8 }))
      .toThrow(/minConfidence 50 records images without moderation labels as Safe with confidence 0.5, below the threshold 0.8: use at most 20/);
  });
});

describe('Classifier.fromEndpoint', () => {
  test('invokes the endpoint deployed with the pipeline, with the content type its container needs', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const endpoint = new ClassifierEndpoint(stack, 'Model', {
      modelData: ModelData.fromBucket(new s3.Bucket(stack, 'Artifacts'), 'vehicles/model.tar.gz'),
    });
    const pipeline = new ImageClassificationPipeline(stack, 'Ics', {
      classifier: Classifier.fromEndpoint(endpoint, { responseFormat: ResponseFormat.SAGEMAKER_IMAGE_CLASSIFICATION }),
      classLabels: ['car', 'bus'],
    });
    const template = Template.fromStack(stack);
    const env = template.findResources('AWS::Lambda::Function')[stack.getLogicalId(pipeline.classifyFunction!.node.defaultChild as any)].Properties.Environment.Variables;
    expect(env).toMatchObject({
      ICS_ENDPOINT_NAME: { 'Fn::GetAtt': [expect.stringMatching(/^ModelEndpoint/), 'EndpointName'] },
      ICS_CONTENT_TYPE: 'application/x-image',
      ICS_RESPONSE_FORMAT: 'SAGEMAKER_IMAGE_CLASSIFICATION',
    });
    expect(statementsOf(template)).toContainEqual(expect.objectContaining({
      Action: 'sagemaker:InvokeEndpoint',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ModelEndpoint/), 'EndpointArn'] },
    }));
  });

  test('an imported endpoint, content type overridable', () => {
    const { json } = pipelineStack({}, (stack) => ({
      classifier: Classifier.fromEndpoint(ClassifierEndpoint.fromEndpointName(stack, 'Imported', 'Vehicles-Prod'), { contentType: 'image/png' }),
    }));
    const fn: any = Object.values(json.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment);
    expect(fn.Properties.Environment.Variables).toMatchObject({ ICS_ENDPOINT_NAME: 'Vehicles-Prod', ICS_CONTENT_TYPE: 'image/png' });
  });
});

describe('scoreType', () => {
  const classifyEnv = (json: any) =>
    (Object.values(json.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.ICS_ENDPOINT_NAME) as any)
      .Properties.Environment.Variables;

  test('logits reach the classify function; probabilities, the default, set nothing', () => {
    const { json } = pipelineStack({
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'resnet', responseFormat: ResponseFormat.TENSORFLOW_SERVING, scoreType: ScoreType.LOGITS }),
    });
    expect(classifyEnv(json)).toMatchObject({ ICS_RESPONSE_FORMAT: 'TENSORFLOW_SERVING', ICS_SCORE_TYPE: 'LOGITS' });
    expect(classifyEnv(pipelineStack().json).ICS_SCORE_TYPE).toBeUndefined();
    expect(classifyEnv(pipelineStack({
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'v', scoreType: ScoreType.PROBABILITIES }),
    }).json).ICS_SCORE_TYPE).toBeUndefined();
  });

  test('fromEndpoint passes it too', () => {
    const { json } = pipelineStack({}, (stack) => ({
      classifier: Classifier.fromEndpoint(ClassifierEndpoint.fromEndpointName(stack, 'Imported', 'tagger'), { scoreType: ScoreType.MULTI_LABEL_LOGITS }),
    }));
    expect(classifyEnv(json).ICS_SCORE_TYPE).toBe('MULTI_LABEL_LOGITS');
  });

  test('logits with label-keyed scores are refused, in the one props error', () => {
    expect(() => pipelineStack({
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'hf', responseFormat: ResponseFormat.LABEL_SCORES, scoreType: ScoreType.LOGITS }),
      confidenceThreshold: 2,
    })).toThrow(/scoreType LOGITS needs a positional responseFormat, not LABEL_SCORES[\s\S]*confidenceThreshold must be between 0 and 1/);
    expect(() => pipelineStack({
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'hf', responseFormat: ResponseFormat.LABEL_SCORES }),
    })).not.toThrow();
  });
});

test('a SageMaker classifier needs classLabels', () => {
  expect(() => pipelineStack({ classLabels: undefined, flaggedLabels: undefined })).toThrow(/classLabels is required with a SageMaker classifier/);
});

test('Rekognition reading an imported bucket encrypted with its own key: the state machine may decrypt with it', () => {
  const { template } = rekognition({}, (stack) => ({
    bucket: s3.Bucket.fromBucketAttributes(stack, 'Images', { bucketName: 'images', encryptionKey: kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/abc') }),
  }));
  expect(statementsOf(template)).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: 'arn:aws:kms:eu-west-1:111111111111:key/abc' }));
});
