import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An image as interleaved 8-bit RGB. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array; // width * height * 3
}

const MAX_PIXELS = 50_000_000; // refuse decompression bombs rather than exhaust memory

/**
 * Decodes JPEG or PNG bytes with pure-JS decoders (jpeg-js, pngjs): no native binaries, so it installs and runs
 * offline on any Node. The format is sniffed from magic bytes, not trusted from Content-Type. Throws on anything
 * else or on corrupt data.
 */
export function decodeImage(bytes: Buffer): RgbImage {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6 });
    return { width: img.width, height: img.height, data: rgbaToRgb(img.data, img.width * img.height) };
  }
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_MAGIC)) {
    const img = PNG.sync.read(bytes);
    return { width: img.width, height: img.height, data: rgbaToRgb(img.data, img.width * img.height) };
  }
  throw new Error('unsupported image format: expected JPEG or PNG');
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function rgbaToRgb(rgba: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    rgb[i * 3] = rgba[i * 4];
    rgb[i * 3 + 1] = rgba[i * 4 + 1];
    rgb[i * 3 + 2] = rgba[i * 4 + 2];
  }
  return rgb;
}
