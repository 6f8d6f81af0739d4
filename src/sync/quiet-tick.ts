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

/**
 * The last quiet tick of each kind (scope, final or not): watcher-started up ticks and timer ticks
 * in both directions take turns without forgetting each other's. A record of another kind stays
 * valid while the snapshots never go back to an older object: the local source returns its last
 * snapshot only, the listing memory its last listing only, and a changed baseline is a new one.
 */
export class QuietTicks {
  readonly #last = new Map<string, TickInputs>();

  /** Whether a tick with `inputs` would plan nothing: the last quiet tick of its kind saw the very same. */
  repeats(inputs: TickInputs): boolean {
    const kind = kindOf(inputs);
    const quiet = this.#last.get(kind);
    if (quiet === undefined) return false;
    if (quiet.local === inputs.local && quiet.remote === inputs.remote && quiet.baseline === inputs.baseline) return true;
    // Not kept for a later tick of this kind, also when this one fails before it is recorded.
    this.#last.delete(kind);
    return false;
  }

  /** A tick did nothing at all with `inputs` (the baseline as it left it) or, `quiet` false, it planned or found something. */
  record(inputs: TickInputs, quiet: boolean): void {
    // Ticks of another kind that saw another baseline can never match again: not kept alive.
    for (const [kind, last] of this.#last) if (last.baseline !== inputs.baseline) this.#last.delete(kind);
    if (quiet) this.#last.set(kindOf(inputs), inputs);
    else this.#last.delete(kindOf(inputs));
  }
}

function kindOf(inputs: TickInputs): string {
  return `${inputs.scope}${inputs.final ? ' final' : ''}`;
}
