import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let installed = false;

/**
 * TF.js loaders (and Human's model loader) fetch model files by URL. Node's fetch has no `file://` support, and the
 * runner must not reach the network, so this wraps the global fetch once: `file://` URLs are read from disk, every
 * other URL goes to the original fetch unchanged.
 */
export function installFileFetch(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith('file://')) return original(input, init);
    try {
      return new Response(await readFile(fileURLToPath(url)), { status: 200 });
    } catch (err) {
      return new Response(String(err), { status: 404 });
    }
  }) as typeof fetch;
}
