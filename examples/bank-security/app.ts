import { App } from 'aws-cdk-lib';
import { BankSecurityStack } from './stack';

const app = new App();
new BankSecurityStack(app, 'IcsBankSecurity');
app.synth();
