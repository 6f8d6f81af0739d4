/**
 * The contract's promises checked over many random histories (seeded, so a failure replays): edits
 * and deletes on both sides between ticks, under every delete setting and conflict policy. After
 * every tick the sides agree and the next plan is empty; a path changed on one side only ends as
 * that side has it (a delete only where deletes are on, else the file comes back); an edit always
 * survives a delete on the other side; with keep-both no edit is ever lost. And the first sync,
 * without a baseline, for each init mode.
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

test('planner properties over 400 random histories of 6 ticks', () => {
  // What the histories exercised, so the test cannot quietly stop testing the hard cases.
  const seen = { conflicts: 0, keepBoth: 0, editVersusDelete: 0, oneSided: 0 };
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
    let written = 0;
    for (let tick = 1; tick <= 6; tick++) {
      const before = { local: world.contents('local'), remote: world.contents('remote') };
      // What each side did to each path since the last tick: its new content, or null for a delete.
      const changed: Record<Side, Map<string, string | null>> = { local: new Map(), remote: new Map() };
      const operations = Math.floor(next() * 5);
      for (let i = 0; i < operations; i++) {
        const side = pick(SIDES);
        const path = pick(PATHS);
        if (next() < 0.7) {
          const content = `write ${++written} of ${path} on ${side}`;
          world.write(side, path, content);
          changed[side].set(path, content);
        } else if (world.contents(side)[path] !== undefined) {
          world.remove(side, path);
          // A file created and removed within the same tick was never seen: no change at all.
          if (before[side][path] === undefined) changed[side].delete(path);
          else changed[side].set(path, null);
        }
      }
      const where = `${label}, tick ${tick}`;
      const plan = world.plan(opts);
      seen.conflicts += plan.conflicts;
      seen.keepBoth += plan.actions.filter((a) => a.kind === 'keep-both').length;
      world.apply(plan);

      const local = world.contents('local');
      assert.deepEqual(local, world.contents('remote'), `${where}: the sides agree`);
      assert.deepEqual(world.plan(opts).readable, [], `${where}: the next plan is empty`);
      const kept = new Set(Object.values(local));
      for (const side of SIDES) {
        for (const [path, content] of changed[side]) {
          const theirs = changed[other(side)].get(path);
          if (theirs === undefined) {
            // Changed on this side only: the other side follows it, a delete only where enabled.
            const deletes = side === 'local' ? opts.up.delete : opts.down.delete;
            const expected = content ?? (deletes ? undefined : before[other(side)][path]);
            assert.equal(local[path], expected, `${where}: ${path} changed on ${side} only`);
            seen.oneSided += 1;
          } else if (content !== null && theirs === null) {
            seen.editVersusDelete += 1;
            assert.ok(kept.has(content), `${where}: the edit of ${path} on ${side} survives the delete on the other side`);
          }
          if (content !== null && opts.conflict === 'keep-both') {
            assert.ok(kept.has(content), `${where}: keep-both lost the edit of ${path} on ${side}`);
          }
        }
      }
    }
  }
  assert.ok(seen.conflicts >= 100 && seen.keepBoth >= 20 && seen.editVersusDelete >= 20 && seen.oneSided >= 500, JSON.stringify(seen));
});

test('first-sync properties over 300 random pairs of trees, for each init mode', () => {
  const MODES: readonly InitMode[] = ['merge', 'up', 'down'];
  let differences = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const next = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const opts = options({ initMode: pick(MODES), up: { delete: next() < 0.5 }, down: { delete: next() < 0.5 } });
    const label = `seed ${seed} (init ${opts.initMode}, delete up ${opts.up.delete}, down ${opts.down.delete})`;
    const world = new World();
    for (const path of PATHS) {
      const roll = next();
      // Only here, only there, the same content on both, or different contents (in random order).
      if (roll < 0.25) world.write('local', path, `local ${path}`);
      else if (roll < 0.5) world.write('remote', path, `remote ${path}`);
      else if (roll < 0.65) world.write('local', path, `same ${path}`).write('remote', path, `same ${path}`);
      else if (roll < 0.9) {
        const [first, second] = next() < 0.5 ? SIDES : ([...SIDES].reverse() as Side[]);
        world.write(first, path, `older on ${first} ${path}`).write(second, path, `newer on ${second} ${path}`);
        differences += 1;
      }
    }
    const before = { local: world.contents('local'), remote: world.contents('remote') };
    world.apply(world.plan(opts));
    const after = world.contents('local');
    assert.deepEqual(after, world.contents('remote'), `${label}: the sides agree`);
    assert.deepEqual(world.plan(opts).readable, [], `${label}: the next plan is empty`);
    for (const path of PATHS) {
      const local = before.local[path];
      const remote = before.remote[path];
      if (local === undefined && remote === undefined) continue;
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
  assert.ok(differences >= 300, `histories with both sides differing: ${differences}`);
});
