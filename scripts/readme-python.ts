/**
 * The README's TypeScript examples, compiled by jsii-rosetta, and its Python examples generated from them.
 *
 *   npx ts-node --project test/tsconfig.json scripts/readme-python.ts          # rewrite the Python blocks
 *   npx ts-node --project test/tsconfig.json scripts/readme-python.ts --check  # fail if one differs
 *
 * Both first run `jsii-rosetta extract --strict` over the compiled assembly (`.jsii`, which holds README.md as the
 * package's readme): every ```ts snippet of the README and every API docs example must compile inside its fixture
 * (rosetta/*.ts-fixture), and the translations land in `.jsii.tabl.json`. Then each ```python block that directly
 * follows a ```ts block is compared with (or replaced by) rosetta's Python for that snippet, so the two cannot drift.
 * The snippets resolve the library by its package name through `local/node_modules` (the `kit:link` task).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { LanguageTablet, TargetLanguage, typeScriptSnippetFromVisibleSource } from 'jsii-rosetta';

const ROOT = path.join(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const TABLET = path.join(ROOT, '.jsii.tabl.json');

/** A fenced code block: its info string, its content and the line of its opening fence (1-based). */
export interface FencedBlock {
  readonly info: string;
  readonly source: string;
  readonly line: number;
  /** Offsets of the content in the markdown, for replacing it. */
  readonly start: number;
  readonly end: number;
}

/** The fenced (```) code blocks of a markdown text, in order. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const fence = /^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const start = m.index + 3 + m[1].length + 1;
    blocks.push({
      info: m[1].trim(),
      source: m[2],
      line: markdown.slice(0, m.index).split('\n').length,
      start,
      end: start + m[2].length,
    });
  }
  return blocks;
}

/** Whether jsii-rosetta extracts the block: its language (the info string's first word) is `ts` or `typescript`. */
export function isRosettaSnippet(block: FencedBlock): boolean {
  return ['ts', 'typescript'].includes(block.info.split(' ')[0]);
}

/**
 * `markdown` with each ```python block that follows a rosetta snippet (only blank lines between) replaced by
 * `translate(snippet)`. Throws if a snippet has no translation.
 */
export function withPython(markdown: string, translate: (snippet: FencedBlock) => string | undefined): string {
  const blocks = fencedBlocks(markdown);
  let out = '';
  let at = 0;
  for (let i = 1; i < blocks.length; i++) {
    const [ts, py] = [blocks[i - 1], blocks[i]];
    if (!isRosettaSnippet(ts) || py.info !== 'python') continue;
    if (markdown.slice(ts.end, py.start).replace(/```[^\n]*\n/g, '').trim() !== '') continue;
    const python = translate(ts);
    if (python === undefined) {
      throw new Error(`README.md:${ts.line}: rosetta has no translation of this snippet; is the assembly stale? Run \`npx projen compile\`.`);
    }
    out += markdown.slice(at, py.start) + python.trimEnd() + '\n';
    at = py.end;
  }
  return out + markdown.slice(at);
}

/** Compiles every snippet of the assembly in strict mode; the translations go to `.jsii.tabl.json`. */
function extract(): void {
  const rosetta = path.join(ROOT, 'node_modules', '.bin', 'jsii-rosetta');
  const run = spawnSync(rosetta, ['extract', '--strict', '--directory', 'local', '.'], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`jsii-rosetta extract --strict failed (exit ${run.status ?? run.signal})`);
}

async function main(check: boolean): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, '.jsii'))) throw new Error('no .jsii assembly: run `npx projen compile` first');
  extract();
  const tablet = await LanguageTablet.fromFile(TABLET);
  const moduleFqn = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name;
  const translate = (block: FencedBlock) => {
    // The tablet's key is the snippet's API location and visible source, as rosetta derived them from the readme.
    const snippet = typeScriptSnippetFromVisibleSource(
      block.source, { api: { api: 'moduleReadme', moduleFqn }, field: { field: 'markdown', line: block.line } }, true);
    return tablet.lookupTranslationBySource(snippet, TargetLanguage.PYTHON)?.source;
  };
  const readme = fs.readFileSync(README, 'utf8');
  const generated = withPython(readme, translate);
  if (generated === readme) return;
  if (check) {
    const stale = fencedBlocks(readme).filter((b, i) => b.source !== fencedBlocks(generated)[i]?.source).map((b) => b.line);
    throw new Error(`README.md: the Python examples at lines ${stale.join(', ')} differ from rosetta's translation of the TypeScript above them; run \`npx projen readme:python\``);
  }
  fs.writeFileSync(README, generated);
  console.log('README.md: Python examples regenerated (recompile, `npx projen compile`, so the assembly carries them)');
}

if (require.main === module) {
  main(process.argv.includes('--check')).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
