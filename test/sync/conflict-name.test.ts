import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, unsafePathReason } from '../../src/local/paths.js';
import { conflictName, uniqueConflictName } from '../../src/sync/conflict-name.js';

const NOW = new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123));
const MARK = '.conflict-20240506T070809Z-node1';
const bytes = (s: string): number => Buffer.byteLength(s);
const name = (path: string, nodeId = 'node1'): string => {
  const result = conflictName(path, NOW, nodeId);
  assert.ok(result !== null, `no conflict name for ${path}`);
  return result;
};
/** Every generated name must be one a download would write. */
const assertSafe = (path: string): void => {
  assert.equal(unsafePathReason(path), null, path);
  assert.ok(bytes(posix.basename(path)) <= MAX_SEGMENT_BYTES);
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

test('a name that fits is left whole; one byte more shortens the stem by one character', () => {
  const room = MAX_SEGMENT_BYTES - bytes(`${MARK}.txt`);
  const fits = `${'a'.repeat(room)}.txt`;
  assert.equal(name(`d/${fits}`), `d/${'a'.repeat(room)}${MARK}.txt`);
  assert.equal(bytes(posix.basename(name(fits))), MAX_SEGMENT_BYTES);
  assert.equal(name(`${'a'.repeat(room)}b.txt`), `${'a'.repeat(room)}${MARK}.txt`);
});

test("the reviewer's 235-byte ASCII stem is cut to the limit, marker and extension kept", () => {
  const path = `sub/${'n'.repeat(235)}.txt`;
  const copy = name(path);
  assertSafe(copy);
  assert.equal(bytes(posix.basename(copy)), MAX_SEGMENT_BYTES);
  assert.ok(copy.startsWith('sub/nnn'));
  assert.ok(copy.endsWith(`${MARK}.txt`));
});

test('multi-byte stems are cut between characters, never inside one or inside a surrogate pair', () => {
  for (const ch of ['é', '€', '😀']) {
    for (let pad = 0; pad < 4; pad++) {
      // Every alignment of the character boundaries against the limit.
      const path = `${'x'.repeat(pad)}${ch.repeat(200)}.md`;
      const copy = name(path);
      assertSafe(copy);
      assert.ok(!LONE_SURROGATE.test(copy), `lone surrogate in ${JSON.stringify(copy)}`);
      assert.equal(Buffer.from(copy).toString(), copy);
      const stem = copy.slice(0, copy.length - `${MARK}.md`.length);
      assert.ok(path.startsWith(stem));
      // As long as it can be: one more character would not fit.
      const next = [...path.slice(stem.length)][0]!;
      assert.ok(bytes(`${stem}${next}${MARK}.md`) > MAX_SEGMENT_BYTES);
    }
  }
});

test('the -2 counter also fits: the stem gives up the room it needs', () => {
  const path = `${'é'.repeat(130)}.txt`;
  const first = name(path);
  const second = uniqueConflictName(path, NOW, 'node1', (p) => p === first);
  assert.ok(second !== null);
  assertSafe(second);
  assert.notEqual(second, first);
  assert.ok(second.endsWith(`${MARK}-2.txt`));
  assert.ok(path.startsWith(second.slice(0, second.length - `${MARK}-2.txt`.length)));
  // Short names keep the counter scheme they always had.
  assert.equal(uniqueConflictName('r.txt', NOW, 'node1', (p) => p === `r${MARK}.txt`), `r${MARK}-2.txt`);
});

test('when the marker, node id and extension alone are too long, the node id, then the extension, is shortened', () => {
  const longNode = name('a.txt', 'n'.repeat(300));
  assertSafe(longNode);
  assert.match(longNode, /^\.conflict-20240506T070809Z-n+\.txt$/);

  const longExt = name(`a.${'x'.repeat(250)}`);
  assertSafe(longExt);
  assert.match(longExt, /^\.conflict-20240506T070809Z-n\.x+$/);
});

test('a name near the path limit shortens to fit the whole path; with no room at all there is none', () => {
  const dir = Array.from({ length: 20 }, () => 'd'.repeat(199)).join('/');
  const copy = name(`${dir}/${'r'.repeat(150)}.txt`);
  assertSafe(copy);
  assert.equal(bytes(copy), MAX_PATH_BYTES);
  assert.ok(copy.startsWith(`${dir}/rrr`));
  assert.ok(copy.endsWith(`${MARK}.txt`));

  const deep = `${dir}/${'e'.repeat(4080 - dir.length - 1)}`;
  assert.equal(conflictName(`${deep}/f.txt`, NOW, 'node1'), null);
  assert.equal(uniqueConflictName(`${deep}/f.txt`, NOW, 'node1', () => false), null);
});

test('the whole path stays within the key room under the prefix (S3 keys hold 1024 bytes)', () => {
  // Prefix `app/` leaves 1020 bytes; a file path of 1000 bytes must give up stem to fit its copy.
  const room = 1024 - bytes('app/');
  const path = `${'f/'.repeat(450)}${'s'.repeat(96)}.txt`;
  assert.equal(bytes(path), 1000);
  const copy = conflictName(path, NOW, 'node1', room);
  assert.ok(copy !== null);
  assert.ok(bytes(copy) <= room, `${bytes(copy)} bytes`);
  assert.ok(copy.endsWith(`${MARK}.txt`));
  assert.equal(posix.dirname(copy), posix.dirname(path));
  assert.ok(bytes(name(path)) > room, 'without the bound the copy would be too long a key');
  // A folder path that leaves no room for any copy name: none, rather than one S3 refuses.
  assert.equal(uniqueConflictName(`${'f/'.repeat(505)}x.txt`, NOW, 'node1', () => false, room), null);
});
