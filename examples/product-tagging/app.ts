import { App } from 'aws-cdk-lib';
import { ProductTaggingStack } from './stack';

const app = new App();
new ProductTaggingStack(app, 'IcsProductTagging');
app.synth();
