/**
 * LocalTree.snapshotForUpload: the copy a file that changed while read is uploaded from. It is
 * the file as it was at one moment (or nothing), it reports the source's stat as copied, and its
 * temp name never stays behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafePathError } from '../../src/errors.js';
import { LocalTree, refuseWithoutRoom, type FileSystemSpace, type UploadSource } from '../../src/local/tree.js';
import { tempDir } from '../helpers/tmp.js';
import { put, tree } from './fixtures.js';

const MiB = 1024 * 1024;

async function readAll(source: UploadSource): Promise<Buffer> {
  const into = Buffer.alloc(source.size);
  for (let position = 0; position < source.size; ) {
    const n = await source.readAt(into.subarray(position), position);
    if (n === 0) break;
    position += n;
  }
  return into;
}

test('a snapshot holds the file as copied and its stat; its temp name is gone once it is open', async () => {
  const root = await tempDir('upload-snapshot');
  const body = randomBytes(3 * MiB + 7);
  await put(root, 'logs/app.log', body);
  const st = await stat(join(root, 'logs/app.log'));

  const snapshot = await tree(root).snapshotForUpload('logs/app.log');
  assert.ok(snapshot);
  assert.deepEqual(await readdir(join(root, 'logs')), ['app.log'], 'no temp file beside it');
  // The source changes after the copy: the snapshot does not, and still reports the copied stat.
  await appendFile(join(root, 'logs/app.log'), 'more');
  assert.equal(snapshot.size, body.length);
  assert.equal(snapshot.mtimeMs, st.mtimeMs);
  assert.equal(await snapshot.unchanged(), true);
  assert.ok((await readAll(snapshot)).equals(body));
  snapshot.close();

  await writeFile(join(root, 'small.txt'), 'tiny');
  const tiny = await tree(root).snapshotForUpload('small.txt');
  assert.equal(tiny?.bytes?.toString(), 'tiny', 'a small snapshot is read whole, as a small file');
  tiny?.close();
  assert.deepEqual((await readdir(root)).sort(), ['logs', 'small.txt']);
});

/** The real LocalTree, except that the app appends to the file while each of the first `busyCopies` copies runs. */
class AppendedWhileCopied extends LocalTree {
  copies = 0;

  constructor(
    root: string,
    private readonly busyCopies: number,
  ) {
    super(root, { followSymlinks: false, skipPaths: [] });
  }

  protected override async copyForSnapshot(from: string, to: string): Promise<void> {
    await super.copyForSnapshot(from, to);
    if (++this.copies <= this.busyCopies) await appendFile(join(this.root, 'busy.log'), 'appended while copied\n');
  }
}

test('a file that changes during every copy has no snapshot, and no copy is left behind', async () => {
  const root = await tempDir('upload-snapshot');
  await writeFile(join(root, 'busy.log'), randomBytes(2 * MiB));
  const busy = new AppendedWhileCopied(root, Infinity);
  assert.equal(await busy.snapshotForUpload('busy.log'), null);
  assert.equal(busy.copies, 5, 'copied a few times');
  assert.deepEqual(await readdir(root), ['busy.log']);
});

test('a copy made while the file changed is made again; the one that counts is the file as it then was', async () => {
  const root = await tempDir('upload-snapshot');
  const path = join(root, 'busy.log');
  await writeFile(path, randomBytes(2 * MiB));
  const tree = new AppendedWhileCopied(root, 2);
  const snapshot = await tree.snapshotForUpload('busy.log');
  assert.ok(snapshot);
  assert.equal(tree.copies, 3);
  const file = await readFile(path);
  assert.equal(snapshot.size, file.length, 'both appends are in');
  assert.equal(snapshot.mtimeMs, (await stat(path)).mtimeMs);
  assert.ok((await readAll(snapshot)).equals(file));
  snapshot.close();
  assert.deepEqual(await readdir(root), ['busy.log']);
});

/** The real LocalTree on a file system with `freeMiB` left of 1 GiB (copies counted, none disturbed). */
class NearlyFull extends AppendedWhileCopied {
  constructor(
    root: string,
    private readonly freeMiB: number,
  ) {
    super(root, 0);
  }

  protected override spaceOf(): FileSystemSpace {
    return { bsize: MiB, blocks: 1024, bavail: this.freeMiB };
  }
}

test('a snapshot is not made where the copy would leave the app too little room: no copy, a clear error', async () => {
  const root = await tempDir('upload-snapshot');
  await writeFile(join(root, 'big.log'), randomBytes(2 * MiB));
  // 64 MiB must stay free: 65 MiB leaves room for no 2 MiB copy, 67 MiB does.
  const full = new NearlyFull(root, 65);
  await assert.rejects(full.snapshotForUpload('big.log'), /snapshot big\.log for upload: no room for a 2097152-byte copy/);
  assert.equal(full.copies, 0);
  assert.deepEqual(await readdir(root), ['big.log']);
  const roomy = new NearlyFull(root, 67);
  const snapshot = await roomy.snapshotForUpload('big.log');
  assert.ok(snapshot, 'made once there is room');
  snapshot.close();
  assert.equal(roomy.copies, 1);
});

test('a snapshot is refused where the upload would be: through a symlink not followed', async () => {
  const root = await tempDir('upload-snapshot');
  const outside = await tempDir('upload-snapshot-outside');
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
  await assert.rejects(tree(root).snapshotForUpload('link.txt'), UnsafePathError);
  await assert.rejects(tree(root, true).snapshotForUpload('link.txt'), UnsafePathError);
  assert.deepEqual(await readdir(root), ['link.txt']);
});

test('a snapshot is refused where the copy would leave the app too little room (5% of the file system, at least 64 MiB)', () => {
  const MiB = 1024 * 1024;
  // A 10 GiB file system in 1 MiB blocks: 5% is 512 MiB.
  const fs = (freeMiB: number) => () => ({ bavail: freeMiB, bsize: MiB, blocks: 10 * 1024 });
  assert.throws(() => refuseWithoutRoom('log.txt', '/data/log.txt', 100 * MiB, fs(600)), /no room for a 104857600-byte copy/);
  assert.doesNotThrow(() => refuseWithoutRoom('log.txt', '/data/log.txt', 100 * MiB, fs(700)));
  // A small file system keeps the 64 MiB floor.
  const small = (freeMiB: number) => () => ({ bavail: freeMiB, bsize: MiB, blocks: 100 });
  assert.throws(() => refuseWithoutRoom('log.txt', '/data/log.txt', 10 * MiB, small(70)), /no room/);
  assert.doesNotThrow(() => refuseWithoutRoom('log.txt', '/data/log.txt', 10 * MiB, small(80)));
});
