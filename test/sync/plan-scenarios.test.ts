/**
 * Golden scenarios: how the planner behaves in situations users meet, told as a story.
 * A tiny in-memory world (plan-world.ts) applies each plan the way the executor would, so every
 * story also shows that the two sides converge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Plan, PlanOptions } from '../../src/sync/plan.js';
import { options, STAMP } from './plan-fixtures.js';
import { World } from './plan-world.js';

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

for (const mode of ['down', 'up'] as const) {
  const [emptied, full] = mode === 'down' ? (['remote', 'local'] as const) : (['local', 'remote'] as const);
  test(`--init-sync-${mode} --delete from a near-empty ${emptied} side: the guard refuses the deletes, and nothing is lost (the next tick copies the files over)`, () => {
    const world = new World();
    for (const name of ['a', 'b', 'c']) world.write(full, name, `${full} ${name}`);
    world.write(emptied, 'kept', 'on both');
    const opts = options({ initMode: mode, maxDeletePercent: 50, [mode]: { delete: true } });

    const first = world.plan(opts);

    assert.deepEqual(first.readable, [mode === 'down' ? 'download kept (init-down)' : 'upload kept (init-up, create)']);
    assert.equal(first.deleteGuard[full].refused, true);
    world.apply(first);
    // No baseline holds a refused first-sync delete: the files count as new on their side. A
    // delete that the guard let through later, once the side had grown, could lose them; a copy loses nothing.
    const next = world.plan(opts);
    const copy = mode === 'down' ? (name: string) => `upload ${name} (local-added, create)` : (name: string) => `download ${name} (remote-added)`;
    assert.deepEqual(next.readable, ['a', 'b', 'c'].map(copy));
    assertConverges(world, next, opts);
    assert.deepEqual(Object.keys(world.contents(emptied)), ['a', 'b', 'c', 'kept']);
  });
}
