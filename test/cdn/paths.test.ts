import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIRECT_MAPPING,
  encodeSegment,
  invalidationPaths,
  keyToUrlPaths,
  originMappings,
  pathPrefixMapping,
  type KeyMapping,
  type OriginLike,
} from '../../src/cdn/paths.js';

test('encodeSegment: unsafe and non-ASCII characters are percent-encoded, the rest kept', () => {
  const table: Array<[string, string]> = [
    ['index.html', 'index.html'],
    ['a b.txt', 'a%20b.txt'],
    ['café', 'caf%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['😀', '%F0%9F%98%80'],
    ['a#b?c%d', 'a%23b%3Fc%25d'],
    ['<>"{}|\\^[]`', '%3C%3E%22%7B%7D%7C%5C%5E%5B%5D%60'],
    ["keep-_.+$!'(),;:@=&", "keep-_.+$!'(),;:@=&"],
    ['tab\there', 'tab%09here'],
    ['a*b~c', 'a%2Ab%7Ec'],
  ];
  for (const [segment, expected] of table) assert.equal(encodeSegment(segment), expected, segment);
});

test('originMappings: finds the origins that read from the bucket and their OriginPath', () => {
  const table: Array<[string, OriginLike[], string, KeyMapping[]]> = [
    ['legacy global host', [{ DomainName: 'b.s3.amazonaws.com' }], 'b', [DIRECT_MAPPING]],
    ['OriginPath stripped', [{ DomainName: 'b.s3.amazonaws.com', OriginPath: '/site' }], 'b', [m('site/')]],
    ['OriginPath with slashes', [{ DomainName: 'b.s3.amazonaws.com', OriginPath: '/a/b/' }], 'b', [m('a/b/')]],
    ['regional host', [{ DomainName: 'b.s3.eu-west-1.amazonaws.com' }], 'b', [DIRECT_MAPPING]],
    ['dash regional host', [{ DomainName: 'b.s3-us-west-2.amazonaws.com' }], 'b', [DIRECT_MAPPING]],
    ['website endpoint (dash)', [{ DomainName: 'b.s3-website-us-east-1.amazonaws.com' }], 'b', [DIRECT_MAPPING]],
    ['website endpoint (dot)', [{ DomainName: 'b.s3-website.eu-central-1.amazonaws.com' }], 'b', [DIRECT_MAPPING]],
    ['China partition', [{ DomainName: 'b.s3.cn-north-1.amazonaws.com.cn' }], 'b', [DIRECT_MAPPING]],
    ['dotted bucket name', [{ DomainName: 'my.bucket.s3.amazonaws.com' }], 'my.bucket', [DIRECT_MAPPING]],
    ['host is case-insensitive', [{ DomainName: 'B.S3.AMAZONAWS.COM' }], 'b', [DIRECT_MAPPING]],
    ['another bucket', [{ DomainName: 'other.s3.amazonaws.com' }], 'b', []],
    ['bucket name is a prefix of another', [{ DomainName: 'bb.s3.amazonaws.com' }], 'b', []],
    ['a load balancer', [{ DomainName: 'alb-1.us-east-1.elb.amazonaws.com' }], 'b', []],
    ['path-style custom endpoint', [{ DomainName: 'minio.example.com', OriginPath: '/b/site' }], 'b', [m('site/')]],
    ['path-style, bucket root', [{ DomainName: 'minio.example.com', OriginPath: '/b' }], 'b', [DIRECT_MAPPING]],
    ['virtual-hosted custom endpoint', [{ DomainName: 'b.minio.example.com', OriginPath: '/x' }], 'b', [m('x/')]],
    [
      'an AWS S3 origin wins over a look-alike host',
      [{ DomainName: 'b.example.com' }, { DomainName: 'b.s3.amazonaws.com', OriginPath: '/p' }],
      'b',
      [m('p/')],
    ],
    [
      'two origins on the bucket, both mapped',
      [
        { DomainName: 'b.s3.amazonaws.com', OriginPath: '/one' },
        { DomainName: 'b.s3.us-east-1.amazonaws.com', OriginPath: '/two' },
        { DomainName: 'b.s3.amazonaws.com', OriginPath: '/one' },
      ],
      'b',
      [m('one/'), m('two/')],
    ],
  ];
  for (const [name, origins, bucket, expected] of table) assert.deepEqual(originMappings(origins, bucket), expected, name);
});

test('pathPrefixMapping: the sync prefix is served under --cf-path-prefix', () => {
  const table: Array<[string, string, KeyMapping]> = [
    ['app/data', '/static', { keyPrefix: 'app/data/', urlPrefix: '/static/' }],
    ['app/', 'static/', { keyPrefix: 'app/', urlPrefix: '/static/' }],
    ['app', '/', { keyPrefix: 'app/', urlPrefix: '/' }],
    ['', '', DIRECT_MAPPING],
  ];
  for (const [prefix, pathPrefix, expected] of table) {
    assert.deepEqual(pathPrefixMapping(prefix, pathPrefix), expected, `${prefix} ${pathPrefix}`);
  }
});

test('keyToUrlPaths: keys outside every mapping are not served', () => {
  const site = [m('site/')];
  const table: Array<[string, KeyMapping[], string[]]> = [
    ['site/a.txt', site, ['/a.txt']],
    ['site/x/y z.txt', site, ['/x/y z.txt']],
    ['other/a.txt', site, []],
    ['site', site, []],
    ['site/', site, []],
    ['sitemap.xml', site, []],
    ['a.txt', [DIRECT_MAPPING], ['/a.txt']],
    ['app/a.txt', [{ keyPrefix: 'app/', urlPrefix: '/static/' }], ['/static/a.txt']],
    ['one/a', [m('one/'), m('')], ['/a', '/one/a']],
  ];
  for (const [key, mappings, expected] of table) assert.deepEqual(keyToUrlPaths(key, mappings), expected, key);
});

test('invalidationPaths: folders collapse past the threshold, the batch past the bound', () => {
  const limits = { maxPathsPerFolder: 3, maxTotalPaths: 8 };
  const files = (folder: string, n: number) => Array.from({ length: n }, (_, i) => `${folder}/f${i}.txt`);
  const table: Array<[string, string[], string[]]> = [
    ['nothing', [], []],
    ['one file', ['/a.txt'], ['/a.txt']],
    ['duplicates once', ['/a.txt', '/a.txt'], ['/a.txt']],
    ['at the threshold', files('/d', 3), ['/d/f0.txt', '/d/f1.txt', '/d/f2.txt']],
    ['past the threshold', files('/d', 4), ['/d/*']],
    ['the root is not collapsed per folder', files('', 4), ['/f0.txt', '/f1.txt', '/f2.txt', '/f3.txt']],
    ['changes spread over subfolders', [...files('/a/b', 2), ...files('/a/c', 2)], ['/a/*']],
    ['a collapsed subfolder counts once', [...files('/a/b', 4), '/a/x'], ['/a/b/*', '/a/x']],
    ['past the total bound', files('', 9), ['/*']],
    ['segments encoded', ['/a b/ü.txt'], ['/a%20b/%C3%BC.txt']],
    ['wildcard folder encoded', files('/a b', 4), ['/a%20b/*']],
    ['a tilde cuts the path into a prefix wildcard', ['/js/vendors~main.js'], ['/js/vendors*']],
    ['one prefix wildcard for a shared stem', ['/js/x~a.js', '/js/x~b.js', '/js/xy.js'], ['/js/x*']],
    ['a literal star is never sent', ['/x/a*b.txt'], ['/x/a*']],
    ['a tilde leading a folder', ['/d/~u/a.txt', '/e.txt'], ['/d/*', '/e.txt']],
  ];
  for (const [name, paths, expected] of table) assert.deepEqual(invalidationPaths(paths, limits), expected, name);
});

test('invalidationPaths: more wildcards than CloudFront allows in progress become /*', () => {
  const paths = Array.from({ length: 16 }, (_, i) => [`/d${i}/a`, `/d${i}/b`]).flat();
  assert.deepEqual(invalidationPaths(paths, { maxPathsPerFolder: 1, maxTotalPaths: 100 }), ['/*']);
  assert.equal(invalidationPaths(paths.slice(0, 30), { maxPathsPerFolder: 1, maxTotalPaths: 100 }).length, 15);
});

test('invalidationPaths: a 5,000-file deploy costs a handful of paths with the defaults', () => {
  const paths = [
    ...Array.from({ length: 4000 }, (_, i) => `/assets/chunk-${i}.js`),
    ...Array.from({ length: 998 }, (_, i) => `/img/${i % 20}/p${i}.png`),
    '/index.html',
    '/favicon.ico',
  ];
  assert.deepEqual(invalidationPaths(paths, { maxPathsPerFolder: 10, maxTotalPaths: 30 }), [
    '/assets/*',
    '/favicon.ico',
    '/img/*',
    '/index.html',
  ]);
});

function m(keyPrefix: string): KeyMapping {
  return { keyPrefix, urlPrefix: '/' };
}
