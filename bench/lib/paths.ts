import * as path from 'node:path';

export const REPO = path.join(__dirname, '..', '..');
export const BENCH = path.join(REPO, 'bench');
/** Scratch space (gitignored): bundles, timed handler copies, synth output. */
export const TMP = path.join(BENCH, 'tmp');
/** ICS's bundled handlers, as `npx projen bundle` writes them. */
export const ICS_HANDLERS = path.join(REPO, 'assets', 'handlers');
/** The reference's per-function bundles (`<name>/index.js`), the assets its stack deploys. */
export const REFERENCE_BUNDLES = path.join(TMP, 'reference');
