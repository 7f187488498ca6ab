/**
 * Keeps the bench's output to its figures. Import this first.
 *
 * - The AWS SDK warns about Node 20's end of support once per client, and the bench creates many clients.
 * - The bundled handlers log JSON lines (Powertools logs and EMF metrics) to stdout, as on Lambda, where CloudWatch
 *   Logs ingests them. Here they are counted (`handlerLogBytes()`, a figure of its own) and not printed.
 */
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((...args: unknown[]) => {
  if (args.some((a) => /NodeVersionSupport/.test(String((a as { type?: string })?.type ?? (a as Error)?.name ?? a)))) return;
  emitWarning(...args);
}) as typeof process.emitWarning;

let logBytes = 0;
const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
  if (text.startsWith('{"')) {
    logBytes += Buffer.byteLength(text);
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }
  return write(chunk, ...rest);
}) as typeof process.stdout.write;

/** Bytes of JSON log lines the handlers wrote since the last call. */
export function handlerLogBytes(): number {
  const n = logBytes;
  logBytes = 0;
  return n;
}
