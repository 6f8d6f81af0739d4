/**
 * The contract's promises checked over many random histories (seeded, so a failure replays): edits
 * and deletes on both sides between ticks, under every delete setting and conflict policy. After
 * every tick the sides agree and the next plan is empty; a path changed on one side only ends as
 * that side has it (a delete only where deletes are on, else the file comes back); an edit always
 * survives a delete on the other side; where both sides wrote, the same content is only recorded
 * and different contents go to the policy's winner, keep-both keeping the loser beside it, and no
 * kept copy ever changes. And the first sync, without a baseline, for each init mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConflictPolicy, InitMode } from '../../src/sync/types.js';
import { prng } from '../helpers/prng.js';
import { options } from './plan-fixtures.js';
import { World } from './plan-world.js';

const PATHS = ['a.txt', 'b.txt', 'docs/c.md', 'docs/deep/d.json', 'e'];
const POLICIES: readonly ConflictPolicy[] = ['newer', 'local', 'remote', 'keep-both'];
const SIDES = ['local', 'remote'] as const;
type Side = (typeof SIDES)[number];

const other = (side: Side): Side => (side === 'local' ? 'remote' : 'local');
const isConflictCopy = (path: string): boolean => path.includes('.conflict-');

test('planner properties over 400 random histories of 6 ticks', () => {
  // What the histories exercised, so the test cannot quietly stop testing the hard cases.
  const seen = { oneSided: 0, editVersusDelete: 0, sameEdits: 0, both: { newer: 0, local: 0, remote: 0, 'keep-both': 0 } };
  for (let seed = 1; seed <= 400; seed++) {
    const next = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const opts = options({
      conflict: pick(POLICIES),
      up: { delete: next() < 0.5 },
      down: { delete: next() < 0.5 },
    });
    const label = `seed ${seed} (${opts.conflict}, delete up ${opts.up.delete}, down ${opts.down.delete})`;
    const world = World.synced(Object.fromEntries(PATHS.slice(0, 3).map((p) => [p, `initial ${p}`])));
    /** Order of every write, by its (unique) content: the later one is the newer version. */
    const writtenAt = new Map<string, number>();
    /** Keep-both copies made so far: nothing may ever change them. */
    const copies = new Map<string, string>();
    for (let tick = 1; tick <= 6; tick++) {
      const before = { local: world.contents('local'), remote: world.contents('remote') };
      // What each side did to each path since the last tick: its new content, or null for a delete.
      const changed: Record<Side, Map<string, string | null>> = { local: new Map(), remote: new Map() };
      const write = (side: Side, path: string, content: string): void => {
        world.write(side, path, content);
        writtenAt.set(content, writtenAt.size);
        changed[side].set(path, content);
      };
      const operations = Math.floor(next() * 5);
      for (let i = 0; i < operations; i++) {
        const side = pick(SIDES);
        const path = pick(PATHS);
        const roll = next();
        if (roll < 0.15) {
          // Both sides end up with the same new bytes (two nodes writing the same file).
          const content = `same ${writtenAt.size} of ${path}`;
          write('local', path, content);
          // Not write() again: that would give the same bytes a second, later place in the order.
          world.write('remote', path, content);
          changed.remote.set(path, content);
        } else if (roll < 0.3) {
          // Both sides write different bytes (a conflict), in random order.
          write(side, path, `write ${writtenAt.size} of ${path} on ${side}`);
          write(other(side), path, `write ${writtenAt.size} of ${path} on ${other(side)}`);
        } else if (roll < 0.75) {
          write(side, path, `write ${writtenAt.size} of ${path} on ${side}`);
        } else if (world.contents(side)[path] !== undefined) {
          world.remove(side, path);
          // A file created and removed within the same tick was never seen: no change at all.
          if (before[side][path] === undefined) changed[side].delete(path);
          else changed[side].set(path, null);
        }
      }
      const where = `${label}, tick ${tick}`;
      const plan = world.plan(opts);
      world.apply(plan);

      const after = world.contents('local');
      assert.deepEqual(after, world.contents('remote'), `${where}: the sides agree`);
      assert.deepEqual(world.plan(opts).readable, [], `${where}: the next plan is empty`);
      const kept = new Set(Object.values(after));
      for (const [path, content] of copies) assert.equal(after[path], content, `${where}: keep-both copy ${path} changed`);
      for (const [path, content] of Object.entries(after)) if (isConflictCopy(path)) copies.set(path, content);

      for (const path of PATHS) {
        const mine = changed.local.get(path);
        const theirs = changed.remote.get(path);
        if (mine === undefined && theirs === undefined) continue;
        const action = plan.actions.find((a) => a.path === path);
        if (mine === undefined || theirs === undefined) {
          // Changed on one side only: the other side follows it, a delete only where enabled.
          const side: Side = mine === undefined ? 'remote' : 'local';
          const content = side === 'local' ? mine! : theirs!;
          const deletes = side === 'local' ? opts.up.delete : opts.down.delete;
          const expected = content ?? (deletes ? undefined : before[other(side)][path]);
          assert.equal(after[path], expected, `${where}: ${path} changed on ${side} only`);
          seen.oneSided += 1;
        } else if (mine === null || theirs === null) {
          // Deleted on one side, written on the other: the write wins, whatever the policy.
          const edit = mine === null ? theirs : mine;
          const otherSide = edit === null ? 'also deleted' : 'written';
          assert.equal(after[path], edit ?? undefined, `${where}: ${path} deleted on one side, ${otherSide} on the other`);
          if (edit !== null) seen.editVersusDelete += 1;
        } else if (mine === theirs) {
          assert.equal(action?.kind, 'record', `${where}: ${path} has the same new content on both sides: only recorded`);
          assert.equal(after[path], mine);
          seen.sameEdits += 1;
        } else {
          const newer = writtenAt.get(mine)! > writtenAt.get(theirs)! ? mine : theirs;
          const winner = opts.conflict === 'local' ? mine : opts.conflict === 'remote' ? theirs : newer;
          const loser = winner === mine ? theirs : mine;
          assert.equal(after[path], winner, `${where}: ${path} written on both sides goes to the ${opts.conflict} winner`);
          if (opts.conflict === 'keep-both') {
            const beside = Object.entries(after).filter(([p, c]) => isConflictCopy(p) && c === loser);
            assert.equal(beside.length, 1, `${where}: keep-both keeps the loser of ${path} beside it, once`);
          } else {
            assert.ok(!kept.has(loser), `${where}: ${opts.conflict} dropped the loser of ${path}`);
          }
          seen.both[opts.conflict] += 1;
        }
      }
    }
  }
  const floors = seen.oneSided >= 500 && seen.editVersusDelete >= 20 && seen.sameEdits >= 20;
  assert.ok(floors && Object.values(seen.both).every((n) => n >= 15), JSON.stringify(seen));
});

test('keep-both over 300 random histories with final up-only syncs (at shutdown): every edit reaches the bucket, none is lost', () => {
  let conflictsSeen = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const next = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const twoWay = options({ conflict: 'keep-both', up: { delete: next() < 0.5 }, down: { delete: next() < 0.5 } });
    // The final sync at shutdown: up only, and the last round before the task goes away.
    const upOnly = { ...twoWay, down: { ...twoWay.down, enabled: false }, keepBothUpHalf: true };
    const world = World.synced(Object.fromEntries(PATHS.slice(0, 3).map((p) => [p, `initial ${p}`])));
    let edits = 0;
    for (let period = 1; period <= 3; period++) {
      const where = `seed ${seed} (delete up ${twoWay.up.delete}, down ${twoWay.down.delete}), period ${period}`;
      // Edits only (a delete may take a version away by design), some on both sides of a path.
      const written = new Set<string>();
      for (let i = 1 + Math.floor(next() * 4); i > 0; i--) {
        const path = pick(PATHS);
        for (const side of next() < 0.4 ? SIDES : [pick(SIDES)]) {
          const content = `edit ${++edits} of ${path} on ${side}`;
          world.write(side, path, content);
          written.add(content);
        }
      }
      // This period's edits still there (a second edit of a path on the same side replaces the first).
      const localEdits = Object.values(world.contents('local')).filter((c) => written.has(c));
      const remoteEdits = Object.values(world.contents('remote')).filter((c) => written.has(c));

      const upPlan = world.plan(upOnly);
      conflictsSeen += upPlan.conflicts;
      world.apply(upPlan);
      const inBucket = new Set(Object.values(world.contents('remote')));
      for (const content of [...localEdits, ...remoteEdits]) assert.ok(inBucket.has(content), `${where}: "${content}" is in the bucket after the up-only round`);
      assert.deepEqual(world.plan(upOnly).readable, [], `${where}: a second up-only round has nothing to do`);

      // A round that may write both sides settles both sides, every edit kept on both.
      world.apply(world.plan(twoWay));
      const local = world.contents('local');
      assert.deepEqual(local, world.contents('remote'), `${where}: the sides agree after a two-way round`);
      assert.deepEqual(world.plan(twoWay).readable, [], `${where}: the next plan is empty`);
      const kept = new Set(Object.values(local));
      for (const content of [...localEdits, ...remoteEdits]) assert.ok(kept.has(content), `${where}: "${content}" kept on both sides`);
    }
  }
  assert.ok(conflictsSeen >= 50, `up-only rounds met ${conflictsSeen} conflicts`);
});

test('first-sync properties over 300 random pairs of trees, for each init mode', () => {
  const MODES: readonly InitMode[] = ['merge', 'up', 'down'];
  let differences = 0;
  let same = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const next = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const opts = options({ initMode: pick(MODES), up: { delete: next() < 0.5 }, down: { delete: next() < 0.5 } });
    const label = `seed ${seed} (init ${opts.initMode}, delete up ${opts.up.delete}, down ${opts.down.delete})`;
    const world = new World();
    for (const path of PATHS) {
      const roll = next();
      // Only here, only there, the same content on both, or different contents of the same size
      // (in random order), so no size check can tell them apart.
      if (roll < 0.25) world.write('local', path, `local ${path}`);
      else if (roll < 0.5) world.write('remote', path, `remote ${path}`);
      else if (roll < 0.65) world.write('local', path, `same ${path}`).write('remote', path, `same ${path}`);
      else if (roll < 0.9) {
        const [first, second] = next() < 0.5 ? SIDES : ([...SIDES].reverse() as Side[]);
        const code = (side: Side): string => (side === 'local' ? 'L' : 'R');
        world.write(first, path, `older ${code(first)} ${path}`).write(second, path, `newer ${code(second)} ${path}`);
        differences += 1;
      }
    }
    const before = { local: world.contents('local'), remote: world.contents('remote') };
    const plan = world.plan(opts);
    world.apply(plan);
    const after = world.contents('local');
    assert.deepEqual(after, world.contents('remote'), `${label}: the sides agree`);
    assert.deepEqual(world.plan(opts).readable, [], `${label}: the next plan is empty`);
    for (const path of PATHS) {
      const local = before.local[path];
      const remote = before.remote[path];
      if (local === undefined && remote === undefined) continue;
      if (local !== undefined && local === remote) {
        const kind = plan.actions.find((a) => a.path === path)?.kind;
        assert.equal(kind, 'record', `${label}: ${path} is the same on both sides: recorded, not copied`);
        same += 1;
      }
      let expected: string | undefined;
      if (opts.initMode === 'merge') {
        // The union; where both differ, the newer (written second) wins; nothing is deleted.
        const differ = local !== undefined && remote !== undefined && local !== remote;
        expected = differ ? [local, remote].find((content) => content.startsWith('newer')) : (local ?? remote);
      } else {
        const [winner, loser, deletes] = opts.initMode === 'up' ? [local, remote, opts.up.delete] : [remote, local, opts.down.delete];
        // The init side wins every difference; what only the other side has goes only where that delete is on.
        expected = winner ?? (deletes ? undefined : loser);
      }
      assert.equal(after[path], expected, `${label}: ${path}`);
    }
  }
  assert.ok(differences >= 300 && same >= 100, `both sides differing: ${differences}, the same: ${same}`);
});
