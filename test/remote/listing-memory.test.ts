// ListingMemory: a page whose entries come back byte for byte is not parsed again, and a whole
// listing made of the same remembered pages is the same array; anything else is read anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnreadableListingError } from '../../src/remote/list-xml.js';
import { ListingMemory, type ReadPage } from '../../src/remote/listing-memory.js';
import type { RemoteObject } from '../../src/remote/types.js';

function page(keys: string[], extra: { token?: string; keyCount?: number; encoding?: string; etag?: string } = {}): Buffer {
  const contents = keys.map(
    (key) =>
      `<Contents><Key>${key}</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified><ETag>&quot;${extra.etag ?? '0cc175b9c0f1b6a831c399e269772661'}&quot;</ETag><Size>1</Size></Contents>`,
  );
  return Buffer.from(
    [
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Name>b</Name><Prefix>p/</Prefix>${extra.token ? `<NextContinuationToken>${extra.token}</NextContinuationToken>` : ''}`,
      `<KeyCount>${extra.keyCount ?? keys.length}</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>${extra.encoding ?? 'url'}</EncodingType>`,
      `<IsTruncated>${extra.token ? 'true' : 'false'}</IsTruncated>`,
      ...contents,
      '</ListBucketResult>',
    ].join(''),
  );
}

/** Reads `bodies` as one listing of prefix p/ and ends it, as S3Bucket.list does. */
function listing(memory: ListingMemory, bodies: Buffer[]): { reads: ReadPage[]; objects: readonly RemoteObject[] } {
  const reads = bodies.map((body, position) => memory.read('p/', position, body));
  return { reads, objects: memory.ended('p/', reads, reads.flatMap((r) => r.page.objects)) };
}

test('listing memory: the same entries again give the same objects, and the same listing the same array', () => {
  const memory = new ListingMemory();
  const first = listing(memory, [page(['p/a', 'p/b'], { token: 't1' }), page(['p/c'])]);
  // A store may make the continuation token different every time: only the entries must match.
  const second = listing(memory, [page(['p/a', 'p/b'], { token: 't2' }), page(['p/c'])]);
  assert.equal(second.objects, first.objects, 'the very array of the last listing');
  assert.equal(second.reads[0]!.page.objects, first.reads[0]!.page.objects);
  assert.equal(second.reads[0]!.page.nextToken, 't2', 'the header is read every time');
  assert.deepEqual(second.objects.map((o) => o.key), ['p/a', 'p/b', 'p/c']);
});

test('listing memory: a changed entry, a page more or less, or another encoding is read anew', () => {
  const memory = new ListingMemory();
  const first = listing(memory, [page(['p/a'], { token: 't' }), page(['p/c'])]);
  const changed = listing(memory, [page(['p/a'], { token: 't' }), page(['p/c'], { etag: '92eb5ffee6ae2fec3ad71c777531578f' })]);
  assert.notEqual(changed.objects, first.objects);
  assert.equal(changed.reads[0]!.page.objects, first.reads[0]!.page.objects, 'the unchanged page is still not parsed again');
  assert.equal(changed.objects[1]!.etag, '92eb5ffee6ae2fec3ad71c777531578f');

  const shorter = listing(memory, [page(['p/a'])]);
  assert.deepEqual(shorter.objects.map((o) => o.key), ['p/a']);
  // The second page was forgotten with the shorter listing: the same bytes are parsed again.
  const longer = listing(memory, [page(['p/a'], { token: 't' }), page(['p/c'], { etag: '92eb5ffee6ae2fec3ad71c777531578f' })]);
  assert.notEqual(longer.reads[1]!.page.objects, changed.reads[1]!.page.objects);
  assert.notEqual(longer.objects, changed.objects);

  const plain = listing(memory, [page(['p/a%2Bb'], { encoding: 'none' })]);
  const encoded = listing(memory, [page(['p/a%2Bb'])]);
  assert.equal(plain.objects[0]!.key, 'p/a%2Bb');
  assert.equal(encoded.objects[0]!.key, 'p/a+b', 'the same entry bytes under url encoding are decoded');
});

test('listing memory: a listing that failed part-way is never mistaken for the last whole one', () => {
  const memory = new ListingMemory();
  const whole = listing(memory, [page(['p/a'], { token: 't' }), page(['p/c'])]);
  // The next listing reads a changed second page, then fails before it ends (no ended()).
  memory.read('p/', 0, page(['p/a'], { token: 't' }));
  memory.read('p/', 1, page(['p/c'], { etag: '92eb5ffee6ae2fec3ad71c777531578f' }));
  // Every page of this one is remembered, but not the ones the last whole listing was made of.
  const after = listing(memory, [page(['p/a'], { token: 't' }), page(['p/c'], { etag: '92eb5ffee6ae2fec3ad71c777531578f' })]);
  assert.notEqual(after.objects, whole.objects);
  assert.equal(after.objects[1]!.etag, '92eb5ffee6ae2fec3ad71c777531578f');
});

test('listing memory: past its limit of objects pages are read every time; a header that disagrees is refused', () => {
  const small = new ListingMemory(2);
  const first = listing(small, [page(['p/a', 'p/b'], { token: 't' }), page(['p/c'])]);
  const second = listing(small, [page(['p/a', 'p/b'], { token: 't' }), page(['p/c'])]);
  assert.equal(second.reads[0]!.page.objects, first.reads[0]!.page.objects, 'the first page fits');
  assert.notEqual(second.reads[1]!.page.objects, first.reads[1]!.page.objects, 'the second does not');
  assert.notEqual(second.objects, first.objects);

  // What a shorter listing no longer has counts no more against the limit.
  const capped = new ListingMemory(3);
  listing(capped, [page(['p/a', 'p/b'], { token: 't' }), page(['p/c'])]);
  listing(capped, [page(['p/a', 'p/b'])]);
  const regrown = listing(capped, [page(['p/a', 'p/b'], { token: 't' }), page(['p/d'])]);
  assert.equal(listing(capped, [page(['p/a', 'p/b'], { token: 't' }), page(['p/d'])]).objects, regrown.objects);

  const memory = new ListingMemory();
  listing(memory, [page(['p/a'])]);
  assert.throws(() => memory.read('p/', 0, page(['p/a'], { keyCount: 2 })), (err) => err instanceof UnreadableListingError && /KeyCount 2 but 1/.test(err.message));
});

test('listing memory: a page read again gives what a full parse gives, with header elements among its entries or an entry cut off after them', () => {
  const entry = (key: string): string =>
    `<Contents><Key>${key}</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>1</Size></Contents>`;
  const body = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>' +
      entry('p/a') +
      '<IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>' +
      entry('p/b') +
      '</ListBucketResult>',
  );
  const memory = new ListingMemory();
  assert.equal(memory.read('p/', 0, body).page.nextToken, 'tok');
  assert.equal(memory.read('p/', 0, body).page.nextToken, 'tok', 'the listing still goes on to the next page');

  const withTail = (tail: string): Buffer =>
    Buffer.from('<?xml version="1.0"?><ListBucketResult><Name>b</Name>' + entry('p/a') + tail + '</ListBucketResult>');
  const cut = withTail('<Contents><Key>p/b</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified><Size>1</Size>');
  const other = new ListingMemory();
  other.read('p/', 0, withTail(''));
  assert.throws(() => other.read('p/', 0, cut), UnreadableListingError);
});
