import { RgbImage } from './image-decode';

export interface ImageInputOptions {
  /** Model input size; the image is resized (bilinear) to it. */
  readonly width: number;
  readonly height: number;
  /** Tensor layout: channels first (most ONNX exports) or last (TF.js). @default 'nchw' */
  readonly layout?: 'nchw' | 'nhwc';
  /** 1 averages RGB to grey. @default 3 */
  readonly channels?: 1 | 3;
  /** value = (pixel * scale - mean[c]) / std[c]. @default 1/255 */
  readonly scale?: number;
  /** @default [0, 0, 0] */
  readonly mean?: readonly number[];
  /** @default [1, 1, 1] */
  readonly std?: readonly number[];
}

/** Turns a decoded image into the float input tensor data a vision model expects (batch of one). */
export function imageToTensorData(image: RgbImage, o: ImageInputOptions): Float32Array {
  const { width: W, height: H } = o;
  const channels = o.channels ?? 3;
  const nchw = (o.layout ?? 'nchw') === 'nchw';
  const scale = o.scale ?? 1 / 255;
  const mean = o.mean ?? [0, 0, 0];
  const std = o.std ?? [1, 1, 1];
  const out = new Float32Array(W * H * channels);
  const rgb = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      sampleBilinear(image, ((x + 0.5) * image.width) / W - 0.5, ((y + 0.5) * image.height) / H - 0.5, rgb);
      const values = channels === 3 ? rgb : [(rgb[0] + rgb[1] + rgb[2]) / 3];
      for (let c = 0; c < channels; c++) {
        const v = (values[c] * scale - mean[c]) / std[c];
        out[nchw ? c * W * H + y * W + x : (y * W + x) * channels + c] = v;
      }
    }
  }
  return out;
}

function sampleBilinear(img: RgbImage, fx: number, fy: number, out: number[]): void {
  const x0 = clamp(Math.floor(fx), img.width - 1);
  const y0 = clamp(Math.floor(fy), img.height - 1);
  const x1 = clamp(x0 + 1, img.width - 1);
  const y1 = clamp(y0 + 1, img.height - 1);
  const dx = Math.min(Math.max(fx - x0, 0), 1);
  const dy = Math.min(Math.max(fy - y0, 0), 1);
  for (let c = 0; c < 3; c++) {
    const p = (x: number, y: number) => img.data[(y * img.width + x) * 3 + c];
    const top = p(x0, y0) * (1 - dx) + p(x1, y0) * dx;
    const bottom = p(x0, y1) * (1 - dx) + p(x1, y1) * dx;
    out[c] = top * (1 - dy) + bottom * dy;
  }
}

function clamp(v: number, max: number): number {
  return Math.min(Math.max(v, 0), max);
}
