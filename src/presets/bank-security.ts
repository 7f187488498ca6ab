import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { withDefaults } from './defaults';
import { Classifier } from '../classifier';
import { ImageClassificationPipeline, ImageClassificationPipelineOptions } from '../pipeline';

/**
 * Properties for a {@link BankSecurityPipeline}. Every pipeline option can be set; those left unset take the
 * preset's defaults, documented here.
 */
export interface BankSecurityPipelineProps extends ImageClassificationPipelineOptions {
  /**
   * The vehicle classifier, e.g. a SentryCam-style CIFAR-100 model behind a SageMaker endpoint
   * (`Classifier.sagemakerEndpoint(...)` or `Classifier.fromEndpoint(new ClassifierEndpoint(...))`).
   */
  readonly classifier: Classifier;

  /**
   * Addresses subscribed to the security topic. Alerts go out as soon as an image is decided: a vehicle
   * class worth a look, an image the model is unsure about, or one that could not be classified.
   *
   * @default - no subscription; subscribe your SOC tooling to `alertTopics[0]`
   */
  readonly securityEmails?: string[];
}

/**
 * Bank security cameras: vehicles approaching a branch, classified into the SentryCam reference's classes,
 * with motorcycles, pickup trucks and tanks flagged to the security team at once.
 *
 * Defaults, and why:
 * - `classLabels`: {@link BankSecurityPipeline.VEHICLE_LABELS}, the reference model's output order.
 * - `flaggedLabels`: {@link BankSecurityPipeline.FLAGGED_VEHICLES}, the classes the reference alerts on.
 * - `confidenceThreshold`: 0.94 — a false FLAGGED pages a guard, so only sure answers count; the rest are
 *   LOW_CONFIDENCE and alerted for human review.
 * - Alerts: FLAGGED, LOW_CONFIDENCE and ERROR to one encrypted security topic (`securityEmails` subscribed).
 * - `auditTrail.retention`: 7 years, a common retention for bank security records (check your regulator's).
 * - Tags every object, so the camera archive can be searched by class.
 */
export class BankSecurityPipeline extends ImageClassificationPipeline {
  /** Vehicle classes of the SentryCam reference model (a CIFAR-100 subset), in output order. */
  public static readonly VEHICLE_LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];
  /** The classes flagged by default. */
  public static readonly FLAGGED_VEHICLES = ['motorcycle', 'pickup_truck', 'tank'];

  constructor(scope: Construct, id: string, props: BankSecurityPipelineProps) {
    const { securityEmails, ...options } = props;
    super(scope, id, withDefaults({
      classLabels: BankSecurityPipeline.VEHICLE_LABELS,
      flaggedLabels: BankSecurityPipeline.FLAGGED_VEHICLES,
      confidenceThreshold: 0.94,
      alertEmails: securityEmails,
      auditTrail: { retention: Duration.days(7 * 365 + 2) },
      tagObjects: true,
    }, options));
  }
}
