import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compositeLayouts } from '../../src/digests.js';
import { computeS3Etags } from '../../src/local/hash.js';
import { LocalTree } from '../../src/local/tree.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();

/** The multipart ETag formula, from the parts directly. */
function expectedMultipart(data: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < data.length; at += partSize) digests.push(md5(data.subarray(at, at + partSize)));
  return `${md5(Buffer.concat(digests)).toString('hex')}-${digests.length}`;
}

/** One layout's ETag of the file at `path` (undefined: one PUT). */
async function etagOf(path: string, partSize?: number): Promise<string> {
  const [etag] = await computeS3Etags(path, [partSize]);
  return etag!;
}

test('etag of a small file is its MD5 hex', async () => {
  const root = await tempDir('hash');
  await writeFile(join(root, 'small.txt'), 'hello world');
  await writeFile(join(root, 'empty'), '');
  assert.equal(await etagOf(join(root, 'small.txt')), '5eb63bbbe01eeed093cb22bb8f5acdc3');
  assert.equal(await etagOf(join(root, 'empty')), 'd41d8cd98f00b204e9800998ecf8427e');
});

test('etag of a 20 MiB file in 8 MiB parts follows the multipart formula', async () => {
  const root = await tempDir('hash');
  const data = randomBytes(20 * MiB);
  const path = join(root, 'big.bin');
  await writeFile(path, data);
  const etag = await etagOf(path, 8 * MiB);
  assert.equal(etag, expectedMultipart(data, 8 * MiB));
  assert.match(etag, /^[0-9a-f]{32}-3$/);
  // Parts that do not line up with the read chunks are split exactly.
  assert.equal(await etagOf(path, 5 * MiB + 3), expectedMultipart(data, 5 * MiB + 3));
  // Without a part size: one PUT's ETag, the plain MD5.
  assert.equal(await etagOf(path), md5(data).toString('hex'));
});

test('etagInLayoutOf: the local ETag in the layout that gives the object\'s ETag, else the first that fits, else none', async () => {
  const root = await tempDir('hash');
  const data = randomBytes(9 * MiB);
  await writeFile(join(root, 'f'), data);
  const tree = new LocalTree(root, { followSymlinks: false, skipPaths: [] });
  const known = [8 * MiB, 5 * MiB];
  const sdkEtag = expectedMultipart(data, 5 * MiB);
  assert.equal(await tree.etagInLayoutOf('f', sdkEtag, data.length, known), sdkEtag, '5 + 4, the second layout tried');
  const other = `${'0'.repeat(32)}-2`;
  assert.equal(await tree.etagInLayoutOf('f', other, data.length, known), expectedMultipart(data, 8 * MiB), 'no match: the first layout');
  assert.equal(await tree.etagInLayoutOf('f', `${'0'.repeat(32)}-12`, data.length, known), undefined, 'no layout fits');
  assert.equal(await tree.etagInLayoutOf('f', '0'.repeat(32), data.length, known), md5(data).toString('hex'), 'one PUT');
});

test('compositeLayouts: the upload layouts an ETag allows, from the part sizes uploaders use', () => {
  const known = [8 * MiB, 5 * MiB];
  const md5hex = '5eb63bbbe01eeed093cb22bb8f5acdc3';
  assert.deepEqual(compositeLayouts(md5hex, 12 * MiB, known), [undefined], 'one PUT');
  assert.deepEqual(compositeLayouts(`${md5hex}-2`, 12 * MiB, known), [8 * MiB], 'the aws CLI: 8 + 4');
  assert.deepEqual(compositeLayouts(`${md5hex}-3`, 12 * MiB, known), [5 * MiB], 'the SDKs, rclone: 5 + 5 + 2');
  assert.deepEqual(compositeLayouts(`${md5hex}-2`, 9 * MiB, known), [8 * MiB, 5 * MiB], '8 + 1 or 5 + 4: both are tried');
  assert.deepEqual(compositeLayouts(`${md5hex}-1`, 12 * MiB, known), [12 * MiB], 'one part of any size at least the file');
  assert.deepEqual(compositeLayouts(`${md5hex}-12`, 12 * MiB, known), [], 'an unknown layout: not comparable');
});

test('computeS3Etags: one read gives the ETag of every layout asked for', async () => {
  const root = await tempDir('hash');
  const data = randomBytes(9 * MiB + 7);
  const path = join(root, 'f');
  await writeFile(path, data);
  assert.deepEqual(await computeS3Etags(path, [undefined, 8 * MiB, 5 * MiB, 10 * MiB]), [
    md5(data).toString('hex'),
    expectedMultipart(data, 8 * MiB),
    expectedMultipart(data, 5 * MiB),
    expectedMultipart(data, 10 * MiB),
  ]);
});
