import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DesignName } from '../lib/designs';
import { BENCH, REPO, TMP } from '../lib/paths';
import { round, summarize, Summary } from '../lib/stats';

export interface SynthResult {
  readonly design: DesignName;
  readonly pipelines: number;
  /** Construction + app.synth() (ms), imports excluded. */
  readonly totalMs: Summary;
  readonly msPerPipeline: Summary;
  readonly importMs: Summary;
  readonly resourcesPerPipeline: number;
  readonly peakRssMb: number;
}

interface ChildResult { importMs: number; constructMs: number; synthMs: number; resources: number; heapMb: number }

function synthInChild(design: DesignName, pipelines: number): Promise<ChildResult> {
  const outdir = path.join(TMP, 'synth', `${design}-${pipelines}`);
  fs.rmSync(outdir, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const child = fork(path.join(BENCH, 'children', 'synth-app.ts'), [], {
      cwd: REPO,
      execArgv: ['-r', 'ts-node/register/transpile-only'],
      env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'test', 'tsconfig.json'), NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (m: ChildResult) => resolve(m));
    child.once('exit', (code) => (code ? reject(new Error(`synth child exited ${code}`)) : undefined));
    child.send({ design, pipelines, outdir });
  });
}

/**
 * Synth time of apps with 1, 10 and 50 pipelines (one stack each), each sample in a fresh process. Repetitions are
 * interleaved (round-robin over designs and sizes) so that load from other processes spreads over every cell.
 */
export async function measureSynth(sizes: number[], reps: (n: number) => number, log: (line: string) => void): Promise<SynthResult[]> {
  const cells = (['ICS', 'reference'] as const).flatMap((design) => sizes.map((n) => ({ design, n, runs: [] as ChildResult[] })));
  const rounds = Math.max(...sizes.map(reps));
  for (let round_ = 0; round_ < rounds; round_++) {
    for (const cell of cells) if (round_ < reps(cell.n)) cell.runs.push(await synthInChild(cell.design, cell.n));
  }
  return cells.map(({ design, n, runs }) => {
    const totals = runs.map((r) => r.constructMs + r.synthMs);
    const result: SynthResult = {
      design,
      pipelines: n,
      totalMs: summarize(totals, 0),
      msPerPipeline: summarize(totals.map((t) => t / n), 1),
      importMs: summarize(runs.map((r) => r.importMs), 0),
      resourcesPerPipeline: round(runs[0].resources / n, 1),
      peakRssMb: round(Math.max(...runs.map((r) => r.heapMb)), 0),
    };
    log(`  ${design} × ${n}: ${result.totalMs.median} ms (${result.msPerPipeline.median} ms per pipeline, ${result.resourcesPerPipeline} resources each)`);
    return result;
  });
}
