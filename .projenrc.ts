import * as fs from 'node:fs';
import { awscdk, javascript, JsonFile } from 'projen';

const LIBRARY = 'cdk-image-classification-pipeline';
// The testing kit: the local runner, its models, the demo and the `ics-local` CLI, published from local/ as its own
// package so that deploy-only consumers install none of it, and testing consumers install it in one command.
const KIT = `${LIBRARY}-local`;

// What the kit needs at run time (local/src). Root dev dependencies too, so the repository's tests and bench
// resolve them from one node_modules; the kit's package.json takes the same ranges.
const kitDeps: string[] = [
  '@aws-sdk/client-s3',
  '@aws-sdk/client-sns',
  // the workflow's audit records go to the Firehose peer through the real client
  '@aws-sdk/client-firehose',
  // the Rekognition peer speaks the real protocol; JSONata Pass states are evaluated with the reference library
  '@aws-sdk/client-rekognition',
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  'aws-local-stepfunctions@^3.0.0',
  'jsonata@^2.0.0',
  '@vladmandic/human@^3.3.6',
  '@tensorflow/tfjs-core@^4.22.0',
  '@tensorflow/tfjs-converter@^4.22.0',
  '@tensorflow/tfjs-backend-wasm@^4.22.0',
  'onnxruntime-web',
  'jpeg-js',
  'pngjs',
  's3rver@^3.7.1',
  // DynamoDB for the dispatch function's idempotency records: a real implementation of the protocol, in memory
  'dynalite@^4.0.0',
  // types the kit's declarations refer to, so a consumer's type check needs nothing else
  '@types/aws-lambda',
  '@types/pngjs',
  '@types/s3rver',
];

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-image-classification-pipeline',
  description:
    'One-statement, secure-by-default image classification pipeline for AWS CDK: S3 uploads classified by a SageMaker endpoint in Step Functions, with confidence thresholds, flagged labels, SNS alerts and an audit trail.',
  author: 'ICS developers',
  authorAddress: 'ics@example.com',
  repositoryUrl: 'https://github.com/ics/cdk-image-classification-pipeline.git',
  // Construct Hub lists packages by the `awscdk` keyword.
  keywords: ['awscdk', 'aws-cdk', 'cdk', 'construct', 'sagemaker', 'step-functions', 'image-classification', 'serverless', 'ml'],
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
    // bundled into the dispatch handler (queued ingestion)
    '@aws-lambda-powertools/idempotency',
    '@aws-lambda-powertools/batch',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-sqs',
    // bundled into the console API handler (human review)
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/s3-request-presigner',
    // the console's front end, built into assets/console at our build time: a small UI library and a chart library
    'preact@^10.29.0',
    'uplot@^1.6.32',
    '@types/aws-lambda',
    // tests
    'aws-sdk-client-mock',
    '@smithy/util-stream',
    'aws-local-stepfunctions@^3.0.0',
    'asl-validator',
    // AWS's own ASL validator (the AWS Toolkit's language service): structure, names and transitions of the definitions
    'amazon-states-language-service',
    'cdk-nag@^3.0.2',
    // drives the console in the system Chromium (scripts/install-test-tools.sh); 24.x is the last line for Node 20
    'puppeteer-core@^24.43.0',
    '@aws-sdk/client-cognito-identity-provider',
    // runs the audit trail's Athena named queries against the local audit output (a real SQL engine over JSON lines)
    '@duckdb/node-api@1.5.6-r.1',
    // the oracle of the kit's IAM evaluator in a differential test (AGPL-3.0: a dev dependency only, never shipped)
    '@cloud-copilot/iam-simulate',
    ...kitDeps,
  ],

  // End-to-end suites start loopback peers and load wasm models; on 2 busy cores that can exceed jest's 5 s.
  jestOptions: {
    jestConfig: {
      testTimeout: 60_000,
      // examples/ holds a consumer's snapshot test ("Testing your stack" in the README); local/test the kit's tests.
      testMatch: ['<rootDir>/examples/**/*.test.ts', '<rootDir>/local/test/**/*.test.ts'],
      // The kit imports the library by its package name; in this repository that is the library's source.
      moduleNameMapper: {
        [`^${LIBRARY}$`]: '<rootDir>/src/index.ts',
        [`^${LIBRARY}/lib/(.*)$`]: '<rootDir>/src/$1',
      },
    },
  },

  tsconfigDev: {
    include: ['../examples/**/*.ts', '../bench/**/*.ts', '../scripts/**/*.ts', '../local/src/**/*.ts', '../local/test/**/*.ts'],
    // Type-checks the kit against the library's source, as jest runs it.
    compilerOptions: {
      paths: { [LIBRARY]: ['../src/index.ts'], [`${LIBRARY}/lib/*`]: ['../src/*'] },
    },
  },
  gitignore: ['/examples/**/cdk.out', '/.ics-local/', '/bench/tmp/', '/local/lib/', '/local/node_modules/', '/local/*.tgz'],
  npmignoreEnabled: true,
});

// Handlers bundle their SDK clients at build time (devDependencies on purpose); the kit's tests use the root's
// dev dependencies, which its own package.json does not list.
project.eslint?.addOverride({
  files: ['src/handlers/**/*.ts', 'local/test/**/*.ts'],
  rules: { 'import/no-extraneous-dependencies': 'off' },
});
project.eslint?.addLintPattern('local/src');
project.eslint?.addLintPattern('local/test');

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

// The console's front end (console/, Preact and uPlot) is built at our build time into the console API function's
// asset, which serves it: consumers build nothing at synth. Part of `bundle`, so tests, the demo and the bench get it.
const consoleBuild = project.addTask('bundle:console', {
  description: 'Type-check and bundle the console front end into assets/handlers/console-api.lambda/console',
  exec: 'ts-node --project test/tsconfig.json scripts/build-console.ts',
});
project.tasks.tryFind('bundle')?.spawn(consoleBuild);

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

// ---- The testing kit (local/) ----
const rootPackage = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const kitPackage = {
  name: KIT,
  description: `Testing kit for ${LIBRARY}: runs the synthesized pipeline on this machine (Step Functions, S3, SQS, DynamoDB, SageMaker Runtime, Rekognition and SNS peers), with embedded models, the ics-local CLI and HTML reports.`,
  version: rootPackage.version,
  license: 'Apache-2.0',
  author: { name: 'ICS developers', email: 'ics@example.com', organization: false },
  repository: { type: 'git', url: 'https://github.com/ics/cdk-image-classification-pipeline.git', directory: 'local' },
  keywords: ['aws-cdk', 'testing', 'step-functions', 'local', 'sagemaker'],
  main: 'lib/index.js',
  types: 'lib/index.d.ts',
  bin: { 'ics-local': 'lib/cli.js' },
  files: ['lib/**/*.js', 'lib/**/*.d.ts', 'demo/images/'],
  engines: { node: '>= 20.0.0' },
  // One copy of the library and of aws-cdk-lib: the consumer's, which synthesized the template the kit runs.
  peerDependencies: {
    [LIBRARY]: rootPackage.version,
    'aws-cdk-lib': project.cdkVersion,
    'constructs': '^10.5.1',
  },
  dependencies: Object.fromEntries(kitDeps.map((spec) => {
    const name = spec.replace(/(.)@.*$/, '$1');
    const range = rootPackage.devDependencies?.[name] ?? spec.slice(name.length + 1);
    return [name, range || '*'];
  })),
};
new JsonFile(project, 'local/package.json', { obj: kitPackage, newline: true });
new JsonFile(project, 'local/tsconfig.json', {
  allowComments: true,
  obj: {
    compilerOptions: {
      rootDir: 'src',
      outDir: 'lib',
      declaration: true,
      target: 'ES2022',
      lib: ['es2022'],
      module: 'node16',
      strict: true,
      esModuleInterop: true,
      resolveJsonModule: true,
      skipLibCheck: true,
      noUnusedLocals: true,
      noImplicitReturns: true,
      noFallthroughCasesInSwitch: true,
      inlineSourceMap: true,
      types: ['node', 'aws-lambda', 'pngjs', 's3rver'],
    },
    include: ['src/**/*.ts'],
  },
});
// The kit's tests type-check (and lint) with the repository's dev config.
new JsonFile(project, 'local/test/tsconfig.json', {
  allowComments: true,
  obj: { extends: '../../test/tsconfig.json', include: ['**/*.ts'] },
});

// In this repository the kit resolves the library as a package, through a link to the repository root.
const kitLink = project.addTask('kit:link', {
  description: `Link local/node_modules/${LIBRARY} to this repository, as npm installs it for a consumer`,
  exec: `mkdir -p local/node_modules && ln -sfn ../.. local/node_modules/${LIBRARY}`,
});
const kitCompile = project.addTask('kit:compile', {
  description: 'Compile the testing kit (local/) against the compiled library',
  exec: 'tsc -p local/tsconfig.json',
});
kitCompile.prependSpawn(kitLink);
project.postCompileTask.spawn(kitCompile);
project.testTask.prependSpawn(kitLink);

// README examples compile, as aws-cdk-lib's do: jsii-rosetta extracts every ```ts snippet from the assembly's readme
// (and the API docs' examples) and compiles it in its fixture (rosetta/), strictly; the ```python block after a
// snippet is rosetta's translation of it, so the two cannot drift. Needs the compiled assembly (`build` compiles
// before it tests); the snippets resolve the library by its package name through the kit's link.
const readmePython = project.addTask('readme:python', {
  description: "Compile the README's TypeScript examples with jsii-rosetta and regenerate its Python examples from them",
  exec: 'ts-node --project test/tsconfig.json scripts/readme-python.ts',
});
readmePython.prependSpawn(kitLink);
const rosettaCheck = project.addTask('rosetta:check', {
  description: "Compile the README's TypeScript examples with jsii-rosetta (strict); fail if its Python examples differ from their translation",
  exec: 'ts-node --project test/tsconfig.json scripts/readme-python.ts --check',
});
rosettaCheck.prependSpawn(kitLink);
project.testTask.spawn(rosettaCheck);
// rosetta's translations (the implicit tablet beside .jsii): build output, and not in the package
project.gitignore.exclude('/.jsii.tabl.json');
project.addPackageIgnore('/.jsii.tabl.json');
project.addPackageIgnore('/rosetta/');
const kitPackageTask = project.addTask('kit:package', {
  description: 'Pack the testing kit into dist/js beside the library',
  exec: 'mkdir -p dist/js && cd local && npm pack --pack-destination ../dist/js',
});
project.packageTask.spawn(kitPackageTask);

// The construct package holds the library and its bundled handlers only (a test checks `npm pack --dry-run`).
for (const p of ['/local/', '/examples/', '/scripts/', '/.ci/', '/.ics-local/', '/console/', '/docs/']) project.addPackageIgnore(p);

// The README's main job: run the bank-security pipeline on this machine with the embedded model, through the
// kit's CLI as a consumer runs it (compiled: the kit loads the library as a package).
const demo = project.addTask('demo', {
  description: 'Run the pipeline locally on local/demo/images with the embedded COCO model and write .ics-local/report.html',
});
demo.spawn(project.tasks.tryFind('bundle')!);
demo.spawn(project.compileTask);
demo.spawn(kitCompile);
demo.exec('node local/lib/cli.js demo');
project.package.setScript('demo', 'npx projen demo');

// Benchmarks ICS against the reference design (bench/README.md). Not part of the build: figures are measured,
// never asserted. --transpile-only: the bench is type-checked with the dev tsconfig, not on every run.
const bench = project.addTask('bench', {
  description: 'Benchmark ICS against the three-Lambda reference design; writes bench/results.json and bench/RESULTS.md',
  exec: 'ts-node --transpile-only --project test/tsconfig.json bench/run.ts',
});
bench.prependSpawn(kitLink);
bench.prependSpawn(project.compileTask);
bench.prependSpawn(project.tasks.tryFind('bundle')!);
project.package.setScript('bench', 'npx projen bench');
project.addPackageIgnore('/bench/');

// Synthesize the bring-your-own-endpoint example and print what the pipeline built.
project.addTask('example', {
  description: 'Synthesize examples/ and print the resources the pipeline created',
  exec: 'ts-node --project test/tsconfig.json examples/print-example.ts',
});

project.synth();
