import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Outcome } from './outcomes';

/** Outcomes that alert by default. */
export const DEFAULT_ALERT_OUTCOMES = [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE, Outcome.ERROR];

/**
 * Which outcomes a topic is alerted about.
 */
export interface AlertRoute {
  /** The topic to publish to. */
  readonly topic: sns.ITopic;
  /**
   * The outcomes that alert this topic.
   *
   * @default [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE, Outcome.ERROR]
   */
  readonly outcomes?: Outcome[];
}

/**
 * Where images with certain outcomes are moved so they stop being visible where they were uploaded.
 */
export interface QuarantineOptions {
  /** Outcomes whose images are quarantined (FLAGGED, ACCEPTED or LOW_CONFIDENCE). */
  readonly outcomes: Outcome[];
  /**
   * Bucket to move them to.
   *
   * @default - the pipeline's bucket
   */
  readonly bucket?: s3.IBucket;
  /**
   * Key prefix of the quarantine location; the image keeps its key under it. Must not overlap the
   * input prefix, or quarantined images would be classified again.
   */
  readonly prefix: string;
}

/**
 * `ImageClassified` events on an EventBridge bus, for other teams to subscribe to.
 */
export interface ResultEventOptions {
  /**
   * Publish result events.
   *
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The bus to publish to.
   *
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
}

/** `source` of the result events. */
export const RESULT_EVENT_SOURCE = 'cdk-image-classification-pipeline';
/** `detail-type` of the result events. */
export const RESULT_EVENT_DETAIL_TYPE = 'ImageClassified';
