/**
 * A tiny in-memory world for planner tests: file contents on each side plus the baseline, a clock
 * that ticks on every change, and plans applied the way the executor carries them out.
 */
import { pathsToHash, reconcile, type Plan, type PlanOptions } from '../../src/sync/plan.js';
import type { Action, BaselineEntry } from '../../src/sync/types.js';
import { describe, options } from './plan-fixtures.js';

/** The fake ETag of a content: readable in the expected plans. */
export const etag = (content: string): string => `etag:${content}`;

export interface Version {
  content: string;
  /** Local mtime or remote LastModified. */
  time: number;
}

/** Both sides and the baseline, with a clock that ticks on every change. */
export class World {
  local = new Map<string, Version>();
  remote = new Map<string, Version>();
  baseline: Map<string, BaselineEntry> | null = null;
  private clock = 1000;

  /** Starts from `files` present and agreed on both sides. */
  static synced(files: Record<string, string>): World {
    const world = new World();
    world.baseline = new Map();
    for (const [path, content] of Object.entries(files)) {
      const version = { content, time: world.clock };
      world.local.set(path, version);
      world.remote.set(path, version);
      world.baseline.set(path, { size: content.length, mtimeMs: version.time, etag: etag(content) });
    }
    return world;
  }

  /** Writes `content` at `path` on one side, later than anything before. */
  write(side: 'local' | 'remote', path: string, content: string): this {
    this[side].set(path, { content, time: (this.clock += 1000) });
    return this;
  }

  remove(side: 'local' | 'remote', path: string): this {
    this[side].delete(path);
    return this;
  }

  /** Plans one tick as the syncer would: hash what the planner asks for, then reconcile. */
  plan(opts: PlanOptions = options()): Plan & { readable: string[] } {
    const local = new Map([...this.local].map(([p, v]) => [p, { size: v.content.length, mtimeMs: v.time, ctimeMs: v.time }]));
    const remote = new Map(
      [...this.remote].map(([p, v]) => [p, { size: v.content.length, etag: etag(v.content), lastModifiedMs: v.time }]),
    );
    const base = { local, remote, baseline: this.baseline, options: opts };
    const hashed = (against: string) =>
      new Map(pathsToHash(base).filter((r) => r.against === against).map(({ path }) => [path, etag(this.local.get(path)!.content)]));
    const result = reconcile({ ...base, localEtags: hashed('remote'), touchedEtags: hashed('baseline') });
    return { ...result, readable: result.actions.map(describe) };
  }

  /** Carries a plan out the way the executor does, then records the new baseline. */
  apply(plan: Plan): this {
    this.baseline ??= new Map();
    for (const action of plan.actions) this.applyOne(action);
    return this;
  }

  private applyOne(action: Action): void {
    const { path } = action;
    switch (action.kind) {
      case 'upload':
        return this.copy(path, 'local', 'remote');
      case 'download':
        return this.copy(path, 'remote', 'local');
      case 'delete-remote':
      case 'delete-local':
        this[action.kind === 'delete-local' ? 'local' : 'remote'].delete(path);
        this.baseline!.delete(path);
        return;
      case 'record':
        return this.agree(path);
      case 'forget':
        this.baseline!.delete(path);
        return;
      case 'keep-both': {
        const [winner, loser] = action.winner === 'local' ? (['local', 'remote'] as const) : (['remote', 'local'] as const);
        const lost = this[loser].get(path)!;
        this.local.set(action.conflictPath, lost);
        this.remote.set(action.conflictPath, lost);
        this.agree(action.conflictPath);
        return this.copy(path, winner, loser);
      }
      case 'keep-both-up': {
        const mine = this.local.get(path)!;
        this.remote.set(action.conflictPath, { ...mine, time: (this.clock += 1) });
        this.baseline!.set(path, { size: mine.content.length, mtimeMs: mine.time, etag: action.baseEtag });
        return;
      }
    }
  }

  private copy(path: string, source: 'local' | 'remote', target: 'local' | 'remote'): void {
    const version = this[source].get(path)!;
    // An upload gets a new LastModified; a download takes the object's LastModified as mtime.
    this[target].set(path, target === 'remote' ? { ...version, time: (this.clock += 1) } : version);
    this.agree(path);
  }

  private agree(path: string): void {
    const local = this.local.get(path)!;
    this.baseline!.set(path, { size: local.content.length, mtimeMs: local.time, etag: etag(this.remote.get(path)!.content) });
  }

  /** Path → content on one side, sorted by path. */
  contents(side: 'local' | 'remote'): Record<string, string> {
    return Object.fromEntries([...this[side]].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, v]) => [p, v.content]));
  }
}
