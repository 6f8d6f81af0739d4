/**
 * The Content-Type guess against the aws CLI's: `mimetypes.guess_type(name)[0]` of Python 3.11.7
 * (the aws CLI 1.45's), written down here from `python3 -c` so the test needs no Python. The
 * names are the compression suffixes and aliases mimetypes handles before its lookup, and
 * extensions whose type mime-db and Python agree on (their tables differ on rarer ones).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guessContentType, typeExtension } from '../../src/sync/content-type.js';

/** name → mimetypes.guess_type(name)[0] (None → undefined). */
const PYTHON: readonly (readonly [name: string, type: string | undefined])[] = [
  // An encoding suffix is set aside before the lookup.
  ['a.js.gz', 'text/javascript'],
  ['a.css.gz', 'text/css'],
  ['a.svg.gz', 'image/svg+xml'],
  ['a.js.br', 'text/javascript'],
  ['a.tar.gz', 'application/x-tar'],
  ['a.txt.xz', 'text/plain'],
  ['a.tar.bz2', 'application/x-tar'],
  ['a.json.bz2', 'application/json'],
  ['a.html.Z', 'text/html'],
  ['a.wasm.br', 'application/wasm'],
  ['a.md.gz', 'text/markdown'],
  ['a.csv.gz', 'text/csv'],
  ['a.xml.gz', 'application/xml'],
  ['a.svgz.gz', 'image/svg+xml'],
  ['dir.x/a.js.gz', 'text/javascript'],
  // suffix_map aliases, matched in any case.
  ['a.tgz', 'application/x-tar'],
  ['a.TGZ', 'application/x-tar'],
  ['a.taz', 'application/x-tar'],
  ['a.tz', 'application/x-tar'],
  ['a.tbz2', 'application/x-tar'],
  ['a.txz', 'application/x-tar'],
  ['a.svgz', 'image/svg+xml'],
  ['A.SVGZ', 'image/svg+xml'],
  // Encoding suffixes are case sensitive, and only one is set aside.
  ['a.html.z', undefined],
  ['a.js.GZ', 'application/gzip'],
  ['a.tar.GZ', 'application/gzip'],
  ['a.tar.gz.gz', 'application/gzip'],
  ['a.js.gz.br', 'application/gzip'],
  // A compressed file with nothing under the suffix has no type.
  ['a.gz', undefined],
  ['a.xz', undefined],
  ['a.br', undefined],
  ['a.Z', undefined],
  ['a.bz2', undefined],
  ['a..gz', undefined],
  // No extension: a name's leading dots start none; a bare extension is a name.
  ['noext', undefined],
  ['dir.d/noext', undefined],
  ['.bashrc', undefined],
  ['.json', undefined],
  ['json', undefined],
  ['js', undefined],
  ['trailing.', undefined],
  ['..gz', undefined],
  ['.js.gz', undefined],
  ['.tgz', undefined],
  ['a.txt.gz.unknown', undefined],
  ['x.unknown-ext', undefined],
  // Plain extensions, in any case.
  ['site/a.min.js', 'text/javascript'],
  ['a.JS', 'text/javascript'],
  ['index.html', 'text/html'],
  ['data.json', 'application/json'],
  ['a.tar', 'application/x-tar'],
  ['a.png', 'image/png'],
];

test('content type: names guess as Python mimetypes (the aws CLI) guesses them, compression suffixes and aliases included', async () => {
  const wrong: string[] = [];
  for (const [name, expected] of PYTHON) {
    const got = await guessContentType(name);
    if (got !== expected) wrong.push(`${name}: ${String(got)}, aws ${String(expected)}`);
  }
  assert.deepEqual(wrong, []);
});

test('content type: the extension looked up, as mimetypes.guess_type finds it', () => {
  assert.equal(typeExtension('a.js.gz'), '.js');
  assert.equal(typeExtension('A.SVGZ'), '.svg');
  assert.equal(typeExtension('x/a.tgz'), '.tar');
  assert.equal(typeExtension('a.tar.gz.gz'), '.gz');
  assert.equal(typeExtension('a.gz'), '');
  assert.equal(typeExtension('a.'), '.');
  assert.equal(typeExtension('d.d/.profile'), '');
});
