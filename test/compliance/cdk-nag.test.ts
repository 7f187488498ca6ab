import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CONFIGURATIONS, NagFinding, packs, pipelineApp, unacknowledgedFindings } from './nag';

const describeFindings = (findings: NagFinding[]) => findings.map((f) => `${f.severity} ${f.rule} at ${f.path}: ${f.message}`);

describe('cdk-nag 3: AwsSolutions, Serverless, HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1', () => {
  test.each(CONFIGURATIONS)('%s: no unacknowledged error or warning', (_name, build) => {
    const { app } = pipelineApp(build);
    // Printed in full when the test fails: rule id, construct path and message of each finding.
    expect(describeFindings(unacknowledgedFindings(app))).toEqual([]);
  });

  test('through aws-cdk-lib\'s Validations, as a consumer registers the packs, synthesis succeeds', () => {
    const { app } = pipelineApp();
    Validations.of(app).addPlugins(...packs());
    expect(() => app.synth()).not.toThrow();
  });

  test('without the pipeline\'s acknowledgements the packs do report findings (the test is not vacuous)', () => {
    const { app, stack } = pipelineApp();
    // An unacknowledged resource next to the pipeline is reported.
    new s3.Bucket(stack, 'Plain');
    const findings = unacknowledgedFindings(app);
    expect(findings.filter((f) => f.path === 'NagStack/Plain/Resource').map((f) => f.rule)).toEqual(expect.arrayContaining([
      'AwsSolutions-S1', 'HIPAA.Security-S3BucketLoggingEnabled', 'NIST.800.53.R5-S3DefaultEncryptionKMS', 'PCI.DSS.321-S3BucketReplicationEnabled',
    ]));
    expect(findings.filter((f) => f.path.startsWith('NagStack/Ics/'))).toEqual([]);
  });
});
