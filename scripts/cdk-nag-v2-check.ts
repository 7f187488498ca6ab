/**
 * Runs cdk-nag 2.x (Aspects, `cdk_nag` metadata) over every compliance configuration and fails on any error or
 * warning: the check that platform teams still on 2.x come out clean too. cdk-nag 2 is not a dependency of
 * this project (3 is); `npx projen cdk-nag-v2` installs it into a temporary directory and points CDK_NAG_V2 at it.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { CONFIGURATIONS } from '../test/compliance/nag';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nag = require(process.env.CDK_NAG_V2 ?? 'cdk-nag-v2-not-installed');
console.log(`cdk-nag ${require(`${process.env.CDK_NAG_V2}/package.json`).version}`);

let failures = 0;
for (const [name, build] of CONFIGURATIONS) {
  const app = new App();
  const { Stack } = require('aws-cdk-lib');
  const stack = new Stack(app, 'NagStack', { env: { account: '111111111111', region: 'eu-west-1' } });
  build(stack);
  for (const Pack of [nag.AwsSolutionsChecks, nag.ServerlessChecks, nag.HIPAASecurityChecks, nag.NIST80053R5Checks, nag.PCIDSS321Checks]) {
    Aspects.of(app).add(new Pack());
  }
  const messages = app.synth().getStackArtifact('NagStack').messages.filter((m) => m.level === 'error' || m.level === 'warning');
  console.log(`${messages.length === 0 ? 'ok  ' : 'FAIL'} ${name}: ${messages.length} findings`);
  for (const m of messages) console.log(`     ${m.level} ${m.id} ${String(m.entry.data).split('\n')[0]}`);
  failures += messages.length;
}
process.exit(failures === 0 ? 0 : 1);
