/**
 * How a consumer snapshot-tests a stack that contains the pipeline (the README's "Testing your stack").
 * The handler bundles ship pre-built in the package, so their asset hashes, and the template, only change
 * when the library or your stack does.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { BankSecurityStack } from '../bank-security/stack';

describe('my bank stack', () => {
  const template = Template.fromStack(new BankSecurityStack(new App(), 'Bank', { env: { account: '111111111111', region: 'eu-west-1' } }));

  test('matches the snapshot', () => {
    expect(template.toJSON()).toMatchSnapshot();
  });

  test('alerts the SOC mailbox', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'soc@bank.example' });
  });

  test('classifies with our endpoint', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sagemaker:InvokeEndpoint' })]) },
    });
  });
});
