/**
 * The first reconciliation without a baseline (--init-sync-down, --init-sync-up, merge), and a
 * restart on the same state folder that resumes three-way semantics, on a real bucket (moto).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { useS3 } from '../helpers/s3.js';
import { counts, localFile, secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';

const s3 = useS3();
const MiB = 1024 * 1024;

/**
 * Both sides before any sync: `same.txt` equal, `local-newer.txt` and `remote-newer.txt` differ
 * (the local copy an hour newer or older than the object), and one file only on each side.
 */
async function divergent(flags: string[]): Promise<Sidecar> {
  const car = await startSidecar(s3(), { flags });
  const put = (path: string, text: string) => s3().putText(car.bucket, car.key(path), text);
  await put('same.txt', 'same bytes');
  await put('local-newer.txt', 'remote of local-newer');
  await put('remote-newer.txt', 'remote of remote-newer');
  await put('only-remote.txt', 'only remote');
  await writeAt(car.local('same.txt'), 'same bytes', secondsFromNow(-7200));
  await writeAt(car.local('local-newer.txt'), 'local of local-newer', secondsFromNow(3600));
  await writeAt(car.local('remote-newer.txt'), 'local of remote-newer', secondsFromNow(-3600));
  await writeAt(car.local('only-local.txt'), 'only local', secondsFromNow(-60));
  return car;
}

async function bothSides(car: Sidecar, path: string): Promise<[string | null, string | null]> {
  const remote = (await s3().head(car.bucket, car.key(path))) ? await s3().getText(car.bucket, car.key(path)) : null;
  return [(await localFile(car.local(path)))?.text ?? null, remote];
}

async function assertAgree(car: Sidecar, path: string, text: string): Promise<void> {
  assert.deepEqual(await bothSides(car, path), [text, text], path);
}

test('--init-sync-down: the remote wins every difference; one-sided files are copied, not deleted', async () => {
  const car = await divergent(['--init-sync-down']);
  const summary = await car.initial();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { downloaded: 3, uploaded: 1 });
  await assertAgree(car, 'local-newer.txt', 'remote of local-newer');
  await assertAgree(car, 'remote-newer.txt', 'remote of remote-newer');
  await assertAgree(car, 'same.txt', 'same bytes');
  await assertAgree(car, 'only-remote.txt', 'only remote');
  await assertAgree(car, 'only-local.txt', 'only local');
  const head = await s3().head(car.bucket, car.key('local-newer.txt'));
  assert.equal((await localFile(car.local('local-newer.txt')))?.mtimeMs, head?.LastModified?.getTime());
  assert.deepEqual(counts(await car.tick()), {});
});

test('--init-sync-down --delete: the local folder becomes a copy of the prefix', async () => {
  const car = await divergent(['--init-sync-down', '--delete']);
  const summary = await car.initial();

  assert.deepEqual(counts(summary), { downloaded: 3, deletedLocal: 1 });
  assert.deepEqual(await bothSides(car, 'only-local.txt'), [null, null]);
  await assertAgree(car, 'local-newer.txt', 'remote of local-newer');
});

test('--init-sync-up: the local side wins every difference', async () => {
  const car = await divergent(['--init-sync-up']);
  const summary = await car.initial();

  assert.deepEqual(counts(summary), { uploaded: 3, downloaded: 1 });
  await assertAgree(car, 'local-newer.txt', 'local of local-newer');
  await assertAgree(car, 'remote-newer.txt', 'local of remote-newer');
  await assertAgree(car, 'only-remote.txt', 'only remote');
  await assertAgree(car, 'only-local.txt', 'only local');
  assert.deepEqual(counts(await car.tick()), {});
});

test('--init-sync-up --delete: the prefix becomes a copy of the local folder', async () => {
  const car = await divergent(['--init-sync-up', '--delete']);
  const summary = await car.initial();

  assert.deepEqual(counts(summary), { uploaded: 3, deletedRemote: 1 });
  assert.deepEqual(await bothSides(car, 'only-remote.txt'), [null, null]);
  await assertAgree(car, 'remote-newer.txt', 'local of remote-newer');
});

test('merge (neither init flag): the union, the newer side wins a difference, nothing is deleted even with --delete', async () => {
  const car = await divergent(['--delete']);
  const summary = await car.initial();

  assert.deepEqual(counts(summary), { uploaded: 2, downloaded: 2 });
  await assertAgree(car, 'local-newer.txt', 'local of local-newer');
  await assertAgree(car, 'remote-newer.txt', 'remote of remote-newer');
  await assertAgree(car, 'same.txt', 'same bytes');
  await assertAgree(car, 'only-remote.txt', 'only remote');
  await assertAgree(car, 'only-local.txt', 'only local');
  assert.deepEqual(counts(await car.tick()), {});
});

test('a restart with the same state folder resumes three-way: a delete made while down propagates', async () => {
  const first = await startSidecar(s3(), { flags: ['--delete'] });
  await writeAt(first.local('kept.txt'), 'kept', secondsFromNow(-7200));
  await writeAt(first.local('deleted-while-down.txt'), 'doomed', secondsFromNow(-7200));
  await writeAt(first.local('edited-while-down.txt'), 'v1', secondsFromNow(-7200));
  assert.deepEqual(counts(await first.initial()), { uploaded: 3 });
  await first.close();
  const saved = (await readdir(first.stateDir)).filter((n) => n.startsWith('s3-sync2-baseline-'));
  assert.equal(saved.length, 1, 'the baseline is saved in --state-dir');

  // While no sidecar runs: one object deleted, one local file edited.
  await s3().client.send(new DeleteObjectCommand({ Bucket: first.bucket, Key: first.key('deleted-while-down.txt') }));
  await writeAt(first.local('edited-while-down.txt'), 'v2', secondsFromNow(-60));

  const second = await startSidecar(s3(), { bucket: first.bucket, dir: first.dir, stateDir: first.stateDir, flags: ['--delete'] });
  const summary = await second.initial();

  // Merge would have restored the deleted file; three-way deletes it locally.
  assert.deepEqual(counts(summary), { deletedLocal: 1, uploaded: 1 });
  assert.equal(await localFile(second.local('deleted-while-down.txt')), null);
  await assertAgree(second, 'edited-while-down.txt', 'v2');
  await assertAgree(second, 'kept.txt', 'kept');
  assert.equal(second.logged('resuming from the saved baseline').length, 1);
});

/** Uploads `body` in parts of `partSize`, as another tool would (the aws CLI: 8 MiB; the SDKs: 5 MiB). */
async function putInParts(bucket: string, key: string, body: Buffer, partSize: number): Promise<string> {
  const { client } = s3();
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const Parts = [];
  for (let at = 0, PartNumber = 1; at < body.length; at += partSize, PartNumber++) {
    const part = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body.subarray(at, at + partSize) }));
    Parts.push({ PartNumber, ETag: part.ETag });
  }
  const done = await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts } }));
  return done.ETag ?? '';
}

test('merge: a file equal to an object another tool uploaded in parts (8 MiB, 5 MiB) or in one PUT is recognised by its ETag, nothing is transferred', async () => {
  const car = await startSidecar(s3());
  const body = randomBytes(12 * MiB);
  const nine = randomBytes(9 * MiB);
  const old = secondsFromNow(-7200);
  // Without recognising equal bytes, the newer side (the objects) would win and be downloaded.
  assert.match(await putInParts(car.bucket, car.key('aws-cli.bin'), body, 8 * MiB), /-2"$/);
  assert.match(await putInParts(car.bucket, car.key('sdk.bin'), body, 5 * MiB), /-3"$/);
  // Two parts either way (8 + 1 or 5 + 4): both layouts are tried.
  assert.match(await putInParts(car.bucket, car.key('sdk-9.bin'), nine, 5 * MiB), /-2"$/);
  assert.match(await putInParts(car.bucket, car.key('one-part.bin'), nine, 16 * MiB), /-1"$/);
  await s3().putText(car.bucket, car.key('one-put.bin'), body);
  // Same size, other bytes: never taken for equal.
  assert.match(await putInParts(car.bucket, car.key('different.bin'), randomBytes(12 * MiB), 5 * MiB), /-3"$/);
  const same = { 'aws-cli.bin': body, 'sdk.bin': body, 'sdk-9.bin': nine, 'one-part.bin': nine, 'one-put.bin': body };
  for (const [name, bytes] of Object.entries(same)) await writeAt(car.local(name), bytes, old);
  await writeAt(car.local('different.bin'), body, old);

  assert.deepEqual(counts(await car.initial()), { downloaded: 1 });
  for (const name of Object.keys(same)) {
    // (A download would have given it the object's LastModified, two hours later.)
    assert.equal(Math.round((await localFile(car.local(name)))?.mtimeMs ?? 0), old.getTime(), `${name} was not downloaded`);
  }
  assert.ok((await localFile(car.local('different.bin')))?.bytes.equals(await s3().getBuffer(car.bucket, car.key('different.bin'))));
  assert.deepEqual(counts(await car.tick()), {}, 'recorded as in sync');
});
