/* eslint-disable import/no-extraneous-dependencies */
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { REFERENCE_BUNDLES, REPO } from '../lib/paths';

export const REFERENCE_FUNCTIONS = ['serialize', 'classify', 'filter'] as const;
export type ReferenceFunction = (typeof REFERENCE_FUNCTIONS)[number];

/** Directory of the local runner's combined reference bundle (`classify.lambda/index.js`). */
export const REFERENCE_RUNNER_BUNDLES = path.join(REFERENCE_BUNDLES, 'runner');

/**
 * Bundles the reference handlers exactly as ICS bundles its own (esbuild, node22, SDK clients bundled, minified, no
 * legal comments), so bundle size and cold start compare code, not bundler settings: one bundle per function
 * (`bench/tmp/reference/<fn>/index.js`, the stack's assets) and one combined bundle for the local runner.
 */
export function bundleReference(): void {
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    tsconfig: path.join(REPO, 'test', 'tsconfig.json'),
    logLevel: 'warning',
  } as const;
  for (const fn of REFERENCE_FUNCTIONS) {
    buildSync({ ...common, entryPoints: [path.join(__dirname, 'handlers', `${fn}.ts`)], outfile: path.join(REFERENCE_BUNDLES, fn, 'index.js') });
  }
  buildSync({
    ...common,
    entryPoints: [path.join(__dirname, 'handlers', 'local-entry.ts')],
    outfile: path.join(REFERENCE_RUNNER_BUNDLES, 'classify.lambda', 'index.js'),
  });
}
