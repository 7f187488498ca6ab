import { Construct } from 'constructs';
import { withDefaults } from './defaults';
import { BulkMode } from '../bulk-mode';
import { Classifier } from '../classifier';
import { ImageClassificationPipeline, ImageClassificationPipelineOptions } from '../pipeline';

/**
 * Properties for a {@link LogisticsDamagePipeline}. Every pipeline option can be set; those left unset take
 * the preset's defaults, documented here.
 */
export interface LogisticsDamagePipelineProps extends ImageClassificationPipelineOptions {
  /** The damage classifier (damaged vs intact packages), e.g. a SageMaker endpoint. */
  readonly classifier: Classifier;

  /**
   * Addresses of the operations team subscribed to the alert topic.
   *
   * @default - no subscription
   */
  readonly operationsEmails?: string[];
}

/**
 * Logistics damage detection: package photos from checkpoints, classified damaged or intact; damage is
 * flagged to operations and every photo tagged, singly as photos arrive or in bulk for a checkpoint's batch.
 *
 * Defaults, and why:
 * - `classLabels`: {@link LogisticsDamagePipeline.DAMAGE_LABELS}; `flaggedLabels`: `damaged`.
 * - `confidenceThreshold`: 0.85 — a missed damage costs a claim, a false one a second look; unsure photos
 *   are LOW_CONFIDENCE and alerted for a second look.
 * - `bulkMode`: distributed (Express children) — a checkpoint uploads a batch under one prefix; start the bulk
 *   state machine with `{ "prefix": "checkpoint-7/2026-11-22/" }` to classify all of it in parallel.
 * - Alerts to operations (`operationsEmails`), tags on every object for the claims system.
 */
export class LogisticsDamagePipeline extends ImageClassificationPipeline {
  /** Default labels, in the model's output order. */
  public static readonly DAMAGE_LABELS = ['damaged', 'intact'];

  constructor(scope: Construct, id: string, props: LogisticsDamagePipelineProps) {
    const { operationsEmails, ...options } = props;
    super(scope, id, withDefaults({
      classLabels: LogisticsDamagePipeline.DAMAGE_LABELS,
      flaggedLabels: ['damaged'],
      confidenceThreshold: 0.85,
      bulkMode: BulkMode.distributed(),
      alertEmails: operationsEmails,
      tagObjects: true,
    }, options));
  }
}
