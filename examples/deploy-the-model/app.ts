import { App } from 'aws-cdk-lib';
import { DeployTheModelStack } from './stack';

const app = new App();
new DeployTheModelStack(app, 'IcsDeployTheModel');
app.synth();
