import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  ClassifierEndpoint, ClassifierEndpointProps, ContainerImage, EndpointHosting, EndpointHostingType, InstanceHostingOptions, ModelData,
  ServerlessHostingOptions,
} from '../src';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/** A stack with one endpoint; `configure` may add props built from the stack. */
function endpointStack(
  props: Partial<ClassifierEndpointProps> = {},
  configure?: (stack: Stack) => Partial<ClassifierEndpointProps>,
  env: { account?: string; region?: string } | undefined = ENV,
) {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env });
  const artifacts = s3.Bucket.fromBucketName(stack, 'Artifacts', 'ics-artifacts');
  const endpoint = new ClassifierEndpoint(stack, 'Vehicles', {
    modelData: ModelData.fromBucket(artifacts, 'vehicles/output/model.tar.gz'),
    ...props,
    ...configure?.(stack),
  });
  const template = Template.fromStack(stack);
  return { app, stack, endpoint, template, json: template.toJSON() as any };
}

const statementsOf = (json: any, rolePrefix: string) =>
  Object.values<any>(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref?.startsWith(rolePrefix)))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
const asList = (v: unknown): string[] => ([] as string[]).concat(v as string | string[]);
const actionsOf = (statements: any[]) => statements.flatMap((s) => asList(s.Action));
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''));
  }
  throw new Error('expected an error');
};

describe('defaults: serverless, built-in algorithm, bucket artifact', () => {
  const { template, json, endpoint } = endpointStack();

  test('one model, config and endpoint; serverless 2048 MB x 10, AllTraffic', () => {
    template.resourceCountIs('AWS::SageMaker::Model', 1);
    template.resourceCountIs('AWS::SageMaker::EndpointConfig', 1);
    template.resourceCountIs('AWS::SageMaker::Endpoint', 1);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{
        VariantName: 'AllTraffic',
        ModelName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesModel'), 'ModelName'] },
        InitialVariantWeight: 1,
        ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 10 },
      }],
      DataCaptureConfig: Match.absent(),
      // A created customer managed key: HIPAA, NIST and PCI want endpoint configurations encrypted with one.
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const config = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SageMaker::EndpointConfig');
    expect(config.Properties.ProductionVariants[0].InstanceType).toBeUndefined();
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointConfigName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesEndpointConfig'), 'EndpointConfigName'] },
      EndpointName: Match.absent(),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    expect(endpoint.dataCaptureBucket).toBeUndefined();
    expect(endpoint.scalableTarget).toBeUndefined();
  });

  test('model: built-in image of the region, artifact URL, execution role', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      ExecutionRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesRole'), 'Arn'] },
      PrimaryContainer: {
        Image: { 'Fn::Join': ['', ['685385470294.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/image-classification:1']] },
        ModelDataUrl: 's3://ics-artifacts/vehicles/output/model.tar.gz',
      },
    });
    expect(endpoint.requestContentType).toBe('application/x-image');
    expect(json.Mappings).toBeUndefined();
  });

  test('the model waits for the role policy', () => {
    const model = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SageMaker::Model');
    expect(model.DependsOn).toEqual(expect.arrayContaining([
      expect.stringMatching(/^VehiclesRoleDefaultPolicy/),
      expect.stringMatching(/^VehiclesRole[0-9A-F]+$/),
    ]));
  });

  test('endpointName and endpointArn are the endpoint attributes', () => {
    const stack = Stack.of(endpoint);
    expect(stack.resolve(endpoint.endpointName)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^VehiclesEndpoint/), 'EndpointName'] });
    expect(stack.resolve(endpoint.endpointArn)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^VehiclesEndpoint/), 'EndpointArn'] });
  });

  test('least-privilege role: sagemaker principal, exact artifact object, endpoint logs, no managed policies', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
    });
    const statements = statementsOf(json, 'VehiclesRole');
    const read = statements.find((s) => s.Action === 's3:GetObject');
    expect(read.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::ics-artifacts/vehicles/output/model.tar.gz']],
    });
    expect(actionsOf(statements).filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject']);
    const logs = statements.find((s) => asList(s.Action).includes('logs:PutLogEvents'));
    expect(logs.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111111111111:log-group:/aws/sagemaker/Endpoints/*']],
    });
    const metrics = statements.find((s) => s.Action === 'cloudwatch:PutMetricData');
    expect(metrics.Condition).toEqual({ StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } });
    expect(actionsOf(statements).some((a) => a.startsWith('ecr:'))).toBe(false);
    expect(JSON.stringify(json)).not.toContain('arn:aws:');
  });

  test('hosting defaults are visible on the factory result', () => {
    const hosting = EndpointHosting.serverless();
    expect([hosting.type, hosting.memorySizeInMb, hosting.maxConcurrency, hosting.provisionedConcurrency])
      .toEqual([EndpointHostingType.SERVERLESS, 2048, 10, undefined]);
  });
});

test('serverless with provisioned concurrency', () => {
  const hosting = EndpointHosting.serverless({ memorySizeInMb: 4096, maxConcurrency: 20, provisionedConcurrency: 2 });
  const { template } = endpointStack({ hosting });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 4096, MaxConcurrency: 20, ProvisionedConcurrency: 2 } })],
  });
});

describe('instances with autoscaling', () => {
  const { template, json, endpoint } = endpointStack({
    hosting: EndpointHosting.instances({
      instanceType: 'ml.m5.large',
      autoScaling: { minCapacity: 2, maxCapacity: 6, targetInvocationsPerInstance: 120, scaleInCooldown: Duration.minutes(10) },
    }),
    variantName: 'Blue',
  });

  test('instance variant starts at minCapacity', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{
        VariantName: 'Blue',
        ModelName: Match.anyValue(),
        InitialVariantWeight: 1,
        InstanceType: 'ml.m5.large',
        InitialInstanceCount: 2,
      }],
    });
  });

  test('scalable target on the variant, with the service-linked role, after the endpoint', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 6,
      ResourceId: { 'Fn::Join': ['', ['endpoint/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesEndpoint'), 'EndpointName'] }, '/variant/Blue']] },
      RoleARN: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' },
          ':iam::111111111111:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint']],
      },
    });
    const [targetId, target] = Object.entries<any>(json.Resources).find(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget')!;
    expect(target.DependsOn).toEqual([expect.stringMatching(/^VehiclesEndpoint[0-9A-F]+$/)]);
    expect(targetId).toMatch(/^VehiclesScalableTarget/);
    template.resourceCountIs('AWS::IAM::Role', 1); // only the execution role
    expect(endpoint.scalableTarget).toBeDefined();
  });

  test('target tracking on invocations per instance', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 120,
        ScaleInCooldown: 600,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      },
    });
  });
});

test('instances without autoscaling default to one instance', () => {
  const { template } = endpointStack({ hosting: EndpointHosting.instances({ instanceType: 'ml.c5.xlarge' }) });
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [Match.objectLike({ InstanceType: 'ml.c5.xlarge', InitialInstanceCount: 1 })],
  });
  template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
});

describe('data capture', () => {
  test('creates a secure, retained bucket and captures inputs and outputs under the prefix', () => {
    const { template, json, endpoint } = endpointStack({
      hosting: EndpointHosting.instances({ instanceType: 'ml.m5.large' }),
      dataCapture: { samplingPercentage: 25 },
    });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^VehiclesAccessLogsBucket') } },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 25,
        DestinationS3Uri: { 'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^VehiclesDataCaptureBucket') }, '/data-capture/']] },
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesKey'), 'Arn'] },
      },
    });
    const put = statementsOf(json, 'VehiclesRole').find((s) => asList(s.Action).includes('s3:PutObject'));
    expect(put.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^VehiclesDataCaptureBucket/), 'Arn'] }, '/data-capture/*']] });
    expect(endpoint.dataCaptureBucket).toBeDefined();
  });

  test('with a KMS key: bucket, capture objects and volumes use it, the role may use it', () => {
    const { template, json } = endpointStack({
      hosting: EndpointHosting.instances({ instanceType: 'ml.m5.large' }),
      dataCapture: { prefix: '/captures/', captureOutputs: false },
    }, (stack) => ({ encryptionKey: new kms.Key(stack, 'Key') }));
    const keyArn = { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] };
    const config = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SageMaker::EndpointConfig');
    expect(config.Properties.KmsKeyId).toEqual(keyArn);
    expect(config.Properties.DataCaptureConfig.KmsKeyId).toEqual(keyArn);
    expect(config.Properties.DataCaptureConfig.CaptureOptions).toEqual([{ CaptureMode: 'Input' }]);
    expect(JSON.stringify(config.Properties.DataCaptureConfig.DestinationS3Uri)).toContain('/captures/');
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' }, BucketKeyEnabled: true }] },
    });
    const kmsActions = actionsOf(statementsOf(json, 'VehiclesRole').filter((s) => JSON.stringify(s.Resource).includes('"Key')));
    expect(kmsActions).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']));
  });

  test('a bucket you bring: captures go to it, encrypted with its key', () => {
    const { template, endpoint } = endpointStack({ hosting: EndpointHosting.instances({ instanceType: 'ml.m5.large' }) }, (stack) => ({
      dataCapture: { bucket: new s3.Bucket(stack, 'Captures', { encryptionKey: new kms.Key(stack, 'CaptureKey') }) },
    }));
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      // Captures use the endpoint's key (created, as none is given); the bucket's own key stays its default.
      DataCaptureConfig: Match.objectLike({ KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VehiclesKey'), 'Arn'] } }),
    });
    expect(Stack.of(endpoint).resolve(endpoint.dataCaptureBucket!.bucketName)).toEqual({ Ref: expect.stringMatching(/^Captures/) });
  });
});

test('an instance type with local storage gets no created key: SageMaker encrypts its storage and refuses one', () => {
  const { template } = endpointStack({ hosting: EndpointHosting.instances({ instanceType: 'ml.g4dn.xlarge' }) });
  template.resourceCountIs('AWS::KMS::Key', 0);
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { KmsKeyId: Match.absent() });
});

test('serverless with a KMS key: the config carries it (SageMaker encrypts the image with it)', () => {
  const { template } = endpointStack({}, (stack) => ({ encryptionKey: new kms.Key(stack, 'Key') }));
  template.hasResourceProperties('AWS::SageMaker::EndpointConfig', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
});

describe('built-in image', () => {
  test('China region: own registry and URL suffix token', () => {
    const { template } = endpointStack({}, undefined, { account: '111111111111', region: 'cn-north-1' });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Image: { 'Fn::Join': ['', ['390948362332.dkr.ecr.cn-north-1.', { Ref: 'AWS::URLSuffix' }, '/image-classification:1']] },
      }),
    });
  });

  test('region-agnostic stack: one mapping per stack, looked up by AWS::Region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const artifacts = s3.Bucket.fromBucketName(stack, 'Artifacts', 'ics-artifacts');
    new ClassifierEndpoint(stack, 'A', { modelData: ModelData.fromBucket(artifacts, 'a/model.tar.gz') });
    new ClassifierEndpoint(stack, 'B', { modelData: ModelData.fromBucket(artifacts, 'b/model.tar.gz') });
    const json = Template.fromStack(stack).toJSON() as any;
    expect(Object.keys(json.Mappings)).toEqual(['IcsImageClassificationRegistries']);
    const mapping = json.Mappings.IcsImageClassificationRegistries;
    expect(Object.keys(mapping)).toHaveLength(21);
    expect(mapping['us-east-1']).toEqual({ account: '811284229777' });
    const images = Object.values<any>(json.Resources).filter((r) => r.Type === 'AWS::SageMaker::Model').map((r) => r.Properties.PrimaryContainer.Image);
    expect(images).toHaveLength(2);
    for (const image of images) {
      expect(image).toEqual({
        'Fn::Join': ['', [
          { 'Fn::FindInMap': ['IcsImageClassificationRegistries', { Ref: 'AWS::Region' }, 'account'] },
          '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/image-classification:1',
        ]],
      });
    }
  });
});

describe('other images', () => {
  test('fromEcrRepository: tagged URI and pull access for the role', () => {
    const { template, json, endpoint } = endpointStack({}, (stack) => ({
      image: ContainerImage.fromEcrRepository(ecr.Repository.fromRepositoryName(stack, 'Repo', 'vehicles-inference'), 'v3'),
    }));
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({
        Image: { 'Fn::Join': ['', ['111111111111.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/vehicles-inference:v3']] },
      }),
    });
    const statements = statementsOf(json, 'VehiclesRole');
    const pull = statements.find((s) => asList(s.Action).includes('ecr:BatchGetImage'));
    expect(pull.Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:111111111111:repository/vehicles-inference']],
    });
    expect(actionsOf(statements)).toContain('ecr:GetAuthorizationToken');
    expect(endpoint.requestContentType).toBeUndefined();
  });

  test('fromRegistry: the URI as given, no grants', () => {
    const uri = '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.3-cpu-py311';
    const { template, json } = endpointStack({ image: ContainerImage.fromRegistry(uri), environment: { SAGEMAKER_PROGRAM: 'inference.py' } });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Image: uri, Environment: { SAGEMAKER_PROGRAM: 'inference.py' } }),
    });
    expect(actionsOf(statementsOf(json, 'VehiclesRole')).some((a) => a.startsWith('ecr:'))).toBe(false);
  });
});

describe('model data', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-endpoint-'));
    fs.writeFileSync(path.join(dir, 'model.tar.gz'), Buffer.from('not really a tarball, but bytes to hash'));
    fs.writeFileSync(path.join(dir, 'model.zip'), 'zip');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('fromAsset: a file asset, read access to exactly its object', () => {
    const { json } = endpointStack({ modelData: ModelData.fromAsset(path.join(dir, 'model.tar.gz')) });
    const model = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::SageMaker::Model');
    const url = JSON.stringify(model.Properties.PrimaryContainer.ModelDataUrl);
    expect(url).toMatch(/s3:\/\/cdk-[a-z0-9]+-assets-111111111111-eu-west-1\/[0-9a-f]{64}\.gz/);
    const read = statementsOf(json, 'VehiclesRole').find((s) => s.Action === 's3:GetObject');
    expect(JSON.stringify(read.Resource)).toMatch(/cdk-[a-z0-9]+-assets-111111111111-eu-west-1\/[0-9a-f]{64}\.gz"/);
    expect(actionsOf(statementsOf(json, 'VehiclesRole')).filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject']);
  });

  test('fromBucket with a KMS-encrypted bucket: decrypt with its key', () => {
    const { json } = endpointStack({}, (stack) => ({
      modelData: ModelData.fromBucket(new s3.Bucket(stack, 'Models', { encryptionKey: new kms.Key(stack, 'ModelKey') }), 'm/model.tar.gz'),
    }));
    const statements = statementsOf(json, 'VehiclesRole');
    expect(statements.find((s) => s.Action === 's3:GetObject').Resource)
      .toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Models/), 'Arn'] }, '/m/model.tar.gz']] });
    expect(statements.find((s) => s.Action === 'kms:Decrypt').Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ModelKey/), 'Arn'] });
  });

  test('fromAsset problems: not .tar.gz, a directory, missing', () => {
    expect(problemsOf(() => endpointStack({ modelData: ModelData.fromAsset(path.join(dir, 'model.zip')) }))).toEqual([
      expect.stringMatching(/^modelData: asset ".*model\.zip" must be a \.tar\.gz file/),
    ]);
    fs.mkdirSync(path.join(dir, 'dir.tar.gz'), { recursive: true });
    expect(problemsOf(() => endpointStack({ modelData: ModelData.fromAsset(path.join(dir, 'dir.tar.gz')) }))).toEqual([
      expect.stringMatching(/must be a file, not a directory$/),
    ]);
    expect(problemsOf(() => endpointStack({ modelData: ModelData.fromAsset(path.join(dir, 'missing.tar.gz')) }))).toEqual([
      expect.stringMatching(/does not exist$/),
    ]);
  });
});

describe('importing and granting', () => {
  test('fromEndpointName lower-cases a literal name in the ARN and keeps the name', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const imported = ClassifierEndpoint.fromEndpointName(stack, 'Imported', 'Vehicles-Prod');
    expect(imported.endpointName).toBe('Vehicles-Prod');
    expect(stack.resolve(imported.endpointArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:eu-west-1:111111111111:endpoint/vehicles-prod']],
    });
    expect(imported.requestContentType).toBeUndefined();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    imported.grantInvoke(role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'sagemaker:InvokeEndpoint', Resource: stack.resolve(imported.endpointArn) })] },
    });
  });

  test('grantInvoke: InvokeEndpoint on exactly the endpoint ARN', () => {
    const app = new App();
    const stack = new Stack(app, 'G', { env: ENV });
    const endpoint = new ClassifierEndpoint(stack, 'E', { modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'B', 'ics-models'), 'model.tar.gz') });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    endpoint.grantInvoke(caller);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }],
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'sagemaker:InvokeEndpoint', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EEndpoint'), 'EndpointArn'] } }],
      },
    });
  });

  test('a fixed endpoint name tightens the log permissions to its log group', () => {
    const { json, template } = endpointStack({ endpointName: 'Vehicles' });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'Vehicles' });
    const logs = statementsOf(json, 'VehiclesRole').find((s) => asList(s.Action).includes('logs:PutLogEvents'));
    const arn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:logs:eu-west-1:111111111111:log-group:/aws/sagemaker/Endpoints/${name}`]] });
    expect(logs.Resource).toEqual([arn('Vehicles'), arn('Vehicles:*'), arn('vehicles'), arn('vehicles:*')]);
  });

  test('a role you bring receives the grants', () => {
    const { template, endpoint } = endpointStack({}, (stack) => ({
      role: new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') }),
    }));
    template.resourceCountIs('AWS::IAM::Role', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^MyRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 's3:GetObject' })]) },
    });
    expect(Stack.of(endpoint).resolve(endpoint.role.roleArn)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MyRole/), 'Arn'] });
  });
});

describe('validation', () => {
  const serverless = (o: ServerlessHostingOptions) => problemsOf(() => endpointStack({ hosting: EndpointHosting.serverless(o) }));
  const instances = (o: InstanceHostingOptions, extra: Partial<ClassifierEndpointProps> = {}) =>
    problemsOf(() => endpointStack({ hosting: EndpointHosting.instances(o), ...extra }));

  test.each([1000, 512, 7168, 2048.5])('memorySizeInMb %p', (memorySizeInMb) => {
    expect(serverless({ memorySizeInMb })).toEqual([`hosting.memorySizeInMb must be one of 1024, 2048, 3072, 4096, 5120, 6144, got ${memorySizeInMb}`]);
  });

  test.each([0, 201, 2.5])('maxConcurrency %p', (maxConcurrency) => {
    expect(serverless({ maxConcurrency })).toEqual([`hosting.maxConcurrency must be an integer from 1 to 200, got ${maxConcurrency}`]);
  });

  test('provisionedConcurrency below 1 or above maxConcurrency', () => {
    expect(serverless({ provisionedConcurrency: 0 })).toEqual(['hosting.provisionedConcurrency must be an integer of at least 1, got 0']);
    expect(serverless({ maxConcurrency: 5, provisionedConcurrency: 6 })).toEqual(['hosting.provisionedConcurrency (6) must not exceed hosting.maxConcurrency (5)']);
  });

  test('instance type must start with ml.', () => {
    expect(instances({ instanceType: 'm5.large' })).toEqual(['hosting.instanceType must be an ML instance type starting with "ml." (e.g. ml.m5.large), got "m5.large"']);
  });

  test('initialInstanceCount below 1', () => {
    expect(instances({ instanceType: 'ml.m5.large', initialInstanceCount: 0 })).toEqual(['hosting.initialInstanceCount must be an integer of at least 1, got 0']);
  });

  test('autoscaling bounds and target', () => {
    expect(instances({ instanceType: 'ml.m5.large', initialInstanceCount: 1, autoScaling: { minCapacity: 4, maxCapacity: 2, targetInvocationsPerInstance: 0 } })).toEqual([
      'hosting.autoScaling.minCapacity (4) must not exceed maxCapacity (2)',
      'hosting.autoScaling.targetInvocationsPerInstance must be positive, got 0',
    ]);
    expect(instances({ instanceType: 'ml.m5.large', initialInstanceCount: 1, autoScaling: { minCapacity: 0, maxCapacity: 2, targetInvocationsPerInstance: 10 } }))
      .toEqual(['hosting.autoScaling.minCapacity must be an integer of at least 1, got 0']);
  });

  test('data capture with serverless hosting', () => {
    expect(problemsOf(() => endpointStack({ dataCapture: {} }))).toEqual([
      'dataCapture is not supported by serverless endpoints; use EndpointHosting.instances(...) to capture requests and responses',
    ]);
  });

  test('sampling percentage and capture modes', () => {
    const hosting = { instanceType: 'ml.m5.large' };
    expect(instances(hosting, { dataCapture: { samplingPercentage: 0 } })).toEqual(['dataCapture.samplingPercentage must be an integer from 1 to 100, got 0']);
    expect(instances(hosting, { dataCapture: { samplingPercentage: 101 } })).toEqual(['dataCapture.samplingPercentage must be an integer from 1 to 100, got 101']);
    expect(instances(hosting, { dataCapture: { captureInputs: false, captureOutputs: false } }))
      .toEqual(['dataCapture must capture inputs, outputs or both (captureInputs and captureOutputs are both false)']);
  });

  test('a KMS key with an instance type that has local storage', () => {
    const problems = problemsOf(() => endpointStack({ hosting: EndpointHosting.instances({ instanceType: 'ml.g4dn.xlarge' }) }, (stack) => ({
      encryptionKey: new kms.Key(stack, 'Key'),
    })));
    expect(problems).toEqual([expect.stringMatching(/^encryptionKey cannot encrypt the storage of ml\.g4dn\.xlarge/)]);
    expect(() => endpointStack({ hosting: EndpointHosting.instances({ instanceType: 'ml.g4dn.xlarge' }) })).not.toThrow();
  });

  test('unsupported region for the built-in algorithm names the supported ones', () => {
    const problems = problemsOf(() => endpointStack({}, undefined, { account: '111111111111', region: 'eu-south-2' }));
    expect(problems).toEqual([expect.stringMatching(/^image: the built-in image-classification algorithm is not available in eu-south-2; supported regions: ap-east-1, .*us-west-2$/)]);
  });

  test('bad names, artifact keys and image URIs', () => {
    expect(problemsOf(() => endpointStack({ endpointName: 'vehicles_prod', variantName: '-x' }))).toEqual([
      'endpointName "vehicles_prod" is not a valid SageMaker endpoint name (1-63 alphanumerics and hyphens)',
      'variantName "-x" is not a valid variant name (1-63 alphanumerics and hyphens)',
    ]);
    expect(problemsOf(() => endpointStack({}, (stack) => ({ modelData: ModelData.fromBucket(s3.Bucket.fromBucketName(stack, 'B', 'ics-models'), 'model.pt') }))))
      .toEqual(['modelData: key "model.pt" must name a .tar.gz archive (without a leading "/")']);
    expect(problemsOf(() => endpointStack({ image: ContainerImage.fromRegistry('pytorch inference') })))
      .toEqual(['image: "pytorch inference" is not an image URI (registry/repository[:tag] or registry/repository@digest)']);
  });

  test('all problems are reported together, with the construct path', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '111111111111', region: 'eu-south-2' } });
    let message = '';
    try {
      new ClassifierEndpoint(stack, 'Bad', {
        modelData: ModelData.fromAsset('/nonexistent/model.tgz'),
        hosting: EndpointHosting.serverless({ memorySizeInMb: 1000, maxConcurrency: 300, provisionedConcurrency: 400 }),
        dataCapture: { samplingPercentage: 0 },
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')[0]).toBe('Invalid ClassifierEndpoint props at TestStack/Bad:');
    expect(message.split('\n').slice(1)).toEqual([
      expect.stringMatching(/^ {2}- image: .* not available in eu-south-2/),
      expect.stringMatching(/^ {2}- modelData: asset "\/nonexistent\/model\.tgz" must be a \.tar\.gz file/),
      '  - hosting.memorySizeInMb must be one of 1024, 2048, 3072, 4096, 5120, 6144, got 1000',
      '  - hosting.maxConcurrency must be an integer from 1 to 200, got 300',
      '  - hosting.provisionedConcurrency (400) must not exceed hosting.maxConcurrency (300)',
      '  - dataCapture is not supported by serverless endpoints; use EndpointHosting.instances(...) to capture requests and responses',
      '  - dataCapture.samplingPercentage must be an integer from 1 to 100, got 0',
    ]);
  });

  test('unresolved tokens are not checked', () => {
    expect(() => endpointStack({}, (stack) => {
      const memory = new CfnParameter(stack, 'Memory', { type: 'Number' }).valueAsNumber;
      return { hosting: EndpointHosting.serverless({ memorySizeInMb: memory, maxConcurrency: memory }) };
    })).not.toThrow();
  });
});

test('determinism: two synths of the same app are identical', () => {
  const synth = () => endpointStack({
    hosting: EndpointHosting.instances({ instanceType: 'ml.m5.large', autoScaling: { minCapacity: 1, maxCapacity: 3, targetInvocationsPerInstance: 100 } }),
    dataCapture: {},
  }).json;
  expect(JSON.stringify(synth())).toEqual(JSON.stringify(synth()));
});
