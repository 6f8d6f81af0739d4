/**
 * Both sides changed, on a real bucket (moto): each --conflict policy, keep-both copies, a remote
 * writer that wins the race between listing and upload (If-Match / If-None-Match), the first-sync
 * modes, and a restart that resumes three-way from the persisted baseline.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Bucket } from '../../src/remote/bucket.js';
import type { ObjectRead, ObjectWriteOptions, PartSource, RemoteObject, WriteCondition, WriteResult } from '../../src/remote/types.js';
import { startProxy } from '../helpers/proxy.js';
import { useS3 } from '../helpers/s3.js';
import { counts, localFile, secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';

const s3 = useS3();

const BASE = 'base version';
const LOCAL = 'local edit';
const REMOTE = 'remote edit, longer';

/** A sidecar with `doc.txt` synced, then edited on both sides; the local edit's mtime is `localAge` s from now. */
async function conflicted(policy: string, localAge: number, maxCopyBytes?: number, flags: readonly string[] = []): Promise<Sidecar> {
  const car = await startSidecar(s3(), {
    flags: ['--conflict', policy, ...flags],
    makeBucket: maxCopyBytes === undefined ? undefined : (client, name) => new S3Bucket(client, name, { maxCopyBytes }),
  });
  await writeAt(car.local('doc.txt'), BASE, secondsFromNow(-7200));
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });
  await s3().putText(car.bucket, car.key('doc.txt'), REMOTE);
  await writeAt(car.local('doc.txt'), LOCAL, secondsFromNow(localAge));
  return car;
}

async function assertBothSides(car: Sidecar, path: string, text: string): Promise<void> {
  assert.equal(await s3().getText(car.bucket, car.key(path)), text, `${path} in the bucket`);
  assert.equal((await localFile(car.local(path)))?.text, text, `${path} on disk`);
}

async function assertDownloadedMtime(car: Sidecar, path: string): Promise<void> {
  const head = await s3().head(car.bucket, car.key(path));
  assert.equal((await localFile(car.local(path)))?.mtimeMs, head?.LastModified?.getTime(), `${path}: mtime = LastModified`);
}

/** The keep-both copies of `doc.txt` in the folder. */
async function conflictCopies(car: Sidecar): Promise<string[]> {
  return (await readdir(car.dir)).filter((n) => n.startsWith('doc.conflict-')).sort();
}

const CONFLICT_NAME = /^doc\.conflict-\d{8}T\d{6}Z-[A-Za-z0-9._-]+\.txt$/;

for (const [policy, localAge, winner] of [
  ['newer', 3600, 'local'],
  ['newer', -3600, 'remote'],
  ['local', -3600, 'local'],
  ['remote', 3600, 'remote'],
] as const) {
  test(`--conflict ${policy}: the ${winner} edit wins on both sides (local edit ${localAge > 0 ? 'newer' : 'older'})`, async () => {
    const car = await conflicted(policy, localAge);
    const summary = await car.tick();

    assert.equal(summary.outcome, 'success');
    assert.deepEqual(counts(summary), winner === 'local' ? { uploaded: 1, conflicts: 1 } : { downloaded: 1, conflicts: 1 });
    await assertBothSides(car, 'doc.txt', winner === 'local' ? LOCAL : REMOTE);
    if (winner === 'remote') await assertDownloadedMtime(car, 'doc.txt');
    assert.deepEqual(await conflictCopies(car), []);
    assert.equal(await car.metric('s3sync2_conflicts_total', { policy }), 1);
    assert.deepEqual(counts(await car.tick()), {});
  });
}

for (const [localAge, winner, maxCopyBytes] of [
  [3600, 'local', undefined],
  [-3600, 'remote', undefined],
  // The remote loser is larger than one CopyObject may copy (5 GiB on S3; a few bytes here).
  [3600, 'local', 4],
] as const) {
  const how = maxCopyBytes === undefined ? '' : ' (the loser too large for a server-side copy)';
  test(`--conflict keep-both: the newer (${winner}) keeps the name, the other is kept beside it on both sides${how}`, async () => {
    const car = await conflicted('keep-both', localAge, maxCopyBytes);
    const summary = await car.tick();

    assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
    assert.equal(summary.conflicts, 1);
    if (winner === 'local') assert.equal(counts(summary).uploaded, maxCopyBytes === undefined ? 1 : 2, 'ours, and the loser re-uploaded when not copied');
    const [winnerText, loserText] = winner === 'local' ? [LOCAL, REMOTE] : [REMOTE, LOCAL];
    await assertBothSides(car, 'doc.txt', winnerText);
    const copies = await conflictCopies(car);
    assert.equal(copies.length, 1, `one conflict copy, got ${copies.join(', ')}`);
    assert.match(copies[0]!, CONFLICT_NAME);
    await assertBothSides(car, copies[0]!, loserText);
    assert.deepEqual(await s3().keys(car.bucket), [car.key('doc.txt'), car.key(copies[0]!)].sort());
    assert.equal(await car.metric('s3sync2_conflicts_total', { policy: 'keep-both' }), 1);
    // Everything is in the baseline now: nothing more to do.
    assert.deepEqual(counts(await car.tick()), {});
  });
}

for (const [localAge, newer] of [
  [3600, 'local'],
  [-3600, 'remote'],
] as const) {
  test(`--conflict keep-both at shutdown (${newer} newer): other up-only rounds leave the conflict, the final sync puts the local edit beside the remote one, the next start settles both sides`, async () => {
    const car = await conflicted('keep-both', localAge);
    const copiesInBucket = async () => (await s3().keys(car.bucket)).filter((k) => k.includes('.conflict-'));

    // Watcher and /sync/up rounds: the conflict waits for a two-way round, however often the file is saved.
    assert.deepEqual(counts(await car.tick('up')), {});
    await writeAt(car.local('doc.txt'), LOCAL, secondsFromNow(localAge + 1));
    assert.deepEqual(counts(await car.tick('up')), {});
    assert.deepEqual(await copiesInBucket(), []);

    const final = await car.app.syncer.stop({ finalSync: true });

    assert.equal(final?.outcome, 'success', JSON.stringify(final?.errors));
    assert.deepEqual(counts(final!), { uploaded: 1, conflicts: 1 });
    const [copyKey, ...others] = await copiesInBucket();
    assert.equal(others.length, 0);
    const copy = copyKey!.slice(car.key('').length);
    assert.match(copy, CONFLICT_NAME);
    assert.equal(await s3().getText(car.bucket, copyKey!), LOCAL, 'the local edit is in the bucket');
    assert.equal(await s3().getText(car.bucket, car.key('doc.txt')), REMOTE, 'the remote edit is kept at the name');
    assert.equal((await localFile(car.local('doc.txt')))?.text, LOCAL, 'nothing written locally in an up-only round');
    await car.close();

    // The same volume and state on the next start (a restarted container): one two-way round settles it.
    const next = await startSidecar(s3(), { bucket: car.bucket, dir: car.dir, stateDir: car.stateDir, flags: ['--conflict', 'keep-both'] });
    const both = await next.initial();

    assert.equal(both.outcome, 'success', JSON.stringify(both.errors));
    assert.deepEqual(counts(both), { downloaded: 2 });
    await assertBothSides(next, 'doc.txt', REMOTE);
    await assertBothSides(next, copy, LOCAL);
    assert.deepEqual(await conflictCopies(next), [copy]);
    assert.deepEqual(counts(await next.tick()), {});
  });
}

test('--conflict keep-both on a path whose key is near S3\'s 1024-byte limit: the copy\'s key still fits', async () => {
  const car = await startSidecar(s3(), { flags: ['--conflict', 'keep-both'] });
  // `app/` + 1000 bytes: the usual copy name would add 32 bytes, past the limit.
  const path = `${'f/'.repeat(450)}${'s'.repeat(96)}.txt`;
  await writeAt(car.local(path), BASE, secondsFromNow(-7200));
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });
  await s3().putText(car.bucket, car.key(path), REMOTE);
  await writeAt(car.local(path), LOCAL, secondsFromNow(3600));

  const summary = await car.tick();

  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  const copies = (await s3().keys(car.bucket)).filter((key) => key.includes('.conflict-'));
  assert.equal(copies.length, 1);
  assert.ok(Buffer.byteLength(copies[0]!) <= 1024, `${Buffer.byteLength(copies[0]!)} bytes`);
  assert.equal(await s3().getText(car.bucket, copies[0]!), REMOTE);
  assert.equal(await s3().getText(car.bucket, car.key(path)), LOCAL);
});

test('--conflict keep-both with filters that exclude the copy\'s name: the copy is still made on both sides, and later edits to it stay unsynced', async () => {
  const car = await conflicted('keep-both', 3600, undefined, ['--exclude', '*.conflict-*']);
  const summary = await car.tick();

  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  const copies = await conflictCopies(car);
  assert.equal(copies.length, 1, `one conflict copy, got ${copies.join(', ')}`);
  await assertBothSides(car, copies[0]!, REMOTE);
  await assertBothSides(car, 'doc.txt', LOCAL);
  // From now on the filter applies to it like to any other excluded path.
  await writeAt(car.local(copies[0]!), 'edited copy', secondsFromNow(0));
  assert.deepEqual(counts(await car.tick()), {});
  assert.equal(await s3().getText(car.bucket, car.key(copies[0]!)), REMOTE);
});

test('--conflict keep-both on a name near the 255-byte limit: one copy on both sides under a name cut to fit, and the next ticks do nothing', async () => {
  const name = `${'n'.repeat(235)}.txt`;
  const car = await startSidecar(s3(), { flags: ['--conflict', 'keep-both'] });
  await writeAt(car.local(name), 'v1', secondsFromNow(-7200));
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });
  await s3().putText(car.bucket, car.key(name), 'remote-v2');
  await writeAt(car.local(name), 'local-v2-longer', secondsFromNow(3600));

  const summary = await car.tick();

  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  assert.deepEqual(counts(summary), { uploaded: 1, conflicts: 1 });
  const copies = (await readdir(car.dir)).filter((n) => n.includes('.conflict-'));
  assert.equal(copies.length, 1, `one conflict copy, got ${copies.join(', ')}`);
  assert.equal(Buffer.byteLength(copies[0]!), 255);
  assert.match(copies[0]!, /^n+\.conflict-\d{8}T\d{6}Z-[A-Za-z0-9._-]+\.txt$/);
  await assertBothSides(car, copies[0]!, 'remote-v2');
  await assertBothSides(car, name, 'local-v2-longer');
  const keys = await s3().keys(car.bucket);
  assert.deepEqual(keys, [car.key(name), car.key(copies[0]!)].sort());
  // Each tick used to copy the remote version to yet another key it could not download.
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.deepEqual(counts(await car.tick()), {});
  }
  assert.deepEqual(await s3().keys(car.bucket), keys);
  assert.deepEqual(car.logged('skipped', 40), []);
});

test('both sides edited to the same bytes: recorded, not a conflict', async () => {
  const car = await conflicted('newer', 3600);
  await s3().putText(car.bucket, car.key('doc.txt'), LOCAL);
  const summary = await car.tick();
  assert.deepEqual(counts(summary), {});
  assert.equal(await car.metric('s3sync2_conflicts_total', { policy: 'newer' }), 0);
  assert.deepEqual(counts(await car.tick()), {});
});

test('an edit beats a delete on the other side, even with --delete', async () => {
  const car = await startSidecar(s3(), { flags: ['--delete'] });
  await writeAt(car.local('edited-here.txt'), BASE, secondsFromNow(-7200));
  await writeAt(car.local('edited-there.txt'), BASE, secondsFromNow(-7200));
  await car.initial();
  await writeAt(car.local('edited-here.txt'), LOCAL, secondsFromNow(-60));
  await s3().client.send(new DeleteObjectCommand({ Bucket: car.bucket, Key: car.key('edited-here.txt') }));
  await s3().putText(car.bucket, car.key('edited-there.txt'), REMOTE);
  await rm(car.local('edited-there.txt'));

  const summary = await car.tick();
  assert.deepEqual(counts(summary), { uploaded: 1, downloaded: 1, conflicts: 2 });
  await assertBothSides(car, 'edited-here.txt', LOCAL);
  await assertBothSides(car, 'edited-there.txt', REMOTE);
});

/**
 * The real S3 bucket, plus a competing writer: once armed, just before this sidecar's first write
 * or delete of the armed key, another client puts its own version of it (real S3 calls, not a stub).
 */
class RacedBucket extends S3Bucket {
  private armed: { key: string; text: string } | null = null;
  private vanishing: string | null = null;
  private armedRead: string | null = null;
  /** Keys the competitor wrote. */
  readonly competed: string[] = [];

  constructor(
    client: S3Client,
    name: string,
    private readonly competitor: S3Client,
  ) {
    super(client, name);
  }

  arm(key: string, text: string): void {
    this.armed = { key, text };
  }

  override async write(
    key: string,
    body: Buffer | PartSource,
    size: number,
    condition: WriteCondition,
    options?: ObjectWriteOptions,
  ): Promise<WriteResult> {
    await this.compete(key);
    return super.write(key, body, size, condition, options);
  }

  override async delete(key: string, condition?: { ifMatch?: string }): Promise<void> {
    await this.compete(key);
    return super.delete(key, condition);
  }

  override async read(key: string, condition?: { ifMatch?: string }): Promise<ObjectRead> {
    if (this.armedRead === key) await this.compete(key);
    if (this.vanishing === key) {
      this.vanishing = null;
      await this.competitor.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
      this.competed.push(key);
    }
    return super.read(key, condition);
  }

  /** Another node writes `text` at `key` just before this sidecar reads it. */
  armBeforeRead(key: string, text: string): void {
    this.arm(key, text);
    this.armedRead = key;
  }

  /** Another node deletes `key` just before this sidecar reads it. */
  vanishBeforeRead(key: string): void {
    this.vanishing = key;
  }

  private async compete(key: string): Promise<void> {
    const armed = this.armed;
    if (!armed || armed.key !== key) return;
    this.armed = null;
    await this.competitor.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: armed.text }));
    this.competed.push(key);
  }
}

/** A sidecar on a RacedBucket, with four files synced. */
async function racedSidecar(flags: string[]): Promise<{ car: Sidecar; bucket: RacedBucket }> {
  let bucket: RacedBucket | undefined;
  const car = await startSidecar(s3(), {
    flags,
    makeBucket: (client, name) => (bucket = new RacedBucket(client, name, s3().client)),
  });
  for (const name of ['doc.txt', 'other.txt', 'third.txt', 'fourth.txt']) {
    await writeAt(car.local(name), `${name} base`, secondsFromNow(-7200));
  }
  assert.deepEqual(counts(await car.initial()), { uploaded: 4 });
  return { car, bucket: bucket! };
}

test('a remote edit between listing and upload is not overwritten: If-Match refuses, re-planned as a conflict (newer)', async () => {
  const { car, bucket } = await racedSidecar(['--delete', '--conflict', 'newer']);
  bucket.arm(car.key('doc.txt'), 'competing version');
  // The local edit is older than the competing write, so the competing one is the newer.
  await writeAt(car.local('doc.txt'), LOCAL, secondsFromNow(-60));
  const summary = await car.tick();

  assert.deepEqual(bucket.competed, [car.key('doc.txt')]);
  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { downloaded: 1, conflicts: 1 });
  await assertBothSides(car, 'doc.txt', 'competing version');
  await assertDownloadedMtime(car, 'doc.txt');
  assert.equal(car.logged('another writer changed the object first; re-planning').length, 1);
  assert.equal(await car.metric('s3sync2_conflicts_total', { policy: 'newer' }), 1);

  // The race did not cost the other paths their baseline: a local delete still propagates.
  await rm(car.local('other.txt'));
  assert.deepEqual(counts(await car.tick()), { deletedRemote: 1 });
  assert.equal(await s3().head(car.bucket, car.key('other.txt')), null);
  assert.deepEqual(counts(await car.tick()), {});
});

test('keep-both, remote newer: another write between our copy and the download of theirs is downloaded, and our version is kept once', async () => {
  const { car, bucket } = await racedSidecar(['--conflict', 'keep-both']);
  await s3().putText(car.bucket, car.key('doc.txt'), REMOTE);
  await writeAt(car.local('doc.txt'), LOCAL, secondsFromNow(-3600));
  bucket.armBeforeRead(car.key('doc.txt'), 'a third version');

  const summary = await car.tick();

  assert.deepEqual(bucket.competed, [car.key('doc.txt')]);
  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  await assertBothSides(car, 'doc.txt', 'a third version');
  const copies = await conflictCopies(car);
  assert.equal(copies.length, 1, `our version kept once, got ${copies.join(', ')}`);
  await assertBothSides(car, copies[0]!, LOCAL);
  assert.deepEqual(counts(await car.tick()), {});
});

test('a remote create between listing and upload is not overwritten: If-None-Match refuses, keep-both keeps both', async () => {
  const { car, bucket } = await racedSidecar(['--conflict', 'keep-both']);
  bucket.arm(car.key('new.txt'), 'their new file');
  await writeAt(car.local('new.txt'), 'our new file', secondsFromNow(-60));
  const summary = await car.tick();

  assert.deepEqual(bucket.competed, [car.key('new.txt')]);
  assert.equal(summary.outcome, 'success');
  assert.equal(summary.conflicts, 1);
  await assertBothSides(car, 'new.txt', 'their new file');
  const copies = (await readdir(car.dir)).filter((n) => n.startsWith('new.conflict-'));
  assert.equal(copies.length, 1);
  await assertBothSides(car, copies[0]!, 'our new file');
  assert.deepEqual(counts(await car.tick()), {});
});

test('a remote edit between listing and a delete is not deleted: If-Match refuses, the edit comes down', async () => {
  const { car, bucket } = await racedSidecar(['--delete']);
  bucket.arm(car.key('doc.txt'), 'edited just in time');
  await rm(car.local('doc.txt'));
  const summary = await car.tick();

  assert.deepEqual(bucket.competed, [car.key('doc.txt')]);
  assert.equal(summary.outcome, 'success');
  assert.deepEqual(counts(summary), { downloaded: 1, conflicts: 1 });
  await assertBothSides(car, 'doc.txt', 'edited just in time');
  assert.deepEqual(counts(await car.tick()), {});
});

test('an object deleted by another node between listing and download is re-planned, not a failed tick', async () => {
  const { car, bucket } = await racedSidecar(['--delete']);
  await s3().putText(car.bucket, car.key('brand-new.txt'), 'short-lived');
  await s3().putText(car.bucket, car.key('doc.txt'), 'edited, then deleted');
  bucket.vanishBeforeRead(car.key('brand-new.txt'));
  const first = await car.tick();
  assert.equal(first.outcome, 'success', JSON.stringify(first.errors));
  assert.deepEqual(counts(first), { downloaded: 1 });
  assert.equal(await localFile(car.local('brand-new.txt')), null);
  assert.equal(car.app.syncer.status().consecutiveFailures, 0);

  bucket.vanishBeforeRead(car.key('doc.txt'));
  await s3().putText(car.bucket, car.key('doc.txt'), 'edited again, then deleted');
  const second = await car.tick();
  assert.equal(second.outcome, 'success', JSON.stringify(second.errors));
  // Deleted remotely with --delete: the re-plan deletes the local copy.
  assert.deepEqual(counts(second), { deletedLocal: 1 });
  assert.equal(await localFile(car.local('doc.txt')), null);
  assert.deepEqual(counts(await car.tick()), {});
});

/** An S3Bucket whose listing is followed by another node's write, armed once: the listing is stale. */
class StaleListingBucket extends S3Bucket {
  armed: { key: string; text: string } | null = null;

  constructor(
    client: S3Client,
    name: string,
    private readonly other: S3Client,
  ) {
    super(client, name);
  }

  override async list(prefix: string): Promise<readonly RemoteObject[]> {
    const listing = await super.list(prefix);
    const armed = this.armed;
    this.armed = null;
    if (armed) await this.other.send(new PutObjectCommand({ Bucket: this.name, Key: armed.key, Body: armed.text }));
    return listing;
  }
}

test('--dfs-unsafe-lock on a store that ignores conditional writes: a remote edit after the listing is still not overwritten', async () => {
  // The store drops If-Match / If-None-Match, so only the sidecar's own check under the lock protects the edit.
  const proxy = await startProxy(s3().endpoint, { dropHeaders: ['if-match', 'if-none-match'] });
  after(() => proxy.stop());
  let bucket: StaleListingBucket | undefined;
  const car = await startSidecar(
    { ...s3(), endpoint: proxy.url },
    {
      flags: ['--dfs', '--dfs-unsafe-lock', '--conflict', 'newer'],
      makeBucket: (client, name) => (bucket = new StaleListingBucket(client, name, s3().client)),
    },
  );
  await writeAt(car.local('doc.txt'), 'base', secondsFromNow(-7200));
  assert.deepEqual(counts(await car.initial()), { uploaded: 1 });

  bucket!.armed = { key: car.key('doc.txt'), text: 'their newer version' };
  await writeAt(car.local('doc.txt'), LOCAL, secondsFromNow(-60));
  const summary = await car.tick();
  assert.equal(summary.outcome, 'success', JSON.stringify(summary.errors));
  assert.deepEqual(counts(summary), { downloaded: 1, conflicts: 1 });
  await assertBothSides(car, 'doc.txt', 'their newer version');
});
