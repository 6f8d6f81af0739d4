/**
 * Deletes on a real bucket (moto): restored from the other side unless enabled for the direction
 * (--delete, --sync-opt-up-delete, --sync-opt-down-delete), and the --max-delete guard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { useS3 } from '../helpers/s3.js';
import { counts, LEVEL, localFile, secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';

const s3 = useS3();

/** A sidecar whose first sync left `local-gone.txt` and `remote-gone.txt` (plus two others) on both sides. */
async function synced(flags: string[]): Promise<Sidecar> {
  const car = await startSidecar(s3(), { flags });
  for (const name of ['local-gone.txt', 'remote-gone.txt', 'keep-1.txt', 'keep-2.txt']) {
    await writeAt(car.local(name), `content of ${name}`, secondsFromNow(-120));
  }
  assert.deepEqual(counts(await car.initial()), { uploaded: 4 });
  return car;
}

/** Deletes one file on each side, then runs a tick. */
async function deleteOnBothSides(car: Sidecar) {
  await rm(car.local('local-gone.txt'));
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key('remote-gone.txt') }));
  const summary = await car.tick();
  assert.equal(summary.outcome, 'success');
  return summary;
}

async function remoteText(car: Sidecar, path: string): Promise<string | null> {
  return (await s3().head(car.bucket, car.key(path))) ? s3().getText(car.bucket, car.key(path)) : null;
}

test('without --delete, a file deleted on one side is restored from the other', async () => {
  const car = await synced([]);
  const summary = await deleteOnBothSides(car);

  assert.deepEqual(counts(summary), { uploaded: 1, downloaded: 1 });
  assert.equal((await localFile(car.local('local-gone.txt')))?.text, 'content of local-gone.txt');
  assert.equal(await remoteText(car, 'remote-gone.txt'), 'content of remote-gone.txt');
  assert.deepEqual(counts(await car.tick()), {});
});

test('with --delete, deletes propagate both ways', async () => {
  const car = await synced(['--delete']);
  const summary = await deleteOnBothSides(car);

  assert.deepEqual(counts(summary), { deletedLocal: 1, deletedRemote: 1 });
  assert.equal(await localFile(car.local('remote-gone.txt')), null);
  assert.equal(await remoteText(car, 'local-gone.txt'), null);
  assert.deepEqual(await s3().keys(car.bucket), [car.key('keep-1.txt'), car.key('keep-2.txt')]);
  assert.equal(await car.metric('s3sync2_files_total', { direction: 'up', action: 'delete_remote' }), 1);
  assert.equal(await car.metric('s3sync2_files_total', { direction: 'down', action: 'delete_local' }), 1);
  assert.deepEqual(counts(await car.tick()), {});
});

test('--sync-opt-up-delete propagates local deletes only; remote deletes are restored', async () => {
  const car = await synced(['--sync-opt-up-delete']);
  const summary = await deleteOnBothSides(car);

  assert.deepEqual(counts(summary), { deletedRemote: 1, uploaded: 1 });
  assert.equal(await remoteText(car, 'local-gone.txt'), null);
  assert.equal(await remoteText(car, 'remote-gone.txt'), 'content of remote-gone.txt');
  assert.equal(await localFile(car.local('local-gone.txt')), null);
});

test('--sync-opt-down-delete propagates remote deletes only; local deletes are restored', async () => {
  const car = await synced(['--sync-opt-down-delete']);
  const summary = await deleteOnBothSides(car);

  assert.deepEqual(counts(summary), { deletedLocal: 1, downloaded: 1 });
  assert.equal(await localFile(car.local('remote-gone.txt')), null);
  assert.equal((await localFile(car.local('local-gone.txt')))?.text, 'content of local-gone.txt');
  assert.equal(await remoteText(car, 'remote-gone.txt'), null);
});

test('--max-delete refuses a mass local wipe: the bucket keeps the files, the rest of the tick goes on', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  const names = Array.from({ length: 10 }, (_, i) => `file-${i}.txt`);
  for (const name of names) await writeAt(car.local(name), name, secondsFromNow(-120));
  assert.deepEqual(counts(await car.initial()), { uploaded: 10 });

  for (const name of names.slice(0, 8)) await rm(car.local(name));
  await writeAt(car.local('new.txt'), 'new', secondsFromNow(-60));
  await writeAt(car.local(names[9]!), 'edited', secondsFromNow(-60));
  const summary = await car.tick();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { uploaded: 2 });
  assert.deepEqual(await s3().keys(car.bucket), [...names, 'new.txt'].map((n) => car.key(n)).sort());
  assert.equal(await s3().getText(car.bucket, car.key(names[9]!)), 'edited');
  const refusal = car.logged('refused to delete 8 of 10 remote files', LEVEL.error);
  assert.equal(refusal.length, 1, 'one error line names the refused deletes');
  assert.equal(await car.metric('s3sync2_delete_guard_trips_total', { side: 'remote' }), 1);
  assert.equal(await car.metric('s3sync2_delete_guard_trips_total', { side: 'local' }), 0);
  // Nothing was restored either: the guard waits for a person.
  assert.equal(await localFile(car.local(names[0]!)), null);
});

test('--init-sync-up --delete from an empty volume: the guard refuses to wipe the bucket, and the next tick brings the files back', async () => {
  const car = await startSidecar(s3(), { flags: ['--init-sync-up', '--delete'] });
  const names = ['x.txt', 'y.txt', 'z.txt'];
  for (const name of names) await s3().putText(car.bucket, car.key(name), `object ${name}`);

  assert.deepEqual(counts(await car.initial()), {});
  assert.equal(car.logged('refused to delete 3 of 3 remote files', LEVEL.error).length, 1);
  const later = await car.tick();

  assert.deepEqual(counts(later), { downloaded: 3 }, 'nothing deleted: the objects come down as new');
  assert.deepEqual(await s3().keys(car.bucket), names.map((name) => car.key(name)));
  for (const name of names) assert.equal((await localFile(car.local(name)))?.text, `object ${name}`);
});

test('--max-delete refuses a mass remote wipe: local files stay', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete', '--max-delete', '30'] });
  const names = Array.from({ length: 10 }, (_, i) => `file-${i}.txt`);
  for (const name of names) await writeAt(car.local(name), name, secondsFromNow(-120));
  await car.initial();

  for (const name of names.slice(0, 4)) {
    await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key(name) }));
  }
  const summary = await car.tick();

  assert.deepEqual(counts(summary), {});
  for (const name of names) assert.equal((await localFile(car.local(name)))?.text, name);
  assert.equal(car.logged('refused to delete 4 of 10 local files', LEVEL.error).length, 1);
  assert.equal(await car.metric('s3sync2_delete_guard_trips_total', { side: 'local' }), 1);

  // A person confirms by deleting them locally too; then a small remote delete (1 of 6) goes through.
  for (const name of names.slice(0, 4)) await rm(car.local(name));
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key(names[9]!) }));
  const next = await car.tick();
  assert.deepEqual(counts(next), { deletedLocal: 1 });
  assert.equal(await localFile(car.local(names[9]!)), null);
});
