/**
 * Keeps the bench's output to its figures. Import this first.
 *
 * - The AWS SDK warns about Node 20's end of support once per client, and the bench creates many clients.
 * - The bundled handlers log JSON lines (Powertools logs and EMF metrics) to stdout and stderr, as on Lambda, where
 *   CloudWatch Logs ingests them. Here they are counted (`handlerLogBytes()`, a figure of its own) and not printed.
 */
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((...args: unknown[]) => {
  if (args.some((a) => /NodeVersionSupport/.test(String((a as { type?: string })?.type ?? (a as Error)?.name ?? a)))) return;
  emitWarning(...args);
}) as typeof process.emitWarning;

let logBytes = 0;
let logLines = 0;
/** Swallows (and counts) the JSON log lines written to a stream; everything else passes through. */
function quietJsonLines(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
    if (text.startsWith('{"')) {
      // Each line is one log event in CloudWatch Logs (its message without the newline).
      for (const line of text.split('\n').filter((l) => l.length > 0)) {
        logBytes += Buffer.byteLength(line);
        logLines++;
      }
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
// Powertools writes INFO lines to stdout and WARN/ERROR lines to stderr (the dispatch function defers with WARN lines).
quietJsonLines(process.stdout);
quietJsonLines(process.stderr);

/** Bytes of JSON log lines the handlers wrote since the last call (each line's message, newline excluded). */
export function handlerLogBytes(): number {
  const n = logBytes;
  logBytes = 0;
  return n;
}

/** JSON log lines (CloudWatch Logs events) the handlers wrote since the last call. */
export function handlerLogLines(): number {
  const n = logLines;
  logLines = 0;
  return n;
}
