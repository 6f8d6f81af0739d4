/**
 * Golden scenarios: how the planner behaves in situations users meet, told as a story.
 * A tiny in-memory world (file contents on each side plus the baseline) applies each plan the way
 * the executor would, so every story also shows that the two sides converge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathsToHash, reconcile, type Plan, type PlanOptions } from '../../src/sync/plan.js';
import type { Action, BaselineEntry } from '../../src/sync/types.js';
import { describe, options, STAMP } from './plan-fixtures.js';

/** The fake ETag of a content: readable in the expected plans. */
const etag = (content: string): string => `etag:${content}`;

interface Version {
  content: string;
  /** Local mtime or remote LastModified. */
  time: number;
}

/** Both sides and the baseline, with a clock that ticks on every change. */
class World {
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
    const local = new Map([...this.local].map(([p, v]) => [p, { size: v.content.length, mtimeMs: v.time }]));
    const remote = new Map(
      [...this.remote].map(([p, v]) => [p, { size: v.content.length, etag: etag(v.content), lastModifiedMs: v.time }]),
    );
    const base = { local, remote, baseline: this.baseline, options: opts };
    const localEtags = new Map(pathsToHash(base).map((p) => [p, etag(this.local.get(p)!.content)]));
    const result = reconcile({ ...base, localEtags });
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

/** Applies `plan`, then asserts the sides agree and the next plan is empty. */
function assertConverges(world: World, plan: Plan, opts: PlanOptions = options()): void {
  world.apply(plan);
  assert.deepEqual(world.contents('local'), world.contents('remote'));
  assert.deepEqual(world.plan(opts).readable, []);
}

test('a new task joins a bucket that already has files: merge keeps everything', () => {
  const world = new World();
  world.write('remote', 'index.html', '<h1>v1</h1>').write('remote', 'img/logo.png', 'PNG');
  world.write('local', 'index.html', '<h1>v1</h1>').write('local', 'notes.txt', 'mine');

  const plan = world.plan();

  assert.deepEqual(plan.readable, [
    'download img/logo.png (init-merge)',
    'record index.html (same-content)', // equal bytes on both sides: nothing to transfer
    'upload notes.txt (init-merge, create)',
  ]);
  assertConverges(world, plan);
  assert.deepEqual(world.contents('local'), { 'img/logo.png': 'PNG', 'index.html': '<h1>v1</h1>', 'notes.txt': 'mine' });
});

test('everyday edits flow both ways; an upload replaces only the version last agreed on', () => {
  const world = World.synced({ 'report.csv': 'a,b', 'data.json': '{}' });
  world.write('local', 'report.csv', 'a,b,c').write('remote', 'data.json', '{"x":1}');

  const plan = world.plan();

  assert.deepEqual(plan.readable, [
    'download data.json (remote-modified)',
    'upload report.csv (local-modified, if-match etag:a,b)',
  ]);
  assert.equal(plan.conflicts, 0);
  assertConverges(world, plan);
});

test('a local delete reaches S3 only with delete enabled up; otherwise the file comes back', () => {
  const deleted = () => World.synced({ 'old.log': 'x', 'keep.txt': 'y' }).remove('local', 'old.log');
  const withDelete = options({ up: { delete: true } });

  assert.deepEqual(deleted().plan(withDelete).readable, ['delete-remote old.log (local-deleted, if-match etag:x)']);
  assert.deepEqual(deleted().plan().readable, ['download old.log (restore-local)']);
});

test('deleted on one side while edited on the other: the edit survives, whatever the policy', () => {
  const world = World.synced({ 'draft.md': 'v1' });
  world.remove('local', 'draft.md').write('remote', 'draft.md', 'v2 from another node');
  const opts = options({
    conflict: 'local',
    up: { delete: true },
    down: { delete: true },
  });

  const plan = world.plan(opts);

  assert.deepEqual(plan.readable, ['download draft.md (conflict)']);
  assert.equal(plan.conflicts, 1);
  assertConverges(world, plan, opts);
  assert.deepEqual(world.contents('local'), { 'draft.md': 'v2 from another node' });
});

test('both sides edited the same file: keep-both keeps the newer at the name and the other beside it', () => {
  const world = World.synced({ 'docs/plan.txt': 'v1' });
  world.write('remote', 'docs/plan.txt', 'theirs').write('local', 'docs/plan.txt', 'ours, later');
  const opts = options({ conflict: 'keep-both' });

  const plan = world.plan(opts);

  const copy = `docs/plan.conflict-${STAMP}.txt`;
  assert.deepEqual(plan.readable, [`keep-both docs/plan.txt (conflict, local wins → ${copy}, if-match etag:theirs)`]);
  assertConverges(world, plan, opts);
  assert.deepEqual(world.contents('remote'), { [copy]: 'theirs', 'docs/plan.txt': 'ours, later' });
});

test('a task restarts on an empty volume with --delete: the guard refuses to wipe the bucket', () => {
  const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}.txt`, `content ${i}`]));
  const world = World.synced(files);
  for (const path of Object.keys(files)) world.remove('local', path);
  world.write('local', 'fresh.txt', 'written since');
  const opts = options({
    maxDeletePercent: 50,
    up: { delete: true },
    down: { delete: true },
  });

  const plan = world.plan(opts);

  assert.deepEqual(plan.readable, ['upload fresh.txt (local-added, create)']);
  assert.deepEqual(plan.deleteGuard.remote, { refused: true, wouldDelete: 8, of: 8, limitPercent: 50 });
  // Without --delete the same situation restores every file instead.
  assert.equal(world.plan().readable.filter((line) => line.endsWith('(restore-local)')).length, 8);
});

test('an up-only tick (POST /sync/up) uploads now and leaves remote changes for the next full tick', () => {
  const world = World.synced({ 'a.txt': 'a', 'b.txt': 'b' });
  world.write('local', 'a.txt', 'a2').write('remote', 'b.txt', 'b2');
  const upOnly = options({ down: { enabled: false } });

  const first = world.plan(upOnly);
  assert.deepEqual(first.readable, ['upload a.txt (local-modified, if-match etag:a)']);
  world.apply(first);

  const second = world.plan();
  assert.deepEqual(second.readable, ['download b.txt (remote-modified)']);
  assertConverges(world, second);
});
