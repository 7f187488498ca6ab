/* eslint-disable no-console */
import './lib/quiet';
import '../local/src/polyfills';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { measureBursts } from './figures/bursts';
import { measureHandlers } from './figures/cold-start';
import { measureCost, queuedAddedCost, WORKLOAD } from './figures/cost';
import { measureSizeLimits } from './figures/size-limit';
import { measureSynth } from './figures/synth';
import { measureThroughput } from './figures/throughput';
import { BENCH, ICS_HANDLERS, REPO } from './lib/paths';
import { PRICES } from './lib/prices';
import { probe } from './lib/probes';
import { BenchResults, renderMarkdown } from './lib/report';
import { bundleReference } from './reference/bundle';

/**
 * `npm run bench`: measures ICS and the reference design side by side (bench/README.md) and writes
 * bench/results.json and bench/RESULTS.md. `BENCH_QUICK=1` shrinks every repetition count (and the bursts) for a smoke run.
 */
async function main() {
  const quick = process.env.BENCH_QUICK === '1';
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const step = (title: string) => log(`\n${title} (${((performance.now() - started) / 1000).toFixed(0)} s)`);

  if (!fs.existsSync(path.join(ICS_HANDLERS, 'classify.lambda', 'index.js'))) {
    throw new Error('assets/handlers is missing: run `npx projen bundle` first');
  }
  bundleReference();
  probe.install();

  step('1/6 Cost per image, all-in (local executions, counted)');
  const cost = await measureCost(quick ? 1 : 3, log);
  step('2/6 Largest image that completes end to end (binary search)');
  const sizeLimits = await measureSizeLimits(log);
  step('3/6 Handlers: bundle size, cold start in fresh processes, warm overhead');
  const handlers = await measureHandlers(quick ? 2 : 5, quick ? 20 : 50, log);
  step('4/6 Synth time of apps with 1, 10 and 50 pipelines');
  const synth = await measureSynth(quick ? [1, 10] : [1, 10, 50], (n) => (quick ? 1 : n >= 50 ? 2 : 3), log);
  step('5/6 Local end-to-end throughput');
  const throughput = await measureThroughput({ count: quick ? 20 : 40, reps: quick ? 1 : 3, concurrencies: [1, 4], passes: quick ? 1 : 2 }, log);
  step(`6/6 Bursts, outages and duplicates, direct and queued ingestion (simulated time${quick ? '; BENCH_QUICK=1: smaller bursts' : ''})`);
  const bursts = await measureBursts(quick, log);

  const results: BenchResults = {
    meta: {
      date: new Date().toISOString().slice(0, 10),
      commit: gitCommit(),
      node: process.version,
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      wallSeconds: Math.round((performance.now() - started) / 1000),
      workload: `Workload: ${WORKLOAD.images} distinct ${WORKLOAD.bytes / 1000} KB PNGs per run, ${WORKLOAD.flagged} FLAGGED `
        + `(one alert each), the rest ACCEPTED, zero-latency model, handlers warm; ${quick ? 1 : 3} runs per path.`,
    },
    prices: PRICES,
    cost,
    queuedAddedCost: queuedAddedCost(cost),
    sizeLimits,
    handlers,
    synth,
    throughput,
    bursts,
  };
  fs.writeFileSync(path.join(BENCH, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const markdown = renderMarkdown(results);
  fs.writeFileSync(path.join(BENCH, 'RESULTS.md'), markdown);
  log(`\n${markdown}`);
  log(`Wrote bench/results.json and bench/RESULTS.md in ${results.meta.wallSeconds} s.`);
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
