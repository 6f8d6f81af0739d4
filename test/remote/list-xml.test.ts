// The ListObjectsV2 page reader: what S3 sends, and the documents it must refuse (so the SDK reads them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListPage, UnreadableListingError } from '../../src/remote/list-xml.js';

function page(contents: string[], extra: { truncated?: boolean; token?: string; encoding?: string | null; keyCount?: number | null } = {}): string {
  const encoding = extra.encoding === undefined ? 'url' : extra.encoding;
  const keyCount = extra.keyCount === undefined ? contents.length : extra.keyCount;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    '<Name>b</Name><Prefix>p/</Prefix>',
    keyCount === null ? '' : `<KeyCount>${keyCount}</KeyCount>`,
    '<MaxKeys>1000</MaxKeys>',
    encoding === null ? '' : `<EncodingType>${encoding}</EncodingType>`,
    `<IsTruncated>${extra.truncated ? 'true' : 'false'}</IsTruncated>`,
    ...contents,
    extra.token ? `<NextContinuationToken>${extra.token}</NextContinuationToken>` : '',
    '</ListBucketResult>',
  ].join('\n');
}

function entry(key: string, etag = '&quot;0cc175b9c0f1b6a831c399e269772661&quot;', size = 1): string {
  return `<Contents>\n  <Key>${key}</Key>\n  <LastModified>2026-11-25T10:00:01.000Z</LastModified>\n  <ETag>${etag}</ETag>\n  <Size>${size}</Size>\n  <StorageClass>STANDARD</StorageClass>\n</Contents>`;
}

test('a page: url-encoded keys decoded (form encoding), quoted ETags bare, sizes and times read', () => {
  const result = parseListPage(
    page([entry('p/a+b%2Bc.txt'), entry('p/%C3%BCn%C3%AF/%E6%97%A5.txt', '&quot;abc-2&quot;', 10485760), entry('p/ctl%01.txt')]),
  );
  assert.deepEqual(result, {
    objects: [
      { key: 'p/a b+c.txt', size: 1, etag: '0cc175b9c0f1b6a831c399e269772661', lastModifiedMs: Date.UTC(2026, 10, 25, 10, 0, 1) },
      { key: 'p/ünï/日.txt', size: 10485760, etag: 'abc-2', lastModifiedMs: Date.UTC(2026, 10, 25, 10, 0, 1) },
      { key: 'p/ctl\u0001.txt', size: 1, etag: '0cc175b9c0f1b6a831c399e269772661', lastModifiedMs: Date.UTC(2026, 10, 25, 10, 0, 1) },
    ],
    nextToken: undefined,
  });
});

test('a store that ignores encoding-type: keys are taken as they are, XML entities decoded', () => {
  const result = parseListPage(page([entry('p/100%.txt'), entry('p/a&amp;b &lt;c&gt;.txt')], { encoding: null }));
  assert.deepEqual(result.objects.map((o) => o.key), ['p/100%.txt', 'p/a&b <c>.txt']);
});

test('a truncated page gives the continuation token, entities decoded; an empty page is empty', () => {
  assert.equal(parseListPage(page([entry('p/a')], { truncated: true, token: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x' })).nextToken, '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x');
  assert.deepEqual(parseListPage(page([])), { objects: [], nextToken: undefined });
  assert.equal(parseListPage(page([entry('p/a')], { keyCount: null })).objects.length, 1, 'KeyCount is optional');
});

test('documents it cannot read with confidence are refused', () => {
  const refused = (xml: string, reason: RegExp): void =>
    assert.throws(() => parseListPage(xml), (err) => err instanceof UnreadableListingError && reason.test(err.message));
  refused('<Error><Code>AccessDenied</Code></Error>', /no ListBucketResult/);
  refused(page([entry('p/a')], { keyCount: 2 }), /KeyCount 2 but 1/);
  refused(page([entry('p/a')], { truncated: true }), /without NextContinuationToken/);
  refused(page(['<Contents><Key>p/a</Key><Size>1</Size></Contents>'], {}), /lacks/);
  const whole = page([entry('p/a'), entry('p/b')], { keyCount: null });
  refused(whole.slice(0, whole.indexOf('<Contents>', whole.indexOf('p/a'))), /cut off/);
});
