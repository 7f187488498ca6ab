import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BankSecurityPipeline, Classifier, ImageClassificationPipeline, WorkflowStep } from 'cdk-image-classification-pipeline';
import { main, UsageError } from '../src/cli';
import { DEMO_IMAGES_DIR, demoTemplate, embeddedModelEndpoint } from '../src/demo';
import { CfnTemplate } from '../src/template-resolver';

const synth = (classifier: Classifier, classLabels?: string[]) => {
  const stack = new Stack(new App(), 'Cli');
  new ImageClassificationPipeline(stack, 'Ics', { classifier, classLabels });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
};

describe('ics-local command line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ics-cli-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    [['deploy'], "unknown command 'deploy'"],
    [['run', 'a.jpg'], 'run needs --template'],
    [['run', '--template', 'nope.json', 'a.jpg'], 'template not found: nope.json'],
    [['run', '--template'], '--template needs a value'],
    [['demo', '--colour', 'red'], 'unknown option --colour'],
    [['demo', 'a.jpg'], 'demo takes no images'],
  ])('%j is a usage error: %s', async (argv, message) => {
    await expect(main(argv)).rejects.toThrow(UsageError);
    await expect(main(argv)).rejects.toThrow(message);
  });

  test('iam lists each role\'s calls with AWS\'s decision, and exits 1 when a boundary or SCP would deny one', async () => {
    const file = path.join(dir, 'iam.template.json');
    fs.writeFileSync(file, JSON.stringify(synth(Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }), ['car', 'truck'])));
    const printed: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      expect(await main(['iam', '--template', file])).toBe(0);
      expect(printed.join('\n')).toMatch(/IcsClassifyFunction[0-9A-F]{8} \(role IcsClassifyFunctionServiceRole[0-9A-F]{8}\)\n/);
      expect(printed.join('\n')).toMatch(/ALLOW sagemaker:InvokeEndpoint arn:aws:sagemaker:us-east-1:123456789012:endpoint\/vehicles/);
      expect(printed.join('\n')).toMatch(/, 0 denied\./);
      // A platform team's boundary without SageMaker: the classify function's one call is denied, with AWS's message.
      const boundary = path.join(dir, 'boundary.json');
      fs.writeFileSync(boundary, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 'sagemaker:*', Resource: '*' }] }));
      printed.length = 0;
      expect(await main(['iam', '--template', file, '--boundary', boundary])).toBe(1);
      const text = printed.join('\n');
      expect(text).toMatch(/DENY  sagemaker:InvokeEndpoint/);
      expect(text).toMatch(/is not authorized to perform: sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:us-east-1:123456789012:endpoint\/vehicles because no permissions boundary allows the sagemaker:InvokeEndpoint action/);
      expect(text).toMatch(/, 1 denied\./);
    } finally {
      log.mockRestore();
    }
    await expect(main(['iam'])).rejects.toThrow('iam needs --template');
    await expect(main(['iam', '--template', file, '--scp', path.join(dir, 'none.json')])).rejects.toThrow(/SCP file not found/);
  });

  test('a template that is not JSON, or holds no state machine, is named as such', async () => {
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"Resources": ');
    fs.writeFileSync(path.join(dir, 'empty.json'), JSON.stringify({ Resources: { B: { Type: 'AWS::S3::Bucket' } } }));
    fs.writeFileSync(path.join(dir, 'a.jpg'), 'x');
    await expect(main(['run', '--template', path.join(dir, 'bad.json'), path.join(dir, 'a.jpg')])).rejects.toThrow(/is not JSON/);
    await expect(main(['run', '--template', path.join(dir, 'empty.json'), path.join(dir, 'a.jpg')])).rejects.toThrow(/holds no state machine/);
  });

  test('run reads your workflow steps\' function assets from the template\'s cloud assembly, or from --assembly', async () => {
    // A stack as `cdk synth` writes it: cdk.out/<stack>.template.json beside the assets.
    const outdir = path.join(dir, 'cdk.out');
    const app = new App({ outdir });
    const stack = new Stack(app, 'Steps');
    const enrich = new lambda.Function(stack, 'AssetRegister', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, 'fixtures', 'steps', 'enrich')),
    });
    new BankSecurityPipeline(stack, 'Ics', {
      classifier: Classifier.sagemakerEndpoint({ endpointName: 'vehicles' }),
      steps: [WorkflowStep.lambda(enrich)],
    });
    app.synth();
    const template = path.join(outdir, 'Steps.template.json');
    const image = path.join(DEMO_IMAGES_DIR, fs.readdirSync(DEMO_IMAGES_DIR).find((f) => /\.(jpe?g|png)$/i.test(f))!);
    const report = path.join(dir, 'steps.html');
    // Without the assembly the runner would refuse the step ("its code is an asset: pass assemblyDir").
    await expect(main(['run', '--template', template, '--report', report, image])).resolves.toBe(0);
    expect(fs.existsSync(report)).toBe(true);
    await expect(main(['run', '--template', template, '--assembly', path.join(dir, 'nope'), image])).rejects.toThrow(/cloud assembly not found/);
  }, 180_000);

  test('the embedded model stands in only for a SageMaker endpoint with the vehicle labels', () => {
    expect(embeddedModelEndpoint(demoTemplate())).toBe('vehicles');
    expect(() => embeddedModelEndpoint(synth(Classifier.rekognitionLabels({ labels: ['Car'] }))))
      .toThrow(/no SageMaker classify function/);
    expect(() => embeddedModelEndpoint(synth(Classifier.sagemakerEndpoint({ endpointName: 'pets' }), ['cat', 'dog'])))
      .toThrow(/this pipeline's are cat, dog/);
  });
});
