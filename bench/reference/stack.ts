/* eslint-disable import/no-extraneous-dependencies */
import * as path from 'node:path';
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { ReferenceFunction } from './bundle';
import { REFERENCE_BUNDLES } from '../lib/paths';

export const REFERENCE_LABELS = ['bicycle', 'motorcycle', 'pickup_truck', 'bus', 'tank', 'tractor'];
export const REFERENCE_FLAGGED = ['motorcycle', 'pickup_truck', 'tank'];

/**
 * Today's design, the baseline ICS is measured against: an upload starts a Standard state machine that chains three
 * Lambda functions — serialize (GetObject → base64 into the state), classify (InvokeEndpoint with the decoded bytes,
 * endpoint name hard-coded) and filter (threshold → SNS publish) — passing the image through the state.
 * CDK defaults throughout (128 MB, x86_64, Standard), as the reference systems use them.
 *
 * The upload trigger is the same EventBridge rule ICS uses (AWS service events are free), which only flatters the
 * reference. The tasks invoke the function ARN directly (`payloadResponseOnly`), which keeps the state a little
 * smaller than the `lambda:invoke` integration's envelope and is what the local runner executes.
 *
 * The functions' logical IDs end in `ClassifyFunction` only because that is how the local runner finds a bundle
 * for a function (see bench/README.md); they change nothing else.
 */
export class ReferenceStack extends Stack {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const bucket = new s3.Bucket(this, 'Images', { eventBridgeEnabled: true });
    const topic = new sns.Topic(this, 'Alerts');

    const fn = (name: ReferenceFunction, environment: Record<string, string> = {}) => {
      const f = new lambda.Function(this, `${name[0].toUpperCase()}${name.slice(1)}Function`, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(path.join(REFERENCE_BUNDLES, name)),
        timeout: Duration.seconds(30),
        environment: { REF_FUNCTION: name, ...environment },
      });
      const logicalId = name === 'classify' ? 'RefClassifyFunction' : `Ref${name[0].toUpperCase()}${name.slice(1)}ClassifyFunction`;
      (f.node.defaultChild as lambda.CfnFunction).overrideLogicalId(logicalId);
      return f;
    };
    const serialize = fn('serialize');
    bucket.grantRead(serialize);
    const classify = fn('classify');
    classify.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:InvokeEndpoint'],
      resources: [`arn:${this.partition}:sagemaker:${this.region}:${this.account}:endpoint/vehicles`],
    }));
    const filter = fn('filter', {
      THRESHOLD: '0.94',
      LABELS: REFERENCE_LABELS.join(','),
      FLAGGED_LABELS: REFERENCE_FLAGGED.join(','),
      ALERT_TOPIC_ARN: topic.topicArn,
    });
    topic.grantPublish(filter);

    const step = (stateName: string, f: lambda.IFunction) =>
      new tasks.LambdaInvoke(this, stateName, { lambdaFunction: f, payloadResponseOnly: true });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(step('Serialize', serialize).next(step('Classify', classify)).next(step('Filter', filter))),
      stateMachineType: sfn.StateMachineType.STANDARD,
    });

    new events.Rule(this, 'Upload', {
      eventPattern: { source: ['aws.s3'], detailType: ['Object Created'], detail: { bucket: { name: [bucket.bucketName] } } },
      targets: [new targets.SfnStateMachine(this.stateMachine, {
        input: events.RuleTargetInput.fromObject({
          bucket: events.EventField.fromPath('$.detail.bucket.name'),
          key: events.EventField.fromPath('$.detail.object.key'),
        }),
      })],
    });
  }
}
