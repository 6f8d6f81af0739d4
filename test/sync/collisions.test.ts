import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletedOnTheOtherSide, findCollisions } from '../../src/sync/collisions.js';

const files = (...paths: string[]) => new Map(paths.map((p) => [p, null]));

test('file/folder collisions: the file under a folder name is held; remote files under a local file too', () => {
  const cases: [local: string[], remote: string[], held: string[]][] = [
    [[], [], []],
    [['a', 'b/c'], ['a', 'b/c', 'd'], []],
    // Within the bucket: the folder wins.
    [['a/b'], ['a', 'a/b'], ['a']],
    // Local file vs remote folder: neither can move.
    [['a'], ['a/b', 'a/c/d'], ['a', 'a/b', 'a/c/d']],
    // Remote file vs local folder: the folder wins, its files go up.
    [['a/b'], ['a'], ['a']],
    // Deep: every file ancestor is held.
    [['x/y/z'], ['x', 'x/y'], ['x', 'x/y']],
    // A name that only shares a prefix is no collision.
    [['ab'], ['a/b', 'a'], ['a']],
  ];
  for (const [local, remote, held] of cases) {
    const found = findCollisions(files(...local), remote).map((c) => c.path).sort();
    assert.deepEqual(found, held, `local ${local.join(',')} remote ${remote.join(',')}`);
  }
});

test('deletedOnTheOtherSide: files unchanged since the baseline and gone on the other side, where this tick propagates the delete', () => {
  const base = { size: 1, mtimeMs: 100, etag: 'e1' };
  const local = new Map([
    ['stale-local', { size: 1, mtimeMs: 100, ctimeMs: 100 }],
    ['edited-local', { size: 1, mtimeMs: 200, ctimeMs: 200 }],
    ['hidden', { size: 1, mtimeMs: 100, ctimeMs: 100 }],
    ['on-both', { size: 1, mtimeMs: 100, ctimeMs: 100 }],
  ]);
  const remote = new Map([
    ['stale-remote', { size: 1, etag: 'e1', lastModifiedMs: 0 }],
    ['edited-remote', { size: 1, etag: 'e2', lastModifiedMs: 0 }],
    ['on-both', { size: 1, etag: 'e1', lastModifiedMs: 0 }],
  ]);
  const baseline = new Map(['stale-local', 'edited-local', 'hidden', 'on-both', 'stale-remote', 'edited-remote'].map((p) => [p, base]));
  const direction = { enabled: true, delete: true, include: (_path: string) => true, sizeOnly: false };
  const find = (up: Partial<typeof direction>, down: Partial<typeof direction>, hidden: string[] = [], maxDeletePercent = 100) => {
    const found = deletedOnTheOtherSide(local, remote, new Set(hidden), baseline, { up: { ...direction, ...up }, down: { ...direction, ...down }, maxDeletePercent });
    return { local: [...found.local].sort(), remote: [...found.remote].sort() };
  };

  assert.deepEqual(find({}, {}), { local: ['hidden', 'stale-local'], remote: ['stale-remote'] });
  // An object the remote snapshot hid behind a folder of the same name is not gone.
  assert.deepEqual(find({}, {}, ['hidden']), { local: ['stale-local'], remote: ['stale-remote'] });
  // Only where the delete propagates in this tick: deletes on, direction enabled, path included.
  assert.deepEqual(find({ delete: false }, { delete: false }), { local: [], remote: [] });
  assert.deepEqual(find({ enabled: false }, { enabled: false }), { local: [], remote: [] });
  assert.deepEqual(find({ include: () => false }, { include: (p: string) => p !== 'stale-local' }), { local: ['hidden'], remote: [] });
  // Where --max-delete will refuse a side's deletes (2 of 4 local, 1 of 3 remote files), none: what replaced them waits too.
  assert.deepEqual(find({}, {}, [], 40), { local: [], remote: ['stale-remote'] });
  assert.deepEqual(find({}, {}, [], 30), { local: [], remote: [] });
  // Without a baseline nothing is known to be deleted.
  assert.deepEqual(deletedOnTheOtherSide(local, remote, new Set(), null, { up: direction, down: direction, maxDeletePercent: 100 }), { local: new Set(), remote: new Set() });
});
