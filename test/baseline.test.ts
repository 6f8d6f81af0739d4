import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BaselineStore, type BaselineIdentity } from '../src/baseline.js';
import { JournaledBaseline } from '../src/baseline-journal.js';
import { RACY_CTIME, type BaselineEntry } from '../src/sync/types.js';
import { tempDir } from './helpers/tmp.js';

const identity: BaselineIdentity = { bucket: 'b', prefix: 'p/q', localPath: '/data' };

const sample = (): Map<string, BaselineEntry> =>
  new Map([
    ['a.txt', { size: 5, mtimeMs: 1_700_000_000_123.456, etag: 'd41d8cd98f00b204e9800998ecf8427e' }],
    ['dir/ünï€ode "quoted".bin', { size: 20 * 1024 * 1024, mtimeMs: 1, etag: '0123456789abcdef0123456789abcdef-3' }],
    ['with-ctime.txt', { size: 3, mtimeMs: 1_700_000_000_000, etag: 'e1', ctimeMs: 1_700_000_000_456.789 }],
    ['racy.txt', { size: 3, mtimeMs: 1_700_000_000_000, etag: 'e2', ctimeMs: RACY_CTIME }],
  ]);

test('no baseline yet: entries null, reason missing; the state dir is created on save', async () => {
  const stateDir = join(await tempDir('state'), 'nested/state');
  const store = new BaselineStore(stateDir, identity);
  assert.equal(await store.load(), null);
  const loaded = await store.loadWithReason();
  assert.equal(loaded.entries, null);
  assert.equal(loaded.reason, 'missing');
  await store.save(new Map());
  assert.deepEqual(await store.load(), new Map());
});

test('round trip keeps every field exactly, including fractional mtimes', async () => {
  const store = new BaselineStore(await tempDir('state'), identity);
  await store.save(sample());
  const again = new BaselineStore(store.file.replace(/\/[^/]+$/, ''), { ...identity });
  assert.deepEqual(await again.load(), sample());
  assert.equal((await again.loadWithReason()).reason, null);
});

test('ctimes are kept beside the rows, so a build from before them still reads the file; a file without them loads with none', async () => {
  const store = new BaselineStore(await tempDir('state'), identity);
  await store.save(sample());
  const saved = JSON.parse(await readFile(store.file, 'utf8')) as { version: number; entries: unknown[][]; ctimes: unknown[] };
  assert.equal(saved.version, 1);
  assert.ok(saved.entries.every((row) => row.length === 4), 'rows of four, as every earlier build reads them');
  assert.deepEqual(saved.ctimes, [null, null, 1_700_000_000_456.789, RACY_CTIME]);

  // As an earlier build writes it (or rewrites it after a rollback): no ctimes.
  const { ctimes: _dropped, ...older } = saved;
  await writeFile(store.file, JSON.stringify(older));
  const loaded = await store.load();
  assert.equal(loaded?.size, 4);
  assert.ok([...(loaded?.values() ?? [])].every((entry) => entry.ctimeMs === undefined));
  // ctimes that do not line up with the rows are not used.
  await writeFile(store.file, JSON.stringify({ ...older, ctimes: [1, 2] }));
  assert.ok([...((await store.load())?.values() ?? [])].every((entry) => entry.ctimeMs === undefined));
});

test('a baseline of another bucket, prefix or local path is not used', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await store.save(sample());
  for (const other of [
    { ...identity, bucket: 'other' },
    { ...identity, prefix: 'p' },
    { ...identity, localPath: '/elsewhere' },
  ]) {
    assert.equal(await new BaselineStore(stateDir, other).load(), null, JSON.stringify(other));
  }
  // Even a file copied under this identity's name is recognised as foreign by its content.
  const foreign = new BaselineStore(stateDir, { ...identity, bucket: 'other' });
  await foreign.save(sample());
  await writeFile(store.file, await readFile(foreign.file));
  const loaded = await store.loadWithReason();
  assert.equal(loaded.entries, null);
  assert.equal(loaded.reason, 'other-identity');
});

test('a corrupt or truncated baseline loads as none, with the reason', async () => {
  const store = new BaselineStore(await tempDir('state'), identity);
  await store.save(sample());
  const good = await readFile(store.file, 'utf8');
  const bad: Array<[string, string]> = [
    [good.slice(0, good.length / 2), 'corrupt'],
    ['', 'corrupt'],
    ['[]', 'corrupt'],
    [good.replace('"version":1', '"version":99'), 'unsupported-version'],
    [good.replace(/"entries":\[\[.*?\]/, '"entries":[["x","5",1,"e"]'), 'corrupt'],
  ];
  for (const [text, reason] of bad) {
    await writeFile(store.file, text);
    const loaded = await store.loadWithReason();
    assert.equal(loaded.entries, null);
    assert.equal(loaded.reason, reason, text.slice(0, 80));
    assert.equal(await store.load(), null);
  }
});

test('temp files of a save interrupted by a crash are removed by the next save', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await writeFile(`${store.file}.tmp-deadbeef`, '{"half":');
  await store.save(sample());
  assert.deepEqual(await readdir(stateDir), [store.file.slice(stateDir.length + 1)]);
});

/** 100,000 entries, the size the format is built for. */
function big(): Map<string, BaselineEntry> {
  const entries = new Map<string, BaselineEntry>();
  for (let i = 0; i < 100_000; i++) {
    entries.set(`folder${i % 100}/file-${i}.dat`, { size: i, mtimeMs: 1_700_000_000_000 + i, etag: `${i}`.padStart(32, '0') });
  }
  return entries;
}

/** CPU milliseconds `fn` takes (less sensitive than wall time to a loaded machine). */
async function cpuMs(fn: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

test('save and load of 100,000 entries take a fraction of a second of CPU', async () => {
  const store = new BaselineStore(await tempDir('state'), identity);
  const entries = big();
  const saveMs = await cpuMs(() => store.save(entries));
  let loaded: Map<string, BaselineEntry> | null = null;
  const loadMs = await cpuMs(async () => (loaded = await store.load()));
  assert.deepEqual(loaded, entries);
  assert.ok(saveMs < 1_500, `save took ${saveMs.toFixed(0)} ms of CPU`);
  assert.ok(loadMs < 1_500, `load took ${loadMs.toFixed(0)} ms of CPU`);
});

test('save is atomic: a concurrent reader always finds a whole baseline, and no temp file is left', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  const large = big();
  await store.save(sample());
  let reads = 0;
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      const loaded = await store.loadWithReason();
      assert.notEqual(loaded.entries, null, `reader saw ${loaded.reason}: ${loaded.detail}`);
      reads++;
    }
  })();
  for (let round = 0; round < 3; round++) await store.save(round % 2 ? sample() : large);
  stop = true;
  await reader;
  assert.ok(reads > 0);
  assert.equal((await store.load())?.size, large.size);
  assert.deepEqual(await readdir(stateDir), [store.file.slice(stateDir.length + 1)]);
});

/** The journal's lines are written once the current callbacks are done. */
const journalFlushed = () => new Promise<void>((resolve) => setImmediate(resolve));

test('journal: changes made since the last save are replayed over it, in order, and a save empties the journal', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await store.save(sample());
  const working = new JournaledBaseline(sample(), store.journal);
  working.set('new.txt', { size: 1, mtimeMs: 2, etag: 'e1' });
  working.set('new.txt', { size: 3, mtimeMs: 4, etag: 'e2', ctimeMs: 5.5 });
  working.set('racy.txt', { size: 3, mtimeMs: 4, etag: 'e2', ctimeMs: RACY_CTIME });
  working.delete('a.txt');
  working.delete('never-there.txt');
  await journalFlushed();

  // As a restart finds it (the process killed before the tick's own save).
  const restarted = await new BaselineStore(stateDir, identity).loadWithReason();
  assert.equal(restarted.reason, null);
  assert.deepEqual(restarted.entries, new Map(working));
  assert.equal(restarted.entries?.get('new.txt')?.ctimeMs, 5.5, 'ctimes are journaled');
  assert.equal(restarted.reason === null && restarted.replayed, 4, 'the entries it started from are not journaled; a delete of nothing neither');

  await store.save(working);
  assert.deepEqual(await readdir(stateDir), [store.file.slice(stateDir.length + 1)], 'journal removed');
  working.set('later.txt', { size: 5, mtimeMs: 6, etag: 'e3' });
  await journalFlushed();
  assert.equal((await store.load())?.get('later.txt')?.etag, 'e3', 'a change after the save starts a new journal');
});

test('journal: a first sync killed part-way leaves what it finished (no saved baseline yet)', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  assert.equal((await store.loadWithReason()).reason, 'missing');
  const working = new JournaledBaseline([], store.journal);
  working.set('done.txt', { size: 1, mtimeMs: 2, etag: 'e1' });
  await journalFlushed();
  assert.deepEqual(await new BaselineStore(stateDir, identity).load(), new Map([['done.txt', { size: 1, mtimeMs: 2, etag: 'e1' }]]));
});

test('journal: a line cut short by the kill is skipped, the others replayed (also lines appended after it)', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await store.save(new Map([['b.txt', { size: 1, mtimeMs: 1, etag: 'e0' }]]));
  const header = JSON.stringify(['#generation', store.journal.base]);
  await writeFile(store.journal.file, `${header}\n["a.txt",1,2,"e1"]\n["b.txt"]\n["c.txt",1,2,"e["d.txt",3,4,"e2"]\n["e.txt",5,6,"e3"]\n["c.txt",1,2,"e`);
  const loaded = await store.loadWithReason();
  assert.deepEqual(
    loaded.entries,
    new Map([
      ['a.txt', { size: 1, mtimeMs: 2, etag: 'e1' }],
      ['e.txt', { size: 5, mtimeMs: 6, etag: 'e3' }],
    ]),
  );
  assert.match((loaded.reason === null && loaded.journalNote) || '', /line\(s\) 4, 6 unreadable/);

  // A run whose replay could not be saved appends to that journal: its lines are not lost to the torn one.
  const working = new JournaledBaseline(loaded.entries ?? [], store.journal);
  working.set('f.txt', { size: 7, mtimeMs: 8, etag: 'e4' });
  await journalFlushed();
  assert.equal((await store.load())?.get('f.txt')?.etag, 'e4');
});

test('journal: lines that follow another save than the one loaded are not replayed (a journal that outlived its baseline)', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await store.save(new Map());
  const working = new JournaledBaseline([], store.journal);
  working.set('stale.txt', { size: 1, mtimeMs: 2, etag: 'e1' });
  await journalFlushed();
  const stale = await readFile(store.journal.file, 'utf8');
  // The baseline is saved again (by this build, or rewritten by an earlier one after a rollback)
  // and the journal is not emptied (the earlier build does not know it; a removal that failed).
  await store.save(new Map([['kept.txt', { size: 3, mtimeMs: 4, etag: 'e2' }]]));
  await writeFile(store.journal.file, stale);
  assert.deepEqual([...((await new BaselineStore(stateDir, identity).load()) ?? new Map()).keys()], ['kept.txt']);
  const doc = JSON.parse(await readFile(store.file, 'utf8')) as Record<string, unknown>;
  delete doc.generation;
  await writeFile(store.file, JSON.stringify(doc));
  assert.deepEqual([...((await new BaselineStore(stateDir, identity).load()) ?? new Map()).keys()], ['kept.txt'], 'nor over a file saved without a generation');
});

test('journal: a baseline that cannot be used makes its journal meaningless', async () => {
  const stateDir = await tempDir('state');
  const store = new BaselineStore(stateDir, identity);
  await writeFile(store.file, '{"half":');
  await writeFile(store.journal.file, '["a.txt",1,2,"e1"]\n');
  assert.equal((await store.loadWithReason()).reason, 'corrupt');
});

test('journal: one that cannot be written is reported once; the baseline is still saved at the end', async () => {
  const stateDir = await tempDir('state');
  const warnings: string[] = [];
  const store = new BaselineStore(stateDir, identity, (message) => warnings.push(message));
  await mkdir(store.journal.file);
  const working = new JournaledBaseline([], store.journal);
  working.set('a.txt', { size: 1, mtimeMs: 2, etag: 'e1' });
  await journalFlushed();
  working.set('b.txt', { size: 1, mtimeMs: 2, etag: 'e1' });
  await journalFlushed();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /writing the baseline journal .*\.journal/);
  await store.save(working);
  assert.deepEqual([...((await store.load()) ?? new Map()).keys()], ['a.txt', 'b.txt']);
});
