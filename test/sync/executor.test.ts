import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LocalTree } from '../../src/local/tree.js';
import { createMetrics } from '../../src/metrics.js';
import type { Bucket } from '../../src/remote/types.js';
import { Executor } from '../../src/sync/executor.js';
import type { Action } from '../../src/sync/types.js';
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
