import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { streamSource, type ChunkSource } from '../../src/streams.js';
import { LocalChangedError, PathCollisionError, UnsafePathError } from '../../src/errors.js';
import { LocalTree, type UploadSource } from '../../src/local/tree.js';
import { tempDir } from '../helpers/tmp.js';
import { put, tree } from './fixtures.js';

/** Rewrites `path` in place with `text` and puts its mtime back, as `cp -p` does. */
async function rewriteKeepingMtime(path: string, text: string): Promise<void> {
  const { atime, mtime } = await stat(path);
  await writeFile(path, text);
  await utimes(path, atime, mtime);
}

/** Every name under `dir`, recursively, relative. */
async function listAll(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

/** A body of `chunks`, as a download hands them over. */
function bodyOf(chunks: Iterable<Buffer> | AsyncIterable<Buffer>): ChunkSource {
  return streamSource(Readable.from(chunks));
}

/** A body that yields `chunks` one at a time, pausing on the event loop between them. */
function slowBody(chunks: Buffer[]): ChunkSource {
  return bodyOf(
    (async function* () {
      for (const c of chunks) {
        await new Promise((r) => setImmediate(r));
        yield c;
      }
    })(),
  );
}

// A body of unknown size is streamed to the temp file; one whose size is known and small is
// written in one call: both must give the same result.
for (const [label, whole] of [['streamed', false], ['whole', true]] as const) {
  const hint = (size: number): number | undefined => (whole ? size : undefined);

  test(`writeAtomic (${label}) creates folders, sets the mtime, and returns what the next scan sees`, async () => {
    const root = await tempDir('write');
    const t = tree(root);
    // S3 LastModified has whole seconds: those are set exactly.
    const mtimeMs = Date.UTC(2024, 0, 2, 3, 4, 5);
    const entry = await t.writeAtomic('new/deep/file.txt', bodyOf([Buffer.from('content')]), mtimeMs, undefined, hint(7));
    assert.equal(await readFile(join(root, 'new/deep/file.txt'), 'utf8'), 'content');
    assert.equal((await stat(join(root, 'new/deep/file.txt'))).mtimeMs, mtimeMs);
    // The ctime is the published file's (the rename changes it), or every download would look touched.
    assert.deepEqual(entry, { size: 7, mtimeMs, ctimeMs: (await stat(join(root, 'new/deep/file.txt'))).ctimeMs });
    // Fractional milliseconds land within a microsecond, and the entry is what the scan reports.
    const fractional = await t.writeAtomic('frac.txt', bodyOf([Buffer.from('x')]), mtimeMs + 678, undefined, hint(1));
    assert.ok(Math.abs(fractional.mtimeMs - (mtimeMs + 678)) < 0.001, String(fractional.mtimeMs));
    const { entries } = await t.scan();
    assert.deepEqual(entries.get('new/deep/file.txt'), entry);
    assert.deepEqual(entries.get('frac.txt'), fractional);
    assert.deepEqual(await listAll(root), ['frac.txt', 'new', 'new/deep', 'new/deep/file.txt']);
  });

  test(`writeAtomic (${label}) keeps the permission bits of the file it replaces`, async () => {
    const root = await tempDir('write');
    await put(root, 'run.sh', 'echo old');
    await chmod(join(root, 'run.sh'), 0o750);
    await tree(root).writeAtomic('run.sh', bodyOf([Buffer.from('echo new')]), Date.now(), undefined, hint(8));
    assert.equal((await stat(join(root, 'run.sh'))).mode & 0o777, 0o750);
  });
}

test('writeAtomic never exposes a partial file to a concurrent reader', async () => {
  const root = await tempDir('write');
  const t = tree(root);
  const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
  const full = Buffer.concat(chunks);
  await put(root, 'target.bin', 'old version');
  const seen = new Set<string>();
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      const body = await readFile(join(root, 'target.bin'));
      seen.add(body.equals(full) ? 'new' : body.toString() === 'old version' ? 'old' : `partial ${body.length}`);
      await new Promise((r) => setImmediate(r));
    }
  })();
  await t.writeAtomic('target.bin', slowBody(chunks), Date.now());
  stop = true;
  await reader;
  assert.deepEqual([...seen].filter((s) => s.startsWith('partial')), []);
  assert.ok(seen.has('old'), 'the reader ran while the write was in progress');
  assert.ok((await readFile(join(root, 'target.bin'))).equals(full));
});

test('writeAtomic writes each chunk before taking the next: a download reads them all into one buffer', async () => {
  const root = await tempDir('write');
  const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
  const reused = Buffer.alloc(64 * 1024);
  const source: ChunkSource = {
    async pour(sink) {
      for (const chunk of chunks) {
        chunk.copy(reused);
        await sink(reused);
      }
    },
    destroy: () => undefined,
  };
  await tree(root).writeAtomic('big.bin', source, Date.now(), undefined, 40 * 64 * 1024);
  assert.ok((await readFile(join(root, 'big.bin'))).equals(Buffer.concat(chunks)));
});

test('writeAtomic removes its temp file and keeps the old content when the body fails', async () => {
  const root = await tempDir('write');
  await put(root, 'dir/f.txt', 'old');
  const failing = bodyOf(
    (async function* () {
      yield Buffer.from('half');
      throw new Error('connection reset');
    })(),
  );
  await assert.rejects(tree(root).writeAtomic('dir/f.txt', failing, Date.now()), /write dir\/f\.txt: connection reset/);
  assert.equal(await readFile(join(root, 'dir/f.txt'), 'utf8'), 'old');
  assert.deepEqual(await listAll(root), ['dir', 'dir/f.txt']);
  // The same with the size announced (the body is taken whole before any file is made).
  const failingWhole = bodyOf(
    (async function* () {
      yield Buffer.from('half');
      throw new Error('connection reset');
    })(),
  );
  await assert.rejects(tree(root).writeAtomic('dir/f.txt', failingWhole, Date.now(), undefined, 8), /write dir\/f\.txt: connection reset/);
  assert.equal(await readFile(join(root, 'dir/f.txt'), 'utf8'), 'old');
  assert.deepEqual(await listAll(root), ['dir', 'dir/f.txt']);
  // A body that ends early without an error, small or streamed, never replaces the file.
  for (const announced of [8, 2 * 1024 * 1024]) {
    await assert.rejects(
      tree(root).writeAtomic('dir/f.txt', bodyOf([Buffer.from('half')]), Date.now(), undefined, announced),
      new RegExp(`write dir/f\\.txt: received 4 of the ${announced} bytes announced`),
    );
  }
  assert.equal(await readFile(join(root, 'dir/f.txt'), 'utf8'), 'old');
  assert.deepEqual(await listAll(root), ['dir', 'dir/f.txt']);
});

test('key/folder collisions throw PathCollisionError and leave nothing behind', async () => {
  const root = await tempDir('write');
  await put(root, 'a', 'a file');
  await put(root, 'folder/inside.txt');
  const t = tree(root);
  const body = (): ChunkSource => bodyOf([Buffer.from('x')]);
  await assert.rejects(t.writeAtomic('a/b', body(), 0), (err: unknown) => err instanceof PathCollisionError && /"a" is a file/.test(err.message));
  await assert.rejects(t.writeAtomic('a/b/c', body(), 0), PathCollisionError);
  await assert.rejects(t.writeAtomic('folder', body(), 0), (err: unknown) => err instanceof PathCollisionError && err.path === 'folder');
  assert.deepEqual(await listAll(root), ['a', 'folder', 'folder/inside.txt']);
});

test('writes never go through a symlink out of the root, nor through one not followed', async () => {
  const root = await tempDir('write');
  const outside = await tempDir('outside');
  await mkdir(join(root, 'real'));
  await symlink(outside, join(root, 'out'));
  await symlink(join(root, 'real'), join(root, 'in'));
  const body = (): ChunkSource => bodyOf([Buffer.from('x')]);
  await assert.rejects(tree(root, true).writeAtomic('out/evil.txt', body(), 0), PathCollisionError);
  await assert.rejects(tree(root, false).writeAtomic('in/f.txt', body(), 0), PathCollisionError);
  assert.deepEqual(await readdir(outside), []);
  await tree(root, true).writeAtomic('in/f.txt', body(), 0);
  assert.equal(await readFile(join(root, 'real/f.txt'), 'utf8'), 'x');
  await assert.rejects(tree(root).writeAtomic('../escape.txt', body(), 0), UnsafePathError);
});

test('writeAtomic with an expected state never replaces a change the app made since the scan', async () => {
  const root = await tempDir('write');
  const t = tree(root);
  const body = (text: string): ChunkSource => bodyOf([Buffer.from(text)]);
  await put(root, 'edited.txt', 'scanned');
  const scanned = await t.stat('edited.txt');
  assert.ok(scanned);
  await utimes(join(root, 'edited.txt'), 1_700_000_000, 1_700_000_000); // the app touches it
  await assert.rejects(t.writeAtomic('edited.txt', body('remote'), 0, scanned), LocalChangedError);
  assert.equal(await readFile(join(root, 'edited.txt'), 'utf8'), 'scanned');

  // Rewritten with the same size and the mtime put back (cp -p): only the ctime tells, and it is kept too.
  await put(root, 'copied.txt', 'scanned');
  await utimes(join(root, 'copied.txt'), 1_700_000_000, 1_700_000_000);
  const before = await t.stat('copied.txt');
  await rewriteKeepingMtime(join(root, 'copied.txt'), 'cp -p:1');
  await assert.rejects(t.writeAtomic('copied.txt', body('remote'), 0, before), LocalChangedError);
  await assert.rejects(t.remove('copied.txt', before), LocalChangedError);
  assert.equal(await readFile(join(root, 'copied.txt'), 'utf8'), 'cp -p:1');

  // Expected absent, but the app created it meanwhile: kept.
  await put(root, 'created.txt', 'by the app');
  await assert.rejects(t.writeAtomic('created.txt', body('remote'), 0, null), LocalChangedError);
  assert.equal(await readFile(join(root, 'created.txt'), 'utf8'), 'by the app');

  // Created by the app while the download streams: still kept, and no temp file is left.
  const racing = bodyOf(
    (async function* () {
      yield Buffer.from('remote part 1 ');
      await put(root, 'raced.txt', 'by the app, mid-download');
      yield Buffer.from('remote part 2');
    })(),
  );
  await assert.rejects(t.writeAtomic('raced.txt', racing, 0, null), LocalChangedError);
  assert.equal(await readFile(join(root, 'raced.txt'), 'utf8'), 'by the app, mid-download');
  await t.remove('raced.txt');

  // Unchanged since the scan, or absent as expected: written.
  const fresh = await t.stat('edited.txt');
  await t.writeAtomic('edited.txt', body('remote v2'), 0, fresh);
  await t.writeAtomic('brand/new.txt', body('remote new'), 0, null);
  assert.equal(await readFile(join(root, 'edited.txt'), 'utf8'), 'remote v2');
  assert.equal(await readFile(join(root, 'brand/new.txt'), 'utf8'), 'remote new');
  assert.deepEqual(await listAll(root), ['brand', 'brand/new.txt', 'copied.txt', 'created.txt', 'edited.txt']);
});

test('a symlink that is not followed is never replaced by a download', async () => {
  const root = await tempDir('write');
  await put(root, 'real.txt', 'real');
  await symlink(join(root, 'real.txt'), join(root, 'link.txt'));
  await assert.rejects(tree(root).writeAtomic('link.txt', bodyOf([Buffer.from('x')]), 0, null), PathCollisionError);
  await assert.rejects(tree(root).remove('link.txt'), PathCollisionError);
  assert.equal(await readFile(join(root, 'link.txt'), 'utf8'), 'real');
});

test('stat reports what a scan would list, and null for what it would not', async () => {
  const root = await tempDir('write');
  const outside = await tempDir('outside');
  await put(root, 'f.txt', 'abc');
  await put(outside, 'o.txt');
  await mkdir(join(root, 'dir'));
  await symlink(join(root, 'f.txt'), join(root, 'alias.txt'));
  await symlink(join(outside, 'o.txt'), join(root, 'out.txt'));
  const scanned = (await tree(root, true).scan()).entries;
  for (const follow of [false, true]) {
    const t = tree(root, follow);
    assert.deepEqual(await t.stat('f.txt'), scanned.get('f.txt'));
    assert.equal(await t.stat('missing.txt'), null);
    assert.equal(await t.stat('f.txt/below'), null);
    assert.equal(await t.stat('dir'), null);
    assert.equal(await t.stat('out.txt'), null);
    assert.deepEqual(await t.stat('alias.txt'), follow ? scanned.get('alias.txt') : null);
  }
});

test('remove deletes a file, accepts one already gone, keeps parent folders', async () => {
  const root = await tempDir('write');
  const outside = await tempDir('outside');
  await put(root, 'x/y/z.txt');
  await put(outside, 'keep.txt');
  await symlink(outside, join(root, 'out'));
  const t = tree(root);
  await t.remove('x/y/z.txt');
  await t.remove('x/y/z.txt');
  await t.remove('never/was.txt');
  await t.remove('out/keep.txt'); // through a symlink not followed: not ours to delete
  assert.deepEqual(await readdir(outside), ['keep.txt']);
  assert.deepEqual(await readdir(root), ['out', 'x']);
  assert.deepEqual(await readdir(join(root, 'x/y')), []);
  await assert.rejects(t.remove('x'), PathCollisionError);

  await put(root, 'x/changed.txt', 'v1');
  const scanned = await t.stat('x/changed.txt');
  await put(root, 'x/changed.txt', 'v2 by the app');
  await assert.rejects(t.remove('x/changed.txt', scanned), LocalChangedError);
  assert.equal(await readFile(join(root, 'x/changed.txt'), 'utf8'), 'v2 by the app');
  await t.remove('x/changed.txt', await t.stat('x/changed.txt'));
  await t.remove('x/changed.txt', scanned); // already gone: fine
  assert.deepEqual(await readdir(join(root, 'x')), ['y']);
});

test('copyLocal copies atomically and keeps the mtime', async () => {
  const root = await tempDir('write');
  await put(root, 'doc.txt', 'loser content');
  await utimes(join(root, 'doc.txt'), 1_650_000_000, 1_650_000_000.5);
  const t = tree(root);
  const entry = await t.copyLocal('doc.txt', 'conflicts/doc.conflict-20240101T000000Z-node.txt');
  assert.equal(await readFile(join(root, 'conflicts/doc.conflict-20240101T000000Z-node.txt'), 'utf8'), 'loser content');
  const { ctimeMs } = await stat(join(root, 'conflicts/doc.conflict-20240101T000000Z-node.txt'));
  assert.deepEqual(entry, { size: 13, mtimeMs: 1_650_000_000_500, ctimeMs });
  await assert.rejects(t.copyLocal('missing.txt', 'x.txt'), /missing\.txt/);
  assert.deepEqual(await listAll(root), ['conflicts', 'conflicts/doc.conflict-20240101T000000Z-node.txt', 'doc.txt']);
});

test('cleanLeftovers removes temp files anywhere under the root and nothing else', async () => {
  const root = await tempDir('write');
  await put(root, '.s3-sync2-tmp-0123abcd');
  await put(root, 'a/b/.s3-sync2-tmp-ffff');
  await put(root, 'a/keep.txt');
  await put(root, 'a/.s3-sync2-state-not-a-temp');
  assert.equal(await tree(root).cleanLeftovers(), 2);
  assert.deepEqual(await listAll(root), ['a', 'a/.s3-sync2-state-not-a-temp', 'a/b', 'a/keep.txt']);
  assert.equal(await tree(root).cleanLeftovers(), 0);
});

/** Every byte `source` hands out, read in `step`-byte reads from the start. */
async function readAllAt(source: UploadSource, step = 256 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let position = 0; ; ) {
    const into = Buffer.alloc(step);
    const n = await source.readAt(into, position);
    if (n === 0) return Buffer.concat(parts);
    parts.push(into.subarray(0, n));
    position += n;
  }
}

test('openForUpload reads a large file at offsets and a small one whole; unchanged() is true when nothing changed', async () => {
  const root = await tempDir('upload');
  const large = randomBytes(3 * 1024 * 1024 + 5);
  const small = randomBytes(1000);
  await put(root, 'large.bin', large);
  await put(root, 'small.bin', small);
  const src = await tree(root).openForUpload('large.bin');
  assert.equal(src.size, large.length);
  assert.equal(src.mtimeMs, (await stat(join(root, 'large.bin'))).mtimeMs);
  assert.equal(src.bytes, undefined, 'a large file is not held in memory');
  assert.ok((await readAllAt(src)).equals(large));
  assert.equal(await src.unchanged(), true);
  src.close();
  await assert.rejects(src.readAt(Buffer.alloc(10), 0), /closed/);

  const whole = await tree(root).openForUpload('small.bin');
  assert.ok(whole.bytes?.equals(small));
  assert.ok((await readAllAt(whole, 300)).equals(small));
  whole.close();
});

test('openForUpload: no more than the stated size is read; unchanged() is false when the file grows, or is replaced', async () => {
  const root = await tempDir('upload');
  await put(root, 'grow.log', Buffer.alloc(2 * 1024 * 1024, 1));
  const src = await tree(root).openForUpload('grow.log');
  const first = Buffer.alloc(1024 * 1024);
  assert.equal(await src.readAt(first, 0), first.length);
  await appendFile(join(root, 'grow.log'), 'more lines\n');
  assert.equal((await readAllAt(src)).length, 2 * 1024 * 1024, 'no more than the stated size is read');
  assert.equal(await src.unchanged(), false);
  src.close();

  await put(root, 'swap.txt', 'aaaa');
  const swap = await tree(root).openForUpload('swap.txt');
  const { mtimeMs } = await stat(join(root, 'swap.txt'));
  await tree(root).writeAtomic('swap.txt', bodyOf([Buffer.from('bbbb')]), mtimeMs);
  assert.equal(await swap.unchanged(), false, 'same size and mtime but another file');
  assert.equal(swap.bytes?.toString(), 'aaaa', 'what was read when opened');

  // Rewritten in place, same size, the mtime put back: only the ctime tells.
  await put(root, 'inplace.txt', 'aaaa');
  await utimes(join(root, 'inplace.txt'), 1_700_000_000, 1_700_000_000);
  const inplace = await tree(root).openForUpload('inplace.txt');
  await rewriteKeepingMtime(join(root, 'inplace.txt'), 'bbbb');
  assert.equal(await inplace.unchanged(), false, 'same size, mtime and inode, another ctime');
});

test('openForUpload: a read that began within the racy window of the ctime or mtime says so', async () => {
  const root = await tempDir('upload');
  await put(root, 'fresh.txt', 'just written');
  assert.equal((await tree(root).openForUpload('fresh.txt')).racy, true);
  await put(root, 'calm.txt', 'written earlier');
  await utimes(join(root, 'calm.txt'), 1_700_000_000, 1_700_000_000);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const calm = await tree(root).openForUpload('calm.txt');
  assert.equal(calm.racy, false);
  assert.equal(calm.ctimeMs, (await stat(join(root, 'calm.txt'))).ctimeMs);
});

test('openForUpload refuses a file outside the root, or behind a symlink not followed', async () => {
  const root = await tempDir('upload');
  const outside = await tempDir('outside');
  await put(outside, 'secret.txt');
  await put(root, 'real/ok.txt');
  await symlink(join(outside, 'secret.txt'), join(root, 'secret.txt'));
  await symlink(outside, join(root, 'outdir'));
  await symlink(join(root, 'real'), join(root, 'indir'));
  await assert.rejects(tree(root, true).openForUpload('secret.txt'), (e: unknown) => e instanceof UnsafePathError && /outside LocalPath/.test(e.message));
  await assert.rejects(tree(root, true).openForUpload('outdir/secret.txt'), UnsafePathError);
  await assert.rejects(tree(root, false).openForUpload('indir/ok.txt'), /symlinks are not followed/);
  await assert.rejects(tree(root, true).etagInLayoutOf('secret.txt', '0'.repeat(32), 6, []), UnsafePathError);
  const ok = await tree(root, true).openForUpload('indir/ok.txt');
  assert.equal(ok.bytes?.toString(), 'real/ok.txt');
  ok.close();
});

/**
 * Runs `during` just before the next open of a path ending in `name`, as a process racing the
 * sidecar between its symlink check and its open would (fs.openSync wrapped for the project's
 * ESM imports through syncBuiltinESMExports).
 */
async function raceOpen<T>(name: string, during: () => void, run: () => Promise<T>): Promise<T> {
  const patchable = fs as { openSync: (...args: unknown[]) => number };
  const original = patchable.openSync;
  const restore = (): void => {
    patchable.openSync = original;
    syncBuiltinESMExports();
  };
  patchable.openSync = (...args: unknown[]) => {
    if (String(args[0]).endsWith(name)) {
      restore();
      during();
    }
    return original(...args);
  };
  syncBuiltinESMExports();
  try {
    return await run();
  } finally {
    restore();
  }
}

test('openForUpload: a folder swapped for a symlink between the check and the open is caught by what was opened', { skip: !fs.existsSync('/proc/self/fd') && 'no /proc (Linux only)' }, async () => {
  const root = await tempDir('upload');
  const outside = await tempDir('outside');
  await put(outside, 'secret.txt', 'not to be uploaded');
  await put(root, 'docs/secret.txt', 'mine');
  const swapToOutside = (): void => {
    fs.renameSync(join(root, 'docs'), join(root, 'docs-old'));
    fs.symlinkSync(outside, join(root, 'docs'));
  };

  await assert.rejects(
    raceOpen('docs/secret.txt', swapToOutside, () => tree(root, false).openForUpload('docs/secret.txt')),
    (e: unknown) => e instanceof UnsafePathError && /outside LocalPath as it was opened/.test(e.message),
  );

  // Swapped for a symlink inside the root: a change for the next round, not an upload of the other file.
  fs.rmSync(join(root, 'docs'));
  fs.renameSync(join(root, 'docs-old'), join(root, 'docs'));
  await put(root, 'other/secret.txt', 'another file of mine');
  const swapInside = (): void => {
    fs.renameSync(join(root, 'docs'), join(root, 'docs-old'));
    fs.symlinkSync(join(root, 'other'), join(root, 'docs'));
  };
  await assert.rejects(raceOpen('docs/secret.txt', swapInside, () => tree(root, false).openForUpload('docs/secret.txt')), LocalChangedError);

  // A name that only looks like what Linux shows for a deleted file is uploaded as any other.
  await put(root, 'report (deleted)', 'still here');
  const named = await tree(root, false).openForUpload('report (deleted)');
  assert.equal(named.bytes?.toString(), 'still here');
  named.close();
});

test('writeAtomic with fsync on writes the same result, small (whole) or streamed', async () => {
  const root = await tempDir('write');
  const synced = new LocalTree(root, { followSymlinks: false, skipPaths: [], fsync: true });
  const mtimeMs = Date.UTC(2024, 0, 2, 3, 4, 5);
  const small = await synced.writeAtomic('small.txt', bodyOf([Buffer.from('small')]), mtimeMs, null, 5);
  const big = randomBytes(2 * 1024 * 1024);
  const large = await synced.writeAtomic('large.bin', bodyOf([big]), mtimeMs, null, big.length);
  assert.deepEqual(small, { size: 5, mtimeMs, ctimeMs: (await stat(join(root, 'small.txt'))).ctimeMs });
  assert.deepEqual(large, { size: big.length, mtimeMs, ctimeMs: (await stat(join(root, 'large.bin'))).ctimeMs });
  assert.equal(await readFile(join(root, 'small.txt'), 'utf8'), 'small');
  assert.ok((await readFile(join(root, 'large.bin'))).equals(big));
  assert.deepEqual(await listAll(root), ['large.bin', 'small.txt']);
});
