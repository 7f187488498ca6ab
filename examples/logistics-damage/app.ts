import { App } from 'aws-cdk-lib';
import { LogisticsDamageStack } from './stack';

const app = new App();
new LogisticsDamageStack(app, 'IcsLogisticsDamage');
app.synth();
