/** The `--max-delete` guard: refuse a run's deletes on one side when they exceed a share of its files. */
import type { Action } from './types.js';

/** What the guard decided for one side. */
export interface GuardResult {
  /** True when this side's deletes were dropped from the plan. */
  readonly refused: boolean;
  /** Deletes the plan wanted on this side. */
  readonly wouldDelete: number;
  /** Files on this side before the plan. */
  readonly of: number;
  readonly limitPercent: number;
}

/** Whether the guard refuses `wouldDelete` deletes among `total` files. */
export function guardRefuses(wouldDelete: number, total: number, limitPercent: number): boolean {
  return wouldDelete > 0 && (wouldDelete / Math.max(total, 1)) * 100 > limitPercent;
}

/**
 * Keeps the actions of `kind` when they remove at most `limitPercent` of `total` files, else drops
 * them all (the rest of the plan is untouched). 1 of 1 is 100%: an empty side with deletes enabled
 * must not wipe the other.
 */
export function guardDeletes(
  actions: readonly Action[],
  kind: 'delete-local' | 'delete-remote',
  total: number,
  limitPercent: number,
): { actions: Action[]; result: GuardResult } {
  const wouldDelete = actions.filter((a) => a.kind === kind).length;
  const refused = guardRefuses(wouldDelete, total, limitPercent);
  return {
    actions: refused ? actions.filter((a) => a.kind !== kind) : [...actions],
    result: { refused, wouldDelete, of: total, limitPercent },
  };
}
