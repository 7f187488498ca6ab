import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Human } from '@vladmandic/human';
import { BANK_SECURITY_COCO_MAPPING, BANK_SECURITY_LABELS, CocoDetection, CocoLabelMapping, CocoScoringOptions, cocoScores } from './coco-mapping';
import { decodeImage } from './image-decode';
import { ModelBackend, ModelOutput, predictionOutput } from './model-backend';
import { HUMAN_WASM_BASE, humanWasmBuild } from './tfjs-runtime';

export interface CocoVehiclesOptions extends CocoScoringOptions {
  /** Pipeline labels, in the order of the output vector. @default BANK_SECURITY_LABELS */
  readonly labels?: readonly string[];
  /** COCO classes counted as evidence for each label. @default BANK_SECURITY_COCO_MAPPING */
  readonly mapping?: CocoLabelMapping;
}

/**
 * The embedded default model: the COCO object detector (CenterNet, MobileNetV3) that ships inside
 * `@vladmandic/human`, run on TF.js's wasm backend. Weights and wasm binaries load from node_modules, so nothing is
 * downloaded at run time. Output is SageMaker's image-classification format, `{"prediction": [...]}` in label
 * order, computed by `cocoScores` (the detector's own scores, not normalised). Undecodable input throws, which the
 * runtime peer reports as ModelError.
 * About 0.25 s per image on one core (measured on 400–750 px photos, after a ~0.3 s first-call warm-up).
 */
export function cocoVehiclesModel(options: CocoVehiclesOptions = {}): ModelBackend {
  const labels = options.labels ?? BANK_SECURITY_LABELS;
  const mapping = options.mapping ?? BANK_SECURITY_COCO_MAPPING;
  let queue: Promise<unknown> = Promise.resolve();
  return {
    ready: async () => {
      await loadDetector();
    },
    async invoke(body: Buffer): Promise<ModelOutput> {
      const image = decodeImage(body); // throws before touching the model
      // Human keeps per-instance state between frames; run one image at a time.
      const run = queue.then(() => detect(image.width, image.height, image.data));
      queue = run.catch(() => undefined);
      const detections = await run;
      return predictionOutput(cocoScores(detections, labels, mapping, options));
    },
  };
}

/** The raw COCO detections for one JPEG/PNG (for reports and debugging; the backend adds the label mapping). */
export async function detectCocoObjects(bytes: Buffer): Promise<CocoDetection[]> {
  const image = decodeImage(bytes);
  return detect(image.width, image.height, image.data);
}

let detector: Promise<Human> | undefined;

/** Loads Human with only the object detector enabled, once per process (the model is ~4 MB, ~8 MB in wasm). */
function loadDetector(): Promise<Human> {
  if (!detector) {
    detector = (async () => {
      const { humanModule, dist, wasmPath } = humanWasmBuild();
      const human = new humanModule.Human({
        ...HUMAN_WASM_BASE,
        modelBasePath: pathToFileURL(path.join(dist, '..', 'models')).href + '/',
        wasmPath,
        cacheSensitivity: 0, // every call is a new photo, not a video frame: never reuse the previous result
        object: { enabled: true, minConfidence: 0.1, maxDetected: 20, skipFrames: 0, skipTime: 0 },
      });
      await human.load();
      await human.warmup();
      return human;
    })();
    detector.catch(() => {
      detector = undefined; // let a later call retry
    });
  }
  return detector;
}

async function detect(width: number, height: number, rgb: Uint8Array): Promise<CocoDetection[]> {
  const human = await loadDetector();
  const pixels = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) pixels[i] = rgb[i];
  const tensor = human.tf.tensor(pixels, [1, height, width, 3], 'float32');
  try {
    const result = await human.detect(tensor);
    if (result.error) throw new Error(`object detector failed: ${result.error}`);
    return result.object.map((o) => ({ label: o.label, score: o.score }));
  } finally {
    tensor.dispose();
  }
}
