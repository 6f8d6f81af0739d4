import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LocalTree } from '../../src/local/tree.js';
import { createMetrics } from '../../src/metrics.js';
import type { Bucket } from '../../src/remote/types.js';
import { Executor } from '../../src/sync/executor.js';
import { RACY_CTIME, type Action, type BaselineEntry } from '../../src/sync/types.js';
import { put } from '../local/fixtures.js';
import { directionDefaults } from '../helpers/direction.js';
import { tempDir } from '../helpers/tmp.js';

const direction = directionDefaults({ guessMimeType: false });

test('a keep-both whose copy name a download would refuse is skipped before anything is written', async () => {
  const root = await tempDir('executor');
  await put(root, 'doc.txt', 'local edit');
  const calls: string[] = [];
  // Any use of the bucket is a write (or a read leading to one) the guard should have prevented.
  const bucket = new Proxy({} as Bucket, {
    get: (_target, name) =>
      name === 'maxCopyBytes' ? 5 * 1024 ** 3 : () => {
        calls.push(String(name));
        throw new Error(`bucket.${String(name)} called`);
      },
  });
  const metrics = createMetrics({ withDefaults: false });
  const executor = new Executor({
    bucket,
    tree: new LocalTree(root, { followSymlinks: false, skipPaths: [] }),
    prefix: 'p',
    up: direction,
    down: direction,
    concurrency: 2,
    metrics,
    logger: pino({ level: 'silent' }),
  });
  const conflictPath = `${'n'.repeat(260)}.txt`;
  const actions: Action[] = [
    { kind: 'keep-both', path: 'doc.txt', reason: 'conflict', winner: 'local', conflictPath, expectEtag: 'e2' },
    { kind: 'keep-both-up', path: 'doc.txt', reason: 'conflict', conflictPath, baseEtag: 'e0' },
  ];
  for (const action of actions) {
    const state = {
      local: new Map([['doc.txt', { size: 10, mtimeMs: 3000, ctimeMs: 3000 }]]),
      remote: new Map([['doc.txt', { size: 13, etag: 'e2', lastModifiedMs: 2000 }]]),
      baseline: new Map([['doc.txt', { size: 10, mtimeMs: 1000, etag: 'e0' }]]),
      localStatsFromMs: Date.now(),
      hashStartedMs: new Map<string, number>(),
    };
    const result = await executor.execute([action], state);
    assert.deepEqual(calls, [], action.kind);
    assert.deepEqual(result.errors, []);
    assert.equal(result.counts.skipped, 1);
    assert.deepEqual(result.changedKeys, []);
    assert.deepEqual([...state.baseline.keys()], ['doc.txt']);
  }
  const skipped = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 's3sync2_skipped_keys_total');
  assert.equal(skipped?.values.find((v) => v.labels.reason === 'unsafe')?.value, 2);
});

test('record: racy by the read that found the file unchanged (its hash, else the scan\'s stat), not by the time of the record', async () => {
  const root = await tempDir('executor');
  const executor = new Executor({
    // A record writes nothing anywhere.
    bucket: new Proxy({} as Bucket, { get: () => () => assert.fail('no bucket call') }),
    tree: new LocalTree(root, { followSymlinks: false, skipPaths: [] }),
    prefix: 'p',
    up: direction,
    down: direction,
    concurrency: 2,
    metrics: createMetrics({ withDefaults: false }),
    logger: pino({ level: 'silent' }),
  });
  const ctimeMs = Date.now() - 60_000;
  const paths = ['hashed-soon-after', 'hashed-long-after', 'stat-soon-after', 'stat-long-after'];
  const state = {
    local: new Map(paths.map((path) => [path, { size: 10, mtimeMs: ctimeMs, ctimeMs }])),
    remote: new Map(paths.map((path) => [path, { size: 10, etag: 'e1', lastModifiedMs: ctimeMs }])),
    baseline: new Map<string, BaselineEntry>(),
    // A scan reused from long ago for the hashed ones, which were read since.
    localStatsFromMs: ctimeMs - 30_000,
    hashStartedMs: new Map([
      ['hashed-soon-after', ctimeMs + 50],
      ['hashed-long-after', ctimeMs + 5_000],
    ]),
  };
  const records: Action[] = paths.map((path) => ({ kind: 'record', path, reason: 'same-content' }));
  await executor.execute(records.slice(0, 2), state);
  await executor.execute(records.slice(2, 3), { ...state, localStatsFromMs: ctimeMs + 50 });
  await executor.execute(records.slice(3), { ...state, localStatsFromMs: ctimeMs + 5_000 });
  assert.deepEqual(
    Object.fromEntries([...state.baseline].map(([path, entry]) => [path, entry.ctimeMs === RACY_CTIME ? 'racy' : entry.ctimeMs === ctimeMs ? 'its ctime' : entry.ctimeMs])),
    { 'hashed-soon-after': 'racy', 'hashed-long-after': 'its ctime', 'stat-soon-after': 'racy', 'stat-long-after': 'its ctime' },
  );
});
