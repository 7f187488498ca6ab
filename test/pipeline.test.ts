import { CfnParameter, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { icsProps, pipelineStack, VEHICLE_LABELS } from './stacks';
import { Classifier, ImageClassificationPipeline, Ingestion, ResponseFormat } from '../src';

const resourcesOf = (json: any, type: string) =>
  Object.values<any>(json.Resources).filter((r) => r.Type === type);
const policyStatements = (json: any, rolePrefix: string) =>
  Object.entries<any>(json.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref?.startsWith(rolePrefix)))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);

describe('defaults', () => {
  const { template, json, definition, pipeline } = pipelineStack();

  test('creates a secure, versioned bucket that sends events to EventBridge', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ BucketKeyEnabled: true, ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('creates one encrypted, TLS-only alert topic', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = resourcesOf(json, 'AWS::SNS::Topic')[0];
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^IcsEncryptionKey/), 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    expect(pipeline.alertTopics).toHaveLength(1);
  });

  test('classify function: nodejs24.x on arm64, traced, configured from props, JSON logs with retention', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 30,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          ICS_ENDPOINT_NAME: 'vehicles',
          ICS_CLASS_LABELS: JSON.stringify(VEHICLE_LABELS),
          ICS_CONFIDENCE_THRESHOLD: '0.94',
          ICS_MAX_IMAGE_BYTES: String(6 * 1024 * 1024),
          ICS_RESPONSE_FORMAT: 'AUTO',
          ICS_TOP_K: '5',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('Express state machine logging failures with their data, and tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: true },
    });
    expect(definition.TimeoutSeconds).toBe(300);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  test('upload rule matches Object Created in the bucket for image suffixes, case-insensitively', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': {
          bucket: { name: [{ Ref: Match.stringLikeRegexp('IcsBucket') }] },
          object: { key: ['.jpg', '.jpeg', '.png', '.gif', '.webp', '.bmp', '.tif', '.tiff'].map((s) => ({ suffix: { 'equals-ignore-case': s } })) },
        },
      },
    });
  });

  test('direct ingestion: the rule target passes bucket, key and the object, retries and dead-letters to an encrypted queue', () => {
    pipelineStack({ ingestion: Ingestion.direct() }).template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('IcsDeadLetterQueue'), 'Arn'] } },
        InputTransformer: {
          InputPathsMap: { 'detail-bucket-name': '$.detail.bucket.name', 'detail-object-key': '$.detail.object.key', 'detail-object': '$.detail.object' },
          InputTemplate: '{"bucket":<detail-bucket-name>,"key":<detail-object-key>,"object":<detail-object>}',
        },
      })],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue(), MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('least privilege: the function reads the bucket and invokes only its endpoint, ARNs built with the partition', () => {
    const statements = policyStatements(json, 'IcsClassifyFunctionServiceRole');
    const invoke = statements.find((s: any) => s.Action === 'sagemaker:InvokeEndpoint');
    expect(invoke.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:eu-west-1:111111111111:endpoint/vehicles']],
    });
    const read = statements.find((s: any) => [].concat(s.Action).includes('s3:GetObject'));
    expect(read.Action).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']);
    expect(read.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^IcsBucket/), 'Arn'] }, '/*']] });
    expect(statements.flatMap((s: any) => [].concat(s.Action))).not.toContain('s3:PutObject');
  });

  test('the state machine publishes only to its topic and invokes only its function', () => {
    const statements = policyStatements(json, 'IcsStateMachineRole');
    const publish = statements.find((s: any) => s.Action === 'sns:Publish');
    expect(publish.Resource).toEqual({ Ref: expect.stringMatching(/^IcsAlertTopic/) });
    const invoke = statements.find((s: any) => s.Action === 'lambda:InvokeFunction');
    expect(JSON.stringify(invoke.Resource)).toMatch(/IcsClassifyFunction/);
    for (const s of statements) {
      if (s.Resource === '*') expect([].concat(s.Action).every((a: string) => a.startsWith('xray:') || a.startsWith('logs:'))).toBe(true);
    }
  });

  test('no literal partition in any ARN', () => {
    expect(JSON.stringify(json)).not.toMatch(/arn:aws[a-z-]*:/);
  });

  test('alerts carry outcome and label attributes, the result as JSON and a readable subject', () => {
    expect(definition.States.AlertFlagged1.Parameters).toEqual({
      'TopicArn': expect.stringContaining(':sns:'),
      // Per protocol: default (queues, functions, HTTP) the result JSON, email and SMS a text (PackAlert builds it).
      'Message.$': 'States.JsonToString($.alert.message)',
      'MessageStructure': 'json',
      'Subject.$': '$.alert.subject',
      'MessageAttributes': {
        outcome: { 'DataType': 'String', 'StringValue.$': '$.result.outcome' },
        label: { 'DataType': 'String', 'StringValue.$': '$.result.label' },
      },
    });
    expect(definition.States.AlertError1.Parameters.MessageAttributes).toEqual({
      outcome: { 'DataType': 'String', 'StringValue.$': '$.result.outcome' },
      error: { 'DataType': 'String', 'StringValue.$': '$.result.error.name' },
    });
  });

  test('Classify retries transient errors with backoff and catches everything into an ERROR result', () => {
    const classify = definition.States.Classify;
    expect(classify.Retry).toEqual(expect.arrayContaining([
      expect.objectContaining({ ErrorEquals: expect.arrayContaining(['ModelNotReady', 'EndpointThrottled', 'EndpointUnavailable', 'S3Unavailable']), BackoffRate: 2, JitterStrategy: 'FULL' }),
    ]));
    // Queued ingestion (the default) first asks whether a transient failure may wait in the queue.
    expect(classify.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ShouldDefer' }]);
    expect(definition.States.ShouldDefer.Default).toBe('ClassificationFailed');
    expect(definition.States.Failed).toEqual(expect.objectContaining({ Type: 'Fail', ErrorPath: '$.result.error.name' }));
    expect(definition.States.LowConfidenceFailed).toEqual(expect.objectContaining({ Type: 'Fail', Error: 'LowConfidence' }));
  });

  test('no image bytes in state: Classify passes only the input, the execution ARN and who writes the metrics', () => {
    expect(definition.States.Classify.Parameters).toEqual({ 'input.$': '$', 'executionArn.$': '$$.Execution.Id', 'classifiedMetrics': false });
  });

  test('snapshot', () => {
    expect(json).toMatchSnapshot();
  });
});

describe('prop branches', () => {
  test('bring your own bucket: no bucket created, EventBridge turned on, reads scoped to the prefix', () => {
    const { template, json } = pipelineStack({ inputPrefix: 'uploads/', auditTrail: { enabled: false } }, (stack) => ({
      bucket: s3.Bucket.fromBucketName(stack, 'Existing', 'existing-images'),
    }));
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'existing-images',
      NotificationConfiguration: { EventBridgeConfiguration: {} },
      Managed: false,
    });
    const read = policyStatements(json, 'IcsClassifyFunctionServiceRole').find((s: any) => [].concat(s.Action).includes('s3:GetObject'));
    expect(JSON.stringify(read.Resource)).toContain('existing-images/uploads/*');
  });

  test('bring your own bucket without touching its notifications', () => {
    const { template } = pipelineStack({ enableEventBridgeNotification: false }, (stack) => ({
      bucket: s3.Bucket.fromBucketName(stack, 'Existing', 'existing-images'),
    }));
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  test('inputPrefix: wildcard matchers in both cases', () => {
    const { template } = pipelineStack({ inputPrefix: 'cams/*raw/', inputSuffixes: ['.jpg'] });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { object: { key: [{ wildcard: 'cams/\\*raw/*.jpg' }, { wildcard: 'cams/\\*raw/*.JPG' }] } } },
    });
  });

  test('no suffixes: prefix only, or every key', () => {
    pipelineStack({ inputPrefix: 'in/', inputSuffixes: [] }).template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { object: { key: [{ prefix: 'in/' }] } } },
    });
    const { json } = pipelineStack({ inputSuffixes: [] });
    const rule = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::Events::Rule');
    expect(rule.Properties.EventPattern.detail.object).toBeUndefined();
  });

  test('alert topics you bring replace the created one, each gets a publish state', () => {
    const { template, definition, pipeline } = pipelineStack({}, (stack) => ({
      alertTopics: [new sns.Topic(stack, 'Security'), sns.Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:111111111111:ops')],
    }));
    template.resourceCountIs('AWS::SNS::Topic', 1); // only the test's own
    expect(pipeline.alertTopics).toHaveLength(2);
    expect(definition.States.AlertFlagged1.Next).toBe('AlertFlagged2');
    expect(definition.States.AlertFlagged2.Parameters.TopicArn).toBe('arn:aws:sns:eu-west-1:111111111111:ops');
    expect(definition.States.AlertError2.Next).toBe('WriteAuditRecord');
  });

  test('no alert topics: no publish states, outcomes go straight to Finish', () => {
    const { template, definition } = pipelineStack({ alertTopics: [] });
    template.resourceCountIs('AWS::SNS::Topic', 0);
    expect(Object.keys(definition.States).filter((s) => s.startsWith('Alert'))).toEqual([]);
    expect(definition.States.ClassificationFailed.Next).toBe('WriteAuditRecord');
  });

  test('failOnLowConfidence false: LOW_CONFIDENCE succeeds', () => {
    const { definition } = pipelineStack({ failOnLowConfidence: false });
    expect(definition.States.LowConfidenceFailed).toBeUndefined();
    expect(definition.States.Finish.Choices).toHaveLength(2); // alert failed, ERROR
  });

  test('no flagged labels: Decide has only the threshold rule', () => {
    const { definition } = pipelineStack({ flaggedLabels: [] });
    expect(definition.States.Decide.Choices).toEqual([{ Variable: '$.result.confidence', NumericLessThan: 0.94, Next: 'LowConfidence' }]);
    expect(definition.States.Flagged).toBeUndefined();
  });

  test('flagged labels become one Or rule; a single one a plain comparison', () => {
    expect(pipelineStack().definition.States.Decide.Choices[1].Or).toHaveLength(3);
    expect(pipelineStack({ flaggedLabels: ['tank'] }).definition.States.Decide.Choices[1])
      .toEqual({ Variable: '$.result.label', StringEquals: 'tank', Next: 'Flagged' });
  });

  test('STANDARD workflow gets a one-hour timeout and allows slow handlers', () => {
    const { template, definition } = pipelineStack({ workflowType: sfn.StateMachineType.STANDARD, handlerTimeout: Duration.minutes(2) });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD' });
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 120 });
    expect(definition.TimeoutSeconds).toBe(3600);
  });

  test('function sizing, retention, image cap and topK', () => {
    const { template } = pipelineStack({
      handlerMemorySize: 1024,
      handlerTimeout: Duration.seconds(20),
      logRetention: logs.RetentionDays.ONE_MONTH,
      maxImageSize: Size.mebibytes(4),
      topK: 2,
      confidenceThreshold: 0.5,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 20,
      Environment: { Variables: Match.objectLike({ ICS_MAX_IMAGE_BYTES: String(4 * 1024 * 1024), ICS_TOP_K: '2', ICS_CONFIDENCE_THRESHOLD: '0.5' }) },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('classifier options: content type, variant, response format', () => {
    const { template } = pipelineStack({
      classifier: Classifier.sagemakerEndpoint({
        endpointName: 'Vehicles-Prod', contentType: 'application/x-image', variantName: 'blue', responseFormat: ResponseFormat.PROBABILITY_ARRAY,
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ICS_ENDPOINT_NAME: 'Vehicles-Prod', ICS_CONTENT_TYPE: 'application/x-image', ICS_TARGET_VARIANT: 'blue', ICS_RESPONSE_FORMAT: 'PROBABILITY_ARRAY' }) },
    });
  });

  test('endpoint names are lower-cased in the IAM ARN, as SageMaker writes them', () => {
    const { json } = pipelineStack({ classifier: Classifier.sagemakerEndpoint({ endpointName: 'Vehicles-Prod' }) });
    const invoke = policyStatements(json, 'IcsClassifyFunctionServiceRole').find((s: any) => s.Action === 'sagemaker:InvokeEndpoint');
    expect(JSON.stringify(invoke.Resource)).toContain('endpoint/vehicles-prod');
  });

  test('an endpoint ARN in another region sets the client region and scopes IAM to that ARN', () => {
    const arn = 'arn:aws:sagemaker:us-west-2:222222222222:endpoint/vehicles';
    const { template, json } = pipelineStack({ classifier: Classifier.sagemakerEndpoint({ endpointArn: arn }) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ICS_ENDPOINT_NAME: 'vehicles', ICS_ENDPOINT_REGION: 'us-west-2' }) },
    });
    const invoke = policyStatements(json, 'IcsClassifyFunctionServiceRole').find((s: any) => s.Action === 'sagemaker:InvokeEndpoint');
    expect(invoke.Resource).toBe(arn);
  });

  test('grantStartExecution', () => {
    const stack = new Stack();
    const pipeline = new ImageClassificationPipeline(stack, 'Ics', icsProps());
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    pipeline.grantStartExecution(role);
    const statements = Object.values<any>(Template.fromStack(stack).toJSON().Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles[0].Ref.startsWith('Caller'))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: expect.stringMatching(/^IcsStateMachine/) } })]);
  });
});

describe('validation', () => {
  const build = (props: Partial<ReturnType<typeof icsProps>>) => () => pipelineStack(props);

  test('every problem in one error', () => {
    expect(build({
      classLabels: ['a', 'a', ''],
      flaggedLabels: ['zebra'],
      confidenceThreshold: 1.5,
      inputPrefix: '/uploads',
      handlerMemorySize: 64,
      topK: 0,
      maxImageSize: Size.mebibytes(10),
      classifier: Classifier.sagemakerEndpoint({}),
    })).toThrow(new RegExp([
      'Invalid ImageClassificationPipeline props at TestStack/Ics:',
      'give exactly one of endpointName and endpointArn',
      'classLabels must not contain empty labels',
      'classLabels must be unique; repeated: a',
      'flaggedLabels must be class labels; unknown: zebra',
      'confidenceThreshold must be between 0 and 1, got 1.5',
      'inputPrefix must not start with "/"',
      'handlerMemorySize must be an integer between 128 and 10240 MB, got 64',
      'maxImageSize must be more than 0 and at most 6 MiB',
      'topK must be a positive integer, got 0',
    ].join('[\\s\\S]*')));
  });

  test.each([
    [{ classLabels: [] }, /classLabels must list at least one label/],
    [{ confidenceThreshold: -0.1 }, /confidenceThreshold must be between 0 and 1/],
    [{ handlerTimeout: Duration.seconds(60) }, /at most 30 seconds with an EXPRESS workflow/],
    [{ handlerTimeout: Duration.minutes(20), workflowType: sfn.StateMachineType.STANDARD }, /between 1 second and 15 minutes/],
    [{ inputSuffixes: ['*.jpg'] }, /inputSuffixes entries must be non-empty and contain no "\*"/],
    [{ inputPrefix: 'a\nb' }, /inputPrefix must not contain control characters/],
    [{ classLabels: Array.from({ length: 400 }, (_, i) => `label-${i}`), flaggedLabels: [] }, /classLabels are too long/],
    [{ classifier: Classifier.sagemakerEndpoint({ endpointName: 'bad name!' }) }, /not a valid SageMaker endpoint name/],
    [{ classifier: Classifier.sagemakerEndpoint({ endpointArn: 'arn:aws:s3:::bucket' }) }, /is not a SageMaker endpoint ARN/],
    [{ classifier: Classifier.sagemakerEndpoint({ endpointName: 'a', endpointArn: 'arn:aws:sagemaker:us-east-1:1:endpoint/a' }) }, /exactly one of endpointName and endpointArn/],
    [{ classifier: Classifier.sagemakerEndpoint({ endpointName: 'a', contentType: 'jpeg' }) }, /contentType "jpeg" is not a MIME type/],
  ])('%o', (props, message) => {
    expect(build(props as any)).toThrow(message);
  });

  test('unresolved tokens are not checked at synth', () => {
    const { template } = pipelineStack({}, (stack: Stack) => ({
      classifier: Classifier.sagemakerEndpoint({ endpointName: new CfnParameter(stack, 'EndpointNameParam').valueAsString }),
      confidenceThreshold: new CfnParameter(stack, 'ThresholdParam', { type: 'Number' }).valueAsNumber,
      inputPrefix: new CfnParameter(stack, 'PrefixParam').valueAsString,
      classLabels: ['a', new CfnParameter(stack, 'LabelParam').valueAsString],
      flaggedLabels: [],
    }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ICS_ENDPOINT_NAME: { Ref: 'EndpointNameParam' } }) },
    });
  });
});
