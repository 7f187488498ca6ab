import { Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { IClassifierEndpoint } from './endpoint';
import { MODERATION_SAFE_LABEL, ModerationCategory, UNLABELED } from './rekognition';
import { ResponseFormat, ScoreType } from './response-format';

/**
 * How the classify function talks to a SageMaker endpoint.
 */
export interface EndpointClassifierOptions {
  /**
   * Content-Type sent with every image. Set it when the model only accepts one type, e.g.
   * `application/x-image` for the SageMaker built-in image-classification algorithm.
   *
   * @default - the endpoint's `requestContentType` when it declares one, else the type sniffed from the
   * image bytes (`image/jpeg`, `image/png`, ...)
   */
  readonly contentType?: string;

  /**
   * Production variant to invoke (`TargetVariant`), for A/B tests.
   *
   * @default - SageMaker routes by the endpoint's variant weights
   */
  readonly variantName?: string;

  /**
   * Shape of the endpoint's response body.
   *
   * @default ResponseFormat.AUTO
   */
  readonly responseFormat?: ResponseFormat;

  /**
   * What the numbers in the response mean. Results carry probabilities, so set this when the model
   * answers logits: the classify function then computes the probabilities. Logits need a positional
   * `responseFormat` (not `LABEL_SCORES`): a label-keyed body may omit labels, and an omitted label has no logit.
   *
   * @default ScoreType.PROBABILITIES - each score must be in [0, 1], else the image is `ERROR`
   * with `MalformedModelResponse`
   */
  readonly scoreType?: ScoreType;
}

/**
 * Options for {@link Classifier.sagemakerEndpoint}.
 */
export interface SageMakerEndpointClassifierOptions extends EndpointClassifierOptions {
  /**
   * Name of an existing SageMaker real-time or serverless endpoint in this stack's account and region.
   * Give exactly one of `endpointName` and `endpointArn`.
   *
   * @default - derived from `endpointArn`
   */
  readonly endpointName?: string;

  /**
   * ARN of an existing SageMaker endpoint; use it for an endpoint in another region.
   * Give exactly one of `endpointName` and `endpointArn`.
   *
   * @default - built from `endpointName` in this stack's partition, region and account
   */
  readonly endpointArn?: string;
}

/**
 * Options for {@link Classifier.rekognitionLabels}.
 */
export interface RekognitionLabelsClassifierOptions {
  /**
   * Only these Rekognition labels are considered (DetectLabels `LabelInclusionFilters`, at most 100), e.g.
   * `['Car', 'Truck', 'Motorcycle']`. They are also the pipeline's class labels when it gives none.
   *
   * @default - every label Rekognition knows
   */
  readonly labels?: string[];

  /**
   * Rekognition omits labels below this confidence (0–100). An image with no label at or above it is
   * recorded as `Unlabeled` with confidence 0 (LOW_CONFIDENCE).
   *
   * @default 50
   */
  readonly minConfidence?: number;

  /**
   * Most labels returned (they appear in `scores` and `topK`).
   *
   * @default 10
   */
  readonly maxLabels?: number;
}

/**
 * Options for {@link Classifier.rekognitionModeration}.
 */
export interface RekognitionModerationClassifierOptions {
  /**
   * Rekognition omits moderation labels below this confidence (0–100). An image with none at or above it
   * is recorded as `Safe` with confidence `1 - minConfidence / 100`, so it must be at most
   * `(1 - confidenceThreshold) * 100` for such images to be ACCEPTED. Labels between `minConfidence` and
   * the threshold make the image LOW_CONFIDENCE (for review).
   *
   * @default - (1 - confidenceThreshold) * 100, e.g. 20 for the default threshold 0.8
   */
  readonly minConfidence?: number;
}

/** The kind of model behind a {@link Classifier}. */
export enum ClassifierKind {
  /** A SageMaker endpoint, invoked by the classify function. */
  SAGEMAKER_ENDPOINT = 'SAGEMAKER_ENDPOINT',
  /** Amazon Rekognition DetectLabels, called by the state machine itself (no Lambda). */
  REKOGNITION_LABELS = 'REKOGNITION_LABELS',
  /** Amazon Rekognition DetectModerationLabels, called by the state machine itself (no Lambda). */
  REKOGNITION_MODERATION = 'REKOGNITION_MODERATION',
}

/**
 * What the pipeline tells a classifier when binding it.
 */
export interface ClassifierBindOptions {
  /** The pipeline's confidence threshold (0–1). */
  readonly confidenceThreshold: number;
}

/**
 * What a classifier contributes to the pipeline once bound.
 */
export interface ClassifierConfig {
  /** The kind of model. */
  readonly kind: ClassifierKind;
  /** Recorded in every result as `modelEndpoint`, e.g. the endpoint name or `rekognition:DetectLabels`. */
  readonly modelId: string;
  /**
   * Name of the endpoint the classify function invokes.
   * @default - none (Rekognition)
   */
  readonly endpointName?: string;
  /**
   * ARN of that endpoint, for IAM.
   * @default - none (Rekognition)
   */
  readonly endpointArn?: string;
  /**
   * Region of the endpoint when it is not the stack's.
   * @default - the stack's region
   */
  readonly endpointRegion?: string;
  /**
   * Fixed request Content-Type.
   * @default - sniffed per image
   */
  readonly contentType?: string;
  /**
   * Production variant to invoke.
   * @default - weighted routing
   */
  readonly variantName?: string;
  /**
   * Shape of the response body.
   * @default ResponseFormat.AUTO
   */
  readonly responseFormat?: ResponseFormat;
  /**
   * What the numbers in the response mean.
   * @default ScoreType.PROBABILITIES
   */
  readonly scoreType?: ScoreType;
  /**
   * The labels this classifier can return, used when the pipeline gives no `classLabels`.
   * @default - the pipeline must give `classLabels`
   */
  readonly classLabels?: string[];
  /**
   * Labels flagged when the pipeline gives no `flaggedLabels`.
   * @default - none
   */
  readonly defaultFlaggedLabels?: string[];
  /**
   * Rekognition request settings.
   * @default - none (SageMaker)
   */
  readonly rekognition?: RekognitionConfig;
  /**
   * Most requests the model serves at the same time, when known (a `ClassifierEndpoint`): queued ingestion's
   * default `maxConcurrency`, and a larger `maxConcurrency` is refused.
   * @default - not known
   */
  readonly maxConcurrency?: number;
  /**
   * Queued ingestion's default `maxConcurrency` when `maxConcurrency` is not known.
   * @default - 10
   */
  readonly defaultConcurrency?: number;
}

/**
 * Rekognition request settings and how an answer without labels is recorded.
 */
export interface RekognitionConfig {
  /** Rekognition omits labels below this confidence (0–100). */
  readonly minConfidence: number;
  /**
   * Only these labels are returned (DetectLabels `LabelInclusionFilters`).
   * @default - every label
   */
  readonly labels?: string[];
  /**
   * Most labels DetectLabels returns.
   * @default - no limit (DetectModerationLabels)
   */
  readonly maxLabels?: number;
  /** The label recorded when Rekognition returns none at or above `minConfidence`. */
  readonly noLabel: string;
  /** The confidence recorded with `noLabel` (0–1). */
  readonly noLabelConfidence: number;
}

/**
 * The model that classifies images. Use a static factory: `Classifier.sagemakerEndpoint(...)`,
 * `Classifier.fromEndpoint(...)`, `Classifier.rekognitionLabels(...)` or `Classifier.rekognitionModeration(...)`.
 */
export abstract class Classifier {
  /**
   * Classify with an existing SageMaker endpoint (bring your own endpoint).
   */
  public static sagemakerEndpoint(options: SageMakerEndpointClassifierOptions): Classifier {
    return new SageMakerEndpointClassifier(options);
  }

  /**
   * Classify with an endpoint deployed in the same app, e.g. a {@link ClassifierEndpoint}.
   */
  public static fromEndpoint(endpoint: IClassifierEndpoint, options: EndpointClassifierOptions = {}): Classifier {
    return new SageMakerEndpointClassifier({
      ...options,
      endpointArn: endpoint.endpointArn,
      endpointName: endpoint.endpointName,
      contentType: options.contentType ?? endpoint.requestContentType,
    }, true, endpoint.maxConcurrentInvocations);
  }

  /**
   * Classify with Amazon Rekognition DetectLabels: no model of your own. The state machine calls Rekognition
   * with the S3 object reference; the top label and its confidence (scaled to 0–1) decide the outcome.
   */
  public static rekognitionLabels(options: RekognitionLabelsClassifierOptions = {}): Classifier {
    return new RekognitionClassifier(ClassifierKind.REKOGNITION_LABELS, options);
  }

  /**
   * Classify with Amazon Rekognition DetectModerationLabels. The result label is the top-level moderation
   * category with the highest confidence, or `Safe` when Rekognition finds none at or above `minConfidence`;
   * every category is flagged unless the pipeline sets `flaggedLabels`.
   */
  public static rekognitionModeration(options: RekognitionModerationClassifierOptions = {}): Classifier {
    return new RekognitionClassifier(ClassifierKind.REKOGNITION_MODERATION, options);
  }

  /**
   * Validates the options and returns the configuration for the pipeline. Problems are returned rather
   * than thrown so the pipeline can report every problem in one error.
   */
  public abstract bind(scope: Construct, options: ClassifierBindOptions): ClassifierBinding;

  /**
   * Grants permission to call the model: to the classify function (SageMaker) or the state machine (Rekognition).
   */
  public abstract grantInvoke(scope: Construct, grantee: iam.IGrantable): iam.Grant;
}

/**
 * The result of binding a classifier: its configuration and any problems with its options.
 */
export interface ClassifierBinding {
  /** The configuration, meaningful only when `problems` is empty. */
  readonly config: ClassifierConfig;
  /** Problems with the classifier's options, empty when valid. */
  readonly problems: string[];
}

class SageMakerEndpointClassifier extends Classifier {
  /** @param fromConstruct name and ARN both come from an endpoint construct (`fromEndpoint`). */
  /** @param maxConcurrency what the endpoint serves at once, when the endpoint construct knows it */
  constructor(
    private readonly options: SageMakerEndpointClassifierOptions,
    private readonly fromConstruct = false,
    private readonly maxConcurrency?: number,
  ) {
    super();
  }

  public bind(scope: Construct, _options?: ClassifierBindOptions): ClassifierBinding {
    const { endpointName, endpointArn } = this.options;
    const problems: string[] = [];
    if (this.fromConstruct) {
      // Both are known; the ARN carries the region.
    } else if ((endpointName === undefined) === (endpointArn === undefined)) {
      problems.push('classifier: give exactly one of endpointName and endpointArn');
    }
    if (endpointName !== undefined && !Token.isUnresolved(endpointName) && !/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(endpointName)) {
      problems.push(`classifier: endpointName "${endpointName}" is not a valid SageMaker endpoint name (1-63 alphanumerics and hyphens)`);
    }
    if (endpointArn !== undefined && !Token.isUnresolved(endpointArn) && !/^arn:[^:]+:sagemaker:[^:]*:[^:]*:endpoint\/.+$/.test(endpointArn)) {
      problems.push(`classifier: endpointArn "${endpointArn}" is not a SageMaker endpoint ARN (arn:<partition>:sagemaker:<region>:<account>:endpoint/<name>)`);
    }
    if (this.options.contentType !== undefined && !Token.isUnresolved(this.options.contentType) && !/^[\w.+-]+\/[\w.+-]+$/.test(this.options.contentType)) {
      problems.push(`classifier: contentType "${this.options.contentType}" is not a MIME type`);
    }
    const scoreType = this.options.scoreType ?? ScoreType.PROBABILITIES;
    if (scoreType !== ScoreType.PROBABILITIES && this.options.responseFormat === ResponseFormat.LABEL_SCORES) {
      problems.push(`classifier: scoreType ${scoreType} needs a positional responseFormat, not LABEL_SCORES (a label-keyed body may omit labels, and an omitted label has no logit)`);
    }
    if (problems.length > 0) {
      return { problems, config: { kind: ClassifierKind.SAGEMAKER_ENDPOINT, modelId: '' } };
    }

    const stack = Stack.of(scope);
    let name: string;
    let arn: string;
    let region: string | undefined;
    if (this.fromConstruct) {
      name = endpointName!;
      arn = endpointArn!;
    } else if (endpointArn !== undefined) {
      const parts = Arn.split(endpointArn, ArnFormat.SLASH_RESOURCE_NAME);
      name = parts.resourceName!;
      arn = endpointArn;
      region = parts.region !== undefined && parts.region !== stack.region ? parts.region : undefined;
    } else {
      name = endpointName!;
      // SageMaker ARNs carry the endpoint name in lower case, and IAM matches ARNs case-sensitively.
      arn = stack.formatArn({
        service: 'sagemaker',
        resource: 'endpoint',
        resourceName: Token.isUnresolved(name) ? name : name.toLowerCase(),
      });
    }
    return {
      problems,
      config: {
        kind: ClassifierKind.SAGEMAKER_ENDPOINT,
        modelId: name,
        endpointName: name,
        endpointArn: arn,
        endpointRegion: region,
        contentType: this.options.contentType,
        variantName: this.options.variantName,
        responseFormat: this.options.responseFormat ?? ResponseFormat.AUTO,
        scoreType,
        maxConcurrency: this.maxConcurrency,
        defaultConcurrency: DEFAULT_ENDPOINT_CONCURRENCY,
      },
    };
  }

  public grantInvoke(scope: Construct, grantee: iam.IGrantable): iam.Grant {
    const { config } = this.bind(scope);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [config.endpointArn!],
    });
  }
}

class RekognitionClassifier extends Classifier {
  constructor(
    private readonly kind: ClassifierKind.REKOGNITION_LABELS | ClassifierKind.REKOGNITION_MODERATION,
    private readonly options: RekognitionLabelsClassifierOptions & RekognitionModerationClassifierOptions,
  ) {
    super();
  }

  public bind(_scope: Construct, bindOptions: ClassifierBindOptions): ClassifierBinding {
    const problems: string[] = [];
    const moderation = this.kind === ClassifierKind.REKOGNITION_MODERATION;
    const threshold = bindOptions.confidenceThreshold;
    // The Safe label's confidence is a lower bound: nothing reached minConfidence. Rounded so 1 - 0.8 gives 20.
    const minConfidence = this.options.minConfidence ?? (moderation ? Math.round((1 - threshold) * 10000) / 100 : 50);
    const name = moderation ? 'rekognitionModeration' : 'rekognitionLabels';
    if (resolved(minConfidence) && !(minConfidence >= 0 && minConfidence <= 100)) {
      problems.push(`classifier: ${name} minConfidence must be between 0 and 100, got ${minConfidence}`);
    } else if (moderation && resolved(minConfidence) && resolved(threshold) && 1 - minConfidence / 100 < threshold - 1e-9) {
      problems.push(`classifier: rekognitionModeration minConfidence ${minConfidence} records images without moderation labels as `
        + `Safe with confidence ${1 - minConfidence / 100}, below the threshold ${threshold}: use at most ${Math.round((1 - threshold) * 10000) / 100}`);
    }
    const labels = this.options.labels;
    if (labels !== undefined) {
      const known = labels.filter(resolved);
      if (labels.length === 0) problems.push('classifier: rekognitionLabels labels must not be empty (omit it to consider every label)');
      if (labels.length > 100) problems.push(`classifier: rekognitionLabels accepts at most 100 labels, got ${labels.length}`);
      if (known.some((l) => l.trim() === '')) problems.push('classifier: rekognitionLabels labels must not be empty strings');
      const dupes = [...new Set(known.filter((l, i) => known.indexOf(l) !== i))];
      if (dupes.length > 0) problems.push(`classifier: rekognitionLabels labels must be unique; repeated: ${dupes.join(', ')}`);
    }
    const maxLabels = moderation ? undefined : this.options.maxLabels ?? 10;
    if (maxLabels !== undefined && resolved(maxLabels) && !(Number.isInteger(maxLabels) && maxLabels >= 1 && maxLabels <= 1000)) {
      problems.push(`classifier: rekognitionLabels maxLabels must be an integer from 1 to 1000, got ${maxLabels}`);
    }
    const categories = Object.values(ModerationCategory) as string[];
    return {
      problems,
      config: {
        kind: this.kind,
        modelId: moderation ? 'rekognition:DetectModerationLabels' : 'rekognition:DetectLabels',
        classLabels: moderation ? [MODERATION_SAFE_LABEL, ...categories] : labels,
        defaultFlaggedLabels: moderation ? categories : undefined,
        // Rekognition's default TPS quota for DetectLabels and DetectModerationLabels is 5 in most regions
        // (higher in a few); calls take longer than a second rarely, so 5 in flight stays near the quota.
        defaultConcurrency: REKOGNITION_DEFAULT_CONCURRENCY,
        rekognition: {
          minConfidence,
          labels,
          maxLabels,
          noLabel: moderation ? MODERATION_SAFE_LABEL : UNLABELED,
          noLabelConfidence: moderation ? Math.round((1 - minConfidence / 100) * 10000) / 10000 : 0,
        },
      },
    };
  }

  public grantInvoke(_scope: Construct, grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [this.kind === ClassifierKind.REKOGNITION_MODERATION ? 'rekognition:DetectModerationLabels' : 'rekognition:DetectLabels'],
      // Rekognition's image operations have no resource-level permissions.
      resourceArns: ['*'],
    });
  }
}

const resolved = (v: unknown) => !Token.isUnresolved(v);

/** Queued ingestion's default cap for an endpoint you bring: SageMaker serverless endpoints' default concurrency. */
const DEFAULT_ENDPOINT_CONCURRENCY = 10;
/** Queued ingestion's default cap for Rekognition (its lowest default TPS quota per image operation). */
const REKOGNITION_DEFAULT_CONCURRENCY = 5;
