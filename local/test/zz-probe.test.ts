import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageClassificationPipeline, Ingestion, Outcome } from 'cdk-image-classification-pipeline';
import { images } from '../../test/handlers/fixtures';
import { icsProps } from '../../test/stacks';
import { LocalConsole } from '../src/console';
import { functionModel } from '../src/models/function-model';
import { CfnTemplate } from '../src/template-resolver';
test('probe', async () => {
  const stack = new Stack(new App(), 'Local');
  new ImageClassificationPipeline(stack, 'Ics', { ...icsProps(), inputPrefix: 'uploads/', review: {}, console: {},
    quarantine: { outcomes: [Outcome.LOW_CONFIDENCE], prefix: 'quarantine/' }, ingestion: Ingestion.queued() });
  const local = await LocalConsole.start({ template: Template.fromStack(stack).toJSON() as CfnTemplate,
    models: { vehicles: functionModel(() => [0.08, 0.08, 0.08, 0.6, 0.08, 0.08]) } });
  const run = await local.pipeline.upload('uploads/a.jpg', images.jpeg);
  console.log(run.states, run.result, run.tags);
  const s3 = local.pipeline.s3.client();
  const t = await s3.send(new GetObjectTaggingCommand({ Bucket: local.pipeline.bucketName, Key: 'quarantine/uploads/a.jpg' }));
  console.log(t.TagSet);
  s3.destroy();
  await local.close();
});
