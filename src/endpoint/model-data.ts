import * as fs from 'fs';
import * as path from 'path';
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';

/**
 * What model data contributes to a {@link ClassifierEndpoint} once bound.
 */
export interface ModelDataConfig {
  /** `s3://` URL of the model archive, meaningful only when `problems` is empty. */
  readonly modelDataUrl: string;

  /** Problems with the model data, empty when valid. */
  readonly problems: string[];
}

/**
 * The trained model artifact a {@link ClassifierEndpoint} serves: a gzip-compressed tar archive (`model.tar.gz`),
 * as SageMaker training jobs write it. Use a static factory, e.g. `ModelData.fromBucket(bucket, key)`.
 */
export abstract class ModelData {
  /**
   * An archive already in S3 (e.g. a training job's output). The execution role may read exactly this object
   * (and decrypt it with the bucket's key, when the bucket has one).
   *
   * @param bucket the bucket, in the endpoint's region
   * @param key object key of the `.tar.gz` archive
   */
  public static fromBucket(bucket: s3.IBucket, key: string): ModelData {
    return new BucketModelData(bucket, key);
  }

  /**
   * A local `.tar.gz` file uploaded as a CDK file asset when the stack deploys. The execution role may read
   * exactly the uploaded object.
   *
   * @param filePath path of the `.tar.gz` file (not a directory: it would be zipped, and SageMaker needs a tar archive)
   * @param options asset options
   * @default - default asset options
   */
  public static fromAsset(filePath: string, options?: s3assets.AssetOptions): ModelData {
    return new AssetModelData(filePath, options ?? {});
  }

  /**
   * Resolves the S3 URL of the archive and grants `grantee` (the execution role) read access to it.
   * Problems are returned rather than thrown so the endpoint can report every problem in one error.
   */
  public abstract bind(scope: Construct, grantee: iam.IGrantable): ModelDataConfig;
}

const ARCHIVE_SUFFIX = '.tar.gz';

/** `s3:GetObject` on exactly one object, plus decrypt with the bucket's key when it has one. */
function grantReadObject(bucket: s3.IBucket, key: string, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [bucket.arnForObjects(key)] });
  bucket.encryptionKey?.grantDecrypt(grantee);
}

class BucketModelData extends ModelData {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string) {
    super();
  }

  public bind(_scope: Construct, grantee: iam.IGrantable): ModelDataConfig {
    if (!Token.isUnresolved(this.key) && (!this.key.toLowerCase().endsWith(ARCHIVE_SUFFIX) || this.key.startsWith('/'))) {
      return {
        modelDataUrl: '',
        problems: [`modelData: key "${this.key}" must name a ${ARCHIVE_SUFFIX} archive (without a leading "/")`],
      };
    }
    grantReadObject(this.bucket, this.key, grantee);
    return { modelDataUrl: this.bucket.s3UrlForObject(this.key), problems: [] };
  }
}

class AssetModelData extends ModelData {
  constructor(private readonly filePath: string, private readonly options: s3assets.AssetOptions) {
    super();
  }

  public bind(scope: Construct, grantee: iam.IGrantable): ModelDataConfig {
    const problem = this.problem();
    if (problem !== undefined) return { modelDataUrl: '', problems: [problem] };
    const asset = (scope.node.tryFindChild('ModelData') as s3assets.Asset | undefined)
      ?? new s3assets.Asset(scope, 'ModelData', { ...this.options, path: this.filePath });
    grantReadObject(asset.bucket, asset.s3ObjectKey, grantee);
    return { modelDataUrl: asset.s3ObjectUrl, problems: [] };
  }

  private problem(): string | undefined {
    if (!this.filePath.toLowerCase().endsWith(ARCHIVE_SUFFIX)) {
      return `modelData: asset "${this.filePath}" must be a ${ARCHIVE_SUFFIX} file (SageMaker serves a gzip-compressed tar archive)`;
    }
    const stat = fs.statSync(path.resolve(this.filePath), { throwIfNoEntry: false });
    if (stat === undefined) return `modelData: asset "${this.filePath}" does not exist`;
    if (!stat.isFile()) return `modelData: asset "${this.filePath}" must be a file, not a directory`;
    return undefined;
  }
}
