/**
 * Files the app changes while the sidecar reads them for upload, on a real bucket (moto): neither
 * a growing multipart file nor a small file rewritten mid-read is ever written torn or recorded as
 * synced; a file changed while read goes up from a snapshot copy in the same tick, and one that
 * kept changing through its copies too is uploaded by a later tick once it settles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { appendFile, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { LocalTree, type UploadSource } from '../../src/local/tree.js';
import { useS3 } from '../helpers/s3.js';
import { counts, filesUnder, LEVEL, secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';
import { UnreadableToScan } from '../helpers/unreadable-tree.js';

const s3 = useS3();
const MiB = 1024 * 1024;

/**
 * Appends to `path` in a loop until `stop()` (`bytes` at a time, `everyMs` apart or as fast as it
 * goes); `stop()` resolves with the number of appends.
 */
function appender(path: string, { bytes = 64 * 1024, everyMs }: { bytes?: number; everyMs?: number } = {}): { started: Promise<void>; stop(): Promise<number> } {
  let running = true;
  let appends = 0;
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  const loop = (async () => {
    while (running) {
      await appendFile(path, randomBytes(bytes));
      appends++;
      onStarted();
      await (everyMs === undefined ? new Promise((resolve) => setImmediate(resolve)) : sleep(everyMs));
    }
    return appends;
  })();
  return {
    // The tick's scan must see the file changed: it stats synchronously, without yielding.
    started,
    stop: async () => {
      running = false;
      return loop;
    },
  };
}

async function openMultipartUploads(car: Sidecar): Promise<number> {
  const out = await s3().client.send(new ListMultipartUploadsCommand({ Bucket: car.bucket }));
  return out.Uploads?.length ?? 0;
}

/** The real LocalTree, except that no snapshot copy is ever stable, as for a file appended without pause. */
class NoStableSnapshot extends LocalTree {
  snapshots = 0;

  override async snapshotForUpload(): Promise<UploadSource | null> {
    this.snapshots++;
    return null;
  }
}

test('a 24 MiB file growing while uploaded (and while copied) is not completed nor recorded; the next tick uploads the final bytes', async () => {
  let tree: NoStableSnapshot | undefined;
  const car = await startSidecar(s3(), { makeTree: (root, options) => (tree ??= new NoStableSnapshot(root, options)) });
  await car.initial();
  const path = car.local('growing.bin');
  await writeAt(path, randomBytes(24 * MiB), secondsFromNow(-60));

  const writer = appender(path);
  await writer.started;
  const during = await car.tick('up');
  const appends = await writer.stop();

  assert.ok(appends > 0, 'the writer appended during the tick');
  assert.equal(during.outcome, 'success', JSON.stringify(during.errors));
  assert.deepEqual(counts(during), { skipped: 1 });
  assert.equal(tree!.snapshots, 1, 'a snapshot was tried');
  assert.equal(car.logged('file changed while being read, and no steady snapshot of it was made', LEVEL.warn).length, 1, 'a warning names the file');
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'kept-changing' }), 1);
  assert.equal(await s3().head(car.bucket, car.key('growing.bin')), null, 'no torn object was completed');
  assert.equal(await openMultipartUploads(car), 0, 'the multipart upload was aborted');

  const settled = await car.tick('up');
  assert.deepEqual(counts(settled), { uploaded: 1 });
  const final = await readFile(path);
  assert.ok((await s3().getBuffer(car.bucket, car.key('growing.bin'))).equals(final), 'the bucket holds the final bytes');
  assert.match((await s3().head(car.bucket, car.key('growing.bin')))?.ETag ?? '', /-\d+"$/);

  // Growing again: the complete earlier version stays in place until the file settles.
  const again = appender(path);
  await again.started;
  const replacing = await car.tick('up');
  await again.stop();
  assert.deepEqual(counts(replacing), { skipped: 1 });
  assert.ok((await s3().getBuffer(car.bucket, car.key('growing.bin'))).equals(final), 'the previous version is intact');
  assert.deepEqual(counts(await car.tick('up')), { uploaded: 1 });
  assert.ok((await s3().getBuffer(car.bucket, car.key('growing.bin'))).equals(await readFile(path)));
  assert.equal(await openMultipartUploads(car), 0);
});

/**
 * The real LocalTree, except that the app rewrites one armed file in place (same size, new bytes,
 * another mtime) right after the sidecar read its first bytes.
 */
class RewrittenMidRead extends LocalTree {
  armed: { path: string; bytes: Buffer; mtime: Date } | null = null;

  override async openForUpload(path: string): Promise<UploadSource> {
    const armed = this.armed;
    if (!armed || armed.path !== path) return super.openForUpload(path);
    this.armed = null;
    const source = await super.openForUpload(path);
    const abs = join(this.root, path);
    let rewritten = false;
    const readAt = async (into: Buffer, position: number): Promise<number> => {
      const n = await source.readAt(into, position);
      if (!rewritten) {
        rewritten = true;
        writeFileSync(abs, armed.bytes);
        utimesSync(abs, armed.mtime, armed.mtime);
      }
      return n;
    };
    const { size, mtimeMs, ctimeMs, racy } = source;
    return { size, mtimeMs, ctimeMs, racy, readAt, unchanged: () => source.unchanged(), close: () => source.close() };
  }
}

test('a small file rewritten while read is not uploaded torn: its snapshot, the new bytes, goes up in the same tick', async () => {
  let tree: RewrittenMidRead | undefined;
  const car = await startSidecar(s3(), {
    makeTree: (root, options) => (tree ??= new RewrittenMidRead(root, options)),
  });
  await car.initial();
  const first = Buffer.alloc(3 * MiB, 'a');
  const second = Buffer.alloc(3 * MiB, 'b');
  await writeAt(car.local('doc.bin'), first, secondsFromNow(-120));
  tree!.armed = { path: 'doc.bin', bytes: second, mtime: secondsFromNow(-60) };

  const during = await car.tick('up');
  assert.equal(tree!.armed, null, 'the rewrite happened mid-read');
  assert.equal(during.outcome, 'success');
  assert.deepEqual(counts(during), { uploaded: 1 });
  assert.ok((await s3().getBuffer(car.bucket, car.key('doc.bin'))).equals(second), 'the new bytes, never a mix');
  assert.equal(car.logged('uploading a snapshot of it').length, 1);
  assert.deepEqual(await filesUnder(car.dir, { internal: true }), ['doc.bin'], 'the snapshot copy is gone');
  assert.deepEqual(counts(await car.tick('up')), {}, 'recorded as synced');
});

for (const { size, everyMs } of [
  { size: 8 * MiB, everyMs: 20 },
  { size: 20 * MiB, everyMs: 50 },
]) {
  test(`a ${size / MiB} MiB file appended every ${everyMs} ms throughout the tick goes up in that tick: a version it had, from a snapshot`, async () => {
    const car = await startSidecar(s3());
    await car.initial();
    const path = car.local('app.log');
    await writeAt(path, randomBytes(size), secondsFromNow(-60));

    const writer = appender(path, { bytes: 4096, everyMs });
    await writer.started;
    let summary;
    try {
      summary = await car.tick('up');
    } finally {
      await writer.stop();
    }
    assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
    assert.deepEqual(counts(summary), { uploaded: 1 }, 'uploaded in the tick the writer ran through');
    assert.ok(car.logged('uploading a snapshot of it').length >= 1, 'the first read was overtaken by the writer');
    const object = await s3().getBuffer(car.bucket, car.key('app.log'));
    const file = await readFile(path);
    assert.ok(object.length >= size && object.length < file.length, `${object.length} bytes of ${file.length}`);
    assert.ok(object.equals(file.subarray(0, object.length)), 'the object is the file as it was at one moment, not torn');
    assert.deepEqual((await filesUnder(car.dir, { internal: true })).filter((p) => p !== 'app.log'), [], 'no snapshot left');
    assert.deepEqual(await s3().keys(car.bucket), [car.key('app.log')], 'no snapshot in the bucket');

    // The baseline has the file as copied: what was appended since is a change.
    assert.deepEqual(counts(await car.tick('up')), { uploaded: 1 });
    assert.ok((await s3().getBuffer(car.bucket, car.key('app.log'))).equals(await readFile(path)));
  });
}

/** The real LocalTree, except that the app deletes one armed file just before it is opened for upload. */
class DeletedBeforeOpen extends LocalTree {
  armed: string | null = null;

  override async openForUpload(path: string): Promise<UploadSource> {
    if (path === this.armed) {
      this.armed = null;
      await rm(join(this.root, path));
    }
    return super.openForUpload(path);
  }
}

test('a file the app deletes between the scan and the upload is skipped, not a failed tick', async () => {
  let tree: DeletedBeforeOpen | undefined;
  const car = await startSidecar(s3(), { makeTree: (root, options) => (tree ??= new DeletedBeforeOpen(root, options)) });
  await car.initial();
  await writeAt(car.local('short-lived.tmp'), 'gone soon', secondsFromNow(-60));
  await writeAt(car.local('stays.txt'), 'stays', secondsFromNow(-60));
  tree!.armed = 'short-lived.tmp';

  const summary = await car.tick();
  assert.equal(tree!.armed, null);
  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  assert.deepEqual(counts(summary), { uploaded: 1, skipped: 1 });
  assert.equal(car.app.syncer.status().consecutiveFailures, 0);
  assert.deepEqual(await s3().keys(car.bucket), [car.key('stays.txt')]);
  assert.deepEqual(counts(await car.tick()), {});
});

/** The real LocalTree, except that one file cannot be opened (EACCES, as for mode 0600 from another user). */
class UnreadableFile extends LocalTree {
  unreadable: string | null = null;

  override async openForUpload(path: string): Promise<UploadSource> {
    if (path === this.unreadable) {
      throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    }
    return super.openForUpload(path);
  }
}

test('a file the sidecar may not read is skipped with an error line, not a failed tick (no crash loop)', async () => {
  let tree: UnreadableFile | undefined;
  const car = await startSidecar(s3(), { makeTree: (root, options) => (tree ??= new UnreadableFile(root, options)) });
  await car.initial();
  await writeAt(car.local('secret.txt'), 'mode 0600', secondsFromNow(-60));
  await writeAt(car.local('open.txt'), 'readable', secondsFromNow(-60));
  tree!.unreadable = 'secret.txt';

  const summary = await car.tick();
  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  assert.deepEqual(counts(summary), { uploaded: 1, skipped: 1 });
  assert.equal(car.app.syncer.status().consecutiveFailures, 0);
  assert.ok(car.logged('secret.txt: permission denied', 50).length > 0, 'an error line names the file');
  assert.deepEqual(await s3().keys(car.bucket), [car.key('open.txt')]);

  tree!.unreadable = null;
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 }, 'uploaded once readable again');
});

/** A --delete sidecar whose scan can be told a path is unreadable (`tree()`, once the sidecar made it). */
async function deletingSidecarWithUnreadable() {
  let made: UnreadableToScan | undefined;
  const car = await startSidecar(s3(), { flags: ['--delete'], makeTree: (root, options) => (made ??= new UnreadableToScan(root, options)) });
  return { car, tree: () => made! };
}

test('a file the scan cannot stat is unknown, not deleted: with --delete its object stays', async () => {
  const { car, tree } = await deletingSidecarWithUnreadable();
  await writeAt(car.local('kept.txt'), 'precious', secondsFromNow(-60));
  await writeAt(car.local('other.txt'), 'other', secondsFromNow(-60));
  await car.initial();
  assert.deepEqual(await s3().keys(car.bucket), [car.key('kept.txt'), car.key('other.txt')]);

  tree().unreadable = { path: 'kept.txt', folder: false };
  const summary = await car.tick();
  assert.equal(summary.outcome, 'success');
  assert.equal(summary.deletedRemote, 0);
  assert.equal(await s3().getText(car.bucket, car.key('kept.txt')), 'precious');
  // Said, not only survived: a warning naming the file, and the metric.
  assert.deepEqual(car.logged('local path skipped', LEVEL.warn).map((l) => [l.path, l.reason]), [['kept.txt', 'unreadable (EACCES)']]);
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'local-unsafe-or-unreadable' }), 1);
});

test('a folder the scan cannot read hides what is under it: with --delete nothing there is deleted or written', async () => {
  const { car, tree } = await deletingSidecarWithUnreadable();
  await writeAt(car.local('data/top.txt'), 'top', secondsFromNow(-60));
  await writeAt(car.local('data/deep/er.txt'), 'deeper', secondsFromNow(-60));
  await writeAt(car.local('database.txt'), 'beside it', secondsFromNow(-60));
  await car.initial();

  tree().unreadable = { path: 'data', folder: true };
  await s3().putText(car.bucket, car.key('data/new.txt'), 'from another task');
  await unlink(car.local('database.txt'));
  const summary = await car.tick();
  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  // Only the file beside the folder, whose name merely starts like it, goes.
  assert.deepEqual(counts(summary), { deletedRemote: 1 });
  assert.deepEqual(await s3().keys(car.bucket), [car.key('data/deep/er.txt'), car.key('data/new.txt'), car.key('data/top.txt')]);
  assert.equal(existsSync(car.local('data/new.txt')), false, 'nothing written into a folder the sidecar cannot read');

  tree().unreadable = null;
  assert.deepEqual(counts(await car.tick()), { downloaded: 1 }, 'readable again: the new file comes down, nothing else moves');
});

/**
 * The real LocalTree, except that while `busy` every read for upload and every snapshot sees the
 * file change, as for one written without pause (however fast this machine copies).
 */
class BusySnapshots extends LocalTree {
  busy = true;
  snapshots = 0;

  override async openForUpload(path: string): Promise<UploadSource> {
    const source = await super.openForUpload(path);
    const busy = this.busy;
    return { ...source, bytes: source.bytes, unchanged: async () => !busy && (await source.unchanged()) };
  }

  override async snapshotForUpload(path: string): Promise<UploadSource | null> {
    this.snapshots++;
    return this.busy ? null : super.snapshotForUpload(path);
  }
}

/** A synced sidecar whose app is writing `app.log` (every 20 ms) when it is told to stop. */
async function writingAtShutdown(shutdownTimeout: number) {
  let tree: BusySnapshots | undefined;
  const car = await startSidecar(s3(), {
    flags: ['--shutdown-timeout', String(shutdownTimeout)],
    makeTree: (root, options) => (tree ??= new BusySnapshots(root, options)),
  });
  await car.initial();
  const path = car.local('app.log');
  await writeAt(path, randomBytes(3 * MiB), secondsFromNow(-60));
  const writer = appender(path, { bytes: 4096, everyMs: 20 });
  await writer.started;
  return { car, tree: tree!, path, writer };
}

test('shutdown: the final sync is tried again while a file keeps changing, and ends once it is up, before --shutdown-timeout', async () => {
  const { car, tree, path, writer } = await writingAtShutdown(20);
  // The app is still flushing when the sidecar is told to stop; it is done a moment later.
  const settles = sleep(1500).then(async () => {
    await writer.stop();
    tree.busy = false;
  });

  const started = Date.now();
  const final = await car.app.syncer.stop();
  const seconds = (Date.now() - started) / 1000;
  await settles;

  assert.equal(final?.trigger, 'shutdown');
  assert.deepEqual(final && counts(final), { uploaded: 1 });
  assert.ok(seconds < 15, `stopped ${seconds.toFixed(1)} s after the stop began, not at the deadline`);
  assert.ok(car.logged('kept changing while read; trying again', LEVEL.warn).length >= 1);
  assert.ok(tree.snapshots >= 2);
  assert.ok((await s3().getBuffer(car.bucket, car.key('app.log'))).equals(await readFile(path)), 'the settled file is in the bucket');
});

test('shutdown: a file that never stops changing is tried until --shutdown-timeout, then given up with an error', async () => {
  const { car, tree, writer } = await writingAtShutdown(2);

  const started = Date.now();
  let final;
  try {
    final = await car.app.syncer.stop();
  } finally {
    await writer.stop();
  }
  const seconds = (Date.now() - started) / 1000;

  assert.ok(seconds < 6, `stopped ${seconds.toFixed(1)} s after the stop began`);
  assert.ok(tree.snapshots >= 2, `tried ${tree.snapshots} time(s)`);
  assert.ok(final === null || counts(final).skipped === 1);
  assert.ok(
    car.logs.some((l) => l.level >= LEVEL.error && (l.msg.includes('kept changing and were not uploaded') || l.msg.includes('--shutdown-timeout'))),
    'the loss is logged as an error',
  );
  assert.equal(await s3().head(car.bucket, car.key('app.log')), null);
});
