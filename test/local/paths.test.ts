import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInternalPath, keyToPath, pathToKey } from '../../src/local/paths.js';

const long = (n: number): string => 'x'.repeat(n);

const cases: Array<[prefix: string, key: string, expected: string | 'outside-prefix' | 'folder-marker' | 'unsafe']> = [
  ['p', 'p/a.txt', 'a.txt'],
  ['p/q', 'p/q/a/b/c.txt', 'a/b/c.txt'],
  ['', 'a/b.txt', 'a/b.txt'],
  ['p', 'p/sp ace/ünï€ode.txt', 'sp ace/ünï€ode.txt'],
  ['p', 'p/a\\b.txt', 'a\\b.txt'], // backslash is an ordinary POSIX name character
  ['p', 'p/..hidden/...', '..hidden/...'], // dots that are not a whole segment are fine
  ['p', 'p/.s3-sync2-tmp-1', '.s3-sync2-tmp-1'], // mapped; filters exclude internal names
  ['p', 'pa/b.txt', 'outside-prefix'],
  ['p', 'q/p/b.txt', 'outside-prefix'],
  ['p', 'p', 'outside-prefix'],
  ['p/q', 'p/qq/a', 'outside-prefix'],
  ['p', 'p/', 'folder-marker'],
  ['p', 'p/dir/', 'folder-marker'],
  ['', 'dir/', 'folder-marker'],
  ['', '', 'folder-marker'],
  ['p', 'p/../../escape', 'unsafe'],
  ['p', 'p/a/../../../etc/passwd', 'unsafe'],
  ['p', 'p/..', 'unsafe'],
  ['', '../escape', 'unsafe'],
  ['p', 'p/a//b', 'unsafe'],
  ['p', 'p//a', 'unsafe'],
  ['', '/etc/passwd', 'unsafe'],
  ['p', 'p/./a', 'unsafe'],
  ['', './a', 'unsafe'],
  ['p', 'p/a/.', 'unsafe'],
  ['p', 'p/nul\u0000byte', 'unsafe'],
  ['p', 'p/new\nline', 'unsafe'],
  ['p', 'p/del\u007f', 'unsafe'],
  ['p', `p/${long(255)}`, long(255)],
  ['p', `p/${long(256)}`, 'unsafe'],
  ['p', `p/${'é'.repeat(128)}`, 'unsafe'], // 256 bytes in UTF-8
  ['p', `p/${Array.from({ length: 18 }, () => long(240)).join('/')}`, 'unsafe'], // > 4096 bytes
];

for (const [prefix, key, expected] of cases) {
  test(`keyToPath(${JSON.stringify(prefix)}, ${JSON.stringify(key.length > 60 ? `${key.slice(0, 40)}…` : key)}) → ${expected.length > 40 ? 'ok (long)' : expected}`, () => {
    const got = keyToPath(prefix, key);
    if (expected === 'outside-prefix' || expected === 'folder-marker' || expected === 'unsafe') {
      assert.equal(got.ok, false);
      assert.equal(!got.ok && got.reason, expected);
      assert.ok(!got.ok && got.detail.length > 0);
    } else {
      assert.deepEqual(got, { ok: true, path: expected });
      assert.equal(pathToKey(prefix, expected), key, 'pathToKey inverts keyToPath');
    }
  });
}

test('pathToKey joins with one slash, and uses the bare path for the bucket root', () => {
  assert.equal(pathToKey('a/b', 'c/d.txt'), 'a/b/c/d.txt');
  assert.equal(pathToKey('', 'c/d.txt'), 'c/d.txt');
});

test('isInternalPath: any segment starting with .s3-sync2', () => {
  assert.equal(isInternalPath('.s3-sync2.lock'), true);
  assert.equal(isInternalPath('a/.s3-sync2-tmp-abc'), true);
  assert.equal(isInternalPath('.s3-sync2-state/baseline.json'), true);
  assert.equal(isInternalPath('a/b.s3-sync2'), false);
  assert.equal(isInternalPath('s3-sync2/x'), false);
  assert.equal(isInternalPath('a/.s3-sync'), false);
});
