import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCollisions } from '../../src/sync/collisions.js';

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
