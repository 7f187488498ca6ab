import { Worker } from 'node:worker_threads';
import { softmax } from 'cdk-image-classification-pipeline/lib/handlers/model-response';
import { decodeImage } from './image-decode';
import { ImageInputOptions, imageToTensorData } from './image-input';
import { ModelBackend, ModelOutput, predictionOutput } from './model-backend';

export interface OnnxModelOptions extends ImageInputOptions {
  /** Path of the `.onnx` file. */
  readonly modelPath: string;
  /** Input name. @default the model's first input */
  readonly inputName?: string;
  /** Output whose values become `prediction`. @default the model's first output */
  readonly outputName?: string;
  /** Apply softmax to the output (for models that emit logits). @default false */
  readonly softmax?: boolean;
}

/**
 * A user's ONNX image classifier, run by onnxruntime-web's wasm build (pure wasm, so it installs from npm with no
 * native download, unlike onnxruntime-node). The image is decoded, resized and normalized per the options, fed as
 * a [1, C, H, W] (or NHWC) float32 tensor, and the output is returned as `{"prediction": [...]}`.
 *
 * The session lives in a worker thread: onnxruntime-web loads its wasm glue with a dynamic `import()`, which
 * Jest's module sandbox refuses (without --experimental-vm-modules); a worker is plain Node. It also keeps
 * inference off the event loop that serves the other local peers.
 */
export function onnxModel(options: OnnxModelOptions): ModelBackend {
  let worker: Promise<OnnxWorker> | undefined;
  const load = () => (worker ??= OnnxWorker.start(options.modelPath));
  return {
    ready: async () => {
      await load();
    },
    async invoke(body: Buffer): Promise<ModelOutput> {
      const image = decodeImage(body);
      const data = imageToTensorData(image, options);
      const channels = options.channels ?? 3;
      const dims = (options.layout ?? 'nchw') === 'nchw'
        ? [1, channels, options.height, options.width]
        : [1, options.height, options.width, channels];
      const values = await (await load()).run({ data, dims, inputName: options.inputName, outputName: options.outputName });
      return predictionOutput(options.softmax ? softmax(values) : values);
    },
    async close() {
      if (worker) await (await worker).terminate();
    },
  };
}

interface RunRequest {
  readonly data: Float32Array;
  readonly dims: number[];
  readonly inputName?: string;
  readonly outputName?: string;
}

// Runs in the worker. Plain CommonJS: the worker does not go through TypeScript.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
ort.env.wasm.numThreads = 1; // wasm threads would need yet more workers; one is enough here
const session = ort.InferenceSession.create(workerData.modelPath, { executionProviders: ['wasm'] });
session.then(() => parentPort.postMessage({ id: 0 }), (e) => parentPort.postMessage({ id: 0, error: String(e && e.message || e) }));
parentPort.on('message', async ({ id, data, dims, inputName, outputName }) => {
  try {
    const s = await session;
    const out = await s.run({ [inputName || s.inputNames[0]]: new ort.Tensor('float32', data, dims) });
    parentPort.postMessage({ id, values: Array.from(out[outputName || s.outputNames[0]].data, Number) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

class OnnxWorker {
  static start(modelPath: string): Promise<OnnxWorker> {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { modelPath, ortPath: require.resolve('onnxruntime-web') } });
    const ow = new OnnxWorker(w);
    return ow.call(0).then(() => ow, async (err) => {
      await w.terminate();
      throw err;
    });
  }

  private readonly pending = new Map<number, { resolve(v: number[]): void; reject(e: Error): void }>();
  private nextId = 1;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; values?: number[]; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(`onnxruntime: ${m.error}`));
      else p?.resolve(m.values ?? []);
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', () => this.failAll(new Error('onnx worker exited')));
  }

  run(req: RunRequest): Promise<number[]> {
    const id = this.nextId++;
    const result = this.call(id);
    this.worker.postMessage({ id, ...req });
    return result;
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private call(id: number): Promise<number[]> {
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
