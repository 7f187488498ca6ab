import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Classifier, ClassifierEndpoint, EndpointHosting, Ingestion, ModelData } from '../src';
import { icsProps, pipelineStack } from './stacks';
import { DispatchEnv } from '../src/handlers/dispatch';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

const modelData = (stack: Stack) => ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'Artifacts', 'ics-artifacts'), 'model.tar.gz');
const resources = (json: any, type: string) => Object.entries<any>(json.Resources).filter(([, r]) => r.Type === type);

describe('queued ingestion (the default)', () => {
  const { template, json, definition, pipeline } = pipelineStack();

  test('the upload rule sends the whole S3 event to the ingest queue, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [{
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsIngestionQueue'), 'Arn'] },
        Id: 'Target0',
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsDeadLetterQueue'), 'Arn'] } },
      }],
    });
    expect(JSON.stringify(resources(json, 'AWS::Events::Rule')[0][1].Properties.Targets[0])).not.toContain('InputTransformer');
  });

  test('ingest queue: the pipeline key, TLS only, redrive after 20 receives, visibility six times the dispatch timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsEncryptionKey'), 'Arn'] },
      VisibilityTimeout: 5400,
      MessageRetentionPeriod: 345600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsIngestionDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 20 },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('^IcsIngestionQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          // Only the upload rule may send (aws-cdk-lib omits the condition for encrypted queues).
          Match.objectLike({
            Effect: 'Deny',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnNotEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsUploadRule'), 'Arn'] } } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsEncryptionKey'), 'Arn'] },
      MessageRetentionPeriod: 1209600,
    });
  });

  test('event source mapping: batches of 10, MaximumConcurrency from the classifier (10 for an endpoint you bring), partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsIngestionQueue'), 'Arn'] },
    });
    expect(pipeline.maxConcurrency).toBe(10);
  });

  test('dispatch function: nodejs24.x on arm64, bundled, told the state machine, queue, receive limit and window', () => {
    const [, fn] = resources(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('IcsIngestionDispatchFunction'))!;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 900, MemorySize: 128, TracingConfig: { Mode: 'Active' } });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [DispatchEnv.STATE_MACHINE_ARN]: { Ref: expect.stringMatching(/^IcsStateMachine/) },
      [DispatchEnv.MAX_RECEIVE_COUNT]: '20',
      [DispatchEnv.IDEMPOTENCY_WINDOW_SECONDS]: '86400',
      [DispatchEnv.EXECUTION_TIMEOUT_SECONDS]: '300',
    });
    expect(Object.keys(fn.Properties.Environment.Variables)).toEqual(expect.arrayContaining([DispatchEnv.QUEUE_URL, DispatchEnv.IDEMPOTENCY_TABLE]));
    expect(fn.Properties.KmsKeyArn).toBeDefined();
  });

  test('idempotency table: on demand, TTL, the pipeline key, point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsEncryptionKey'), 'Arn'] } },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  test('the dispatch role may start executions of this state machine only, and use exactly the table actions Powertools calls', () => {
    const [, policy] = resources(json, 'AWS::IAM::Policy').find(([id]) => id.startsWith('IcsIngestionDispatchFunctionServiceRole'))!;
    const statements: any[] = policy.Properties.PolicyDocument.Statement;
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'states:StartSyncExecution', Resource: { Ref: expect.stringMatching(/^IcsStateMachine/) } }),
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^IcsIngestionIdempotencyTable/), 'Arn'] }],
      }),
      expect.objectContaining({ Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage']) }),
    ]));
    expect(JSON.stringify(statements)).not.toMatch(/"(kms|dynamodb|states|sqs):\*"/);
  });

  test('the workflow defers transient classification failures while the message has receives left, before any effect', () => {
    expect(aslValidator(definition).errorsText()).toBe('');
    expect(definition.States.Classify.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ShouldDefer' }]);
    const shouldDefer = definition.States.ShouldDefer;
    expect(shouldDefer.Default).toBe('ClassificationFailed');
    expect(JSON.stringify(shouldDefer.Choices[0])).toContain('"Variable":"$.deferTransientErrors","BooleanEquals":true');
    for (const e of ['ModelNotReady', 'EndpointThrottled', 'EndpointUnavailable', 'S3Unavailable', 'Lambda.TooManyRequestsException']) {
      expect(JSON.stringify(shouldDefer.Choices[0])).toContain(`"StringEquals":"${e}"`);
    }
    expect(definition.States.ClassificationDeferred).toEqual(expect.objectContaining({ Type: 'Fail', Error: 'ClassificationDeferred', CausePath: '$.deferred.cause' }));
  });

  test('alarms on the oldest waiting upload (30 minutes) and on the ingest dead-letter queue; dashboard widgets', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 1800 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IcsIngestionDeadLetterQueue'), 'QueueName'] } }],
    });
    const body = JSON.stringify(resources(json, 'AWS::CloudWatch::Dashboard')[0][1].Properties.DashboardBody);
    expect(body).toContain('Ingest backlog (images)');
    expect(body).toContain('Oldest upload waiting (s)');
  });

  test('a circuit breaker by default: its settings in the dispatch environment, an alarm while open, a dashboard widget', () => {
    const [, fn] = resources(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('IcsIngestionDispatchFunction'))!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      ICS_CIRCUIT_FAILURE_THRESHOLD: '3', ICS_CIRCUIT_FAILURE_WINDOW_SECONDS: '300', ICS_CIRCUIT_PROBE_INTERVAL_SECONDS: '20', ICS_CIRCUIT_MAX_HOLD_SECONDS: '10800',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'CircuitBreakerOpen', Statistic: 'Maximum', Period: 60, Threshold: 1, TreatMissingData: 'notBreaching',
    });
    expect(JSON.stringify(resources(json, 'AWS::CloudWatch::Dashboard')[0][1].Properties.DashboardBody)).toContain('Circuit breaker');
    // A probe classifies with one call: the workflow's classify state has a twin without the transient retries.
    const asl = JSON.stringify(resources(json, 'AWS::StepFunctions::StateMachine')[0][1].Properties.DefinitionString);
    expect(asl).toContain('IsProbe');
    expect(asl).toContain('ClassifyProbe');
    expect(pipeline.metricCircuitBreakerOpen().metricName).toBe('CircuitBreakerOpen');
    expect(pipeline.metricCircuitBreakerProbes().metricName).toBe('CircuitBreakerProbes');
  });

  test('exposes the queue, its dead-letter queue, the dispatch function, the table and queue metrics', () => {
    expect(pipeline.ingestQueue).toBeDefined();
    expect(pipeline.ingestDeadLetterQueue).toBeDefined();
    expect(pipeline.dispatchFunction).toBeDefined();
    expect(pipeline.idempotencyTable).toBeDefined();
    expect(pipeline.metricOldestMessageAge().metricName).toBe('ApproximateAgeOfOldestMessage');
    expect(pipeline.metricBacklog().toMetricConfig().mathExpression?.expression).toBe('visible + inFlight');
    expect(pipeline.metricIngestDeadLetterQueueDepth().metricName).toBe('ApproximateNumberOfMessagesVisible');
  });
});

describe('queued ingestion options', () => {
  test('every option reaches the template', () => {
    const { template, json } = pipelineStack({
      ingestion: Ingestion.queued({
        maxConcurrency: 4,
        batchSize: 5,
        dispatchMemorySize: 256,
        maxBatchingWindow: Duration.seconds(30),
        maxReceiveCount: 8,
        retention: Duration.days(2),
        idempotencyWindow: Duration.hours(6),
        oldestMessageAgeAlarmThreshold: Duration.minutes(10),
      }),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5, MaximumBatchingWindowInSeconds: 30, ScalingConfig: { MaximumConcurrency: 4 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 172800, RedrivePolicy: Match.objectLike({ maxReceiveCount: 8 }) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 600 });
    const [, fn] = resources(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('IcsIngestionDispatchFunction'))!;
    expect(fn.Properties.Environment.Variables).toMatchObject({ [DispatchEnv.MAX_RECEIVE_COUNT]: '8', [DispatchEnv.IDEMPOTENCY_WINDOW_SECONDS]: '21600' });
    expect(fn.Properties.MemorySize).toBe(256);
  });

  test('the circuit breaker\'s settings reach the dispatch function; off, it has no alarm', () => {
    const { json } = pipelineStack({
      ingestion: Ingestion.queued({
        circuitBreaker: { failureThreshold: 5, failureWindow: Duration.minutes(2), probeInterval: Duration.seconds(15), maxHold: Duration.hours(1) },
      }),
    });
    const [, fn] = resources(json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('IcsIngestionDispatchFunction'))!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      ICS_CIRCUIT_FAILURE_THRESHOLD: '5', ICS_CIRCUIT_FAILURE_WINDOW_SECONDS: '120', ICS_CIRCUIT_PROBE_INTERVAL_SECONDS: '15', ICS_CIRCUIT_MAX_HOLD_SECONDS: '3600',
    });
    const off = pipelineStack({ ingestion: Ingestion.queued({ circuitBreaker: { enabled: false } }) });
    const [, offFn] = resources(off.json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('IcsIngestionDispatchFunction'))!;
    expect(offFn.Properties.Environment.Variables.ICS_CIRCUIT_ENABLED).toBe('false');
    expect(Object.values<any>(off.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName)).not.toContain('CircuitBreakerOpen');
  });

  test.each([
    ['a serverless ClassifierEndpoint: its maxConcurrency', EndpointHosting.serverless({ maxConcurrency: 25 }), 25],
    ['an instance ClassifierEndpoint: 4 per instance at the largest count', EndpointHosting.instances({
      instanceType: 'ml.m5.large', autoScaling: { minCapacity: 1, maxCapacity: 3, targetInvocationsPerInstance: 100 },
    }), 12],
  ])('default maxConcurrency from %s', (_name, hosting, expected) => {
    const { template } = pipelineStack({}, (stack) => {
      const endpoint = new ClassifierEndpoint(stack, 'Endpoint', { modelData: modelData(stack), hosting });
      return { classifier: Classifier.fromEndpoint(endpoint) };
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: expected } });
  });

  test('Rekognition: 5 at once, its lowest default TPS quota', () => {
    const { template } = pipelineStack({ classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
  });

  test('bad values fail at synth, every problem in one error', () => {
    let message = '';
    try {
      pipelineStack({
        ingestion: Ingestion.queued({
          maxConcurrency: 1,
          batchSize: 11,
          dispatchMemorySize: 64,
          maxBatchingWindow: Duration.minutes(6),
          maxReceiveCount: 0,
          retention: Duration.seconds(30),
          idempotencyWindow: Duration.minutes(10),
          oldestMessageAgeAlarmThreshold: Duration.seconds(30),
        }),
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Invalid ImageClassificationPipeline props at TestStack/Ics:');
    for (const fragment of [
      'ingestion.maxConcurrency must be an integer from 2 to 1000, got 1',
      'ingestion.batchSize must be an integer from 1 to 10, got 11',
      'ingestion.dispatchMemorySize must be an integer from 128 to 10240, got 64',
      'ingestion.maxBatchingWindow must be at most 5 minutes, got 360 seconds',
      'ingestion.maxReceiveCount must be an integer from 1 to 1000, got 0',
      'ingestion.retention must be from 1 minute to 14 days, got 30 seconds',
      'ingestion.idempotencyWindow must be from 1 hour to 30 days, got 600 seconds',
      'ingestion.oldestMessageAgeAlarmThreshold must be at least 1 minute, got 30 seconds',
    ]) expect(message).toContain(fragment);
  });

  test.each([
    [{ maxConcurrency: 1001 }, /maxConcurrency must be an integer from 2 to 1000, got 1001/],
    [{ maxConcurrency: 2.5 }, /maxConcurrency must be an integer from 2 to 1000, got 2.5/],
    [{ batchSize: 0 }, /batchSize must be an integer from 1 to 10, got 0/],
    [{ retention: Duration.days(15) }, /retention must be from 1 minute to 14 days/],
    [{ retention: Duration.hours(2) }, /retention \(7200 seconds\) must exceed the backoff of 20 receives by an hour/],
    [{ idempotencyWindow: Duration.days(31) }, /idempotencyWindow must be from 1 hour to 30 days/],
    [{ circuitBreaker: { failureThreshold: 1 } }, /circuitBreaker.failureThreshold must be an integer from 2 to 100, got 1/],
    [{ circuitBreaker: { failureWindow: Duration.hours(2) } }, /circuitBreaker.failureWindow must be from 1 minute to 1 hour, got 7200 seconds/],
    [{ circuitBreaker: { probeInterval: Duration.seconds(1) } }, /circuitBreaker.probeInterval must be from 5 seconds to 15 minutes, got 1 seconds/],
    [{ circuitBreaker: { maxHold: Duration.hours(13) } }, /circuitBreaker.maxHold must be from 1 minute to 12 hours, got 46800 seconds/],
    [{ retention: Duration.hours(8), circuitBreaker: { maxHold: Duration.hours(6) } }, /must exceed the circuit breaker's maxHold \(21600 seconds\) plus the backoff/],
  ])('%j is refused', (options, error) => {
    expect(() => pipelineStack({ ingestion: Ingestion.queued(options) })).toThrow(error);
  });

  test('a maxConcurrency above what a ClassifierEndpoint serves is refused', () => {
    expect(() => pipelineStack({ ingestion: Ingestion.queued({ maxConcurrency: 11 }) }, (stack) => ({
      classifier: Classifier.fromEndpoint(new ClassifierEndpoint(stack, 'Endpoint', { modelData: modelData(stack) })),
    }))).toThrow(/ingestion.maxConcurrency 11 exceeds what the endpoint serves at once \(10/);
  });

  test('an endpoint that serves one invocation at a time cannot take queued ingestion (the mapping runs at least 2)', () => {
    expect(() => pipelineStack({}, (stack) => ({
      classifier: Classifier.fromEndpoint(new ClassifierEndpoint(stack, 'Endpoint', {
        modelData: modelData(stack),
        hosting: EndpointHosting.serverless({ maxConcurrency: 1 }),
      })),
    }))).toThrow(/the endpoint serves 1 invocation at a time .* raise the endpoint's concurrency to 2 or more, or use Ingestion.direct\(\)/);
  });
});

describe('direct ingestion', () => {
  const { template, json, definition, pipeline } = pipelineStack({ ingestion: Ingestion.direct() });

  test('the rule starts the state machine with bucket, key and object; no queue, function or table', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({
        Arn: { Ref: Match.stringLikeRegexp('^IcsStateMachine') },
        InputTransformer: Match.objectLike({ InputPathsMap: { 'detail-bucket-name': '$.detail.bucket.name', 'detail-object-key': '$.detail.object.key', 'detail-object': '$.detail.object' } }),
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      })],
    });
    expect(resources(json, 'AWS::DynamoDB::Table')).toEqual([]);
    expect(resources(json, 'AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(resources(json, 'AWS::SQS::Queue')).toHaveLength(1);
    expect(pipeline.ingestQueue).toBeUndefined();
    expect(pipeline.maxConcurrency).toBeUndefined();
    expect(() => pipeline.metricBacklog()).toThrow(/metricBacklog\(\) needs queued ingestion/);
  });

  test('the workflow records every classification failure as ERROR (no deferral)', () => {
    expect(aslValidator(definition).errorsText()).toBe('');
    expect(definition.States.ShouldDefer).toBeUndefined();
    expect(definition.States.Classify.Catch[0].Next).toBe('ClassificationFailed');
  });
});

describe('STANDARD workflows', () => {
  test('default to direct ingestion (StartSyncExecution runs Express machines only)', () => {
    const { json, pipeline } = pipelineStack({ workflowType: sfn.StateMachineType.STANDARD });
    expect(resources(json, 'AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(pipeline.dispatchFunction).toBeUndefined();
  });

  test('refuse queued ingestion, saying what to use', () => {
    expect(() => pipelineStack({ ...icsProps(), workflowType: sfn.StateMachineType.STANDARD, ingestion: Ingestion.queued() }))
      .toThrow(/Ingestion.queued\(\) needs an EXPRESS workflow .* use Ingestion.direct\(\) with workflowType STANDARD/);
  });
});
