import { Construct } from 'constructs';
import { withDefaults } from './defaults';
import { Classifier } from '../classifier';
import { Outcome } from '../outcomes';
import { ImageClassificationPipeline, ImageClassificationPipelineOptions } from '../pipeline';

/**
 * Properties for a {@link ProductTaggingPipeline}. Every pipeline option can be set; those left unset take
 * the preset's defaults, documented here.
 */
export interface ProductTaggingPipelineProps extends ImageClassificationPipelineOptions {
  /**
   * The catalogue classifier.
   *
   * @default Classifier.rekognitionLabels() — no model of your own, restricted to `categories` when given
   */
  readonly classifier?: Classifier;

  /**
   * Catalogue categories (Rekognition label names with the default classifier, e.g. `Shoe`, `Handbag`).
   *
   * @default - every label Rekognition knows
   */
  readonly categories?: string[];
}

/**
 * E-commerce product tagging: product photos are tagged with their category and confidence for the
 * catalogue; photos the model is unsure about go to a review prefix instead of failing.
 *
 * Defaults, and why:
 * - `classifier`: Rekognition DetectLabels over `categories` — a catalogue can start without a model.
 * - `inputPrefix`: `products/`; `quarantine`: LOW_CONFIDENCE to `review/` — merchandisers review there and
 *   re-upload; the shop never shows an untagged product as tagged.
 * - `failOnLowConfidence`: false — review is part of the flow, not a failure.
 * - Alerts: LOW_CONFIDENCE (moved to review) and ERROR, never ACCEPTED — the normal case needs no one.
 * - `confidenceThreshold`: 0.7 — a wrong tag is cheap to fix, a review costs a person.
 */
export class ProductTaggingPipeline extends ImageClassificationPipeline {
  constructor(scope: Construct, id: string, props: ProductTaggingPipelineProps = {}) {
    const { categories, classifier, ...options } = props;
    super(scope, id, withDefaults({
      confidenceThreshold: 0.7,
      inputPrefix: 'products/',
      quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'review/' },
      failOnLowConfidence: false,
      tagObjects: true,
    }, {
      ...options,
      classifier: classifier ?? Classifier.rekognitionLabels({ labels: categories }),
      // With a model of your own, the categories name its outputs.
      classLabels: options.classLabels ?? (classifier ? categories : undefined),
    }));
  }
}
