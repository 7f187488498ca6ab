import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  IMAGE_CLASSIFICATION_CONTENT_TYPE,
  IMAGE_CLASSIFICATION_REGISTRY_ACCOUNTS,
  IMAGE_CLASSIFICATION_REPOSITORY,
  IMAGE_CLASSIFICATION_TAG,
} from './registry';

/**
 * What a container image contributes to a {@link ClassifierEndpoint} once bound.
 */
export interface ContainerImageConfig {
  /** URI of the inference image, meaningful only when `problems` is empty. */
  readonly imageUri: string;

  /**
   * Content-Type the image requires for requests.
   *
   * @default - not fixed by the image
   */
  readonly requestContentType?: string;

  /** Problems with the image for this stack, empty when valid. */
  readonly problems: string[];
}

/**
 * The inference container of a {@link ClassifierEndpoint}. Use a static factory, e.g.
 * `ContainerImage.builtInImageClassification()`.
 */
export abstract class ContainerImage {
  /**
   * SageMaker's built-in image-classification algorithm (`image-classification:1`), from the registry of the
   * stack's region. Its requests are raw image bytes with Content-Type `application/x-image`; its responses are
   * `{"prediction": [p0, p1, ...]}`.
   *
   * In a region-agnostic stack the registry is looked up at deploy time from a mapping (`Fn::FindInMap` on
   * `AWS::Region`); deploying such a stack to a region without the algorithm fails with a mapping error.
   */
  public static builtInImageClassification(): ContainerImage {
    return new BuiltInImageClassification();
  }

  /**
   * An image by URI, e.g. an AWS Deep Learning Container. The execution role is not granted anything: SageMaker
   * pulls AWS-owned images itself; for a repository of your own prefer `fromEcrRepository`.
   *
   * @param imageUri `registry/repository:tag` or `registry/repository@digest`, in the endpoint's region
   */
  public static fromRegistry(imageUri: string): ContainerImage {
    return new RegistryImage(imageUri);
  }

  /**
   * An image from an ECR repository; the execution role is granted pull access to it.
   *
   * @param repository the repository, in the endpoint's region
   * @param tag image tag (or `sha256:...` digest)
   * @default tag 'latest'
   */
  public static fromEcrRepository(repository: ecr.IRepository, tag?: string): ContainerImage {
    return new EcrImage(repository, tag ?? 'latest');
  }

  /**
   * Resolves the image for the endpoint's stack and grants `grantee` (the execution role) what it needs to pull it.
   * Problems are returned rather than thrown so the endpoint can report every problem in one error.
   */
  public abstract bind(scope: Construct, grantee: iam.IGrantable): ContainerImageConfig;
}

/** Logical id of the region → registry mapping, one per stack. */
const REGISTRY_MAPPING_ID = 'IcsImageClassificationRegistries';

class BuiltInImageClassification extends ContainerImage {
  public bind(scope: Construct, _grantee: iam.IGrantable): ContainerImageConfig {
    const stack = Stack.of(scope);
    let account: string;
    let region: string;
    if (Token.isUnresolved(stack.region)) {
      account = registryMapping(stack).findInMap(Aws.REGION, 'account');
      region = Aws.REGION;
    } else {
      const known = IMAGE_CLASSIFICATION_REGISTRY_ACCOUNTS[stack.region];
      if (known === undefined) {
        return {
          imageUri: '',
          problems: [
            `image: the built-in image-classification algorithm is not available in ${stack.region}; ` +
            `supported regions: ${Object.keys(IMAGE_CLASSIFICATION_REGISTRY_ACCOUNTS).join(', ')}`,
          ],
        };
      }
      account = known;
      region = stack.region;
    }
    return {
      imageUri: `${account}.dkr.ecr.${region}.${stack.urlSuffix}/${IMAGE_CLASSIFICATION_REPOSITORY}:${IMAGE_CLASSIFICATION_TAG}`,
      requestContentType: IMAGE_CLASSIFICATION_CONTENT_TYPE,
      problems: [],
    };
  }
}

/** The stack's region → registry account mapping, created on first use. */
function registryMapping(stack: Stack): CfnMapping {
  const existing = stack.node.tryFindChild(REGISTRY_MAPPING_ID);
  if (existing instanceof CfnMapping) return existing;
  const mapping: Record<string, Record<string, string>> = {};
  for (const [region, account] of Object.entries(IMAGE_CLASSIFICATION_REGISTRY_ACCOUNTS)) {
    mapping[region] = { account };
  }
  return new CfnMapping(stack, REGISTRY_MAPPING_ID, { mapping });
}

class RegistryImage extends ContainerImage {
  constructor(private readonly imageUri: string) {
    super();
  }

  public bind(_scope: Construct, _grantee: iam.IGrantable): ContainerImageConfig {
    const problems: string[] = [];
    if (!Token.isUnresolved(this.imageUri) && !/^[^\s/]+\/[^\s]+$/.test(this.imageUri)) {
      problems.push(`image: "${this.imageUri}" is not an image URI (registry/repository[:tag] or registry/repository@digest)`);
    }
    return { imageUri: this.imageUri, problems };
  }
}

class EcrImage extends ContainerImage {
  constructor(private readonly repository: ecr.IRepository, private readonly tag: string) {
    super();
  }

  public bind(_scope: Construct, grantee: iam.IGrantable): ContainerImageConfig {
    this.repository.grantPull(grantee);
    return { imageUri: this.repository.repositoryUriForTagOrDigest(this.tag), problems: [] };
  }
}
