/**
 * Builds the console's front end (console/) into assets/console/: index.html, app.js (minified ES2020 IIFE) and
 * app.css (uPlot's style sheet and console/styles.css). Type-checks first. The output is deterministic: the same
 * sources give byte-identical files, so the construct's asset hash only changes with the front end.
 *
 *   npx ts-node --project test/tsconfig.json scripts/build-console.ts
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { build } from 'esbuild';

const ROOT = path.join(__dirname, '..');
export const CONSOLE_DIR = path.join(ROOT, 'console');
/** Inside the console API function's asset: the function serves the page, so one asset holds both. */
export const CONSOLE_ASSETS = path.join(ROOT, 'assets', 'handlers', 'console-api.lambda', 'console');

/** The files the build writes, as the page references them under `/static/`. */
export const CONSOLE_FILES = ['index.html', 'app.js', 'app.css'] as const;

/** `tsc --noEmit` over console/ with the project's TypeScript; throws on a type error. */
export function typeCheckConsole(): void {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  execFileSync(process.execPath, [tsc, '-p', path.join(CONSOLE_DIR, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** The page must load only /static/app.js and /static/app.css and carry nothing the CSP would block. */
export function checkIndexHtml(html: string): void {
  const problems: string[] = [];
  if (/<style[\s>]/i.test(html)) problems.push('inline <style>');
  if (/\sstyle\s*=/i.test(html)) problems.push('style="..." attribute');
  if (/\son[a-z]+\s*=/i.test(html)) problems.push('inline event handler');
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (!/\ssrc\s*=/.test(m[1]) || m[2].trim() !== '') problems.push('inline <script>');
  }
  if (!html.includes('<script src="/static/app.js" defer></script>')) problems.push('no <script src="/static/app.js" defer>');
  if (!html.includes('<link rel="stylesheet" href="/static/app.css">')) problems.push('no <link rel="stylesheet" href="/static/app.css">');
  if (problems.length) throw new Error(`console/index.html: ${problems.join(', ')}`);
}

/** Type-checks and bundles the console into `outDir` (assets/console by default); answers the files' sizes. */
export async function buildConsole(outDir: string = CONSOLE_ASSETS): Promise<Record<string, number>> {
  typeCheckConsole();
  const html = fs.readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8');
  checkIndexHtml(html);

  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { app: path.join(CONSOLE_DIR, 'src', 'main.tsx') },
    tsconfig: path.join(CONSOLE_DIR, 'tsconfig.json'),
    bundle: true,
    write: false,
    outdir: outDir,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    charset: 'ascii',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });

  const files: Record<string, Uint8Array> = { 'index.html': Buffer.from(html, 'utf8') };
  for (const out of result.outputFiles) files[path.basename(out.path)] = out.contents;
  const names = Object.keys(files).sort();
  if (names.join() !== [...CONSOLE_FILES].sort().join()) throw new Error(`unexpected console build output: ${names.join(', ')}`);

  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const sizes: Record<string, number> = {};
  for (const name of CONSOLE_FILES) {
    fs.writeFileSync(path.join(outDir, name), files[name]);
    sizes[name] = files[name].length;
  }
  return sizes;
}

if (require.main === module) {
  buildConsole(process.argv[2] ? path.resolve(process.argv[2]) : CONSOLE_ASSETS).then(
    (sizes) => {
      for (const [name, size] of Object.entries(sizes)) console.log(`${name.padEnd(10)} ${(size / 1024).toFixed(1).padStart(6)} KiB`);
    },
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
