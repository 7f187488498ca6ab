#!/usr/bin/env node
/**
 * ics-local: run the pipeline on this machine.
 *
 *   ics-local demo                                   the bank-security demo over demo/images
 *   ics-local run [--template T.json] [--report R] <images...>
 */
import * as fs from 'node:fs';
import { runDemo } from './demo';
import { CfnTemplate } from './template-resolver';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    if (i < 0) return undefined;
    const [, value] = rest.splice(i, 2);
    return value;
  };
  switch (command) {
    case 'demo':
      await runDemo({ reportPath: flag('--report') });
      return 0;
    case 'run': {
      const templatePath = flag('--template');
      const reportPath = flag('--report');
      if (rest.length === 0) throw new Error('ics-local run: name at least one image file');
      const template = templatePath ? (JSON.parse(fs.readFileSync(templatePath, 'utf8')) as CfnTemplate) : undefined;
      await runDemo({ images: rest, template, reportPath });
      return 0;
    }
    default:
      console.error('usage: ics-local demo | ics-local run [--template stack.template.json] [--report out.html] <images...>');
      return command ? 2 : 0;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
