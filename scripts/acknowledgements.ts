/**
 * Renders the cdk-nag acknowledgements the construct makes (src/compliance) into README.md, between
 * `<!-- acknowledgements:start -->` and `<!-- acknowledgements:end -->`.
 *
 *   npx ts-node --project test/tsconfig.json scripts/acknowledgements.ts          # rewrite the block
 *   npx ts-node --project test/tsconfig.json scripts/acknowledgements.ts --check  # fail if it is stale
 *
 * test/compliance/acknowledgements.test.ts runs the check, so a stale README fails the tests.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ACKNOWLEDGEMENTS } from '../src/compliance/acknowledgements';
import { WILDCARD_ACKNOWLEDGEMENTS } from '../src/compliance/wildcards';

export const README = path.join(__dirname, '..', 'README.md');
const START = '<!-- acknowledgements:start -->';
const END = '<!-- acknowledgements:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
const code = (text: string) => `\`${text}\``;

/** The generated block, markers included. */
export function renderAcknowledgements(): string {
  const rows = [
    ...Object.values(ACKNOWLEDGEMENTS).map((a) => [a.rules.map(code).join('<br>'), a.appliesTo, a.reason]),
    ...WILDCARD_ACKNOWLEDGEMENTS.map((w) => [code(w.finding), w.appliesTo, w.reason]),
  ];
  return [
    START,
    '<!-- Generated from src/compliance by scripts/acknowledgements.ts; do not edit by hand. -->',
    '',
    '| finding | acknowledged on | reason |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    END,
  ].join('\n');
}

/** `readme` with its acknowledgements block replaced by the current one. */
export function withAcknowledgements(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} block`);
  return readme.slice(0, start) + renderAcknowledgements() + readme.slice(end + END.length);
}

if (require.main === module) {
  const readme = fs.readFileSync(README, 'utf8');
  const updated = withAcknowledgements(readme);
  if (process.argv.includes('--check')) {
    if (updated !== readme) {
      console.error('README.md acknowledgements are stale: run npx ts-node --project test/tsconfig.json scripts/acknowledgements.ts');
      process.exit(1);
    }
  } else if (updated !== readme) {
    fs.writeFileSync(README, updated);
    console.log('README.md acknowledgements updated');
  }
}
