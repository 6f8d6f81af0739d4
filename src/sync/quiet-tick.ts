/**
 * The inputs of a tick that found nothing at all to do. The plan is a function of its inputs, so
 * a tick that sees the very same ones again (the same objects: the listing's pages came back
 * byte for byte, the folder was not touched or rescanned the same, the baseline was not written)
 * would plan nothing again and can skip planning: an idle tick over 10,000 files was otherwise
 * most of its CPU rebuilding, comparing and throwing away per-path state it had just built.
 */
import type { RemoteScan } from '../remote/snapshot.js';
import type { TickScope } from './scheduler.js';
import type { BaselineSnapshot, LocalSnapshot } from './types.js';

export interface TickInputs {
  readonly scope: TickScope;
  /** The final round at shutdown plans differently (keep-both up halves). */
  readonly final: boolean;
  readonly local: LocalSnapshot;
  readonly remote: RemoteScan;
  readonly baseline: BaselineSnapshot | null;
}

/** Whether `inputs` are those of `quiet`, a tick that did nothing (null: there was none). */
export function sameAsQuiet(quiet: TickInputs | null, inputs: TickInputs): boolean {
  return (
    quiet !== null &&
    quiet.scope === inputs.scope &&
    quiet.final === inputs.final &&
    quiet.local === inputs.local &&
    quiet.remote === inputs.remote &&
    quiet.baseline === inputs.baseline
  );
}
