import { awscdk, javascript } from 'projen';

// Packages only the local runner, its CLI and the demo need (src/local, demo/). Dev dependencies, so consumers who
// only deploy never install them; the README lists them for consumers who want to run the pipeline locally.
const localRunnerDevDeps: string[] = [
  '@aws-sdk/client-sns',
  // the Rekognition peer speaks the real protocol; JSONata Pass states are evaluated with the reference library
  '@aws-sdk/client-rekognition',
  'jsonata@^2.0.0',
  '@vladmandic/human@^3.3.6',
  '@tensorflow/tfjs-core@^4.22.0',
  '@tensorflow/tfjs-converter@^4.22.0',
  '@tensorflow/tfjs-backend-wasm@^4.22.0',
  'onnxruntime-web',
  'jpeg-js',
  'pngjs',
  '@types/pngjs',
  's3rver@^3.7.1',
  '@types/s3rver',
  // DynamoDB for the dispatch function's idempotency records: a real implementation of the protocol, in memory
  'dynalite@^4.0.0',
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-image-classification-pipeline',
  description:
    'One-statement, secure-by-default image classification pipeline for AWS CDK: S3 uploads classified by a SageMaker endpoint in Step Functions, with confidence thresholds, flagged labels, SNS alerts and an audit trail.',
  author: 'ICS developers',
  authorAddress: 'ics@example.com',
  repositoryUrl: 'https://github.com/ics/cdk-image-classification-pipeline.git',
  keywords: ['aws-cdk', 'cdk', 'construct', 'sagemaker', 'step-functions', 'image-classification', 'serverless', 'ml'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  cdkVersion: '2.276.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  // CI is `.ci/run` (README commands on a clean clone); no hosted workflows.
  github: false,
  release: false,
  depsUpgrade: false,

  // Multi-language assembly. Only the js target packs on these machines; the others are declared so the
  // assembly names are fixed from the first release.
  publishToPypi: {
    distName: 'cdk-image-classification-pipeline',
    module: 'cdk_image_classification_pipeline',
  },
  publishToMaven: {
    javaPackage: 'io.github.ics.cdk.imageclassification',
    mavenGroupId: 'io.github.ics',
    mavenArtifactId: 'cdk-image-classification-pipeline',
  },
  publishToNuget: {
    dotNetNamespace: 'Ics.Cdk.ImageClassificationPipeline',
    packageId: 'Ics.Cdk.ImageClassificationPipeline',
  },
  publishToGo: {
    moduleName: 'github.com/ics/cdk-image-classification-pipeline-go',
  },

  // Handlers (`src/**/*.lambda.ts`) are bundled with esbuild at *our* build time and shipped in `assets/`,
  // so consumers need neither Docker nor esbuild at synth. SDK clients are bundled (externals: []) so the
  // code that runs is the code we tested, not whatever SDK the runtime happens to carry.
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: {
      externals: [],
      sourcemap: false,
    },
  },

  devDeps: [
    // bundled into the classify handler
    '@aws-sdk/client-s3',
    '@aws-sdk/client-sagemaker-runtime',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    // bundled into the dispatch handler (queued ingestion)
    '@aws-lambda-powertools/idempotency',
    '@aws-lambda-powertools/batch',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-sqs',
    '@types/aws-lambda',
    // tests
    'aws-sdk-client-mock',
    '@smithy/util-stream',
    'aws-local-stepfunctions@^3.0.0',
    'asl-validator',
    'cdk-nag@^3.0.2',
    ...localRunnerDevDeps,
  ],

  // End-to-end suites start loopback peers and load wasm models; on 2 busy cores that can exceed jest's 5 s.
  jestOptions: {
    jestConfig: {
      testTimeout: 60_000,
      // examples/ holds a consumer's snapshot test ("Testing your stack" in the README); it runs with the suite.
      testMatch: ['<rootDir>/examples/**/*.test.ts'],
    },
  },

  tsconfigDev: {
    include: ['../examples/**/*.ts', '../bench/**/*.ts', '../scripts/**/*.ts'],
  },
  gitignore: ['/examples/**/cdk.out', '/.ics-local/', '/bench/tmp/'],
  npmignoreEnabled: true,
});

// Handlers bundle their SDK clients at build time and src/local is dev-only tooling: both import devDependencies
// on purpose, and neither reaches consumers' node_modules.
project.eslint?.addOverride({
  files: ['src/handlers/**/*.ts', 'src/local/**/*.ts'],
  rules: { 'import/no-extraneous-dependencies': 'off' },
});

// `npm ci` on a fresh clone fails on missing platform-specific lock entries without this pin.
project.package.addPackageResolutions('unrs-resolver@1.12.2');

// `build` packs only the js target: the other jsii targets need toolchains (pip, mvn, dotnet, go) that
// are not on these machines. `npx projen package-all` still packs every target where they exist.
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package:js')!);

// Minify the handler bundles: a smaller package loads faster on a cold start. projen's lambda options have
// no minify switch, so append the flag to each generated bundle step.
for (const task of project.tasks.all) {
  if (!/^bundle:.*\.lambda$/.test(task.name)) continue;
  const steps = task.steps;
  task.reset();
  for (const step of steps) {
    task.exec([...(step.execArgs ?? []), '--minify', '--legal-comments=none'].join(' '));
  }
}

// Tests synthesize stacks that reference the handler bundles, so bundle before testing.
const bundle = project.tasks.tryFind('bundle');
if (bundle) {
  project.testTask.prependSpawn(bundle);
}

// The README's Security section lists every cdk-nag acknowledgement the construct makes, generated from
// src/compliance so auditors read exactly what the code does; a test fails when the README is stale.
const acknowledgements = project.addTask('acknowledgements', {
  description: 'Regenerate the acknowledgement table in README.md from src/compliance',
  exec: 'ts-node --project test/tsconfig.json scripts/acknowledgements.ts',
});
project.testTask.prependSpawn(acknowledgements);

// cdk-nag 2.x reads the acknowledgements from `cdk_nag` metadata; this checks it comes out clean as well (network).
project.addTask('cdk-nag-v2', {
  description: 'Run cdk-nag 2.x over every compliance configuration (installs it into a temporary directory)',
  exec: 'scripts/cdk-nag-v2-check.sh',
});

// The README's main job: run the bank-security pipeline on this machine with the embedded model.
const demo = project.addTask('demo', {
  description: 'Run the pipeline locally on demo/images with the embedded COCO model and write .ics-local/report.html',
});
demo.spawn(project.tasks.tryFind('bundle')!);
demo.exec('ts-node --project test/tsconfig.json src/local/cli.ts demo');
project.package.setScript('demo', 'npx projen demo');
project.addBins({ 'ics-local': 'lib/local/cli.js' });

// Benchmarks ICS against the reference design (bench/README.md). Not part of the build: figures are measured,
// never asserted. --transpile-only: the bench is type-checked with the dev tsconfig, not on every run.
const bench = project.addTask('bench', {
  description: 'Benchmark ICS against the three-Lambda reference design; writes bench/results.json and bench/RESULTS.md',
  exec: 'ts-node --transpile-only --project test/tsconfig.json bench/run.ts',
});
bench.prependSpawn(project.tasks.tryFind('bundle')!);
project.package.setScript('bench', 'npx projen bench');
project.addPackageIgnore('/bench/');

// Synthesize the bring-your-own-endpoint example and print what the pipeline built.
project.addTask('example', {
  description: 'Synthesize examples/ and print the resources the pipeline created',
  exec: 'ts-node --project test/tsconfig.json examples/print-example.ts',
});

project.synth();
