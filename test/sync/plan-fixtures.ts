/** Builders for planner tests: small snapshots, default options, and a readable form of actions. */
import { pathsToHash, reconcile, type DirectionPlanOptions, type Plan, type PlanInput, type PlanOptions } from '../../src/sync/plan.js';
import type { Action, BaselineEntry, LocalEntry, RemoteEntry } from '../../src/sync/types.js';

/** The clock and node of every test plan: keep-both names read `…conflict-20240506T070809Z-node1…`. */
export const NOW = new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123));
export const STAMP = '20240506T070809Z-node1';

/** Overrides for `options`; a direction's settings are merged field by field. */
export type OptionOverrides = Partial<Omit<PlanOptions, 'up' | 'down'>> & {
  up?: Partial<DirectionPlanOptions>;
  down?: Partial<DirectionPlanOptions>;
};

/** Default options: both directions on, no deletes, include everything, conflict newer, merge. */
export function options({ up, down, ...rest }: OptionOverrides = {}): PlanOptions {
  const direction = { enabled: true, delete: false, include: () => true, sizeOnly: false };
  return {
    up: { ...direction, ...up },
    down: { ...direction, ...down },
    conflict: 'newer',
    initMode: 'merge',
    maxDeletePercent: 100,
    nodeId: 'node1',
    now: NOW,
    ...rest,
  };
}

/** Files on each side as plain objects; `baseline: null` means first sync. */
export interface Trees {
  local?: Record<string, LocalEntry>;
  remote?: Record<string, RemoteEntry>;
  baseline?: Record<string, BaselineEntry> | null;
  /** Local S3-style ETags the caller computed, in the remote object's layout. */
  etags?: Record<string, string>;
  /** The same for touched files, in the baseline ETag's layout. */
  touchedEtags?: Record<string, string>;
}

/** The planner's input for `trees` under `opts`. */
export function input(trees: Trees, opts: PlanOptions = options()): PlanInput {
  return {
    local: new Map(Object.entries(trees.local ?? {})),
    remote: new Map(Object.entries(trees.remote ?? {})),
    baseline: trees.baseline === null ? null : new Map(Object.entries(trees.baseline ?? {})),
    localEtags: new Map(Object.entries(trees.etags ?? {})),
    touchedEtags: new Map(Object.entries(trees.touchedEtags ?? {})),
    options: opts,
  };
}

/** Plans `trees` and returns the plan with its actions in readable form. */
export function plan(trees: Trees, opts: PlanOptions = options()): Plan & { readable: string[] } {
  const result = reconcile(input(trees, opts));
  return { ...result, readable: result.actions.map(describe) };
}

/**
 * One line per action, e.g. `upload a.txt (local-modified, if-match e0)`,
 * `upload a.txt (local-added, create)`, `keep-both a.txt (conflict, local wins → a.conflict-….txt, if-match e2)`.
 */
export function describe(action: Action): string {
  const head = `${action.kind} ${action.path} (${action.reason}`;
  switch (action.kind) {
    case 'upload':
      return `${head}, ${precondition(action.expectEtag)})`;
    case 'delete-remote':
      return `${head}, ${precondition(action.expectEtag)})`;
    case 'keep-both':
      return `${head}, ${action.winner} wins → ${action.conflictPath}, ${precondition(action.expectEtag)})`;
    case 'keep-both-up':
      return `${head}, local kept as ${action.conflictPath}, baseline etag ${action.baseEtag || '(none)'})`;
    default:
      return `${head})`;
  }
}

function precondition(etag: string | null): string {
  return etag === null ? 'create' : `if-match ${etag}`;
}

/** `n` local files `f0..f(n-1)` that also exist remotely and in the baseline, all in sync. */
export function inSync(n: number, dir = ''): Required<Pick<Trees, 'local' | 'remote' | 'baseline'>> {
  const local: Record<string, LocalEntry> = {};
  const remote: Record<string, RemoteEntry> = {};
  const baseline: Record<string, BaselineEntry> = {};
  for (let i = 0; i < n; i++) {
    const path = `${dir}f${i}`;
    local[path] = { size: 1, mtimeMs: 1000, ctimeMs: 1000 };
    remote[path] = { size: 1, etag: `e${i}`, lastModifiedMs: 1000 };
    baseline[path] = { size: 1, mtimeMs: 1000, etag: `e${i}` };
  }
  return { local, remote, baseline };
}

/** What `pathsToHash` asks for, one line each: `path` (against the remote) or `path (baseline e0)`. */
export function hashRequests(trees: Trees, opts: PlanOptions = options()): string[] {
  return pathsToHash(input(trees, opts)).map((r) => (r.against === 'remote' ? r.path : `${r.path} (baseline ${r.etag})`));
}
