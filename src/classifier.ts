import { Arn, ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ResponseFormat } from './response-format';

/**
 * Options for {@link Classifier.sagemakerEndpoint}.
 */
export interface SageMakerEndpointClassifierOptions {
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

  /**
   * Content-Type sent with every image. Set it when the model only accepts one type, e.g.
   * `application/x-image` for the SageMaker built-in image-classification algorithm.
   *
   * @default - the type sniffed from the image bytes (`image/jpeg`, `image/png`, ...)
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
}

/**
 * What a classifier contributes to the pipeline once bound.
 */
export interface ClassifierConfig {
  /** Name of the endpoint the classify function invokes. */
  readonly endpointName: string;
  /** ARN of that endpoint, for IAM. */
  readonly endpointArn: string;
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
  /** Shape of the response body. */
  readonly responseFormat: ResponseFormat;
}

/**
 * The model that classifies images. Use a static factory, e.g. `Classifier.sagemakerEndpoint(...)`.
 */
export abstract class Classifier {
  /**
   * Classify with an existing SageMaker endpoint (bring your own endpoint).
   */
  public static sagemakerEndpoint(options: SageMakerEndpointClassifierOptions): Classifier {
    return new SageMakerEndpointClassifier(options);
  }

  /**
   * Validates the options and returns the configuration for the pipeline. Problems are returned rather
   * than thrown so the pipeline can report every problem in one error.
   */
  public abstract bind(scope: Construct): ClassifierBinding;

  /**
   * Grants the classify function permission to invoke the model.
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
  constructor(private readonly options: SageMakerEndpointClassifierOptions) {
    super();
  }

  public bind(scope: Construct): ClassifierBinding {
    const { endpointName, endpointArn } = this.options;
    const problems: string[] = [];
    if ((endpointName === undefined) === (endpointArn === undefined)) {
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
    if (problems.length > 0) {
      return { problems, config: { endpointName: '', endpointArn: '', responseFormat: ResponseFormat.AUTO } };
    }

    const stack = Stack.of(scope);
    let name: string;
    let arn: string;
    let region: string | undefined;
    if (endpointArn !== undefined) {
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
        endpointName: name,
        endpointArn: arn,
        endpointRegion: region,
        contentType: this.options.contentType,
        variantName: this.options.variantName,
        responseFormat: this.options.responseFormat ?? ResponseFormat.AUTO,
      },
    };
  }

  public grantInvoke(scope: Construct, grantee: iam.IGrantable): iam.Grant {
    const { config } = this.bind(scope);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [config.endpointArn],
    });
  }
}
