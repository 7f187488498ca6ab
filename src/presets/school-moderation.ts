import { Construct } from 'constructs';
import { withDefaults } from './defaults';
import { Classifier } from '../classifier';
import { Outcome } from '../outcomes';
import { ImageClassificationPipeline, ImageClassificationPipelineOptions } from '../pipeline';

/**
 * Properties for a {@link SchoolModerationPipeline}. Every pipeline option can be set; those left unset take
 * the preset's defaults, documented here.
 */
export interface SchoolModerationPipelineProps extends ImageClassificationPipelineOptions {
  /**
   * The moderation model.
   *
   * @default Classifier.rekognitionModeration() — no model of your own; every moderation category is flagged
   */
  readonly classifier?: Classifier;

  /**
   * Addresses of the IT administrators subscribed to the alert topic.
   *
   * @default - no subscription
   */
  readonly adminEmails?: string[];
}

/**
 * School content moderation: images students and staff upload are checked with Amazon Rekognition's
 * moderation labels; anything flagged or uncertain is moved out of sight and the IT administrator alerted.
 *
 * Defaults, and why:
 * - `classifier`: Rekognition moderation — schools rarely run models; every moderation category is flagged.
 * - `inputPrefix`: `uploads/` — quarantine lives in the same bucket, outside the watched prefix.
 * - `quarantine`: FLAGGED and LOW_CONFIDENCE to `quarantine/` — such images must not stay visible; an
 *   administrator releases false positives by hand.
 * - `failOnLowConfidence`: false — quarantine and the alert are the review path; a failed execution would only
 *   add noise.
 * - Alerts to the IT administrator (`adminEmails`), tags on every object.
 */
export class SchoolModerationPipeline extends ImageClassificationPipeline {
  constructor(scope: Construct, id: string, props: SchoolModerationPipelineProps = {}) {
    const { adminEmails, classifier, ...options } = props;
    super(scope, id, withDefaults({
      inputPrefix: 'uploads/',
      quarantine: { outcomes: [Outcome.FLAGGED, Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' },
      failOnLowConfidence: false,
      alertEmails: adminEmails,
      tagObjects: true,
    }, { ...options, classifier: classifier ?? Classifier.rekognitionModeration() }));
  }
}
