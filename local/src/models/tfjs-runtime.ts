import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Human } from '@vladmandic/human';
import { installFileFetch } from './file-fetch';

let runtime: Promise<Human['tf']> | undefined;

/** Human on the wasm backend with every one of its own models off; callers enable what they use. */
export const HUMAN_WASM_BASE = {
  backend: 'wasm',
  debug: false,
  face: { enabled: false },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
  filter: { enabled: false },
} as const;

/**
 * `@vladmandic/human`'s wasm build and the URL of TF.js's wasm binaries. The package's exports only expose
 * the tfjs-node build (a native download), so the wasm build is loaded by path; both load offline.
 */
export function humanWasmBuild(): { humanModule: typeof import('@vladmandic/human'); dist: string; wasmPath: string } {
  installFileFetch();
  const dist = path.dirname(require.resolve('@vladmandic/human'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const humanModule = require(path.join(dist, 'human.node-wasm.js')) as typeof import('@vladmandic/human');
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  return { humanModule, dist, wasmPath: pathToFileURL(wasmDir).href + '/' };
}

/**
 * The TF.js namespace on the wasm backend, from Human's wasm build with all of Human's own models disabled:
 * an offline TF.js for user graph models.
 */
export function tfjsWasm(): Promise<Human['tf']> {
  if (!runtime) {
    runtime = (async () => {
      const { humanModule, wasmPath } = humanWasmBuild();
      const human = new humanModule.Human({ ...HUMAN_WASM_BASE, wasmPath });
      await human.init();
      return human.tf;
    })();
    runtime.catch(() => {
      runtime = undefined;
    });
  }
  return runtime;
}
