import { images } from './fixtures';
import { ErrorName } from '../../src/handlers/errors';
import { inspectImage, isComplete, sniffImageFormat } from '../../src/handlers/image-format';

describe('sniffImageFormat', () => {
  test.each([
    ['jpeg', 'image/jpeg'],
    ['png', 'image/png'],
    ['gif', 'image/gif'],
    ['webp', 'image/webp'],
    ['bmp', 'image/bmp'],
    ['tiff', 'image/tiff'],
  ] as const)('recognizes real %s bytes as %s', (format, contentType) => {
    expect(sniffImageFormat(images[format])).toEqual({ format, contentType });
    expect(inspectImage(images[format]).format).toBe(format);
  });

  test('big-endian TIFF', () => {
    expect(sniffImageFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))?.format).toBe('tiff');
  });

  test('ignores what the name or a text body claims', () => {
    expect(sniffImageFormat(Buffer.from('this is not a jpeg, just text named .jpg'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('RIFF....WAVEfmt '))).toBeUndefined();
  });
});

describe('inspectImage errors', () => {
  const nameOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as Error).name;
    }
    return 'no error';
  };

  test('empty object', () => {
    expect(nameOf(() => inspectImage(Buffer.alloc(0)))).toBe(ErrorName.EmptyObject);
  });

  test('text named .jpg', () => {
    expect(nameOf(() => inspectImage(Buffer.from('hello, I am a text file')))).toBe(ErrorName.UnsupportedImageFormat);
  });

  test.each(['jpeg', 'png', 'gif', 'webp', 'bmp'] as const)('truncated %s', (format) => {
    const cut = images[format].subarray(0, Math.floor(images[format].length * 0.6));
    expect(nameOf(() => inspectImage(cut))).toBe(ErrorName.TruncatedImage);
  });

  test('a JPEG with a short trailer after EOI is complete', () => {
    const withTrailer = Buffer.concat([images.jpeg, Buffer.alloc(100, 0)]);
    expect(isComplete('jpeg', withTrailer)).toBe(true);
  });

  test('a GIF padded with zeros is complete', () => {
    expect(isComplete('gif', Buffer.concat([images.gif, Buffer.alloc(4, 0)]))).toBe(true);
  });
});
