// The module object itself (not an ES namespace copy), so the patch is what s3rver's `require('crypto')` sees.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import crypto = require('node:crypto');

let installed = false;

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node 17+) only offers with
 * `--openssl-legacy-provider`; without it, listing a second page throws. The token only has to round-trip through
 * the same process, so where DES is unavailable this makes `createCipheriv('des')`/`createDecipheriv('des')` an
 * identity transform. Any call that works without the fallback (other algorithms, or DES under the legacy
 * provider) is passed through unchanged.
 */
export function installDesFallback(): void {
  if (installed) return;
  installed = true;
  const mutable = crypto as { -readonly [K in keyof typeof crypto]: (typeof crypto)[K] };
  type AnyFn = (...args: unknown[]) => unknown;
  const { createCipheriv, createDecipheriv } = crypto;
  mutable.createCipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: unknown) => {
    try {
      return (createCipheriv as AnyFn)(algorithm, key, iv, options);
    } catch (err) {
      if (algorithm !== 'des') throw err;
      return identityCipher();
    }
  }) as typeof crypto.createCipheriv;
  mutable.createDecipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, options?: unknown) => {
    try {
      return (createDecipheriv as AnyFn)(algorithm, key, iv, options);
    } catch (err) {
      if (algorithm !== 'des') throw err;
      return identityCipher();
    }
  }) as typeof crypto.createDecipheriv;
}

/** Just enough of a Cipher for s3rver's use: `update(data, encoding?)` and `final()`. */
function identityCipher() {
  return {
    update: (data: string | Buffer, encoding?: BufferEncoding) => (typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.from(data)),
    final: () => Buffer.alloc(0),
  };
}
