/**
 * --exclude / --include in the engine on a real bucket (moto): both directions, per direction, never
 * deleting what a filter hides, and the same selection as `aws s3 sync --dryrun` for the same rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { awsEnv, useS3 } from '../helpers/s3.js';
import { counts, filesUnder, localFile, secondsFromNow, startSidecar, writeAt } from '../helpers/sidecar.js';
import { tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const s3 = useS3();

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  return (await s3().keys(bucket, `${prefix}/`)).map((k) => k.slice(prefix.length + 1));
}

test("--exclude '*.tmp' keeps matching files out of both directions, and never deletes them (--delete)", async () => {
  const car = await startSidecar(s3(), { flags: ['--exclude', '*.tmp', '--delete'] });
  await writeAt(car.local('doc.txt'), 'doc', secondsFromNow(-120));
  await writeAt(car.local('scratch.tmp'), 'local scratch', secondsFromNow(-120));
  await writeAt(car.local('deep/er/x.tmp'), 'deep scratch', secondsFromNow(-120));
  await s3().putText(car.bucket, car.key('remote.txt'), 'remote');
  await s3().putText(car.bucket, car.key('remote.tmp'), 'remote scratch');

  assert.deepEqual(counts(await car.initial()), { uploaded: 1, downloaded: 1 });
  assert.deepEqual(await keysUnder(car.bucket, 'app'), ['doc.txt', 'remote.tmp', 'remote.txt']);
  assert.deepEqual(await filesUnder(car.dir), ['deep/er/x.tmp', 'doc.txt', 'remote.txt', 'scratch.tmp']);

  // Edits and deletes of excluded files travel nowhere; a delete of an included one does.
  await writeAt(car.local('scratch.tmp'), 'edited scratch', secondsFromNow(-60));
  await rm(car.local('deep/er/x.tmp'));
  await rm(car.local('doc.txt'));
  assert.deepEqual(counts(await car.tick()), { deletedRemote: 1 });
  assert.deepEqual(await keysUnder(car.bucket, 'app'), ['remote.tmp', 'remote.txt']);
  assert.deepEqual(await filesUnder(car.dir), ['remote.txt', 'scratch.tmp']);
});

test("--sync-opt-up-exclude 'cache/*': local cache files stay local, remote cache files still come down", async () => {
  const car = await startSidecar(s3(), { flags: ['--sync-opt-up-exclude', 'cache/*'] });
  await writeAt(car.local('cache/local-only.bin'), 'local cache', secondsFromNow(-120));
  await writeAt(car.local('data.txt'), 'data', secondsFromNow(-120));
  await s3().putText(car.bucket, car.key('cache/shared.bin'), 'remote cache');

  assert.deepEqual(counts(await car.initial()), { uploaded: 1, downloaded: 1 });
  assert.deepEqual(await keysUnder(car.bucket, 'app'), ['cache/shared.bin', 'data.txt']);
  assert.equal((await localFile(car.local('cache/shared.bin')))?.text, 'remote cache');

  // A newer remote version still comes down; local cache files still stay.
  await s3().putText(car.bucket, car.key('cache/shared.bin'), 'remote cache v2');
  await writeAt(car.local('cache/another.bin'), 'more local cache', secondsFromNow(-60));
  assert.deepEqual(counts(await car.tick()), { downloaded: 1 });
  assert.equal((await localFile(car.local('cache/shared.bin')))?.text, 'remote cache v2');
  assert.deepEqual(await keysUnder(car.bucket, 'app'), ['cache/shared.bin', 'data.txt']);
});

const TREE = [
  'a.txt',
  'a.tmp',
  'keep/x.tmp',
  'keep/deep/y.tmp',
  'logs/today.log',
  'logs/old/yesterday.txt',
  'docs/readme.md',
  'dir with space/file name.txt',
];
const RULES = ['--exclude', '*.tmp', '--include', 'keep/*.tmp', '--exclude', 'logs/*', '--include', 'logs/old/*'];

/** The relative paths `aws s3 sync --dryrun` would transfer between `local` and `s3Uri`, in `verb`'s direction. */
async function awsSelects(local: string, s3Uri: string, verb: 'upload' | 'download'): Promise<string[]> {
  const [from, to] = verb === 'upload' ? [local, s3Uri] : [s3Uri, local];
  const { stdout } = await run('aws', ['s3', 'sync', from, to, '--dryrun', '--endpoint-url', s3().endpoint, ...RULES], {
    env: { ...process.env, ...awsEnv(s3().endpoint) },
  });
  // aws prints local paths relative to its working folder; the S3 side is exact.
  const lines = stdout.split('\n').filter((line) => line.startsWith(`(dryrun) ${verb}: `));
  const paths =
    verb === 'upload'
      ? lines.map((line) => line.slice(line.lastIndexOf(` to ${s3Uri}/`) + ` to ${s3Uri}/`.length))
      : lines.map((line) => line.slice(`(dryrun) download: ${s3Uri}/`.length, line.lastIndexOf(' to ')));
  return paths.sort();
}

test('the engine selects what `aws s3 sync --dryrun` selects for the same rules, up and down', async () => {
  const bucket = await s3().newBucket();
  const up = await startSidecar(s3(), { bucket, prefix: 'up', flags: RULES });
  for (const path of TREE) await writeAt(up.local(path), path, secondsFromNow(-120));
  const awsUp = await awsSelects(up.dir, `s3://${bucket}/aws-up`, 'upload');
  await up.initial();
  assert.deepEqual(await keysUnder(bucket, 'up'), awsUp);
  assert.ok(awsUp.length > 2 && awsUp.length < TREE.length, `the rules select some: ${awsUp.join(', ')}`);

  for (const path of TREE) await s3().putText(bucket, `down/${path}`, path);
  const empty = await tempDir('engine-aws-down');
  const awsDown = await awsSelects(empty, `s3://${bucket}/down`, 'download');
  const down = await startSidecar(s3(), { bucket, prefix: 'down', flags: RULES });
  await down.initial();
  assert.deepEqual(await filesUnder(down.dir), awsDown);
  assert.deepEqual(awsDown, awsUp);
});
