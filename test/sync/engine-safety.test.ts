/**
 * Key and path safety on a real bucket (moto): keys that would escape LocalPath, file/folder
 * collisions (within the bucket and across the two sides), symlinks, and archived objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { useS3 } from '../helpers/s3.js';
import { counts, filesUnder, LEVEL, localFile, secondsFromNow, startSidecar, writeAt } from '../helpers/sidecar.js';
import { tempDir } from '../helpers/tmp.js';

const s3 = useS3();

test('a key that would escape LocalPath is never written anywhere, skipped with a warning and counted', async () => {
  const outer = await tempDir('engine-escape');
  const dir = join(outer, 'a', 'b', 'local');
  await mkdir(dir, { recursive: true });
  const car = await startSidecar(s3(), { dir, flags: ['--delete'] });
  const evil = ['app/../../escape', 'app/../../../escape', 'app/x/../../../../escape', 'app/./dot', 'app//double'];
  for (const key of evil) {
    await s3().client.send(new PutObjectCommand({ Bucket: car.bucket, Key: key, Body: `payload of ${key}` }));
  }
  await s3().putText(car.bucket, car.key('fine.txt'), 'fine');
  const listed = await s3().client.send(new ListObjectsV2Command({ Bucket: car.bucket }));
  for (const key of evil) assert.ok(listed.Contents?.some((o) => o.Key === key), `the store kept the raw key ${key}`);

  const summary = await car.initial();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { downloaded: 1 });
  assert.equal((await localFile(car.local('fine.txt')))?.text, 'fine');
  // Nothing anywhere above or inside LocalPath but the one good file.
  assert.deepEqual(await filesUnder(outer, { internal: true }), ['a/b/local/fine.txt']);
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'unsafe' }), evil.length);
  const warned = car.logged('remote key skipped', LEVEL.warn).map((l) => l.key);
  assert.deepEqual(warned.sort(), [...evil].sort());
  // The unsafe objects are not ours to delete either.
  assert.deepEqual(counts(await car.tick()), {});
  const after = await s3().client.send(new ListObjectsV2Command({ Bucket: car.bucket }));
  assert.equal(after.KeyCount, evil.length + 1);
});

test('a local file whose key S3 would refuse (over 1024 bytes) is left out with a warning and counted: the tick succeeds, the rest is synced, neither side touches it', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  // Five folders of 240 bytes: a key of about 1,2 kB (moto takes it; S3 answers KeyTooLongError).
  const deep = Array.from({ length: 5 }, () => 'D'.repeat(240)).join('/');
  await mkdir(car.local(deep), { recursive: true });
  await writeFile(car.local(`${deep}/f.txt`), 'too deep for a key');
  await writeFile(car.local('ok.txt'), 'fine');
  // On a store that has such a key anyway, the object is left alone too.
  await s3().putText(car.bucket, car.key(`${deep}/g.txt`), 'long key in the store');
  await writeFile(car.local(`${deep}/g.txt`), 'local version of it');

  const summary = await car.initial();
  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('ok.txt')), 'fine');
  assert.equal(await s3().head(car.bucket, car.key(`${deep}/f.txt`)), null, 'never uploaded');
  assert.equal(await s3().getText(car.bucket, car.key(`${deep}/g.txt`)), 'long key in the store');
  assert.equal((await localFile(car.local(`${deep}/g.txt`)))?.text, 'local version of it');
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'key-too-long' }), 2);
  const warned = car.logged('local path skipped', LEVEL.warn).map((l) => String(l.reason));
  assert.equal(warned.length, 2);
  assert.match(warned[0]!, /^key too long: 12\d\d bytes, \d+ fit under the prefix \(S3 keys hold 1024\)$/);

  assert.deepEqual(counts(await car.tick()), {}, 'and the next tick leaves both alone');
  assert.equal((await localFile(car.local(`${deep}/g.txt`)))?.text, 'local version of it');
});

test('keys `a` and `a/b` in the bucket: `a` is skipped with a warning, `a/b` and the rest are synced', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await s3().putText(car.bucket, car.key('a'), 'file a');
  await s3().putText(car.bucket, car.key('a/b'), 'file a/b');
  await s3().putText(car.bucket, car.key('c.txt'), 'c');

  const summary = await car.initial();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { downloaded: 2 });
  assert.equal((await localFile(car.local('a/b')))?.text, 'file a/b');
  assert.equal((await localFile(car.local('c.txt')))?.text, 'c');
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'collision' }), 1);
  assert.equal(car.logged('remote key skipped', LEVEL.warn)[0]?.key, car.key('a'));
  // Stable: no deletes of the hidden object, no crash, on later ticks.
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(await s3().keys(car.bucket), [car.key('a'), car.key('a/b'), car.key('c.txt')]);
});

test('a local file `a` and a remote `a/b`: both left alone with a warning, the rest synced, stable over ticks', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await writeAt(car.local('a'), 'local file a', secondsFromNow(-120));
  await writeAt(car.local('up.txt'), 'up', secondsFromNow(-120));
  await s3().putText(car.bucket, car.key('a/b'), 'remote a/b');
  await s3().putText(car.bucket, car.key('down.txt'), 'down');

  const summary = await car.initial();
  assert.equal(summary.outcome, 'success');
  assert.equal(summary.uploaded, 1);
  assert.equal(summary.downloaded, 1);
  assert.equal((await localFile(car.local('down.txt')))?.text, 'down');
  assert.equal(await s3().getText(car.bucket, car.key('up.txt')), 'up');
  assert.ok(car.logged('a/b', LEVEL.warn).length >= 1, 'the collision is warned about');
  assert.ok((await car.metric('s3sync2_skipped_keys_total', { reason: 'collision' })) >= 1);

  for (let i = 0; i < 2; i++) {
    const next = await car.tick();
    assert.equal(next.outcome, 'success');
    assert.equal(next.uploaded + next.downloaded + next.deletedLocal + next.deletedRemote, 0, `tick ${i}: ${JSON.stringify(next)}`);
    assert.equal((await localFile(car.local('a')))?.text, 'local file a', 'the local file is kept');
    assert.equal(await s3().getText(car.bucket, car.key('a/b')), 'remote a/b', 'the remote object is kept');
  }
});

test('a remote file `a` and a local folder `a/`: `a` is left alone, `a/b` is uploaded, the folder stays', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await s3().putText(car.bucket, car.key('a'), 'remote file a');
  await writeAt(car.local('a/b'), 'local a/b', secondsFromNow(-120));

  const summary = await car.initial();
  assert.deepEqual(counts(summary), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('a/b')), 'local a/b');
  assert.equal(await s3().getText(car.bucket, car.key('a')), 'remote file a');
  assert.equal((await localFile(car.local('a/b')))?.text, 'local a/b');
  assert.deepEqual(counts(await car.tick()), {});
});

test('a remote folder appearing over a synced file does not make it look deleted (--delete)', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await writeAt(car.local('x'), 'synced file x', secondsFromNow(-120));
  await writeAt(car.local('y.txt'), 'y', secondsFromNow(-120));
  assert.deepEqual(counts(await car.initial()), { uploaded: 2 });

  // Another tool writes `x/inner`: the bucket now has `x` and `x/inner`.
  await s3().putText(car.bucket, car.key('x/inner'), 'inner');
  for (let i = 0; i < 2; i++) {
    const summary = await car.tick();
    assert.equal(summary.outcome, 'success');
    assert.deepEqual(counts(summary), {}, `tick ${i}`);
    assert.equal((await localFile(car.local('x')))?.text, 'synced file x');
  }
  assert.deepEqual(await s3().keys(car.bucket), [car.key('x'), car.key('x/inner'), car.key('y.txt')]);
  assert.ok(car.logged('file/folder collision', LEVEL.warn).length >= 1);

  // Once the other tool removes its folder, `x` is synced as before: a local edit goes up.
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key('x/inner') }));
  await writeAt(car.local('x'), 'edited x', secondsFromNow(-60));
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('x')), 'edited x');
});

/** A sidecar with --delete and `entries` (path → text) synced on both sides, among eight other files. */
async function syncedWith(entries: Record<string, string>) {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  // Enough other files that the deletes stay under --max-delete's 50%.
  const others = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`other-${i}.txt`, `other ${i}`]));
  const all = { ...others, ...entries };
  for (const [path, text] of Object.entries(all)) await writeAt(car.local(path), text, secondsFromNow(-120));
  assert.deepEqual(counts(await car.initial()), { uploaded: Object.keys(all).length });
  return car;
}

test('--delete: a local file replaced by a folder of the same name: the object goes, the folder\'s files go up, stable', async () => {
  const car = await syncedWith({ a: 'file a' });
  await rm(car.local('a'));
  await writeAt(car.local('a/b'), 'b in the new folder', secondsFromNow(-60));

  assert.deepEqual(counts(await car.tick()), { uploaded: 1, deletedRemote: 1 });
  assert.deepEqual((await s3().keys(car.bucket)).filter((k) => !k.includes('other-')), [car.key('a/b')]);
  assert.deepEqual(counts(await car.tick()), {});
});

test('--delete: a local folder replaced by a file of the same name: its objects go, the file goes up, stable', async () => {
  const car = await syncedWith({ 'a/b': 'b', 'a/c': 'c' });
  await rm(car.local('a'), { recursive: true });
  await writeAt(car.local('a'), 'now a file', secondsFromNow(-60));

  assert.deepEqual(counts(await car.tick()), { uploaded: 1, deletedRemote: 2 });
  assert.deepEqual((await s3().keys(car.bucket)).filter((k) => !k.includes('other-')), [car.key('a')]);
  assert.equal(await s3().getText(car.bucket, car.key('a')), 'now a file');
  assert.deepEqual(counts(await car.tick()), {});
});

test('--delete: another node replaced a file by a folder: the local file goes, the folder comes down, stable', async () => {
  const car = await syncedWith({ a: 'file a' });
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key('a') }));
  await s3().putText(car.bucket, car.key('a/b'), 'b from the other node');

  assert.deepEqual(counts(await car.tick()), { downloaded: 1, deletedLocal: 1 });
  assert.equal((await localFile(car.local('a/b')))?.text, 'b from the other node');
  assert.deepEqual(counts(await car.tick()), {});
});

test('--delete: another node replaced a folder by a file: the local files go, the file comes down in the emptied folder\'s place, stable', async () => {
  const car = await syncedWith({ 'a/b': 'b', 'a/c/d': 'd' });
  for (const path of ['a/b', 'a/c/d']) await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key(path) }));
  await s3().putText(car.bucket, car.key('a'), 'a file from the other node');

  assert.deepEqual(counts(await car.tick()), { downloaded: 1, deletedLocal: 2 });
  assert.equal((await localFile(car.local('a')))?.text, 'a file from the other node');
  assert.deepEqual(counts(await car.tick()), {});
});

test('--delete: a local folder replaced by a file while --max-delete refuses the folder\'s remote deletes: the file waits with them, nothing is deleted', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  for (const path of ['a/b', 'a/c', 'x']) await writeAt(car.local(path), path, secondsFromNow(-120));
  await car.initial();
  await rm(car.local('a'), { recursive: true });
  await writeAt(car.local('a'), 'now a file', secondsFromNow(-60));

  // 2 of 3 remote files is over 50%: the deletes are refused, and the new file is held with them
  // (uploaded beside them it would be hidden by the folder in the bucket).
  for (let i = 0; i < 2; i++) {
    const tick = await car.tick();
    assert.deepEqual(counts(tick), {}, `tick ${i}`);
    assert.equal((await localFile(car.local('a')))?.text, 'now a file');
    assert.deepEqual(await s3().keys(car.bucket), ['a/b', 'a/c', 'x'].map((p) => car.key(p)));
  }
  assert.ok(car.logged('file/folder collision', LEVEL.warn).length >= 1, 'the held paths are warned about');
  // Once the deletes are allowed, the replacement goes through.
  await car.close();
  const allowed = await startSidecar(s3(), { bucket: car.bucket, dir: car.dir, stateDir: car.stateDir, flags: ['--delete', '--max-delete', '100'] });
  assert.deepEqual(counts(await allowed.initial()), { uploaded: 1, deletedRemote: 2 });
  assert.deepEqual(await s3().keys(car.bucket), ['a', 'x'].map((p) => car.key(p)));
});

test('symlinks: never upload a file outside LocalPath; --follow-symlinks uploads links inside', async () => {
  const outside = await tempDir('engine-outside');
  await writeFile(join(outside, 'secret.txt'), 'secret');
  await mkdir(join(outside, 'folder'));
  await writeFile(join(outside, 'folder', 'inner-secret.txt'), 'inner secret');

  for (const follow of [false, true]) {
    const car = await startSidecar(s3(), { flags: follow ? ['--follow-symlinks'] : [] });
    await writeAt(car.local('real.txt'), 'real', secondsFromNow(-120));
    await mkdir(car.local('realdir'));
    await writeAt(car.local('realdir/x.txt'), 'x', secondsFromNow(-120));
    await symlink(join(outside, 'secret.txt'), car.local('out-link.txt'));
    await symlink('../../../../../../../../../..' + join(outside, 'secret.txt'), car.local('out-relative.txt'));
    await symlink(join(outside, 'folder'), car.local('out-dir'));
    await symlink('real.txt', car.local('in-link.txt'));
    await symlink('realdir', car.local('in-dir'));

    const summary = await car.initial();
    assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
    const keys = (await s3().keys(car.bucket)).map((k) => k.slice('app/'.length));
    const expected = follow
      ? ['in-dir/x.txt', 'in-link.txt', 'real.txt', 'realdir/x.txt']
      : ['real.txt', 'realdir/x.txt'];
    assert.deepEqual(keys, expected, `follow=${follow}`);
    if (follow) assert.equal(await s3().getText(car.bucket, car.key('in-link.txt')), 'real');
    assert.deepEqual(counts(await car.tick()), {}, `follow=${follow}: stable`);

    // Objects named like the outward links never write through them.
    await s3().putText(car.bucket, car.key('out-link.txt'), 'overwrite attempt');
    await s3().putText(car.bucket, car.key('out-dir/inner-secret.txt'), 'overwrite attempt');
    const next = await car.tick();
    assert.equal(next.outcome, 'success', `follow=${follow}: skipped, not a failing tick`);
    assert.equal(next.downloaded + next.uploaded, 0, `follow=${follow}`);
    // A followed link to a folder outside is a folder the sync cannot see into: nothing under it
    // is even planned. Only the file link (and, unfollowed, the folder link too) is refused at the write.
    assert.equal(next.skipped, follow ? 1 : 2, `follow=${follow}`);
    assert.equal((await localFile(join(outside, 'secret.txt')))?.text, 'secret', `follow=${follow}`);
    assert.equal((await localFile(join(outside, 'folder', 'inner-secret.txt')))?.text, 'inner secret', `follow=${follow}`);
    assert.deepEqual(await filesUnder(outside), ['folder/inner-secret.txt', 'secret.txt'], `follow=${follow}: nothing new outside`);
  }
});

test('an archived (GLACIER) object is skipped and logged as an error on every tick without failing it, --ignore-glacier-warnings or not', async () => {
  const car = await startSidecar(s3(), { flags: ['--ignore-glacier-warnings'] });
  await s3().client.send(new PutObjectCommand({ Bucket: car.bucket, Key: car.key('cold.txt'), Body: 'C', StorageClass: 'GLACIER' }));
  await s3().putText(car.bucket, car.key('warm.txt'), 'W');

  const first = await car.initial();
  assert.equal(first.outcome, 'success');
  assert.deepEqual(counts(first), { downloaded: 1, skipped: 1 });
  const second = await car.tick();
  assert.equal(second.outcome, 'success');
  assert.deepEqual(counts(second), { skipped: 1 }, 'tried again, skipped again');
  const errors = car.logged('download cold.txt', LEVEL.error);
  assert.equal(errors.length, 2, 'one error line per tick');
  assert.match(errors[0]!.msg, /archived .*restore it/);
  assert.doesNotMatch(errors[0]!.msg, /task role/);
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'access-denied' }), 2);
  assert.equal(await localFile(car.local('cold.txt')), null);
});
