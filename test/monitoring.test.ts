import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { pipelineStack } from './stacks';
import { Outcome } from '../src';

describe('monitoring', () => {
  const { template, json, pipeline } = pipelineStack();

  test('outcome counts from state exits, infrastructure failures from execution failures, model latency from the function log', () => {
    const filters = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::Logs::MetricFilter').map((r) => r.Properties);
    const byName = Object.fromEntries(filters.map((f) => [f.MetricTransformations[0].MetricName, f]));
    expect(Object.keys(byName).sort()).toEqual(['InfrastructureFailures', 'ModelLatency', 'OutcomeACCEPTED', 'OutcomeERROR', 'OutcomeFLAGGED', 'OutcomeLOW_CONFIDENCE']);
    expect(byName.OutcomeFLAGGED.FilterPattern).toBe('{ ($.type = "PassStateExited") && ($.details.name = "Flagged") }');
    expect(byName.OutcomeERROR.FilterPattern).toContain('$.details.name = "ClassificationFailed"');
    expect(byName.InfrastructureFailures.FilterPattern).toContain('$.details.error = "AuditWriteFailed"');
    expect(byName.ModelLatency.MetricTransformations[0].MetricValue).toBe('$.modelLatencyMs');
    expect(byName.ModelLatency.LogGroupName).toEqual({ Ref: expect.stringMatching(/^IcsClassifyFunctionLogs/) });
    expect(new Set(filters.map((f) => f.MetricTransformations[0].MetricNamespace))).toEqual(new Set(['ImageClassificationPipeline/TestStack-Ics-78C6B3B3']));
  });

  test('default alarms without actions, and a dashboard', () => {
    expect(pipeline.alarms).toHaveLength(4);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
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
