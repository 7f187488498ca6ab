/* eslint-disable import/no-extraneous-dependencies */
import { performance } from 'node:perf_hooks';

/**
 * Synthesizes a CDK app with N pipelines (one stack each) in a fresh process and reports, over IPC, how long the
 * imports, the construction and `app.synth()` took. Run by bench/figures/synth.ts with ts-node (transpile only);
 * the timed phases are after every TypeScript module has been loaded.
 */
process.once('message', (msg: { design: 'ICS' | 'reference'; pipelines: number; outdir: string }) => {
  const t0 = performance.now();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { App } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const { Stack } = require('aws-cdk-lib') as typeof import('aws-cdk-lib');
  const ics = require('../lib/designs') as typeof import('../lib/designs');
  const { ImageClassificationPipeline } = require('../../src') as typeof import('../../src');
  const { ReferenceStack } = require('../reference/stack') as typeof import('../reference/stack');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const importMs = performance.now() - t0;

  const t1 = performance.now();
  const app = new App({ outdir: msg.outdir });
  for (let i = 0; i < msg.pipelines; i++) {
    if (msg.design === 'ICS') new ImageClassificationPipeline(new Stack(app, `Ics${i}`), 'Ics', ics.icsProps());
    else new ReferenceStack(app, `Reference${i}`);
  }
  const constructMs = performance.now() - t1;
  const t2 = performance.now();
  const assembly = app.synth();
  const synthMs = performance.now() - t2;
  const resources = assembly.stacks.reduce((n, s) => n + Object.keys((s.template as { Resources?: object }).Resources ?? {}).length, 0);
  process.send!({ importMs, constructMs, synthMs, resources, heapMb: process.memoryUsage().rss / 2 ** 20 }, () => process.exit(0));
});
