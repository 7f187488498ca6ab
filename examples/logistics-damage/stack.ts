import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Classifier, LogisticsDamagePipeline } from '../../src';

/** Checkpoint photos of parcels: damage flagged to operations; whole checkpoint batches classified in bulk. */
export class LogisticsDamageStack extends Stack {
  public readonly pipeline: LogisticsDamagePipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.pipeline = new LogisticsDamagePipeline(this, 'Checkpoints', {
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'parcel-damage' }),
      classLabels: ['damaged', 'intact'],
      operationsEmails: ['ops@depot.example'],
    });
  }
}
