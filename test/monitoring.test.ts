import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { pipelineStack } from './stacks';
import { stateMachineDefinition } from '../local/src/template-resolver';
import { BulkMode, Classifier, Ingestion, Outcome } from '../src';

describe('monitoring', () => {
  const { template, json, pipeline } = pipelineStack();

  test('queued ingestion (the default): outcomes and alerts from the dispatch function, so the state machine logs only ERROR', () => {
    const filters = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter').map((r) => r.Properties);
    const byName = Object.fromEntries(filters.map((f) => [f.MetricTransformations[0].MetricName, f]));
    // ExecutionFailed is logged at ERROR; state exits (the outcome filters) only at ALL, so there are none.
    expect(Object.keys(byName)).toEqual(['InfrastructureFailures']);
    expect(byName.InfrastructureFailures.FilterPattern).toContain('$.type = "ExecutionFailed"');
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: true } });
    // The dispatch function is told what it counts: topics per outcome; labels come from the classify function.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ICS_ALERTS_PER_OUTCOME: JSON.stringify({ FLAGGED: 1, ACCEPTED: 0, LOW_CONFIDENCE: 1, ERROR: 1 }) }),
      },
    });
    const outcome = pipeline.metricOutcome(Outcome.FLAGGED);
    expect(outcome).toMatchObject({
      namespace: 'ImageClassificationPipeline', metricName: 'Images', dimensions: { Pipeline: 'TestStack-Ics-78C6B3B3', Outcome: 'FLAGGED' },
    });
    expect(pipeline.metricAlertsPublished()).toMatchObject({ namespace: 'ImageClassificationPipeline', metricName: 'AlertsPublished', dimensions: { Pipeline: 'TestStack-Ics-78C6B3B3' } });
  });

  test('direct ingestion: outcome counts from state exits at level ALL (its default), infrastructure failures', () => {
    const direct = pipelineStack({ ingestion: Ingestion.direct() });
    direct.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true } });
    expect(direct.pipeline.metricOutcome(Outcome.FLAGGED).metricName).toBe('OutcomeFLAGGED');
    const filters = Object.values<any>(direct.json.Resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter').map((r) => r.Properties);
    const byName = Object.fromEntries(filters.map((f) => [f.MetricTransformations[0].MetricName, f]));
    expect(Object.keys(byName).sort()).toEqual(['AlertsPublished', 'InfrastructureFailures', 'OutcomeACCEPTED', 'OutcomeERROR', 'OutcomeFLAGGED', 'OutcomeLOW_CONFIDENCE']);
    expect(byName.OutcomeFLAGGED.FilterPattern).toBe('{ ($.type = "PassStateExited") && ($.details.name = "Flagged") }');
    expect(byName.OutcomeERROR.FilterPattern).toContain('$.details.name = "ClassificationFailed"');
    expect(byName.InfrastructureFailures.FilterPattern).toContain('$.details.error = "AuditWriteFailed"');
    expect(new Set(filters.map((f) => f.MetricTransformations[0].MetricNamespace))).toEqual(new Set(['ImageClassificationPipeline/TestStack-Ics-78C6B3B3']));
    expect(Annotations.fromStack(direct.stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('direct ingestion below level ALL: the construct warns that the outcome metrics stay empty', () => {
    const quiet = pipelineStack({ ingestion: Ingestion.direct(), logLevel: sfn.LogLevel.ERROR });
    const warnings = Annotations.fromStack(quiet.stack).findWarning('*', Match.stringLikeRegexp('Step Functions logs only at level ALL'));
    expect(warnings).toHaveLength(1);
    quiet.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: { Level: 'ERROR' } });
  });

  test('default alarms without actions, and a dashboard', () => {
    // Five for the workflow, three for queued ingestion (oldest waiting upload, ingest dead-letter queue, circuit breaker open).
    expect(pipeline.alarms).toHaveLength(8);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 8);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, AlarmActions: Match.absent() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'm2 / MAX([m0+m1+m2+m3, 1])' })]), Threshold: 0.25 });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('metric methods', () => {
    expect(pipeline.metricOutcome(Outcome.FLAGGED).metricName).toBe('Images');
    // Model latency is the classify function's EMF metric (no "Image classified" line at the default level to filter).
    expect(pipeline.metricModelLatency()).toMatchObject({
      namespace: 'ImageClassificationPipeline', metricName: 'ModelLatency', statistic: 'p99', dimensions: { Pipeline: 'TestStack-Ics-78C6B3B3' },
    });
    expect(pipeline.metricDeadLetterQueueDepth().metricName).toBe('ApproximateNumberOfMessagesVisible');
  });

  test('alarm topic, custom rate, or no alarms and no dashboard', () => {
    const routed = pipelineStack({}, (stack) => ({ monitoring: { alarmTopic: new sns.Topic(stack, 'Oncall'), lowConfidenceRateThreshold: 0.5 } }));
    routed.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Oncall') }], OKActions: [{ Ref: Match.stringLikeRegexp('^Oncall') }], Threshold: 0.5,
    });
    const off = pipelineStack({ monitoring: { alarms: false, dashboard: false } });
    off.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    off.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(off.pipeline.alarms).toEqual([]);
  });
});

describe('endpoint errors, labels and alerts', () => {
  test('the endpoint-errors alarm sums the classify function\'s EMF errors that point at the endpoint', () => {
    const { template } = pipelineStack({ monitoring: { endpointErrorsThreshold: 3 } });
    const alarm = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm'))
      .find((a) => a.Properties.AlarmDescription.startsWith('The classify function saw endpoint errors'));
    expect(alarm.Properties.Threshold).toBe(3);
    const names = alarm.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'ErrorName').Value);
    expect(names).toEqual(['ModelError', 'EndpointUnavailable', 'EndpointThrottled', 'ModelNotReady', 'EndpointValidationError', 'MalformedModelResponse', 'LabelCountMismatch']);
  });

  test('the dashboard shows images per label, errors by name and alerts; Rekognition pipelines get them from the dispatch function, and have no endpoint alarm', () => {
    const body = (t: any) => JSON.stringify(Object.values<any>(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    const sagemaker = body(pipelineStack().template);
    expect(sagemaker).toContain('Images per label');
    expect(sagemaker).toContain('MetricName=\\\\\\"ImagesClassified\\\\\\"');
    expect(sagemaker).toContain('Classification errors by name');
    expect(sagemaker).toContain('Alerts published');
    const rekognition = { classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined };
    const { template } = pipelineStack(rekognition);
    expect(body(template)).toContain('Images per label');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ICS_ERROR_METRICS: 'true' }) } });
    expect(Object.values<any>(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmDescription))
      .not.toContainEqual(expect.stringContaining('endpoint errors'));
    // Direct ingestion with Rekognition: no function sees each result, so no label metrics; alerts from state exits (ALL).
    const direct = pipelineStack({ ...rekognition, ingestion: Ingestion.direct() }).template;
    expect(body(direct)).not.toContain('Images per label');
    direct.hasResourceProperties('AWS::Logs::MetricFilter', { MetricTransformations: [Match.objectLike({ MetricName: 'AlertsPublished' })] });
  });
});

describe('function logging', () => {
  const lambdaFunctions = (json: any) => Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function'
    && String(r.Properties.Description ?? '').includes('cdk-image-classification-pipeline'));

  test('every function the pipeline creates logs JSON, at application level INFO (EMF records pass) and system level WARN', () => {
    const { json } = pipelineStack({ bulkMode: BulkMode.inline() });
    const functions = lambdaFunctions(json);
    // classify, dispatch, summarize
    expect(functions).toHaveLength(3);
    for (const f of functions) expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' });
  });

  test('levels are props; a level that would drop the EMF records is refused in the one props error', () => {
    const { json } = pipelineStack({
      functionLogging: { applicationLogLevel: lambda.ApplicationLogLevel.DEBUG, systemLogLevel: lambda.SystemLogLevel.INFO },
    });
    for (const f of lambdaFunctions(json)) expect(f.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG', SystemLogLevel: 'INFO' });
    expect(() => pipelineStack({ confidenceThreshold: 2, functionLogging: { applicationLogLevel: lambda.ApplicationLogLevel.WARN } }))
      .toThrow(/confidenceThreshold[\s\S]*functionLogging.applicationLogLevel WARN would drop the functions' metrics/);
  });
});

describe('who writes a classified image\'s metrics', () => {
  const classifyPayloads = (json: any) => Object.entries<any>(json.Resources)
    .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
    .map(([id]) => {
      // The Classify task state, in the machine or in its Map's item processor (the bulk machine).
      const find = (def: any): any => def?.States?.Classify
        ?? Object.values<any>(def?.States ?? {}).map((st) => find(st.ItemProcessor ?? st.Iterator)).find(Boolean);
      return [id.replace(/[0-9A-F]{8}$/, ''), find(stateMachineDefinition(json, id)).Parameters];
    });

  test('queued ingestion: the dispatch function (the per-image classify task asks for errors only); bulk items: the classify function', () => {
    const { json } = pipelineStack({ bulkMode: BulkMode.inline() });
    expect(Object.fromEntries(classifyPayloads(json))).toEqual({
      IcsStateMachine: expect.objectContaining({ classifiedMetrics: false }),
      IcsBulkStateMachine: expect.not.objectContaining({ classifiedMetrics: expect.anything() }),
    });
  });

  test('direct ingestion: the classify function', () => {
    const [[, payload]] = classifyPayloads(pipelineStack({ ingestion: Ingestion.direct() }).json);
    expect(payload).not.toHaveProperty('classifiedMetrics');
  });
});
