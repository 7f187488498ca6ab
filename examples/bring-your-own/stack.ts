import { Stack, StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { Classifier, ImageClassificationPipeline } from '../../src';

/**
 * A bank's vehicle-screening pipeline on an endpoint and a topic the team already runs: the SentryCam
 * labels, the ICS threshold, and the classes security wants to hear about.
 */
export class BringYourOwnEndpointStack extends Stack {
  public readonly pipeline: ImageClassificationPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const securityTopic = sns.Topic.fromTopicArn(this, 'SecurityTopic',
      `arn:${Stack.of(this).partition}:sns:${Stack.of(this).region}:${Stack.of(this).account}:security-alerts`);
    const opsTopic = new sns.Topic(this, 'OpsTopic', { enforceSSL: true });
    opsTopic.addSubscription(new subscriptions.EmailSubscription('ops@example.com'));

    this.pipeline = new ImageClassificationPipeline(this, 'Ics', {
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
      classLabels: ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'],
      confidenceThreshold: 0.94,
      flaggedLabels: ['motorcycle', 'pickup_truck', 'tank'],
      alertTopics: [securityTopic, opsTopic],
      inputPrefix: 'camera-uploads/',
    });
  }
}
