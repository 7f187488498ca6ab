import { ClassificationError, ErrorName } from './errors';

/** The image formats the pipeline recognizes from their magic bytes, with the MIME type of each. */
export const IMAGE_FORMATS = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
} as const;

/** An image format the pipeline recognizes from its magic bytes. */
export interface SniffedFormat {
  /** Short name, e.g. `jpeg`. */
  readonly format: keyof typeof IMAGE_FORMATS;
  /** The MIME type sent to the endpoint as `Content-Type`. */
  readonly contentType: string;
}

const formatOf = (format: SniffedFormat['format']): SniffedFormat => ({ format, contentType: IMAGE_FORMATS[format] });

const startsWith = (bytes: Uint8Array, sig: readonly number[], offset = 0): boolean =>
  bytes.length >= offset + sig.length && sig.every((b, i) => bytes[offset + i] === b);

/**
 * Identifies the format from the file's leading bytes; the key's suffix and the object's
 * Content-Type are user-controlled and not trusted.
 */
export function sniffImageFormat(bytes: Uint8Array): SniffedFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return formatOf('jpeg');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return formatOf('png');
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) {
    return formatOf('gif');
  }
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)) {
    return formatOf('webp');
  }
  if (startsWith(bytes, [0x42, 0x4d]) && bytes.length >= 26) return formatOf('bmp');
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return formatOf('tiff');
  }
  return undefined;
}

/** Index of the last occurrence of a two-byte marker, or -1. */
function lastIndexOfPair(bytes: Uint8Array, a: number, b: number): number {
  for (let i = bytes.length - 2; i >= 0; i--) {
    if (bytes[i] === a && bytes[i + 1] === b) return i;
  }
  return -1;
}

/** Trailing bytes some encoders and cameras append after the end marker. */
const TRAILER_SLACK = 1024;

/**
 * Whether the image ends where its format says it ends. Catches uploads cut off mid-transfer before
 * they reach (and are billed by) the endpoint. TIFF has no end marker and is always accepted.
 */
export function isComplete(format: SniffedFormat['format'], bytes: Uint8Array): boolean {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (format) {
    case 'jpeg': {
      // EOI marker (FF D9); entropy-coded data escapes FF, so FF D9 near the end is the real EOI.
      const eoi = lastIndexOfPair(bytes, 0xff, 0xd9);
      return eoi >= 2 && eoi >= n - 2 - TRAILER_SLACK;
    }
    case 'png': {
      // IEND chunk: length 0, type "IEND", CRC.
      for (let i = n - 8; i >= Math.max(8, n - 8 - TRAILER_SLACK); i--) {
        if (bytes[i] === 0x49 && bytes[i + 1] === 0x45 && bytes[i + 2] === 0x4e && bytes[i + 3] === 0x44) return true;
      }
      return false;
    }
    case 'gif': {
      // Trailer byte 0x3B, allowing zero padding after it.
      let i = n - 1;
      while (i > 6 && bytes[i] === 0x00 && n - i < TRAILER_SLACK) i--;
      return bytes[i] === 0x3b;
    }
    case 'webp':
      // RIFF chunk size counts everything after the first 8 bytes.
      return n >= 12 && view.getUint32(4, true) + 8 <= n;
    case 'bmp':
      // bfSize in the file header. Some writers put 0 there; then only the header is checked.
      return view.getUint32(2, true) === 0 || view.getUint32(2, true) <= n;
    case 'tiff':
      return n >= 8;
  }
}

/**
 * Validates image bytes and returns their format, or throws a named {@link ClassificationError}:
 * `EmptyObject`, `UnsupportedImageFormat`, `TruncatedImage`.
 */
export function inspectImage(bytes: Uint8Array): SniffedFormat {
  if (bytes.length === 0) {
    throw new ClassificationError(ErrorName.EmptyObject, 'The object is empty (0 bytes).');
  }
  const sniffed = sniffImageFormat(bytes);
  if (!sniffed) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw new ClassificationError(
      ErrorName.UnsupportedImageFormat,
      `The object is not a JPEG, PNG, GIF, WebP, BMP or TIFF image (first bytes: ${head}).`,
    );
  }
  if (!isComplete(sniffed.format, bytes)) {
    throw new ClassificationError(
      ErrorName.TruncatedImage,
      `The ${sniffed.format.toUpperCase()} image ends early (${bytes.length} bytes, no end marker): the upload may have been cut off.`,
    );
  }
  return sniffed;
}
