import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { pipelineStack } from './stacks';
import { Classifier, Outcome } from '../src';

describe('monitoring', () => {
  const { template, json, pipeline } = pipelineStack();

  test('outcome counts from state exits, infrastructure failures from execution failures, model latency from the function log', () => {
    const filters = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter').map((r) => r.Properties);
    const byName = Object.fromEntries(filters.map((f) => [f.MetricTransformations[0].MetricName, f]));
    expect(Object.keys(byName).sort()).toEqual(['AlertsPublished', 'InfrastructureFailures', 'ModelLatency', 'OutcomeACCEPTED', 'OutcomeERROR', 'OutcomeFLAGGED', 'OutcomeLOW_CONFIDENCE']);
    expect(byName.OutcomeFLAGGED.FilterPattern).toBe('{ ($.type = "PassStateExited") && ($.details.name = "Flagged") }');
    expect(byName.OutcomeERROR.FilterPattern).toContain('$.details.name = "ClassificationFailed"');
    expect(byName.InfrastructureFailures.FilterPattern).toContain('$.details.error = "AuditWriteFailed"');
    expect(byName.ModelLatency.MetricTransformations[0].MetricValue).toBe('$.modelLatencyMs');
    expect(byName.ModelLatency.LogGroupName).toEqual({ Ref: expect.stringMatching(/^IcsClassifyFunctionLogs/) });
    expect(new Set(filters.map((f) => f.MetricTransformations[0].MetricNamespace))).toEqual(new Set(['ImageClassificationPipeline/TestStack-Ics-78C6B3B3']));
  });

  test('default alarms without actions, and a dashboard', () => {
    // Five for the workflow, two for queued ingestion (oldest waiting upload, ingest dead-letter queue).
    expect(pipeline.alarms).toHaveLength(7);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, AlarmActions: Match.absent() });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'm2 / MAX([m0+m1+m2+m3, 1])' })]), Threshold: 0.25 });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('metric methods', () => {
    expect(pipeline.metricOutcome(Outcome.FLAGGED).metricName).toBe('OutcomeFLAGGED');
    expect(pipeline.metricModelLatency().statistic).toBe('p99');
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

  test('the dashboard shows images per label, errors by name and alerts; Rekognition pipelines have no EMF widgets or endpoint alarm', () => {
    const body = (t: any) => JSON.stringify(Object.values<any>(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    const sagemaker = body(pipelineStack().template);
    expect(sagemaker).toContain('Images per label');
    expect(sagemaker).toContain('MetricName=\\\\\\"ImagesClassified\\\\\\"');
    expect(sagemaker).toContain('Classification errors by name');
    expect(sagemaker).toContain('Alerts published');
    const { template } = pipelineStack({ classifier: Classifier.rekognitionModeration(), classLabels: undefined, flaggedLabels: undefined });
    expect(body(template)).not.toContain('Images per label');
    expect(Object.values<any>(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmDescription))
      .not.toContainEqual(expect.stringContaining('endpoint errors'));
    template.hasResourceProperties('AWS::Logs::MetricFilter', { MetricTransformations: [Match.objectLike({ MetricName: 'AlertsPublished' })] });
  });
});
