import * as sns from 'aws-cdk-lib/aws-sns';

/**
 * Alarms and dashboard of a pipeline.
 */
export interface MonitoringOptions {
  /**
   * Create the default alarms: infrastructure failures (audit, event, alert or timeout), dead-letter
   * queue not empty, state machine throttled, and the LOW_CONFIDENCE rate above `lowConfidenceRateThreshold`.
   *
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Topic the alarms notify (on ALARM and OK).
   *
   * @default - alarms notify nobody; add actions to `pipeline.alarms` yourself
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Alarm when more than this share of images over an hour is LOW_CONFIDENCE (a drifting model or camera).
   *
   * @default 0.25
   */
  readonly lowConfidenceRateThreshold?: number;
  /**
   * Alarm when the classify function sees at least this many endpoint errors (model errors, unavailable,
   * throttled, not ready, invalid or malformed responses; retried attempts included) in 5 minutes. SageMaker
   * classifiers only: Rekognition errors show as ERROR outcomes.
   *
   * @default 5
   */
  readonly endpointErrorsThreshold?: number;
  /**
   * Create a CloudWatch dashboard.
   *
   * @default true
   */
  readonly dashboard?: boolean;
}
