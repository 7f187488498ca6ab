import { ArnFormat, AspectPriority, Aspects, RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { ContainerImage } from './container-image';
import { EndpointHosting, EndpointHostingType } from './hosting';
import { ClassifierEndpointProps, IClassifierEndpoint } from './props';
import { LOCAL_STORAGE_FAMILY, validateEndpointProps } from './validation';
import { createAccessLogsBucket } from '../compliance/access-logs';
import { acknowledge, ACKNOWLEDGEMENTS } from '../compliance/acknowledgements';
import { NagV2Metadata } from '../compliance/nag-v2-metadata';
import { ACKNOWLEDGE_PRIORITY, PolicyAcknowledgements } from '../compliance/policy-acknowledgements';

const grantInvokeOn = (grantee: iam.IGrantable, endpointArn: string) =>
  iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:InvokeEndpoint'], resourceArns: [endpointArn] });

/** Resource name of the Application Auto Scaling service-linked role for SageMaker endpoints. */
const SAGEMAKER_SCALING_ROLE = 'aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint';

/**
 * A SageMaker endpoint serving an image classification model: model, endpoint configuration and endpoint, with a
 * least-privilege execution role. Serverless by default; instance-backed with autoscaling and data capture on request.
 *
 * Plug it into a pipeline with `Classifier.fromEndpoint(endpoint)`.
 */
export class ClassifierEndpoint extends Resource implements IClassifierEndpoint {
  /**
   * Imports an endpoint by name, in this stack's account and region.
   */
  public static fromEndpointName(scope: Construct, id: string, endpointName: string): IClassifierEndpoint {
    // SageMaker writes endpoint names in lower case in ARNs, and IAM matches ARNs case-sensitively.
    const endpointArn = Stack.of(scope).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: Token.isUnresolved(endpointName) ? endpointName : endpointName.toLowerCase(),
    });
    class Import extends Resource implements IClassifierEndpoint {
      public readonly endpointName = endpointName;
      public readonly endpointArn = endpointArn;
      public grantInvoke(grantee: iam.IGrantable): iam.Grant {
        return grantInvokeOn(grantee, this.endpointArn);
      }
    }
    return new Import(scope, id);
  }

  public readonly endpointName: string;
  public readonly endpointArn: string;
  public readonly requestContentType?: string;
  /** Most invocations the endpoint serves at once: serverless `maxConcurrency`, or 4 per instance at the largest count. */
  public readonly maxConcurrentInvocations?: number;
  /** The execution role SageMaker assumes. */
  public readonly role: iam.IRole;
  /** The SageMaker model. */
  public readonly model: sagemaker.CfnModel;
  /** The endpoint configuration. */
  public readonly endpointConfig: sagemaker.CfnEndpointConfig;
  /** The endpoint. */
  public readonly endpoint: sagemaker.CfnEndpoint;
  /** The key encrypting storage and captures; undefined on instance types with local storage and no key given. */
  public readonly encryptionKey?: kms.IKey;
  /** The bucket captures are written to; undefined without `dataCapture`. */
  public readonly dataCaptureBucket?: s3.IBucket;
  /** The variant's scalable target; undefined without `autoScaling`. */
  public readonly scalableTarget?: appscaling.ScalableTarget;
  /** The production variant's name. */
  public readonly variantName: string;

  constructor(scope: Construct, id: string, props: ClassifierEndpointProps) {
    super(scope, id);

    const hosting = props.hosting ?? EndpointHosting.serverless();
    const image = props.image ?? ContainerImage.builtInImageClassification();
    this.variantName = props.variantName ?? 'AllTraffic';
    const capture = props.dataCapture && {
      prefix: (props.dataCapture.prefix ?? 'data-capture/').replace(/^\/+/, ''),
      samplingPercentage: props.dataCapture.samplingPercentage ?? 100,
      captureInputs: props.dataCapture.captureInputs ?? true,
      captureOutputs: props.dataCapture.captureOutputs ?? true,
    };

    this.role = props.role ?? new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Execution role of an image classification endpoint (ICS)',
    });
    const imageConfig = image.bind(this, this.role);
    const modelDataConfig = props.modelData.bind(this, this.role);
    const problems = [
      ...imageConfig.problems,
      ...modelDataConfig.problems,
      ...validateEndpointProps({
        hosting,
        endpointName: props.endpointName,
        variantName: this.variantName,
        dataCapture: capture,
        encryptionKey: props.encryptionKey !== undefined,
      }),
    ];
    if (problems.length > 0) {
      throw new Error(`Invalid ClassifierEndpoint props at ${this.node.path}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    this.requestContentType = imageConfig.requestContentType;
    this.maxConcurrentInvocations = hosting.type === EndpointHostingType.SERVERLESS
      ? hosting.maxConcurrency
      : INVOCATIONS_PER_INSTANCE * (hosting.autoScaling?.maxCapacity ?? hosting.initialInstanceCount ?? 1);

    this.grantLogsAndMetrics(props.endpointName);
    // Storage, captures and (HIPAA, NIST, PCI) the endpoint configuration are encrypted with a customer managed key,
    // except on instance types whose local storage SageMaker encrypts itself and whose configuration refuses a key.
    const localStorage = hosting.type === EndpointHostingType.INSTANCES && LOCAL_STORAGE_FAMILY.test(hosting.instanceType ?? '');
    const key = props.encryptionKey ?? (localStorage ? undefined : new kms.Key(this, 'Key', {
      description: 'Encrypts an image classification endpoint\'s storage and data capture (ICS)',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    }));
    this.encryptionKey = key;
    key?.grant(this.role, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey');

    this.model = new sagemaker.CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: imageConfig.imageUri,
        modelDataUrl: modelDataConfig.modelDataUrl,
        environment: props.environment,
      },
    });
    // SageMaker checks the image and artifact with the role when it creates the model and endpoint.
    this.model.node.addDependency(this.role);

    let dataCaptureConfig: sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | undefined;
    if (capture) {
      const bucket = props.dataCapture?.bucket ?? this.createDataCaptureBucket(key);
      // Named actions only: SageMaker writes capture objects, nothing else.
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects(`${capture.prefix}*`)] }));
      if (!props.encryptionKey) bucket.encryptionKey?.grant(this.role, 'kms:Encrypt', 'kms:GenerateDataKey');
      this.dataCaptureBucket = bucket;
      const captureKey = key ?? bucket.encryptionKey;
      dataCaptureConfig = {
        enableCapture: true,
        destinationS3Uri: `s3://${bucket.bucketName}/${capture.prefix}`,
        initialSamplingPercentage: capture.samplingPercentage,
        captureOptions: [
          ...(capture.captureInputs ? [{ captureMode: 'Input' }] : []),
          ...(capture.captureOutputs ? [{ captureMode: 'Output' }] : []),
        ],
        // JSON responses are stored as text; images stay base64-encoded
        captureContentTypeHeader: { jsonContentTypes: ['application/json'] },
        kmsKeyId: captureKey?.keyArn,
      };
    }

    const serverless = hosting.type === EndpointHostingType.SERVERLESS;
    this.endpointConfig = new sagemaker.CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [{
        variantName: this.variantName,
        modelName: this.model.attrModelName,
        initialVariantWeight: 1,
        ...(serverless
          ? {
            serverlessConfig: {
              memorySizeInMb: hosting.memorySizeInMb!,
              maxConcurrency: hosting.maxConcurrency!,
              provisionedConcurrency: hosting.provisionedConcurrency,
            },
          }
          : { instanceType: hosting.instanceType, initialInstanceCount: hosting.initialInstanceCount }),
      }],
      dataCaptureConfig,
      kmsKeyId: key?.keyArn,
    });

    if (!key) acknowledge(this.endpointConfig, ACKNOWLEDGEMENTS.endpointLocalStorage);
    // Every grant above is in when synthesis runs the aspect: inline policies and their documented wildcards.
    Aspects.of(this).add(new PolicyAcknowledgements(this), { priority: ACKNOWLEDGE_PRIORITY });
    Aspects.of(this).add(new NagV2Metadata(this), { priority: AspectPriority.MUTATING });

    this.endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      endpointName: props.endpointName,
    });
    // Ref is the ARN too; the attributes say what they are.
    this.endpointName = this.endpoint.attrEndpointName;
    this.endpointArn = this.endpoint.attrEndpointArn;

    const scaling = hosting.autoScaling;
    if (!serverless && scaling) {
      this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
        serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
        resourceId: `endpoint/${this.endpointName}/variant/${this.variantName}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity: scaling.minCapacity,
        maxCapacity: scaling.maxCapacity,
        // Application Auto Scaling uses this service-linked role for SageMaker whatever role is given; naming it
        // keeps ScalableTarget from creating an unused one.
        role: iam.Role.fromRoleArn(this, 'ScalingRole', Stack.of(this).formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName: SAGEMAKER_SCALING_ROLE,
        }), { mutable: false }),
      });
      this.scalableTarget.node.addDependency(this.endpoint);
      this.scalableTarget.scaleToTrackMetric('InvocationsPerInstance', {
        predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        targetValue: scaling.targetInvocationsPerInstance,
        scaleInCooldown: scaling.scaleInCooldown,
        scaleOutCooldown: scaling.scaleOutCooldown,
      });
    }
  }

  /**
   * Grants `sagemaker:InvokeEndpoint` on this endpoint.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return grantInvokeOn(grantee, this.endpointArn);
  }

  /**
   * CloudWatch Logs for the endpoint's log group (`/aws/sagemaker/Endpoints/<name>`; any endpoint's while the
   * name is generated, since the name cannot be referenced from the role's policy without a cycle) and
   * instance metrics in SageMaker's namespaces.
   */
  /** Encrypted, versioned, TLS-only, access-logged and retained, like the pipeline's buckets. */
  private createDataCaptureBucket(key: kms.IKey | undefined): s3.Bucket {
    const bucket = new s3.Bucket(this, 'DataCaptureBucket', {
      encryption: key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: key,
      bucketKeyEnabled: key ? true : undefined,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: createAccessLogsBucket(this),
      targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(bucket, ACKNOWLEDGEMENTS.bucketReplication);
    return bucket;
  }

  private grantLogsAndMetrics(endpointName: string | undefined): void {
    const stack = Stack.of(this);
    const logGroupArn = (name: string) => stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `/aws/sagemaker/Endpoints/${name}`,
    });
    const names = endpointName === undefined || Token.isUnresolved(endpointName)
      ? ['*']
      : [...new Set([endpointName, endpointName.toLowerCase()])];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: names.flatMap((n) => (n === '*' ? [logGroupArn(n)] : [logGroupArn(n), `${logGroupArn(n)}:*`])),
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
    }));
  }
}

/**
 * Concurrent invocations an instance is assumed to serve (queued ingestion's default cap): a model server runs a
 * few workers per instance and queues beyond them. Load-test your model and set `maxConcurrency` to tune it.
 */
const INVOCATIONS_PER_INSTANCE = 4;
