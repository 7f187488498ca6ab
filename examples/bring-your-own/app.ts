import { App } from 'aws-cdk-lib';
import { BringYourOwnEndpointStack } from './stack';

const app = new App();
new BringYourOwnEndpointStack(app, 'IcsBringYourOwnEndpoint');
app.synth();
