// A PRNG and PNG chunk CRCs are bit arithmetic.
/* eslint-disable no-bitwise */
/* eslint-disable import/no-extraneous-dependencies */
import * as zlib from 'node:zlib';
import { PNG } from 'pngjs';

/** Deterministic noise (xorshift32), so every run classifies the same bytes. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function encode(side: number, seed: number): Buffer {
  const png = new PNG({ width: side, height: side, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = noise(side * side * 3, seed);
  // Stored (level 0) deflate: the file grows linearly with the pixel count, like a photo that compresses poorly.
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 0, filterType: 0 });
}

/** A PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export interface SizedImage {
  readonly bytes: Buffer;
  readonly width: number;
  readonly height: number;
}

/**
 * A valid PNG of exactly `size` bytes: real RGB pixels at the largest square size that fits, topped up with a
 * private ancillary chunk (`bnCh`, which decoders skip) before IEND. Needs `size` ≥ 200.
 */
export function pngOfSize(size: number, seed = 7): SizedImage {
  let side = Math.max(4, Math.floor(Math.sqrt(size / 3.05)));
  let png = encode(side, seed);
  while (png.length + 12 > size && side > 4) {
    side = Math.max(4, Math.floor(side * 0.97));
    png = encode(side, seed);
  }
  const pad = size - png.length - 12;
  if (pad < 0) throw new Error(`Cannot make a PNG of ${size} bytes`);
  const iend = png.length - 12;
  const bytes = Buffer.concat([png.subarray(0, iend), chunk('bnCh', noise(pad, seed + 1)), png.subarray(iend)]);
  return { bytes, width: side, height: side };
}
