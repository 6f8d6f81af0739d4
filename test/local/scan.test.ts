import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAtOrUnder } from '../../src/local/scan.js';
import { tempDir } from '../helpers/tmp.js';
import { put, tree } from './fixtures.js';

const sorted = (m: ReadonlyMap<string, unknown>): string[] => [...m.keys()].sort();

test('scan lists regular files at every depth with size, mtime and ctime, as relative POSIX paths', async () => {
  const root = await tempDir('scan');
  await put(root, 'top.txt', 'hello');
  await put(root, 'a/b/c/deep.bin', 'x'.repeat(1000));
  await mkdir(join(root, 'empty/folder'), { recursive: true });
  await utimes(join(root, 'top.txt'), 1_600_000_000, 1_600_000_000);

  const { entries, skipped } = await tree(root).scan();
  assert.deepEqual(sorted(entries), ['a/b/c/deep.bin', 'top.txt']);
  const { ctimeMs } = await stat(join(root, 'top.txt'));
  assert.deepEqual(entries.get('top.txt'), { size: 5, mtimeMs: 1_600_000_000_000, ctimeMs });
  assert.equal(entries.get('a/b/c/deep.bin')?.size, 1000);
  assert.equal(entries.get('a/b/c/deep.bin')?.mtimeMs, (await stat(join(root, 'a/b/c/deep.bin'))).mtimeMs);
  assert.deepEqual(skipped, []);
});

test('scan leaves out internal .s3-sync2 names silently, and skip paths with a report', async () => {
  const root = await tempDir('scan');
  await put(root, 'keep.txt');
  await put(root, '.s3-sync2-tmp-abc123');
  await put(root, 'sub/.s3-sync2-tmp-def');
  await put(root, '.s3-sync2-state/baseline.json');
  await put(root, 'cache/big.bin');
  await put(root, 'logs/app/today.log');
  await put(root, 'logsx/kept.log');

  const { entries, skipped } = await tree(root, false, ['./cache/', 'logs/app']).scan();
  assert.deepEqual(sorted(entries), ['keep.txt', 'logsx/kept.log']);
  assert.deepEqual(
    skipped.map((s) => [s.path, s.kind, s.reason, s.folder]).sort(),
    [
      ['cache', 'deliberate', 'md5-skip-path', true],
      ['logs/app', 'deliberate', 'md5-skip-path', true],
    ],
  );
});

test('symlinks are not followed by default', async () => {
  const root = await tempDir('scan');
  const outside = await tempDir('outside');
  await put(root, 'real/file.txt');
  await put(outside, 'secret.txt');
  await symlink(join(root, 'real'), join(root, 'linkdir'));
  await symlink(join(root, 'real/file.txt'), join(root, 'linkfile.txt'));
  await symlink(join(outside, 'secret.txt'), join(root, 'out.txt'));

  const { entries, skipped } = await tree(root).scan();
  assert.deepEqual(sorted(entries), ['real/file.txt']);
  assert.deepEqual(skipped.map((s) => s.path).sort(), ['linkdir', 'linkfile.txt', 'out.txt']);
  assert.ok(skipped.every((s) => s.reason === 'symlink not followed' && s.kind === 'deliberate'));
});

test('followed symlinks never lead outside the root, and loops end', async () => {
  const root = await tempDir('scan');
  const outside = await tempDir('outside');
  await put(root, 'real/file.txt', 'abc');
  await put(root, 'other/x.txt');
  await put(outside, 'secret.txt');
  await symlink(join(root, 'real'), join(root, 'linkdir'));
  await symlink(join(root, 'real/file.txt'), join(root, 'linkfile.txt'));
  await symlink(join(outside, 'secret.txt'), join(root, 'out.txt'));
  await symlink(outside, join(root, 'outdir'));
  await symlink('../real', join(root, 'real/up')); // real/up → real: a loop
  await symlink(root, join(root, 'other/toroot')); // a loop through the root
  await symlink(join(root, 'nowhere'), join(root, 'dangling'));

  const { entries, skipped } = await tree(root, true).scan();
  assert.deepEqual(sorted(entries), ['linkdir/file.txt', 'linkfile.txt', 'other/x.txt', 'real/file.txt']);
  assert.equal(entries.get('linkfile.txt')?.size, 3, 'a followed file link reports its target');
  const reasons = Object.fromEntries(skipped.map((s) => [s.path, s.reason]));
  assert.deepEqual(reasons, {
    'out.txt': 'symlink leads outside LocalPath',
    outdir: 'symlink leads outside LocalPath',
    'real/up': 'symlink loop',
    'linkdir/up': 'symlink loop',
    'other/toroot': 'symlink loop',
    dangling: 'dangling symlink',
  });
});

test('a root reached through a symlink is scanned, and its files count as inside', async () => {
  const base = await tempDir('scan');
  await put(base, 'data/f.txt');
  await symlink(join(base, 'data'), join(base, 'mount'));
  await symlink(join(base, 'data/f.txt'), join(base, 'data/alias.txt'));
  const { entries } = await tree(join(base, 'mount'), true).scan();
  assert.deepEqual(sorted(entries), ['alias.txt', 'f.txt']);
});

test('scan of a missing root fails with the path in the message instead of looking empty', async () => {
  const root = join(await tempDir('scan'), 'not-mounted');
  await assert.rejects(tree(root).scan(), /not-mounted/);
});

test('scan of 10,000 files takes a fraction of a second of CPU', async () => {
  const root = await tempDir('scan');
  for (let d = 0; d < 100; d++) {
    await mkdir(join(root, `d${d}`));
    await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(root, `d${d}`, `f${f}.txt`), 'x')));
  }
  const before = process.cpuUsage();
  const { entries } = await tree(root).scan();
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000;
  assert.equal(entries.size, 10_000);
  assert.ok(ms < 1_500, `scan took ${ms.toFixed(0)} ms of CPU`);
});

test('names that could not round-trip as keys are reported, not listed', async () => {
  const root = await tempDir('scan');
  await put(root, 'ok.txt');
  await writeFile(join(root, 'line\nbreak.txt'), 'x');
  await writeFile(Buffer.concat([Buffer.from(`${root}/latin1-`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'x');
  const { entries, skipped } = await tree(root).scan();
  assert.deepEqual(sorted(entries), ['ok.txt']);
  assert.deepEqual(
    skipped.map((s) => [s.kind, s.reason]).sort(),
    [
      ['unsafe-name', 'name is not valid UTF-8'],
      ['unsafe-name', 'unsafe name: control character in name'],
    ],
  );
});

test('a folder whose name is not valid UTF-8 is reported as a skipped folder, like such a file', async () => {
  const root = await tempDir('scan');
  await put(root, 'ok.txt');
  const bad = Buffer.concat([Buffer.from(`${root}/bad`), Buffer.from([0xff]), Buffer.from('dir')]);
  mkdirSync(bad);
  writeFileSync(Buffer.concat([bad, Buffer.from('/data')]), 'x');
  // A real U+FFFD in a name is valid UTF-8 and must still be walked.
  await put(root, 'real\uFFFDdir/kept.txt');
  const { entries, skipped } = await tree(root).scan();
  assert.deepEqual(sorted(entries), ['ok.txt', 'real\uFFFDdir/kept.txt']);
  assert.deepEqual(
    skipped.map((s) => [s.path, s.kind, s.reason, s.folder]),
    [['bad\uFFFDdir', 'unsafe-name', 'name is not valid UTF-8', true]],
  );
});

test('isAtOrUnder finds a path or any folder above it in a set, and nothing that only shares a prefix', () => {
  const unknown = new Set(['cache', 'logs/app', 'a/b/c.txt']);
  for (const path of ['cache', 'cache/x', 'cache/deep/er/file', 'logs/app', 'logs/app/today.log', 'a/b/c.txt']) {
    assert.equal(isAtOrUnder(path, unknown), true, path);
  }
  for (const path of ['cachex', 'cachex/file', 'logs', 'logs/apple', 'logs/other/app', 'a/b', 'a/b/c.txt2', 'x/cache']) {
    assert.equal(isAtOrUnder(path, unknown), false, path);
  }
  assert.equal(isAtOrUnder('cache', new Set()), false);
});
