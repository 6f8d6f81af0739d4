/**
 * keep-both when another node writes between this node's listing and its own write, as happens
 * all the time with several nodes on one prefix: the path is re-planned at once (usually within
 * the same second), and the re-plan must not reuse the conflict-copy name of the first round —
 * that name is taken now, and reusing it either fails the tick or overwrites a kept version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Bucket } from '../../src/remote/bucket.js';
import type { ObjectRead, ObjectWriteOptions, PartSource, WriteCondition, WriteResult } from '../../src/remote/types.js';
import { useS3 } from '../helpers/s3.js';
import { secondsFromNow, startSidecar, writeAt, type Sidecar } from '../helpers/sidecar.js';
import { asText, bucketFiles, localFiles } from '../helpers/trees.js';

const s3 = useS3();

const BASE = 'base version';
const OURS = 'our edit';
const THEIRS = 'their first edit';
const LATER = 'their second edit, written while we resolved the first';

/** The real bucket, plus another node that writes `doc.txt` once just before we read or write it. */
class ContestedBucket extends S3Bucket {
  private pending: { key: string; on: 'read' | 'write'; text: string } | null = null;

  constructor(
    client: S3Client,
    name: string,
    private readonly other: S3Client,
  ) {
    super(client, name);
  }

  /** Before our next `on` of `key`, the other node puts `text` there. */
  arm(key: string, on: 'read' | 'write', text: string): void {
    this.pending = { key, on, text };
  }

  override async read(key: string, condition?: { ifMatch?: string }): Promise<ObjectRead> {
    await this.interfere(key, 'read');
    return super.read(key, condition);
  }

  override async write(
    key: string,
    body: Buffer | PartSource,
    size: number,
    condition: WriteCondition,
    options?: ObjectWriteOptions,
  ): Promise<WriteResult> {
    await this.interfere(key, 'write');
    return super.write(key, body, size, condition, options);
  }

  private async interfere(key: string, on: 'read' | 'write'): Promise<void> {
    const p = this.pending;
    if (!p || p.key !== key || p.on !== on) return;
    this.pending = null;
    await this.other.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: p.text }));
  }
}

/** `doc.txt` synced, then edited here (mtime `localAge` s from now) and by another node. */
async function contested(localAge: number): Promise<{ car: Sidecar; bucket: ContestedBucket }> {
  let bucket: ContestedBucket | undefined;
  const car = await startSidecar(s3(), {
    flags: ['--conflict', 'keep-both'],
    makeBucket: (client, name) => (bucket = new ContestedBucket(client, name, s3().client)),
  });
  await writeAt(car.local('doc.txt'), BASE, secondsFromNow(-7200));
  await car.initial();
  await s3().putText(car.bucket, car.key('doc.txt'), THEIRS);
  await writeAt(car.local('doc.txt'), OURS, secondsFromNow(localAge));
  return { car, bucket: bucket! };
}

/** Ticks until one changes nothing; returns every tick's outcome. */
async function settle(car: Sidecar): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const tick = await car.tick();
    outcomes.push(tick.outcome === 'success' ? 'success' : `failure: ${tick.errors.join('; ')}`);
    if (tick.outcome === 'success' && tick.uploaded + tick.downloaded + tick.deletedLocal + tick.deletedRemote + tick.conflicts === 0) break;
  }
  return outcomes;
}

/** Both sides equal; returns the contents of doc.txt and of its conflict copies. */
async function versionsKept(car: Sidecar): Promise<{ doc: string | undefined; copies: string[] }> {
  const local = asText(await localFiles(car.dir));
  assert.deepEqual(local, asText(await bucketFiles(s3(), car.bucket, car.prefix)), 'the folder and the bucket agree');
  const names = (await readdir(car.dir)).filter((n) => n.startsWith('doc.conflict-'));
  return { doc: local['doc.txt'], copies: names.map((n) => local[n]!).sort() };
}

test('keep-both, their version newer, and they write again before we download it: the tick succeeds, every version is kept', async () => {
  const { car, bucket } = await contested(-3600);
  bucket.arm(car.key('doc.txt'), 'read', LATER);
  const first = await car.tick();

  assert.equal(first.outcome, 'success', JSON.stringify(first.errors));
  assert.deepEqual(await settle(car), ['success']);
  const kept = await versionsKept(car);
  assert.equal(kept.doc, LATER, 'the newest version keeps the name');
  // THEIRS was replaced by its own writer (they knew it); ours must survive as a copy.
  assert.ok(kept.copies.includes(OURS), `our edit kept as a copy: ${JSON.stringify(kept.copies)}`);
});

test('keep-both, our version newer, and they write again before our upload: their first version is not overwritten by the re-plan', async () => {
  const { car, bucket } = await contested(3600);
  bucket.arm(car.key('doc.txt'), 'write', LATER);
  const first = await car.tick();

  assert.equal(first.outcome, 'success', JSON.stringify(first.errors));
  assert.deepEqual(await settle(car), ['success']);
  const kept = await versionsKept(car);
  assert.equal(kept.doc, OURS, 'the newest version (ours) keeps the name');
  for (const version of [THEIRS, LATER]) {
    assert.ok(kept.copies.includes(version), `${JSON.stringify(version)} kept as a copy: ${JSON.stringify(kept.copies)}`);
  }
});
