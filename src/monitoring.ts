import { Annotations, Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from './compliance/acknowledgements';
import { INFRASTRUCTURE_FAIL_ERRORS } from './handlers/dispatch-metrics';
import { ErrorName } from './handlers/errors';
import { EmfDimension, EmfMetric } from './handlers/metrics';
import { QueuedIngestion } from './ingestion/queued-ingestion';
import { MonitoringOptions } from './monitoring-options';
import { Outcome } from './outcomes';
import { StateName } from './workflow/per-image';

/** Classify-function errors that point at the endpoint rather than the image. */
const ENDPOINT_ERRORS = [
  ErrorName.ModelError, ErrorName.EndpointUnavailable, ErrorName.EndpointThrottled, ErrorName.ModelNotReady,
  ErrorName.EndpointValidationError, ErrorName.MalformedModelResponse, ErrorName.LabelCountMismatch,
];

/** Which state exit counts an outcome (Express and Standard logs at level ALL record state exits). */
const OUTCOME_STATES: Record<Outcome, string[]> = {
  [Outcome.FLAGGED]: [StateName.FLAGGED],
  [Outcome.ACCEPTED]: [StateName.ACCEPTED],
  [Outcome.LOW_CONFIDENCE]: [StateName.LOW_CONFIDENCE],
  [Outcome.ERROR]: [StateName.CLASSIFICATION_FAILED, StateName.INVALID_INPUT, StateName.MARK_ACTION_ERROR, StateName.MARK_STEP_ERROR],
};

/** Execution errors that mean the pipeline, not the image, failed. */
export const INFRASTRUCTURE_ERRORS = [...INFRASTRUCTURE_FAIL_ERRORS, 'States.Timeout'];

/** Namespace of a pipeline's metric filters (outcomes with direct ingestion, infrastructure failures), by its `Pipeline` name. */
export function metricFilterNamespace(pipeline: string): string {
  return `ImageClassificationPipeline/${pipeline}`;
}

export interface PipelineMonitoringProps {
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineLogGroup: logs.ILogGroup;
  readonly deadLetterQueue: sqs.IQueue;
  /** Namespace and `Pipeline` dimension of the functions' EMF metrics. */
  readonly emf: { readonly namespace: string; readonly pipeline: string };
  /** A classify function publishes label and endpoint-error metrics (SageMaker classifiers). */
  readonly classifyFunctionMetrics: boolean;
  /** The state machines' log level: direct ingestion's outcome metrics need ALL. */
  readonly logLevel: sfn.LogLevel;
  /** Undeliverable email alerts, when the pipeline subscribes addresses. */
  readonly alertDeadLetterQueue?: sqs.IQueue;
  /** Queued ingestion's queues, when the pipeline uses it. */
  readonly ingestion?: QueuedIngestion;
  /** Human review's gauges and alarm, when the pipeline has `review`. */
  readonly review?: {
    readonly metricPending: cloudwatch.Metric;
    readonly metricOldestAge: cloudwatch.Metric;
    readonly alarm?: cloudwatch.Alarm;
    readonly maxPendingAgeSeconds: number;
  };
  readonly options: MonitoringOptions;
}

/**
 * Metrics with no code of their own on the per-image path. With queued ingestion, outcome and alert counts (and,
 * without a classify function, label counts) are EMF metrics the dispatch function writes from each execution's
 * end, so they need no state machine log; with direct ingestion they are metric filters on state exits, which
 * Step Functions logs only at level ALL. Infrastructure failures come from ExecutionFailed and ExecutionTimedOut
 * records (every level but OFF), model latency from the classify function's EMF records.
 */
export class PipelineMonitoring extends Construct {
  /** Namespace of the pipeline's metrics (one per pipeline, so pipelines in one account do not mix). */
  public readonly namespace: string;
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard?: cloudwatch.Dashboard;
  /** Queued ingestion, whose queue metrics the pipeline's `metricBacklog()` and friends read. */
  public readonly ingestion?: QueuedIngestion;
  /** Outcome and alert counts are the dispatch function's EMF metrics (queued ingestion), not metric filters. */
  private readonly outcomesFromDispatch: boolean;

  constructor(scope: Construct, id: string, private readonly props: PipelineMonitoringProps) {
    super(scope, id);
    this.ingestion = props.ingestion;
    this.namespace = metricFilterNamespace(Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' }));

    const filter = (name: string, logGroup: logs.ILogGroup, pattern: logs.IFilterPattern, value = '1') =>
      new logs.MetricFilter(this, `${name}Filter`, { logGroup, filterPattern: pattern, metricNamespace: this.namespace, metricName: name, metricValue: value });

    this.outcomesFromDispatch = props.ingestion !== undefined;
    if (!this.outcomesFromDispatch) {
      if (props.logLevel !== sfn.LogLevel.ALL) {
        Annotations.of(scope).addWarningV2('cdk-image-classification-pipeline:outcomeMetricsNeedLogLevelAll',
          `With Ingestion.direct() the outcome and alert metrics, the LOW_CONFIDENCE rate alarm and the dashboard's outcome graph count state exits, which Step Functions logs only at level ALL; logLevel is ${props.logLevel}, so they stay empty. Use logLevel ALL or queued ingestion.`);
      }
      for (const outcome of Object.values(Outcome)) {
        const states = OUTCOME_STATES[outcome];
        filter(`Outcome${outcome}`, props.stateMachineLogGroup, logs.FilterPattern.all(
          logs.FilterPattern.stringValue('$.type', '=', 'PassStateExited'),
          logs.FilterPattern.any(...states.map((st) => logs.FilterPattern.stringValue('$.details.name', '=', st))),
        ));
      }
      filter('AlertsPublished', props.stateMachineLogGroup, logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.type', '=', 'TaskStateExited'),
        logs.FilterPattern.stringValue('$.details.name', '=', 'Alert*'),
      ));
    }
    // A timed-out execution is logged as its own type, ExecutionTimedOut, not ExecutionFailed (Step Functions
    // Developer Guide, "Log levels for Step Functions execution events"); every timeout is the pipeline's failure.
    filter('InfrastructureFailures', props.stateMachineLogGroup, logs.FilterPattern.any(
      logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.type', '=', 'ExecutionFailed'),
        logs.FilterPattern.any(...INFRASTRUCTURE_ERRORS.map((e) => logs.FilterPattern.stringValue('$.details.error', '=', e))),
      ),
      logs.FilterPattern.stringValue('$.type', '=', 'ExecutionTimedOut'),
    ));

    const options = props.options;
    if (options.alarms ?? true) this.createAlarms(options);
    if (props.review?.alarm) this.alarms.push(props.review.alarm);
    if (options.dashboard ?? true) this.dashboard = this.createDashboard();
  }

  /** Images with the given outcome. */
  public metricOutcome(outcome: Outcome, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (this.outcomesFromDispatch) return this.emfMetric(EmfMetric.IMAGES, { [EmfDimension.OUTCOME]: outcome }, props);
    return new cloudwatch.Metric({ namespace: this.namespace, metricName: `Outcome${outcome}`, statistic: 'Sum', ...props });
  }

  /** Executions that failed for the pipeline's own reasons (audit, event, alert, timeout), not the image's. */
  public metricInfrastructureFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: this.namespace, metricName: 'InfrastructureFailures', statistic: 'Sum', ...props });
  }

  /** Alerts published (each topic an alert goes to counts once). */
  public metricAlertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (this.outcomesFromDispatch) return this.emfMetric(EmfMetric.ALERTS_PUBLISHED, {}, props);
    return new cloudwatch.Metric({ namespace: this.namespace, metricName: 'AlertsPublished', statistic: 'Sum', ...props });
  }

  /** An EMF metric of the handlers (summed unless `props` say otherwise), with the `Pipeline` dimension and any others. */
  private emfMetric(metricName: string, dimensions: Record<string, string>, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const { emf } = this.props;
    return new cloudwatch.Metric({
      namespace: emf.namespace,
      metricName,
      statistic: 'Sum',
      ...props,
      dimensionsMap: { [EmfDimension.PIPELINE]: emf.pipeline, ...dimensions, ...props?.dimensionsMap },
    });
  }

  /** Endpoint call latency in milliseconds (p99 by default): the classify function's EMF `ModelLatency`. */
  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.emfMetric(EmfMetric.MODEL_LATENCY, {}, { statistic: 'p99', unit: cloudwatch.Unit.MILLISECONDS, ...props });
  }

  private createAlarms(options: MonitoringOptions) {
    const { stateMachine, deadLetterQueue } = this.props;
    const images = Object.values(Outcome).map((o, i) => [`m${i}`, this.metricOutcome(o, { period: Duration.hours(1) })] as const);
    const lowRate = new cloudwatch.MathExpression({
      expression: `m2 / MAX([${images.map(([k]) => k).join('+')}, 1])`,
      usingMetrics: Object.fromEntries(images),
      label: 'LOW_CONFIDENCE share',
      period: Duration.hours(1),
    });
    const add = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (options.alarmTopic) {
        alarm.addAlarmAction(new cwActions.SnsAction(options.alarmTopic));
        alarm.addOkAction(new cwActions.SnsAction(options.alarmTopic));
      } else {
        acknowledge(alarm, ACKNOWLEDGEMENTS.alarmsWithoutTopic);
      }
      this.alarms.push(alarm);
    };
    add('InfrastructureFailuresAlarm', this.metricInfrastructureFailures({ period: Duration.minutes(5) }), 1,
      'Executions failed for the pipeline\'s own reasons (audit record, result event, alert or timeout); images may lack their audit trail.');
    add('DeadLetterQueueAlarm', deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 1,
      'Upload events could not start the state machine after retries: those images were not classified. Redrive them from the queue.');
    if (this.props.alertDeadLetterQueue) {
      add('AlertDeadLetterQueueAlarm', this.props.alertDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 1,
        'SNS could not deliver alerts to an alertEmails address after its retries; they are kept in the alert dead-letter queue.');
    }
    const ingestion = this.props.ingestion;
    if (ingestion) {
      const threshold = ingestion.oldestMessageAgeAlarmThreshold.toSeconds();
      add('IngestBacklogAgeAlarm', ingestion.metricOldestMessageAge({ period: Duration.minutes(5) }), threshold,
        `The oldest upload in the ingest queue has waited ${threshold} seconds or more: the endpoint may be down or the backlog `
        + 'larger than maxConcurrency drains. Nothing is lost while it waits.');
      add('IngestDeadLetterQueueAlarm', ingestion.metricDeadLetterQueueDepth({ period: Duration.minutes(5) }), 1,
        'Upload messages failed every receive and are in the ingest dead-letter queue: fix the cause, then redrive them '
        + '(StartMessageMoveTask).');
      if (ingestion.circuitBreakerEnabled) {
        add('CircuitBreakerOpenAlarm', ingestion.metricCircuitBreakerOpen({ period: Duration.minutes(1) }), 1,
          'The classifier failed transiently for several images: the ingest circuit breaker is open, uploads wait in the queue '
          + 'and one image per probe interval tests the classifier. Check the endpoint (or Rekognition quotas); it closes by itself.');
      }
    }
    const emf = this.props.emf;
    if (this.props.classifyFunctionMetrics) {
      const errors = Object.fromEntries(ENDPOINT_ERRORS.map((name, i) => [`e${i}`, new cloudwatch.Metric({
        namespace: emf.namespace,
        metricName: EmfMetric.CLASSIFICATION_ERRORS,
        dimensionsMap: { [EmfDimension.PIPELINE]: emf.pipeline, [EmfDimension.ERROR_NAME]: name },
        statistic: 'Sum',
        period: Duration.minutes(5),
      })]));
      add('EndpointErrorsAlarm', new cloudwatch.MathExpression({
        expression: Object.keys(errors).join('+'),
        usingMetrics: errors,
        label: 'endpoint errors',
        period: Duration.minutes(5),
      }), options.endpointErrorsThreshold ?? 5,
      'The classify function saw endpoint errors (model errors, unavailable, throttled, not ready, malformed responses): check the endpoint.');
    }
    add('ThrottledAlarm', stateMachine.metricThrottled({ period: Duration.minutes(5) }), 1,
      'Step Functions throttled executions of the pipeline.');
    add('LowConfidenceRateAlarm', lowRate, options.lowConfidenceRateThreshold ?? 0.25,
      'A high share of images is LOW_CONFIDENCE: the model, the cameras or the uploads may have drifted.');
  }

  private createDashboard(): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard');
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Images per outcome',
        left: Object.values(Outcome).map((o) => this.metricOutcome(o, { label: o, period: Duration.minutes(5) })),
        stacked: true,
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Model latency (ms)',
        left: [this.metricModelLatency({ statistic: 'p50', label: 'p50' }), this.metricModelLatency({ label: 'p99' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Failures',
        left: [
          this.metricInfrastructureFailures({ label: 'infrastructure failures' }),
          this.props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead-letter queue depth', statistic: 'Maximum' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Alerts published',
        left: [this.metricAlertsPublished({ label: 'alerts', period: Duration.minutes(5) })],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
    );
    const review = this.props.review;
    if (review) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: 'Pending reviews', left: [review.metricPending.with({ label: 'pending' })], width: 12 }),
        new cloudwatch.GraphWidget({
          title: 'Oldest pending review (s)',
          left: [review.metricOldestAge.with({ label: 'oldest pending review age' })],
          leftAnnotations: [{ value: review.maxPendingAgeSeconds, label: 'alarm' }],
          width: 12,
        }),
      );
    }
    const ingestion = this.props.ingestion;
    if (ingestion) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Ingest backlog (images)',
          left: [
            ingestion.metricBacklog({ label: 'waiting or in flight', period: Duration.minutes(1) }),
            ingestion.metricDeadLetterQueueDepth({ label: 'ingest dead-letter queue', period: Duration.minutes(1) }),
          ],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Oldest upload waiting (s)',
          left: [ingestion.metricOldestMessageAge({ label: 'oldest message age', period: Duration.minutes(1) })],
          leftAnnotations: [{ value: ingestion.oldestMessageAgeAlarmThreshold.toSeconds(), label: 'alarm' }],
          width: 12,
        }),
      );
      if (ingestion.circuitBreakerEnabled) {
        dashboard.addWidgets(new cloudwatch.GraphWidget({
          title: 'Circuit breaker',
          left: [ingestion.metricCircuitBreakerOpen({ label: 'open (1) / closed (0)', period: Duration.minutes(1) })],
          right: [ingestion.metricCircuitBreakerProbes({ label: 'probes', period: Duration.minutes(1) })],
          leftYAxis: { min: 0, max: 1 },
          width: 12,
        }));
      }
    }
    const emf = this.props.emf;
    // Label metrics come from the classify function, or from the dispatch function when there is none.
    const labelMetrics = this.props.classifyFunctionMetrics || this.outcomesFromDispatch;
    if (labelMetrics) {
      // One line per label and per error name, whatever the labels are: SEARCH over the handler's EMF dimensions.
      const search = (metric: string, dimension: string, label: string) => new cloudwatch.MathExpression({
        expression: `SEARCH('{${emf.namespace},${EmfDimension.PIPELINE},${dimension}} MetricName="${metric}" ${EmfDimension.PIPELINE}="${emf.pipeline}"', 'Sum', 300)`,
        label,
        period: Duration.minutes(5),
      });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Images per label', left: [search(EmfMetric.IMAGES_CLASSIFIED, EmfDimension.LABEL, '')], stacked: true, width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Classification errors by name', left: [search(EmfMetric.CLASSIFICATION_ERRORS, EmfDimension.ERROR_NAME, '')], width: 12,
        }),
      );
    }
    return dashboard;
  }
}
