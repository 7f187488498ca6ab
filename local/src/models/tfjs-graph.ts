import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { softmax } from 'cdk-image-classification-pipeline/lib/handlers/model-response';
import { decodeImage } from './image-decode';
import { ImageInputOptions, imageToTensorData } from './image-input';
import { ModelBackend, ModelOutput, predictionOutput } from './model-backend';
import { tfjsWasm } from './tfjs-runtime';

export interface TfjsGraphModelOptions extends ImageInputOptions {
  /** Path of the graph model's `model.json` (its weight shards beside it), as `tensorflowjs_converter` writes them. */
  readonly modelPath: string;
  /** Apply softmax to the output (for models that end in logits). @default false */
  readonly softmax?: boolean;
}

/**
 * A user's TF.js graph model from local files, on the wasm backend: the image is decoded, resized and
 * normalized to the model's input (`layout` defaults to NHWC, TF.js's own), and the first output's scores
 * are answered in SageMaker's `{"prediction": [...]}` format.
 */
export function tfjsGraphModel(options: TfjsGraphModelOptions): ModelBackend {
  let loaded: Promise<{ tf: any; model: any }> | undefined;
  const load = () => (loaded ??= (async () => {
    const tf = await tfjsWasm();
    const model = await tf.loadGraphModel(pathToFileURL(path.resolve(options.modelPath)).href);
    return { tf, model };
  })());
  return {
    ready: async () => {
      await load();
    },
    async invoke(body: Buffer): Promise<ModelOutput> {
      const image = decodeImage(body); // throws before touching the model
      const { tf, model } = await load();
      const layout = options.layout ?? 'nhwc';
      const channels = options.channels ?? 3;
      const shape = layout === 'nhwc' ? [1, options.height, options.width, channels] : [1, channels, options.height, options.width];
      const input = tf.tensor(imageToTensorData(image, { ...options, layout }), shape, 'float32');
      try {
        const output = model.execute(input);
        const first = Array.isArray(output) ? output[0] : output;
        const scores = Array.from(await first.data() as Float32Array);
        tf.dispose(output);
        return predictionOutput(options.softmax ? softmax(scores) : scores);
      } finally {
        input.dispose();
      }
    },
    close: async () => {
      (await loaded)?.model.dispose();
    },
  };
}
