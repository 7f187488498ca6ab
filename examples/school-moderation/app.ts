import { App } from 'aws-cdk-lib';
import { SchoolModerationStack } from './stack';

const app = new App();
new SchoolModerationStack(app, 'IcsSchoolModeration');
app.synth();
