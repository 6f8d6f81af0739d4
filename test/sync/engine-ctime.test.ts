/**
 * Local changes that keep size and mtime, on a real bucket (moto): a rewrite with the mtime put
 * back is uploaded, a chmod is hashed once and recorded, a download is not hashed again, and an
 * upload that may have raced a write in the same timestamp tick is checked again next round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { chmod, readFile, utimes, writeFile } from 'node:fs/promises';
import { BaselineStore } from '../../src/baseline.js';
import { LocalTree, type LocalTreeOptions, type ScanResult, type UploadSource } from '../../src/local/tree.js';
import { RACY_CTIME, type LocalEntry } from '../../src/sync/types.js';
import { useS3 } from '../helpers/s3.js';
import { counts, secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';

const s3 = useS3();

/** A LocalTree that counts the files it hashes, and can be slow to hash them. */
class CountingTree extends LocalTree {
  hashed: string[] = [];
  hashDelayMs = 0;

  override async etagInLayoutOf(path: string, etag: string, size: number, partSizes: readonly number[]): Promise<string | undefined> {
    this.hashed.push(path);
    const hash = await super.etagInLayoutOf(path, etag, size, partSizes);
    await new Promise((resolve) => setTimeout(resolve, this.hashDelayMs));
    return hash;
  }
}

/** Starts a sidecar whose tree counts hashes. */
async function counted(flags: readonly string[] = []): Promise<{ car: Sidecar; tree: () => CountingTree }> {
  let made: CountingTree | undefined;
  const car = await startSidecar(s3(), {
    flags,
    makeTree: (root: string, options: LocalTreeOptions) => (made = new CountingTree(root, options)),
  });
  return { car, tree: () => made! };
}

/** Past the racy window: the upload of a file written before this is not racy. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

/** Rewrites `path` with `body` (the same size) and puts its mtime back, as `cp -p` or `touch -r` would. */
async function rewriteKeepingMtime(path: string, body: string, mtime: Date): Promise<void> {
  await writeFile(path, body);
  await utimes(path, mtime, mtime);
}

async function savedEntry(car: Sidecar, path: string) {
  const store = new BaselineStore(car.stateDir, { bucket: car.bucket, prefix: car.config.prefix, localPath: car.config.localPath });
  return (await store.load())?.get(path);
}

test('a rewrite with the same size and the mtime put back (cp -p) is uploaded', async () => {
  const { car } = await counted();
  const old = secondsFromNow(-3600);
  await writeAt(car.local('doc.txt'), 'version 1', old);
  await settle();
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });

  await rewriteKeepingMtime(car.local('doc.txt'), 'version 2', old);
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('doc.txt')), 'version 2');
  assert.deepEqual(counts(await car.tick()), {}, 'then quiet');
});

test('with --delete, a cp -p rewrite is not lost to another node deleting the object', async () => {
  const { car } = await counted(['--delete']);
  const old = secondsFromNow(-3600);
  await writeAt(car.local('doc.txt'), 'version 1', old);
  await settle();
  await car.initial();

  await rewriteKeepingMtime(car.local('doc.txt'), 'version 2', old);
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key('doc.txt') }));
  const tick = await car.tick();
  assert.deepEqual(counts(tick), { uploaded: 1, conflicts: 1 });
  assert.equal(await readFile(car.local('doc.txt'), 'utf8'), 'version 2');
  assert.equal(await s3().getText(car.bucket, car.key('doc.txt')), 'version 2');
});

test('a chmod alone uploads nothing: the file is hashed once, then the ticks are quiet again', async () => {
  const { car, tree } = await counted();
  await writeAt(car.local('doc.txt'), 'content', secondsFromNow(-3600));
  await settle();
  await car.initial();
  tree().hashed = [];
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, [], 'a quiet tick hashes nothing');

  await chmod(car.local('doc.txt'), 0o600);
  // (A chmod within the racy window of the tick would be recorded as racy and hashed once more.)
  await settle();
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, ['doc.txt']);
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, ['doc.txt'], 'the new ctime was recorded');
});

test('a file recorded long after the hash that found it unchanged is still checked again when its ctime was that recent', async () => {
  const { car, tree } = await counted();
  await writeAt(car.local('doc.txt'), 'content', secondsFromNow(-3600));
  await settle();
  await car.initial();

  // Right before the tick: hashed at once, found unchanged, and recorded 300 ms after the hash. A
  // same-size write in the timestamp tick of the chmod, after the hash, would keep size, mtime and
  // ctime as recorded.
  await chmod(car.local('doc.txt'), 0o600);
  tree().hashDelayMs = 300;
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal((await savedEntry(car, 'doc.txt'))?.ctimeMs, RACY_CTIME);

  tree().hashDelayMs = 0;
  tree().hashed = [];
  await settle();
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, ['doc.txt'], 'checked again');
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, ['doc.txt'], 'then recorded with its real ctime');
});

test('a downloaded file is not hashed on the next tick (its entry has the ctime of the file as published)', async () => {
  const { car, tree } = await counted();
  await car.initial();
  await s3().putText(car.bucket, car.key('new.txt'), 'from the bucket');
  await s3().putText(car.bucket, car.key('dir/other.txt'), 'another one');
  assert.deepEqual(counts(await car.tick()), { downloaded: 2 });
  // Replacing a file (rename over it) as well as creating one (hard link).
  await s3().putText(car.bucket, car.key('new.txt'), 'from the bucket, v2');
  assert.deepEqual(counts(await car.tick()), { downloaded: 1 });
  tree().hashed = [];
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, []);
});

/**
 * Timestamps that move once a minute from `start` on, standing in for the coarse timestamps of
 * ext4/xfs before Linux 6.13 (a jiffy there): ctimes can only be read, so the test coarsens what
 * the engine sees. The racy check itself still looks at the real ctime, as recent as on such a
 * file system.
 */
class CoarseTree extends LocalTree {
  readonly start = Date.now() - 10_000;

  override async scan(): Promise<ScanResult> {
    const result = await super.scan();
    for (const [path, entry] of result.entries) result.entries.set(path, this.coarse(entry));
    return result;
  }

  override async stat(path: string): Promise<LocalEntry | null> {
    const entry = await super.stat(path);
    return entry && this.coarse(entry);
  }

  override async openForUpload(path: string): Promise<UploadSource> {
    const source = await super.openForUpload(path);
    return { ...source, ...this.coarse(source) };
  }

  private coarse<T extends LocalEntry>(entry: T): T {
    const tick = (ms: number) => this.start + Math.floor((ms - this.start) / 60_000) * 60_000;
    return { ...entry, ctimeMs: tick(entry.ctimeMs) };
  }
}

test('an upload that read a file written in the same timestamp tick is checked again, and a same-size write in that tick goes up', async () => {
  let made: CoarseTree | undefined;
  const car = await startSidecar(s3(), { makeTree: (root, options) => (made = new CoarseTree(root, options)) });
  const old = secondsFromNow(-3600);
  // Written right before the tick: read within the racy window of its ctime.
  await writeAt(car.local('racy.txt'), 'version 1', old);
  await writeAt(car.local('calm.txt'), 'settled', old);
  await utimes(car.local('calm.txt'), old, old);
  assert.deepEqual(counts(await car.initial()), { uploaded: 2 });
  assert.equal((await savedEntry(car, 'racy.txt'))?.ctimeMs, RACY_CTIME);

  // The app's write lands in the same (coarse) tick: size, mtime and ctime as recorded.
  await rewriteKeepingMtime(car.local('racy.txt'), 'version 2', old);
  const seen = await made!.stat('racy.txt');
  assert.equal(seen?.ctimeMs, made!.start, 'the rewrite kept the coarse ctime');
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('racy.txt')), 'version 2');
});

test('a file not written near the read records its real ctime', async () => {
  const { car } = await counted();
  await writeAt(car.local('calm.txt'), 'settled', secondsFromNow(-3600));
  await settle();
  await car.initial();
  const entry = await savedEntry(car, 'calm.txt');
  assert.ok(entry?.ctimeMs !== undefined && entry.ctimeMs > 0, JSON.stringify(entry));
});

test('a file dated in the future is not racy: after its upload the ticks hash nothing and the journal stays empty', async () => {
  const { car, tree } = await counted();
  await writeAt(car.local('from-the-future.txt'), 'made on a clock a year ahead', secondsFromNow(365 * 24 * 3600));
  await settle();
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });
  tree().hashed = [];
  for (let tick = 0; tick < 3; tick++) assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(tree().hashed, [], 'nothing hashed on the quiet ticks');
  const entry = await savedEntry(car, 'from-the-future.txt');
  assert.ok(entry?.ctimeMs !== undefined && entry.ctimeMs > 0, `its real ctime is recorded: ${JSON.stringify(entry)}`);
  const store = new BaselineStore(car.stateDir, { bucket: car.bucket, prefix: car.config.prefix, localPath: car.config.localPath });
  await assert.rejects(readFile(store.journal.file), { code: 'ENOENT' }, 'no journal left after quiet ticks');
});
