/**
 * LocalSnapshotSource: when a tick may reuse the last scan. Fake trees count the scans and hand
 * out a watcher whose initial crawl ends when the test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalSnapshotSource } from '../../src/local/snapshot.js';
import type { LocalTree } from '../../src/local/tree.js';

function fakeTree() {
  let endCrawl = (): void => undefined;
  let report = (_path: string): void => undefined;
  let fail = (_err: Error): void => undefined;
  const tree = {
    scans: 0,
    /** Set: every scan fails with it (LocalPath gone). */
    scanError: null as Error | null,
    async scan() {
      tree.scans += 1;
      if (tree.scanError) throw tree.scanError;
      return { entries: new Map(), skipped: [] };
    },
    watch(onChange: (path: string) => void, onError: (err: Error) => void) {
      report = onChange;
      fail = onError;
      return {
        ready: new Promise<void>((resolve) => (endCrawl = resolve)),
        close: async () => {
          tree.watcherClosed = true;
        },
      };
    },
    watcherClosed: false,
  };
  return { tree, endCrawl: () => endCrawl(), change: (path: string) => report(path), fail: (err: Error) => fail(err) };
}

/** A snapshot source on a fake tree, watching; `errors` collects what it reports of its watcher. */
function watchedSource() {
  const fake = fakeTree();
  const asTree = fake.tree as unknown as LocalTree;
  const source = new LocalSnapshotSource({ fullTree: asTree, quickTree: asTree, skipPaths: [], rescanIntervalMs: 3600_000 });
  const errors: string[] = [];
  source.watch(() => undefined, (err) => errors.push(err.message));
  return { ...fake, source, errors };
}

test('snapshot: every tick scans until the watcher has finished its crawl, then only after a change or a watcher failure', async () => {
  const { tree, endCrawl, change, fail } = fakeTree();
  const asTree = tree as unknown as LocalTree;
  const source = new LocalSnapshotSource({ fullTree: asTree, quickTree: asTree, skipPaths: [], rescanIntervalMs: 3600_000 });
  assert.equal((await source.snapshot(false)).scanned, true);
  const errors: string[] = [];
  source.watch(() => undefined, (err) => errors.push(err.message));
  // Crawling: a change now could go unreported, so the tick reads the folder.
  assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal((await source.snapshot(false)).scanned, true);
  endCrawl();
  await new Promise((r) => setImmediate(r));
  // One scan covers whatever changed before the crawl ended; after it, nothing changed.
  assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal((await source.snapshot(false)).scanned, false);
  change('a.txt');
  assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal((await source.snapshot(false)).scanned, false);
  // A watcher failure may have lost an event: the next tick scans, and the caller hears of it.
  fail(Object.assign(new Error("EACCES: permission denied, watch '/data/private'"), { code: 'EACCES' }));
  assert.deepEqual(errors, ["EACCES: permission denied, watch '/data/private' (the next tick scans the folder)"]);
  assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal((await source.snapshot(false)).scanned, false);
  assert.equal(tree.scans, 6);
  await source.close();
  assert.equal((await source.snapshot(false)).scanned, true);
});

test('snapshot: a watcher out of inotify watches is closed and never trusted again: every tick scans, one error said', async () => {
  const { tree, endCrawl, fail, source, errors } = watchedSource();
  // The crawl runs out of watches: one error per file it could not watch.
  for (let i = 0; i < 3; i++) fail(Object.assign(new Error('ENOSPC: System limit for number of file watchers reached'), { code: 'ENOSPC' }));
  endCrawl();
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^ENOSPC: .*: the watcher is stopped and every tick scans the folder \(raise fs\.inotify\.max_user_watches/);
  assert.equal(tree.watcherClosed, true, 'its watches are given back');
  const before = tree.scans;
  for (let i = 0; i < 3; i++) assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal(tree.scans, before + 3);
  await source.close();
});

test('snapshot: a watcher that runs out of descriptors after its crawl (a new folder, say) stops being trusted too', async () => {
  const { tree, endCrawl, fail, source, errors } = watchedSource();
  endCrawl();
  await new Promise((r) => setImmediate(r));
  await source.snapshot(false);
  assert.equal((await source.snapshot(false)).scanned, false, 'trusted while it works');
  fail(Object.assign(new Error("EMFILE: too many open files, watch '/data/new'"), { code: 'EMFILE' }));
  assert.deepEqual(errors, [
    "EMFILE: too many open files, watch '/data/new': the watcher is stopped and every tick scans the folder (raise the open-file limit (ulimit -n) or fs.inotify.max_user_instances)",
  ]);
  assert.equal(tree.watcherClosed, true);
  for (let i = 0; i < 3; i++) assert.equal((await source.snapshot(false)).scanned, true);
  await source.close();
});

test('snapshot: a scan that fails is not followed by the last good one: the next ticks scan (and fail) until the folder is readable again', async () => {
  const { tree, endCrawl, change } = fakeTree();
  const asTree = tree as unknown as LocalTree;
  const source = new LocalSnapshotSource({ fullTree: asTree, quickTree: asTree, skipPaths: [], rescanIntervalMs: 3600_000 });
  source.watch(() => undefined);
  endCrawl();
  await new Promise((r) => setImmediate(r));
  await source.snapshot(false);
  assert.equal((await source.snapshot(false)).scanned, false);
  // LocalPath removed: the watcher reports it, the scan fails.
  tree.scanError = new Error("scan /data: ENOENT: no such file or directory, lstat '/data'");
  change('');
  await assert.rejects(source.snapshot(false), /ENOENT/);
  await assert.rejects(source.snapshot(false), /ENOENT/, 'the next tick fails too, not served the old scan');
  await assert.rejects(source.snapshot(true), /ENOENT/);
  await assert.rejects(source.snapshot(false), /ENOENT/);
  tree.scanError = null;
  assert.equal((await source.snapshot(false)).scanned, true);
  assert.equal((await source.snapshot(false)).scanned, false);
  await source.close();
});

test('snapshot: a rescan that finds every file as it was gives the same entries (the same map), any change a new one', async () => {
  const { tree } = fakeTree();
  let files: [string, { size: number; mtimeMs: number; ctimeMs: number }][] = [['a.txt', { size: 1, mtimeMs: 1000, ctimeMs: 1000 }]];
  tree.scan = async () => {
    tree.scans += 1;
    return { entries: new Map(files.map(([path, entry]) => [path, { ...entry }])), skipped: [] };
  };
  const asTree = tree as unknown as LocalTree;
  const source = new LocalSnapshotSource({ fullTree: asTree, quickTree: asTree, skipPaths: [], rescanIntervalMs: 0 });
  const first = await source.snapshot(true);
  const again = await source.snapshot(true);
  assert.equal(tree.scans, 2);
  assert.equal(again.entries, first.entries);
  // A rewrite that kept size and mtime still moved the ctime.
  files = [['a.txt', { size: 1, mtimeMs: 1000, ctimeMs: 2000 }]];
  const touched = await source.snapshot(true);
  assert.notEqual(touched.entries, first.entries);
  assert.equal(touched.entries.get('a.txt')?.ctimeMs, 2000);
  files = [...files, ['b.txt', { size: 1, mtimeMs: 1000, ctimeMs: 1000 }]];
  assert.notEqual((await source.snapshot(true)).entries, touched.entries);
});
