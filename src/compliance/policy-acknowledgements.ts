import { IAspect, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { acknowledge, ACKNOWLEDGEMENTS } from './acknowledgements';
import { wildcardFindings } from './wildcards';

/** Runs before {@link NagV2Metadata} (AspectPriority.MUTATING) and before rule packs run as default-priority aspects. */
export const ACKNOWLEDGE_PRIORITY = 100;

/**
 * Acknowledges, at synthesis (when every grant is in), what the pipeline's IAM policies hold on purpose: each
 * policy resource's inline-policy findings and those of its wildcards that a {@link WILDCARD_ACKNOWLEDGEMENTS}
 * entry covers, one finding id at a time. Also acknowledges the managed policy of aws-cdk-lib's stack-wide
 * bucket-notifications handler when the pipeline caused it.
 */
export class PolicyAcknowledgements implements IAspect {
  constructor(private readonly root: IConstruct) {}

  public visit(node: IConstruct): void {
    if (node === this.root) {
      for (const child of Stack.of(node).node.children) {
        if (child.node.id.startsWith('BucketNotificationsHandler')) acknowledge(child, ACKNOWLEDGEMENTS.notificationsHandler);
      }
    }
    if (!(node instanceof iam.CfnPolicy)) return;
    acknowledge(node, ACKNOWLEDGEMENTS.roleDefaultPolicy);
    for (const finding of wildcardFindings(Stack.of(node).resolve(node.policyDocument))) {
      if (finding.acknowledgement) {
        Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding.wildcard}]`, reason: finding.acknowledgement.reason });
      }
    }
  }
}
