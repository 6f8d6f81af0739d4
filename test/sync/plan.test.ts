import { describe as suite, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter } from '../../src/filters.js';
import { unsafePathReason } from '../../src/local/paths.js';
import { reconcile } from '../../src/sync/plan.js';
import { RACY_CTIME, type ConflictPolicy, type InitMode, type LocalEntry, type RemoteEntry } from '../../src/sync/types.js';
import { hashRequests, input, inSync, options, plan, STAMP, type OptionOverrides, type Trees } from './plan-fixtures.js';

const P = 'doc.txt';
const BASE = { size: 10, mtimeMs: 1000, etag: 'e0' };

/** Local side of `doc.txt` (the baseline is BASE unless the state is `added` / `absent`). */
const L = {
  unchanged: { size: 10, mtimeMs: 1000, ctimeMs: 1000 },
  modified: { size: 12, mtimeMs: 3000, ctimeMs: 3000 },
  added: { size: 12, mtimeMs: 3000, ctimeMs: 3000 },
  olderModified: { size: 12, mtimeMs: 1500, ctimeMs: 1500 },
  tieModified: { size: 12, mtimeMs: 2000, ctimeMs: 2000 },
  sameSizeAsRemote: { size: 13, mtimeMs: 3000, ctimeMs: 3000 },
} satisfies Record<string, LocalEntry>;

/** Remote side of `doc.txt`. */
const R = {
  unchanged: { size: 10, etag: 'e0', lastModifiedMs: 1000 },
  modified: { size: 13, etag: 'e2', lastModifiedMs: 2000 },
  added: { size: 13, etag: 'e2', lastModifiedMs: 2000 },
} satisfies Record<string, RemoteEntry>;

type DeleteSetting = 'none' | 'up' | 'down' | 'both';
const DELETE_SETTINGS: DeleteSetting[] = ['none', 'up', 'down', 'both'];
const POLICIES: ConflictPolicy[] = ['newer', 'local', 'remote', 'keep-both'];

function withDeletes(setting: DeleteSetting, extra: OptionOverrides = {}) {
  return options({
    ...extra,
    up: { ...extra.up, delete: setting === 'up' || setting === 'both' },
    down: { ...extra.down, delete: setting === 'down' || setting === 'both' },
  });
}

/** One pairing of local × remote change; `expect` gives the action (or none) per setting. */
interface Row {
  name: string;
  local?: LocalEntry;
  remote?: RemoteEntry;
  /** Baseline entry of the path; absent for `added` pairings. */
  base?: typeof BASE;
  localEtag?: string;
  expect: (deletes: DeleteSetting, policy: ConflictPolicy) => string | null;
  conflict: boolean;
}

const always = (line: string | null) => () => line;
const byDelete = (lines: Record<DeleteSetting, string>) => (d: DeleteSetting) => lines[d];
const byPolicy = (lines: Record<ConflictPolicy, string>) => (_: DeleteSetting, p: ConflictPolicy) => lines[p];
const keepBoth = (winner: string, etag: string) =>
  `keep-both ${P} (conflict, ${winner} wins → doc.conflict-${STAMP}.txt, if-match ${etag})`;

/** A real conflict on `doc.txt` per policy, when the local copy is the newer one (remote version e2). */
const LOCAL_IS_NEWER = byPolicy({
  newer: `upload ${P} (conflict, if-match e2)`,
  local: `upload ${P} (conflict, if-match e2)`,
  remote: `download ${P} (conflict)`,
  'keep-both': keepBoth('local', 'e2'),
});
/** The same when the remote copy is newer, or the times tie (the remote wins a tie). */
const REMOTE_IS_NEWER = byPolicy({
  newer: `download ${P} (conflict)`,
  local: `upload ${P} (conflict, if-match e2)`,
  remote: `download ${P} (conflict)`,
  'keep-both': keepBoth('remote', 'e2'),
});

const THREE_WAY: Row[] = [
  // Nothing changed.
  { name: 'unchanged × unchanged', local: L.unchanged, remote: R.unchanged, base: BASE, expect: always(null), conflict: false },
  // Only the local side changed.
  { name: 'added × absent', local: L.added, expect: always(`upload ${P} (local-added, create)`), conflict: false },
  {
    name: 'modified × unchanged',
    local: L.modified,
    remote: R.unchanged,
    base: BASE,
    expect: always(`upload ${P} (local-modified, if-match e0)`),
    conflict: false,
  },
  {
    name: 'deleted × unchanged',
    remote: R.unchanged,
    base: BASE,
    expect: byDelete({
      none: `download ${P} (restore-local)`,
      up: `delete-remote ${P} (local-deleted, if-match e0)`,
      down: `download ${P} (restore-local)`,
      both: `delete-remote ${P} (local-deleted, if-match e0)`,
    }),
    conflict: false,
  },
  // Only the remote side changed.
  { name: 'absent × added', remote: R.added, expect: always(`download ${P} (remote-added)`), conflict: false },
  {
    name: 'unchanged × modified',
    local: L.unchanged,
    remote: R.modified,
    base: BASE,
    expect: always(`download ${P} (remote-modified)`),
    conflict: false,
  },
  {
    name: 'unchanged × deleted',
    local: L.unchanged,
    base: BASE,
    expect: byDelete({
      none: `upload ${P} (restore-remote, create)`,
      up: `upload ${P} (restore-remote, create)`,
      down: `delete-local ${P} (remote-deleted)`,
      both: `delete-local ${P} (remote-deleted)`,
    }),
    conflict: false,
  },
  // Both sides changed.
  { name: 'added × added, local newer', local: L.added, remote: R.added, expect: LOCAL_IS_NEWER, conflict: true },
  {
    name: 'added × added, same content',
    local: L.sameSizeAsRemote,
    remote: R.added,
    localEtag: 'e2',
    expect: always(`record ${P} (same-content)`),
    conflict: false,
  },
  {
    name: 'modified × modified, local newer', local: L.modified, remote: R.modified, base: BASE,
    expect: LOCAL_IS_NEWER, conflict: true,
  },
  {
    name: 'modified × modified, remote newer', local: L.olderModified, remote: R.modified, base: BASE,
    expect: REMOTE_IS_NEWER, conflict: true,
  },
  {
    name: 'modified × modified, same time: the remote wins a tie', local: L.tieModified, remote: R.modified, base: BASE,
    expect: REMOTE_IS_NEWER, conflict: true,
  },
  {
    name: 'modified × modified, same content',
    local: L.sameSizeAsRemote,
    remote: R.modified,
    base: BASE,
    localEtag: 'e2',
    expect: always(`record ${P} (same-content)`),
    conflict: false,
  },
  {
    name: 'modified × modified, same size but other content', local: L.sameSizeAsRemote, remote: R.modified, base: BASE, localEtag: 'e9',
    expect: LOCAL_IS_NEWER, conflict: true,
  },
  { name: 'deleted × deleted', base: BASE, expect: always(`forget ${P} (both-deleted)`), conflict: false },
  // A delete never beats a write, whatever the policy and delete settings.
  { name: 'deleted × modified', remote: R.modified, base: BASE, expect: always(`download ${P} (conflict)`), conflict: true },
  { name: 'modified × deleted', local: L.modified, base: BASE, expect: always(`upload ${P} (conflict, create)`), conflict: true },
];

suite('three-way: every pairing of changes, each delete setting and conflict policy', () => {
  for (const row of THREE_WAY) {
    test(row.name, () => {
      const trees: Trees = {
        local: row.local ? { [P]: row.local } : {},
        remote: row.remote ? { [P]: row.remote } : {},
        baseline: row.base ? { [P]: row.base } : {},
        etags: row.localEtag ? { [P]: row.localEtag } : {},
      };
      for (const deletes of DELETE_SETTINGS) {
        for (const conflict of POLICIES) {
          const result = plan(trees, withDeletes(deletes, { conflict }));
          const expected = row.expect(deletes, conflict);
          const where = `deletes ${deletes}, conflict ${conflict}`;
          assert.deepEqual(result.readable, expected === null ? [] : [expected], where);
          assert.equal(result.conflicts, row.conflict ? 1 : 0, where);
        }
      }
    });
  }
});

/** First sync (no baseline): expected action per init mode, without and with deletes enabled. */
const FIRST_SYNC: {
  name: string;
  trees: Trees;
  expect: Record<InitMode, string>;
  withDeletes?: Partial<Record<InitMode, string>>;
}[] = [
  {
    name: 'local only',
    trees: { local: { [P]: L.added } },
    expect: {
      merge: `upload ${P} (init-merge, create)`,
      up: `upload ${P} (init-up, create)`,
      down: `upload ${P} (init-down, create)`,
    },
    withDeletes: { down: `delete-local ${P} (init-down)` },
  },
  {
    name: 'remote only',
    trees: { remote: { [P]: R.added } },
    expect: {
      merge: `download ${P} (init-merge)`,
      up: `download ${P} (init-up)`,
      down: `download ${P} (init-down)`,
    },
    withDeletes: { up: `delete-remote ${P} (init-up, if-match e2)` },
  },
  {
    name: 'both, local newer',
    trees: { local: { [P]: L.added }, remote: { [P]: R.added } },
    expect: {
      merge: `upload ${P} (init-merge, if-match e2)`,
      up: `upload ${P} (init-up, if-match e2)`,
      down: `download ${P} (init-down)`,
    },
  },
  {
    name: 'both, remote newer',
    trees: { local: { [P]: L.olderModified }, remote: { [P]: R.added } },
    expect: {
      merge: `download ${P} (init-merge)`,
      up: `upload ${P} (init-up, if-match e2)`,
      down: `download ${P} (init-down)`,
    },
  },
  {
    name: 'both, same time: the remote wins a tie',
    trees: { local: { [P]: L.tieModified }, remote: { [P]: R.added } },
    expect: { merge: `download ${P} (init-merge)`, up: `upload ${P} (init-up, if-match e2)`, down: `download ${P} (init-down)` },
  },
  {
    name: 'both, same content',
    trees: { local: { [P]: L.sameSizeAsRemote }, remote: { [P]: R.added }, etags: { [P]: 'e2' } },
    expect: { merge: `record ${P} (same-content)`, up: `record ${P} (same-content)`, down: `record ${P} (same-content)` },
  },
  {
    name: 'both, same size but the local ETag was not computed',
    trees: { local: { [P]: L.sameSizeAsRemote }, remote: { [P]: R.added } },
    expect: {
      merge: `upload ${P} (init-merge, if-match e2)`,
      up: `upload ${P} (init-up, if-match e2)`,
      down: `download ${P} (init-down)`,
    },
  },
];

suite('first sync: each init mode, with and without deletes', () => {
  for (const row of FIRST_SYNC) {
    test(row.name, () => {
      for (const initMode of ['merge', 'up', 'down'] as const) {
        for (const deletes of DELETE_SETTINGS) {
          for (const conflict of POLICIES) {
            const result = plan({ ...row.trees, baseline: null }, withDeletes(deletes, { initMode, conflict }));
            // Deletes happen only in the winning side's mode, and only when that direction deletes.
            const deletesApply = initMode !== 'merge' && (deletes === 'both' || deletes === initMode);
            const expected = (deletesApply ? row.withDeletes?.[initMode] : undefined) ?? row.expect[initMode];
            const where = `init ${initMode}, deletes ${deletes}, conflict ${conflict}`;
            assert.deepEqual(result.readable, [expected], where);
            assert.equal(result.conflicts, 0, where);
          }
        }
      }
    });
  }
});

suite('a disabled direction', () => {
  const trees: Trees = {
    local: { 'new-local': L.added, 'both-same': L.sameSizeAsRemote, 'both-diff': L.modified, 'restore-me': L.unchanged },
    remote: { 'new-remote': R.added, 'both-same': R.modified, 'both-diff': R.modified, 'gone-local': R.unchanged },
    baseline: { 'both-same': BASE, 'both-diff': BASE, 'restore-me': BASE, 'gone-local': BASE },
    etags: { 'both-same': 'e2' },
  };

  test('up disabled: nothing is written remotely; downloads and baseline records go on', () => {
    const result = plan(trees, withDeletes('both', { conflict: 'keep-both', up: { enabled: false } }));
    assert.deepEqual(result.readable, [
      'record both-same (same-content)',
      'download new-remote (remote-added)',
      'delete-local restore-me (remote-deleted)',
    ]);
    assert.equal(result.conflicts, 0);
  });

  test('down disabled: nothing is written locally; uploads and baseline records go on', () => {
    const result = plan(trees, withDeletes('none', { conflict: 'local', down: { enabled: false } }));
    assert.deepEqual(result.readable, [
      'upload both-diff (conflict, if-match e2)',
      'record both-same (same-content)',
      'upload new-local (local-added, create)',
      'upload restore-me (restore-remote, create)',
    ]);
    assert.equal(result.conflicts, 1);
    // keep-both would write both sides: it waits for a two-way tick, however often the file is saved meanwhile.
    const waiting = plan(trees, withDeletes('none', { conflict: 'keep-both', down: { enabled: false } }));
    assert.equal(waiting.readable.some((line) => line.includes('both-diff')), false);
    assert.equal(waiting.conflicts, 0);
    // Except in the final sync before the task goes away: its up half, the local version kept
    // aside in the bucket. The remote version stays at the name, and the baseline's ETag for the
    // path (e0) is not the remote's (e2): it comes down later.
    const keepBoth = plan(trees, withDeletes('none', { conflict: 'keep-both', down: { enabled: false }, keepBothUpHalf: true }));
    assert.deepEqual(
      keepBoth.readable.filter((line) => line.includes('both-diff')),
      [`keep-both-up both-diff (conflict, local kept as both-diff.conflict-${STAMP}, baseline etag e0)`],
    );
    assert.equal(keepBoth.conflicts, 1);
  });

  test('up disabled: a keep-both conflict waits for a tick that may write both sides', () => {
    const result = plan(trees, withDeletes('none', { conflict: 'keep-both', up: { enabled: false } }));
    assert.equal(result.readable.some((line) => line.includes('both-diff')), false);
    assert.equal(result.conflicts, 0);
  });
});

suite('filters', () => {
  test('a path excluded for a direction gets no action in that direction', () => {
    const base = withDeletes('both');
    const opts = {
      ...base,
      up: { ...base.up, include: compileFilter([{ type: 'exclude', pattern: '*.log' }]) },
      down: { ...base.down, include: compileFilter([{ type: 'exclude', pattern: 'cache/*' }]) },
    };
    const result = plan(
      {
        local: { 'a.log': L.added, 'a.txt': L.added, 'cache/z': L.added, 'cache/y': L.unchanged },
        remote: { 'b.log': R.added, 'cache/x': R.added },
        baseline: { 'cache/y': BASE },
      },
      opts,
    );
    assert.deepEqual(result.readable, [
      'upload a.txt (local-added, create)',
      'download b.log (remote-added)',
      'upload cache/z (local-added, create)',
    ]);
  });

  test('a path excluded both ways is ignored entirely, even for the baseline', () => {
    const exclude = compileFilter([{ type: 'exclude', pattern: 'tmp/*' }]);
    const base = options();
    const opts = { ...base, up: { ...base.up, include: exclude }, down: { ...base.down, include: exclude } };
    const result = plan(
      {
        local: { 'tmp/same': L.sameSizeAsRemote, 'tmp/new': L.added },
        remote: { 'tmp/same': R.added },
        baseline: { 'tmp/gone': BASE },
        etags: { 'tmp/same': 'e2' },
      },
      opts,
    );
    assert.deepEqual(result.readable, []);
  });

  test('internal .s3-sync2 names never appear in a plan or in pathsToHash, whatever the filters', () => {
    const trees: Trees = {
      local: { '.s3-sync2-tmp-1': L.added, 'a/.s3-sync2-part': { size: 13, mtimeMs: 5, ctimeMs: 5 } },
      remote: { '.s3-sync2.lock': R.added, 'a/.s3-sync2-part': R.added },
      baseline: null,
    };
    for (const deletes of DELETE_SETTINGS) assert.deepEqual(plan(trees, withDeletes(deletes)).readable, []);
    assert.deepEqual(hashRequests(trees), []);
  });
});

suite('--max-delete guard', () => {
  /** `n` files in sync, then `deleted` of them gone on one side. */
  function deleting(n: number, deleted: number, side: 'local' | 'remote'): ReturnType<typeof inSync> {
    const trees = inSync(n);
    for (let i = 0; i < deleted; i++) delete trees[side][`f${i}`];
    return trees;
  }
  const guarded = (limit: number) => withDeletes('both', { maxDeletePercent: limit });

  test('refuses the local deletes of a run above the limit; the rest of the plan goes on', () => {
    const trees = deleting(10, 6, 'remote');
    trees.remote['new'] = R.added;
    const result = plan(trees, guarded(50));
    assert.deepEqual(result.readable, ['download new (remote-added)']);
    assert.deepEqual(result.deleteGuard.local, { refused: true, wouldDelete: 6, of: 10, limitPercent: 50 });
    assert.deepEqual(result.deleteGuard.remote, { refused: false, wouldDelete: 0, of: 5, limitPercent: 50 });
  });

  test('allows deletes up to the limit exactly', () => {
    const result = plan(deleting(10, 5, 'remote'), guarded(50));
    assert.equal(result.readable.filter((line) => line.startsWith('delete-local')).length, 5);
    assert.equal(result.deleteGuard.local.refused, false);
  });

  test('refuses remote deletes above the limit, counted against the remote files', () => {
    const result = plan(deleting(4, 3, 'local'), guarded(50));
    assert.deepEqual(result.readable, []);
    assert.deepEqual(result.deleteGuard.remote, { refused: true, wouldDelete: 3, of: 4, limitPercent: 50 });
  });

  test('deleting the only file is 100%; an empty side deletes nothing and is fine', () => {
    assert.equal(plan(deleting(1, 1, 'local'), guarded(50)).deleteGuard.remote.refused, true);
    assert.equal(plan(deleting(1, 1, 'local'), guarded(100)).deleteGuard.remote.refused, false);
    const empty = plan({}, guarded(0));
    assert.deepEqual(empty.deleteGuard.local, { refused: false, wouldDelete: 0, of: 0, limitPercent: 0 });
  });

  test('an empty bucket with --init-sync-down --delete does not wipe the local folder', () => {
    const local = { a: L.added, b: L.added, c: L.added };
    const result = plan({ local, baseline: null }, withDeletes('down', { initMode: 'down', maxDeletePercent: 50 }));
    assert.deepEqual(result.readable, []);
    assert.deepEqual(result.deleteGuard.local, { refused: true, wouldDelete: 3, of: 3, limitPercent: 50 });
  });
});

suite('keep-both copy names', () => {
  const conflictOn = (path: string, extra: Trees = {}) => {
    const trees: Trees = {
      local: { [path]: L.modified, ...extra.local },
      remote: { [path]: R.modified },
      baseline: { [path]: BASE },
    };
    const action = plan(trees, options({ conflict: 'keep-both' })).actions.find((a) => a.path === path);
    assert.equal(action?.kind, 'keep-both');
    return action?.kind === 'keep-both' ? action.conflictPath : '';
  };

  test('the stamp and node id go before the extension, in the same folder', () => {
    assert.equal(conflictOn('a/b/report.txt'), `a/b/report.conflict-${STAMP}.txt`);
    assert.equal(conflictOn('archive.tar.gz'), `archive.tar.conflict-${STAMP}.gz`);
  });

  test('a name without extension, and dotfiles, get the suffix at the end', () => {
    assert.equal(conflictOn('README'), `README.conflict-${STAMP}`);
    assert.equal(conflictOn('.bashrc'), `.bashrc.conflict-${STAMP}`);
    assert.equal(conflictOn('conf/.env.local'), `conf/.env.conflict-${STAMP}.local`);
  });

  test('a name already taken gets a counter; the node id is made file-name safe', () => {
    const taken = `r.conflict-${STAMP}.txt`;
    assert.equal(conflictOn('r.txt', { local: { [taken]: L.unchanged } }), `r.conflict-${STAMP}-2.txt`);
    const trees: Trees = { local: { x: L.modified }, remote: { x: R.modified }, baseline: { x: BASE } };
    const [action] = plan(trees, options({ conflict: 'keep-both', nodeId: 'ip-10/task 1' })).actions;
    assert.equal(action?.kind === 'keep-both' && action.conflictPath, 'x.conflict-20240506T070809Z-ip-10-task-1');
  });

  test('a long name gets a copy name a download accepts, for keep-both and its up half', () => {
    const path = `d/${'n'.repeat(235)}.txt`;
    const copy = conflictOn(path);
    assert.equal(unsafePathReason(copy), null);
    assert.ok(copy.endsWith(`.conflict-${STAMP}.txt`));
    const trees: Trees = { local: { [path]: L.modified }, remote: { [path]: R.modified }, baseline: { [path]: BASE } };
    const [half] = plan(trees, options({ conflict: 'keep-both', down: { enabled: false }, keepBothUpHalf: true })).actions;
    assert.equal(half?.kind, 'keep-both-up');
    assert.equal(half?.kind === 'keep-both-up' && half.conflictPath, copy);
  });

  test('two long names cut to the same copy name get distinct ones', () => {
    const a = `${'n'.repeat(240)}-a.txt`;
    const b = `${'n'.repeat(240)}-b.txt`;
    const trees: Trees = { local: { [a]: L.modified, [b]: L.modified }, remote: { [a]: R.modified, [b]: R.modified }, baseline: { [a]: BASE, [b]: BASE } };
    const names = plan(trees, options({ conflict: 'keep-both' })).actions.map((x) => (x.kind === 'keep-both' ? x.conflictPath : ''));
    assert.equal(new Set(names).size, 2);
    for (const name of names) assert.equal(unsafePathReason(name), null);
  });

  test('where no copy name fits, the conflict is left as it is and reported, not planned', () => {
    const path = `${Array.from({ length: 20 }, () => 'd'.repeat(199)).join('/')}/${'e'.repeat(80)}/f.txt`;
    const trees: Trees = { local: { [path]: L.modified }, remote: { [path]: R.modified }, baseline: { [path]: BASE } };
    for (const down of [true, false]) {
      const result = plan(trees, options({ conflict: 'keep-both', down: { enabled: down } }));
      assert.deepEqual(result.actions, []);
      assert.deepEqual(result.noCopyName, [path]);
      assert.equal(result.conflicts, 0);
    }
  });

  test('a re-plan that sees only the raced path still skips names reserved earlier in the tick', () => {
    const trees: Trees = { local: { 'r.txt': L.modified }, remote: { 'r.txt': R.modified }, baseline: { 'r.txt': BASE } };
    const reservedPaths = new Set([`r.conflict-${STAMP}.txt`]);
    const [action] = reconcile({ ...input(trees, options({ conflict: 'keep-both' })), reservedPaths }).actions;
    assert.equal(action?.kind === 'keep-both' && action.conflictPath, `r.conflict-${STAMP}-2.txt`);
  });
});

suite('pathsToHash', () => {
  test('with a baseline: only paths changed on both sides with equal sizes', () => {
    const trees: Trees = {
      local: { both: L.sameSizeAsRemote, sizes: L.modified, onlyLocal: L.sameSizeAsRemote, added: L.sameSizeAsRemote, ok: L.unchanged },
      remote: { both: R.modified, sizes: R.modified, onlyLocal: R.unchanged, added: R.added, ok: R.unchanged, onlyRemote: R.added },
      baseline: { both: BASE, sizes: BASE, onlyLocal: BASE, ok: BASE },
    };
    assert.deepEqual(hashRequests(trees), ['added', 'both']);
  });

  test('first sync: every path on both sides with equal sizes', () => {
    const trees: Trees = {
      local: { b: L.sameSizeAsRemote, a: L.sameSizeAsRemote, diff: L.added, solo: L.added },
      remote: { a: R.added, b: R.added, diff: R.added, other: R.added },
      baseline: null,
    };
    assert.deepEqual(hashRequests(trees), ['a', 'b']);
  });
});

suite('touched files: same size and mtime, another ctime (a rewrite with the mtime put back, a chmod)', () => {
  const AGREED = { ...BASE, ctimeMs: 1000 };
  const TOUCHED = { size: 10, mtimeMs: 1000, ctimeMs: 5000 };
  const SAME_SIZE_REMOTE = { size: 10, etag: 'e2', lastModifiedMs: 2000 };
  /** Recorded from a racy read: hashed whatever the ctime now. */
  const RACY = { base: { ...BASE, ctimeMs: RACY_CTIME }, local: { ...TOUCHED, ctimeMs: 1000 }, hashes: [`${P} (baseline e0)`] };
  interface Case {
    name: string;
    base?: typeof AGREED | typeof BASE;
    local?: LocalEntry;
    remote?: RemoteEntry;
    /** ETag of the local file in the baseline's layout (omitted: could not be hashed). */
    touchedEtag?: string;
    etag?: string;
    overrides?: OptionOverrides;
    hashes: string[];
    expect: string[];
  }
  const cases: Case[] = [
    { name: 'ctime as agreed: nothing hashed, nothing done', local: { ...TOUCHED, ctimeMs: 1000 }, hashes: [], expect: [] },
    {
      name: 'same content: the new stat is recorded',
      touchedEtag: 'e0',
      hashes: [`${P} (baseline e0)`],
      expect: [`record ${P} (local-touched)`],
    },
    { name: 'other content: uploaded', touchedEtag: 'e9', hashes: [`${P} (baseline e0)`], expect: [`upload ${P} (local-modified, if-match e0)`] },
    { name: 'not hashable (unreadable, unknown layout): uploaded', hashes: [`${P} (baseline e0)`], expect: [`upload ${P} (local-modified, if-match e0)`] },
    { name: 'racy baseline entry, same content: recorded', ...RACY, touchedEtag: 'e0', expect: [`record ${P} (local-touched)`] },
    { name: 'racy baseline entry, other content: uploaded', ...RACY, touchedEtag: 'e9', expect: [`upload ${P} (local-modified, if-match e0)`] },
    { name: 'baseline without ctime (older version): not compared', base: BASE, hashes: [], expect: [] },
    { name: '--size-only: ctime ignored', overrides: { up: { sizeOnly: true } }, hashes: [], expect: [] },
    {
      name: 'same content, remote modified: downloaded',
      remote: R.modified,
      touchedEtag: 'e0',
      hashes: [`${P} (baseline e0)`],
      expect: [`download ${P} (remote-modified)`],
    },
    {
      name: 'other content, remote modified to the same bytes: recorded',
      remote: SAME_SIZE_REMOTE,
      touchedEtag: 'e9',
      etag: 'e2',
      hashes: [`${P} (baseline e0)`, P],
      expect: [`record ${P} (same-content)`],
    },
    {
      name: 'other content, remote modified otherwise: a conflict (the remote is newer)',
      remote: SAME_SIZE_REMOTE,
      touchedEtag: 'e9',
      etag: 'e8',
      hashes: [`${P} (baseline e0)`, P],
      expect: [`download ${P} (conflict)`],
    },
    {
      name: 'same content, remote deleted (--delete): deleted locally',
      remote: undefined,
      touchedEtag: 'e0',
      overrides: { down: { delete: true } },
      hashes: [`${P} (baseline e0)`],
      expect: [`delete-local ${P} (remote-deleted)`],
    },
    {
      name: 'other content, remote deleted (--delete): the write wins, uploaded back',
      remote: undefined,
      touchedEtag: 'e9',
      overrides: { down: { delete: true } },
      hashes: [`${P} (baseline e0)`],
      expect: [`upload ${P} (conflict, create)`],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const remote = 'remote' in c ? c.remote : R.unchanged;
      const trees: Trees = {
        local: { [P]: c.local ?? TOUCHED },
        remote: remote ? { [P]: remote } : {},
        baseline: { [P]: c.base ?? AGREED },
        touchedEtags: c.touchedEtag === undefined ? {} : { [P]: c.touchedEtag },
        etags: c.etag === undefined ? {} : { [P]: c.etag },
      };
      const opts = options(c.overrides);
      assert.deepEqual(hashRequests(trees, opts), c.hashes);
      assert.deepEqual(plan(trees, opts).readable, c.expect);
    });
  }
});

suite('--size-only', () => {
  test('up: a local mtime change alone is not a change; down --size-only does not affect uploads', () => {
    const trees: Trees = { local: { [P]: { size: 10, mtimeMs: 9999, ctimeMs: 9999 } }, remote: { [P]: R.unchanged }, baseline: { [P]: BASE } };
    assert.deepEqual(plan(trees, options({ up: { sizeOnly: true } })).readable, []);
    assert.deepEqual(plan(trees, options({ down: { sizeOnly: true } })).readable, [`upload ${P} (local-modified, if-match e0)`]);
    assert.deepEqual(plan(trees).readable, [`upload ${P} (local-modified, if-match e0)`]);
  });

  test('first sync: equal sizes count as equal, unhashed, when the copying direction has it', () => {
    const trees: Trees = { local: { [P]: L.sameSizeAsRemote }, remote: { [P]: R.added }, baseline: null };
    const cases: [OptionOverrides, string[]][] = [
      [{ initMode: 'down', down: { sizeOnly: true } }, [`record ${P} (same-size)`]],
      [{ initMode: 'up', up: { sizeOnly: true } }, [`record ${P} (same-size)`]],
      [{ initMode: 'up', down: { sizeOnly: true } }, [`upload ${P} (init-up, if-match e2)`]],
      [{ initMode: 'merge', up: { sizeOnly: true } }, [`record ${P} (same-size)`]], // local is newer
      [{ initMode: 'merge', down: { sizeOnly: true } }, [`upload ${P} (init-merge, if-match e2)`]],
    ];
    for (const [overrides, expected] of cases) {
      const opts = options(overrides);
      assert.deepEqual(plan(trees, opts).readable, expected, JSON.stringify(overrides));
      // What size-only settles is not hashed; what it does not settle still is.
      const hashed = hashRequests(trees, opts);
      assert.deepEqual(hashed, expected[0]!.includes('same-size') ? [] : [P], JSON.stringify(overrides));
    }
  });
});

test('actions come sorted by path (code-unit order), one per path', () => {
  const local = Object.fromEntries(['b', 'a/z', 'B', 'a-b', 'a/b', 'é'].map((p) => [p, L.added]));
  assert.deepEqual(
    plan({ local }).actions.map((a) => a.path),
    ['B', 'a-b', 'a/b', 'a/z', 'b', 'é'],
  );
});
