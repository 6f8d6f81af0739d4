import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, utimesSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalTree } from '../../src/local/tree.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

test('watch reports new and changed files, but not internal names or skip paths', async () => {
  const root = await tempDir('watch');
  await mkdir(join(root, 'cache'));
  await mkdir(join(root, 'sub'));
  await writeFile(join(root, 'existing.txt'), 'v1');
  const seen: string[] = [];
  const watcher = new LocalTree(root, { followSymlinks: false, skipPaths: ['cache'] }).watch((p) => seen.push(p));
  try {
    await watcher.ready;
    await writeFile(join(root, '.s3-sync2-tmp-123'), 'ours');
    await writeFile(join(root, 'cache/c.bin'), 'skipped');
    await writeFile(join(root, 'sub/new.txt'), 'hello');
    await waitFor('an event for sub/new.txt', () => seen.includes('sub/new.txt'));
    await writeFile(join(root, 'existing.txt'), 'v2 longer');
    await waitFor('an event for existing.txt', () => seen.includes('existing.txt'));
    assert.deepEqual(
      seen.filter((p) => p.startsWith('.s3-sync2') || p.startsWith('cache')),
      [],
    );
  } finally {
    await watcher.close();
  }
});

test('watch reports a rewrite whose mtime is put back at once (cp -p, rsync -t), which chokidar itself drops', async () => {
  const root = await tempDir('watch');
  await mkdir(join(root, 'sub'));
  const path = join(root, 'sub/doc.txt');
  const old = new Date(Date.now() - 3_600_000);
  writeFileSync(path, 'version-AAAA');
  utimesSync(path, old, old);
  const seen: string[] = [];
  const watcher = new LocalTree(root, { followSymlinks: false, skipPaths: [] }).watch((p) => seen.push(p));
  try {
    await watcher.ready;
    // Same size, mtime put back (with an atime later than it, as `touch -r` from a file read
    // since gives) before anyone could stat the file in between.
    writeFileSync(path, 'version-BBBB');
    utimesSync(path, new Date(), old);
    await waitFor('an event for sub/doc.txt', () => seen.includes('sub/doc.txt'), { timeoutMs: 3000 });
    // Our own temp names stay unreported, raw events included.
    seen.length = 0;
    writeFileSync(join(root, 'sub/.s3-sync2-tmp-9'), 'ours');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(seen, []);
  } finally {
    await watcher.close();
  }
});
