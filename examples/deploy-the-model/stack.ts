import { Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { Classifier, ClassifierEndpoint, ImageClassificationPipeline, ModelData } from '../../src';

/** A custom pipeline whose model is deployed in the same stack: a training job's artifact on a serverless endpoint. */
export class DeployTheModelStack extends Stack {
  public readonly endpoint: ClassifierEndpoint;
  public readonly pipeline: ImageClassificationPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const artifacts = s3.Bucket.fromBucketName(this, 'Artifacts', 'ml-artifacts-example');
    this.endpoint = new ClassifierEndpoint(this, 'VehiclesModel', {
      modelData: ModelData.fromBucket(artifacts, 'vehicles/output/model.tar.gz'),
    });
    this.pipeline = new ImageClassificationPipeline(this, 'Ics', {
      classifier: Classifier.fromEndpoint(this.endpoint),
      classLabels: ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'],
      confidenceThreshold: 0.94,
      flaggedLabels: ['motorcycle', 'pickup_truck', 'tank'],
    });
  }
}
