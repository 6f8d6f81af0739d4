import { test } from 'node:test';
import assert from 'node:assert/strict';
import { remoteSnapshot } from '../../src/remote/snapshot.js';

const obj = (key: string) => ({ key, size: 1, etag: 'e', lastModifiedMs: 0 });

test('listing maps to safe relative paths; unsafe, marker, internal and colliding keys are left out', () => {
  const scan = remoteSnapshot(
    [
      obj('p/a.txt'),
      obj('p/dir/'),
      obj('p/../../escape'),
      obj('p/.s3-sync2.lock'),
      obj('p/x'),
      obj('p/x/y.txt'),
      obj('p/deep/n/file'),
    ],
    'p',
  );
  assert.deepEqual([...scan.entries.keys()].sort(), ['a.txt', 'deep/n/file', 'x/y.txt']);
  const reasons = Object.fromEntries(scan.skipped.map((s) => [s.key, s.reason]));
  assert.equal(reasons['p/dir/'], 'folder-marker');
  assert.equal(reasons['p/../../escape'], 'unsafe');
  assert.equal(reasons['p/x'], 'collision');
  assert.equal(reasons['p/.s3-sync2.lock'], undefined, 'internal names are silently ignored');
});
