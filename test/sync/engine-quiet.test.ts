/**
 * Quiet ticks (see src/sync/quiet-tick.ts): a tick that sees the listing, the folder and the
 * baseline exactly as a tick of its kind that did nothing left them plans nothing; any change on
 * either side still reaches the next tick.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RACY_WINDOW_MS } from '../../src/sync/types.js';
import { useS3 } from '../helpers/s3.js';
import { counts, LEVEL, localFile, secondsFromNow, startSidecar, writeAt } from '../helpers/sidecar.js';
import { UnreadableToScan } from '../helpers/unreadable-tree.js';

const s3 = useS3();
const NOT_PLANNED = 'as the last quiet tick saw them: nothing to plan';

test('quiet ticks skip planning; a remote change, a rewrite keeping size and mtime, and a delete each still sync', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  // A folder marker (the S3 console's) is a skip the listing reports every tick: no obstacle.
  await s3().putText(car.bucket, car.key('folder/'), '');
  await writeAt(car.local('a.txt'), 'one', secondsFromNow(-60));
  await writeAt(car.local('b.txt'), 'two', secondsFromNow(-60));
  await writeAt(car.local('c.txt'), 'three', secondsFromNow(-60));
  // Files written this close to the read that records them are hashed again next tick (racy
  // ctimes, see RACY_WINDOW_MS): a tick that hashes is not a quiet one.
  await sleep(RACY_WINDOW_MS + 50);
  assert.deepEqual(counts(await car.initial()), { uploaded: 3 });
  const skipped = (): number => car.logged(NOT_PLANNED, LEVEL.debug).length;

  // The first tick after the initial sync plans (the initial sync changed the baseline) and finds nothing; the next ones skip.
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal(skipped(), 0);
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal(skipped(), 2);
  assert.equal(await car.metric('s3sync2_tracked_files', { side: 'remote' }), 3);
  assert.equal(await car.metric('s3sync2_skipped_keys_total', { reason: 'folder-marker' }), 4, 'still counted every tick');
  // Ticks of another kind (/sync/up, the watcher's up ticks) keep a quiet record of their own.
  assert.deepEqual(counts(await car.tick('up')), {});
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(counts(await car.tick('up')), {});
  assert.equal(skipped(), 4);

  await s3().putText(car.bucket, car.key('a.txt'), 'ONE');
  assert.deepEqual(counts(await car.tick()), { downloaded: 1 });
  assert.equal((await localFile(car.local('a.txt')))?.text, 'ONE');

  // Only the ctime tells this rewrite apart: the folder is not the one the quiet tick saw.
  assert.deepEqual(counts(await car.tick()), {});
  const { mtime } = await stat(car.local('b.txt'));
  await writeFile(car.local('b.txt'), 'TWO');
  await utimes(car.local('b.txt'), mtime, mtime);
  assert.deepEqual(counts(await car.tick()), { uploaded: 1 });
  assert.equal(await s3().getText(car.bucket, car.key('b.txt')), 'TWO');

  assert.deepEqual(counts(await car.tick()), {});
  await rm(car.local('c.txt'));
  assert.deepEqual(counts(await car.tick()), { deletedRemote: 1 });
  assert.deepEqual(await s3().keys(car.bucket), [car.key('a.txt'), car.key('b.txt'), car.key('folder/')]);
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal(await car.metric('s3sync2_tracked_files', { side: 'remote' }), 2);
  assert.equal(await car.metric('s3sync2_tracked_files', { side: 'local' }), 2);
});

test('a tick with a folder it cannot read is never a quiet one: its files deleted meanwhile are deleted remotely once it is readable', async () => {
  let made: UnreadableToScan | undefined;
  const car = await startSidecar(s3(), { flags: ['--delete'], makeTree: (root, options) => (made ??= new UnreadableToScan(root, options)) });
  await writeAt(car.local('data/a.txt'), 'a', secondsFromNow(-60));
  await writeAt(car.local('data/b.txt'), 'b', secondsFromNow(-60));
  // Enough files beside it that deleting the folder's two stays under --max-delete's 50%.
  for (const name of ['top1', 'top2', 'top3']) await writeAt(car.local(`${name}.txt`), name, secondsFromNow(-60));
  await sleep(RACY_WINDOW_MS + 50);
  assert.deepEqual(counts(await car.initial()), { uploaded: 5 });
  assert.deepEqual(counts(await car.tick()), {});

  made!.unreadable = { path: 'data', folder: true };
  assert.deepEqual(counts(await car.tick()), {});
  assert.deepEqual(counts(await car.tick()), {});
  // Readable again with its files gone: the folder shows the same files as while it was hidden.
  await rm(car.local('data'), { recursive: true });
  made!.unreadable = null;
  assert.deepEqual(counts(await car.tick()), { deletedRemote: 2 });
  assert.deepEqual(await s3().keys(car.bucket), [car.key('top1.txt'), car.key('top2.txt'), car.key('top3.txt')]);
});
