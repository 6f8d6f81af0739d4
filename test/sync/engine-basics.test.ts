/**
 * The engine end to end on a real bucket (moto): uploads with their object options, downloads with
 * their mtimes, changes after a baseline in each direction, a multipart round trip, --only-*,
 * one-direction ticks and --dryrun.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { useS3 } from '../helpers/s3.js';
import { counts, LEVEL, localFile, secondsFromNow, startSidecar, writeAt } from '../helpers/sidecar.js';

const s3 = useS3();

test('local files are uploaded with the Content-Type guessed from the extension, in nested folders', async () => {
  const car = await startSidecar(s3());
  await writeAt(car.local('data.json'), '{"a":1}', secondsFromNow(-60));
  await writeAt(car.local('site/index.html'), '<h1>hi</h1>', secondsFromNow(-60));
  await writeAt(car.local('site/deep/er/notes.txt'), 'plain', secondsFromNow(-60));

  const summary = await car.initial();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { uploaded: 3 });
  assert.equal(summary.bytesUp, 7 + 11 + 5);
  assert.deepEqual(await s3().keys(car.bucket), [car.key('data.json'), car.key('site/deep/er/notes.txt'), car.key('site/index.html')]);
  assert.equal(await s3().getText(car.bucket, car.key('site/index.html')), '<h1>hi</h1>');
  assert.equal((await s3().head(car.bucket, car.key('data.json')))?.ContentType, 'application/json');
  assert.equal((await s3().head(car.bucket, car.key('site/index.html')))?.ContentType, 'text/html');
  assert.equal((await s3().head(car.bucket, car.key('site/deep/er/notes.txt')))?.ContentType, 'text/plain');
  assert.equal(await car.metric('s3sync2_files_total', { direction: 'up', action: 'upload' }), 3);
  assert.equal(await car.metric('s3sync2_bytes_total', { direction: 'up' }), 23);
  const line = car.logged('sync both (initial): 3 up (23 B), 0 down (0 B)', LEVEL.info);
  assert.equal(line.length, 1, 'one summary line for the tick');
  assert.equal((line[0]?.tick as { uploaded?: number }).uploaded, 3);
  // An idle tick changes nothing and logs no summary line.
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal(car.logged('sync both (timer)', LEVEL.info).length, 0);
});

test('object options are applied to uploaded objects, single-part and multipart alike', async () => {
  const car = await startSidecar(s3(), {
    flags: [
      '--content-type', 'text/x-custom',
      '--cache-control', 'max-age=60',
      '--metadata', 'team=blue,tier=gold',
      '--content-disposition', 'attachment',
      '--content-language', 'de',
      '--content-encoding', 'identity',
      '--storage-class', 'STANDARD_IA',
      '--sse', 'AES256',
    ],
  });
  await writeAt(car.local('page.html'), '<p>x</p>', secondsFromNow(-60));
  // Above the 16 MiB single-PUT limit: three 8 MiB parts.
  await writeAt(car.local('big.bin'), randomBytes(17 * 1024 * 1024), secondsFromNow(-60));

  assert.deepEqual(counts(await car.initial()), { uploaded: 2 });

  for (const path of ['page.html', 'big.bin']) {
    const head = await s3().head(car.bucket, car.key(path));
    assert.equal(head?.ContentType, 'text/x-custom', path);
    assert.equal(head?.CacheControl, 'max-age=60', path);
    assert.deepEqual(head?.Metadata, { team: 'blue', tier: 'gold' }, path);
    assert.equal(head?.ContentDisposition, 'attachment', path);
    assert.equal(head?.ContentLanguage, 'de', path);
    assert.equal(head?.ContentEncoding, 'identity', path);
    assert.equal(head?.StorageClass, 'STANDARD_IA', path);
    assert.equal(head?.ServerSideEncryption, 'AES256', path);
  }
  assert.match((await s3().head(car.bucket, car.key('big.bin')))?.ETag ?? '', /-3"$/, 'big.bin went multipart');
});

test('--no-guess-mime-type leaves the Content-Type to the store', async () => {
  const car = await startSidecar(s3(), { flags: ['--no-guess-mime-type'] });
  await writeAt(car.local('data.json'), '{}', secondsFromNow(-60));

  await car.initial();

  // No Content-Type is sent, as by the aws CLI: the store's default, not application/json.
  assert.equal((await s3().head(car.bucket, car.key('data.json')))?.ContentType, 'binary/octet-stream');
});

test('odd names and empty files travel both ways: spaces, unicode, plus signs, percent signs', async () => {
  const car = await startSidecar(s3());
  const names = ['dir with space/ünïcödé ✓.txt', 'a+b=c&d.txt', '100% done?.md', 'empty-local'];
  for (const name of names) await writeAt(car.local(name), name === 'empty-local' ? '' : name, secondsFromNow(-60));
  await s3().putText(car.bucket, car.key('remote dir/é + é.txt'), 'remote odd');
  await s3().putText(car.bucket, car.key('empty-remote'), '');

  assert.deepEqual(counts(await car.initial()), { uploaded: 4, downloaded: 2 });
  for (const name of names) assert.equal(await s3().getText(car.bucket, car.key(name)), name === 'empty-local' ? '' : name);
  assert.equal((await localFile(car.local('remote dir/é + é.txt')))?.text, 'remote odd');
  assert.equal((await localFile(car.local('empty-remote')))?.text, '');
  assert.deepEqual(counts(await car.tick()), {}, 'the names map back to the same paths: nothing left to do');
});

test('remote objects are downloaded into nested folders with mtime = LastModified', async () => {
  const car = await startSidecar(s3());
  await s3().putText(car.bucket, car.key('top.txt'), 'top');
  await s3().putText(car.bucket, car.key('a/b/c/deep.bin'), Buffer.from([0, 1, 2, 255]));
  // Outside the prefix: never touched.
  await s3().putText(car.bucket, 'other/x.txt', 'not ours');
  await s3().putText(car.bucket, 'apple.txt', 'not ours either');

  const summary = await car.initial();

  assert.deepEqual(counts(summary), { downloaded: 2 });
  assert.equal(summary.bytesDown, 3 + 4);
  for (const [path, bytes] of [
    ['top.txt', Buffer.from('top')],
    ['a/b/c/deep.bin', Buffer.from([0, 1, 2, 255])],
  ] as const) {
    const file = await localFile(car.local(path));
    assert.deepEqual(file?.bytes, bytes, path);
    const head = await s3().head(car.bucket, car.key(path));
    assert.equal(file?.mtimeMs, head?.LastModified?.getTime(), `${path}: mtime is the object's LastModified`);
  }
  assert.equal(await localFile(car.local('x.txt')), null);
  assert.equal(await car.metric('s3sync2_files_total', { direction: 'down', action: 'download' }), 2);
});

test('after a baseline, a change on either side travels to the other; an idle tick does nothing', async () => {
  const car = await startSidecar(s3());
  await writeAt(car.local('mine.txt'), 'v1', secondsFromNow(-120));
  await s3().putText(car.bucket, car.key('theirs.txt'), 'r1');
  assert.deepEqual(counts(await car.initial()), { uploaded: 1, downloaded: 1 });

  const idle = await car.tick();
  assert.deepEqual(counts(idle), {});

  await writeAt(car.local('mine.txt'), 'v2 local edit', secondsFromNow(-60));
  await s3().putText(car.bucket, car.key('theirs.txt'), 'r2 remote edit');
  const summary = await car.tick();

  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { uploaded: 1, downloaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('mine.txt')), 'v2 local edit');
  const theirs = await localFile(car.local('theirs.txt'));
  assert.equal(theirs?.text, 'r2 remote edit');
  assert.equal(theirs?.mtimeMs, (await s3().head(car.bucket, car.key('theirs.txt')))?.LastModified?.getTime());
  // Same size, new mtime only: still a change (the content differs).
  await writeAt(car.local('mine.txt'), 'v3 local edit', secondsFromNow(-30));
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('mine.txt')), 'v3 local edit');
  assert.deepEqual(counts(await car.tick()), {});
});

test('a 20 MiB file goes multipart and comes back byte-identical in another folder', async () => {
  const bucket = await s3().newBucket();
  const writer = await startSidecar(s3(), { bucket });
  const bytes = randomBytes(20 * 1024 * 1024);
  await writeAt(writer.local('big/blob.bin'), bytes, secondsFromNow(-60));

  const up = await writer.initial();
  assert.deepEqual(counts(up), { uploaded: 1 });
  assert.equal(up.bytesUp, bytes.length);
  const head = await s3().head(bucket, writer.key('big/blob.bin'));
  assert.match(head?.ETag ?? '', /^"[0-9a-f]{32}-3"$/, 'a multipart ETag (8 MiB parts)');
  assert.ok((await s3().getBuffer(bucket, writer.key('big/blob.bin'))).equals(bytes));

  const reader = await startSidecar(s3(), { bucket });
  const down = await reader.initial();
  assert.deepEqual(counts(down), { downloaded: 1 });
  const copy = await localFile(reader.local('big/blob.bin'));
  assert.ok(copy?.bytes.equals(bytes), 'downloaded bytes equal the original');
  assert.equal(copy?.mtimeMs, head?.LastModified?.getTime());
  // Both sides now agree: the writer's next tick hashes nothing new and transfers nothing.
  assert.deepEqual(counts(await writer.tick()), {});
  assert.deepEqual(counts(await reader.tick()), {});
});

test('--only-up never downloads and --only-down never uploads', async () => {
  const bucket = await s3().newBucket();
  await s3().putText(bucket, 'app/remote.txt', 'remote');

  const up = await startSidecar(s3(), { bucket, flags: ['--only-up'] });
  await writeAt(up.local('local-up.txt'), 'local', secondsFromNow(-60));
  assert.deepEqual(counts(await up.initial()), { uploaded: 1 });
  assert.equal(await localFile(up.local('remote.txt')), null);
  await assert.rejects(up.app.syncer.requestSync('down'), /disabled by --only-up/);

  const down = await startSidecar(s3(), { bucket, flags: ['--only-down'] });
  await writeAt(down.local('local-down.txt'), 'local', secondsFromNow(-60));
  assert.deepEqual(counts(await down.initial()), { downloaded: 2 });
  assert.equal((await localFile(down.local('remote.txt')))?.text, 'remote');
  assert.equal((await localFile(down.local('local-up.txt')))?.text, 'local');
  assert.deepEqual(await s3().keys(bucket), ['app/local-up.txt', 'app/remote.txt']);
  await assert.rejects(down.app.syncer.requestSync('up'), /disabled by --only-down/);
});

test('a one-direction tick leaves the other direction for later', async () => {
  const car = await startSidecar(s3());
  await car.initial();
  await writeAt(car.local('later-up.txt'), 'L', secondsFromNow(-60));
  await s3().putText(car.bucket, car.key('later-down.txt'), 'R');

  assert.deepEqual(counts(await car.app.syncer.requestSync('down')), { downloaded: 1 });
  assert.equal(await s3().head(car.bucket, car.key('later-up.txt')), null);

  assert.deepEqual(counts(await car.app.syncer.requestSync('up')), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('later-up.txt')), 'L');
  assert.deepEqual(counts(await car.tick()), {});
});

test('--dryrun changes nothing on either side, and the next real run is still a first sync', async () => {
  const bucket = await s3().newBucket();
  const dry = await startSidecar(s3(), { bucket, flags: ['--dryrun', '--delete', '--init-sync-down'] });
  await writeAt(dry.local('only-local.txt'), 'L', secondsFromNow(-60));
  // Same path on both sides, the local copy newer: only init-sync-down makes the remote win it.
  await s3().putText(bucket, dry.key('both.txt'), 'remote version');
  await writeAt(dry.local('both.txt'), 'local version, newer', secondsFromNow(3600));
  await s3().putText(bucket, dry.key('only-remote.txt'), 'R');

  const summary = await dry.initial();
  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { dryrun: 3 }, 'nothing was done: a delete and two downloads only logged');
  assert.deepEqual(await s3().keys(bucket), [dry.key('both.txt'), dry.key('only-remote.txt')]);
  assert.equal(await s3().getText(bucket, dry.key('both.txt')), 'remote version');
  assert.equal((await localFile(dry.local('both.txt')))?.text, 'local version, newer');
  assert.equal(await localFile(dry.local('only-remote.txt')), null);
  assert.equal((await localFile(dry.local('only-local.txt')))?.text, 'L');
  assert.ok(dry.logged('(dryrun)').length >= 3, 'each skipped action is logged as (dryrun)');
  await dry.close();

  const real = await startSidecar(s3(), { bucket, dir: dry.dir, stateDir: dry.stateDir, flags: ['--delete', '--init-sync-down'] });
  const after = await real.initial();
  assert.equal(after.outcome, 'success');
  // init-sync-down (not three-way over an empty baseline): the remote wins and local-only goes.
  assert.equal((await localFile(real.local('both.txt')))?.text, 'remote version');
  assert.equal(await localFile(real.local('only-local.txt')), null);
  assert.equal((await localFile(real.local('only-remote.txt')))?.text, 'R');
  assert.deepEqual(await s3().keys(bucket), [dry.key('both.txt'), dry.key('only-remote.txt')]);
});

test('--init-sync-down --delete --sync-opt-up-dryrun: the first sync is saved, so a file the app creates later is not deleted as local-only', async () => {
  const car = await startSidecar(s3(), { flags: ['--init-sync-down', '--delete', '--sync-opt-up-dryrun'] });
  await s3().putText(car.bucket, car.key('r.txt'), 'R');
  assert.deepEqual(counts(await car.initial()), { downloaded: 1 });

  await writeAt(car.local('new-by-the-app.txt'), 'app data', secondsFromNow(-10));
  const later = await car.tick();

  assert.deepEqual(counts(later), { dryrun: 1 }, 'its upload is only logged (dry), nothing deleted');
  assert.equal((await localFile(car.local('new-by-the-app.txt')))?.text, 'app data');
});

test('--sync-opt-up-dryrun: what both sides agree on is still recorded, so a later remote edit comes down instead of meeting a stale conflict', async () => {
  const bucket = await s3().newBucket();
  const first = await startSidecar(s3(), { bucket });
  await writeAt(first.local('doc.txt'), 'v1', secondsFromNow(-600));
  await first.initial();
  await first.close();

  const car = await startSidecar(s3(), { bucket, dir: first.dir, stateDir: first.stateDir, flags: ['--sync-opt-up-dryrun', '--conflict', 'local'] });
  await car.initial();
  // Two tasks write the same new bytes: only recorded, whatever is dry.
  await writeAt(car.local('doc.txt'), 'v2 on both', secondsFromNow(-300));
  await s3().putText(bucket, car.key('doc.txt'), 'v2 on both');
  assert.deepEqual(counts(await car.tick()), {});
  // Then only the remote changes: a download, not a conflict the local side would win (dry).
  await s3().putText(bucket, car.key('doc.txt'), 'v3 from another task');
  const summary = await car.tick();

  assert.deepEqual(counts(summary), { downloaded: 1 });
  assert.equal((await localFile(car.local('doc.txt')))?.text, 'v3 from another task');
});

/** A sidecar with one local-only and one remote-only file, after its initial sync with `flags`. */
async function transferLogs(flags: readonly string[]): Promise<(msg: string) => number> {
  const car = await startSidecar(s3(), { flags });
  await writeAt(car.local('up.txt'), 'U', secondsFromNow(-60));
  await s3().putText(car.bucket, car.key('down.txt'), 'D');
  assert.equal((await car.initial()).outcome, 'success');
  await car.close();
  return (msg) => car.logs.filter((l) => l.msg === msg).length;
}

test('--quiet and --only-show-errors silence the transfer lines of their own direction only', async () => {
  for (const flag of ['quiet', 'only-show-errors']) {
    const downQuiet = await transferLogs([`--sync-opt-down-${flag}`]);
    assert.equal(downQuiet('upload: up.txt'), 1, `--sync-opt-down-${flag} leaves upload lines`);
    assert.equal(downQuiet('download: down.txt'), 0, `--sync-opt-down-${flag} silences download lines`);
    const upQuiet = await transferLogs([`--sync-opt-up-${flag}`]);
    assert.equal(upQuiet('upload: up.txt'), 0, `--sync-opt-up-${flag} silences upload lines`);
    assert.equal(upQuiet('download: down.txt'), 1, `--sync-opt-up-${flag} leaves download lines`);
  }
});

test('--dryrun with --quiet logs no (dryrun) lines for that direction; --only-show-errors keeps them, as aws does', async () => {
  const downQuiet = await transferLogs(['--dryrun', '--sync-opt-down-quiet']);
  assert.equal(downQuiet('(dryrun) upload: up.txt'), 1);
  assert.equal(downQuiet('(dryrun) download: down.txt'), 0);
  const upQuiet = await transferLogs(['--dryrun', '--sync-opt-up-quiet']);
  assert.equal(upQuiet('(dryrun) upload: up.txt'), 0);
  assert.equal(upQuiet('(dryrun) download: down.txt'), 1);
  const errorsOnly = await transferLogs(['--dryrun', '--only-show-errors']);
  assert.equal(errorsOnly('(dryrun) upload: up.txt') + errorsOnly('(dryrun) download: down.txt'), 2);
});

test('--page-size sets the keys per listing page; per direction, the smaller one serves the shared listing', async () => {
  const car = await startSidecar(s3(), { flags: ['--page-size', '3', '--sync-opt-down-page-size', '2'] });
  for (let i = 0; i < 5; i++) await s3().putText(car.bucket, car.key(`f${i}.txt`), 'x');
  assert.deepEqual(counts(await car.initial()), { downloaded: 5 });
  const before = car.app.bucket.requestCount;
  await car.app.bucket.list(car.prefix);
  assert.equal(car.app.bucket.requestCount - before, 3, 'pages of 2, 2 and 1');
});

test('status and s3sync2_tracked_files count what each side holds after the tick, not what the scans saw before it', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await writeAt(car.local('a.txt'), 'a', secondsFromNow(-60));
  await writeAt(car.local('b.txt'), 'b', secondsFromNow(-60));
  await s3().putText(car.bucket, car.key('r.txt'), 'r');
  assert.deepEqual(counts(await car.initial()), { uploaded: 2, downloaded: 1 });
  const status = car.app.syncer.status();
  assert.equal(status.localFiles, 3);
  assert.equal(status.remoteFiles, 3);
  assert.equal(await car.metric('s3sync2_tracked_files', { side: 'remote' }), 3);

  await rm(car.local('a.txt'));
  assert.deepEqual(counts(await car.tick()), { deletedRemote: 1 });
  assert.equal(car.app.syncer.status().localFiles, 2);
  assert.equal(car.app.syncer.status().remoteFiles, 2);
  assert.equal(await car.metric('s3sync2_tracked_files', { side: 'local' }), 2);
});
