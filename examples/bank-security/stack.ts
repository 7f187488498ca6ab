import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { BankSecurityPipeline, Classifier } from '../../src';

/** A branch's camera pipeline: the preset with the bank's own endpoint and SOC mailbox; everything else default. */
export class BankSecurityStack extends Stack {
  public readonly pipeline: BankSecurityPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.pipeline = new BankSecurityPipeline(this, 'Cameras', {
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'sentrycam-vehicles' }),
      securityEmails: ['soc@bank.example'],
    });
  }
}
