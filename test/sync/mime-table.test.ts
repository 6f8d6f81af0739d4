/**
 * The build swaps mime-types for a module with its extension table precomputed
 * (scripts/mime-table.mjs): that module must answer every name as mime-types itself does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import mimeTypes from 'mime-types';
import { mimeLookupModule, mimeTypesTable } from '../../scripts/mime-table.mjs';

test('mime table: the precomputed lookup answers as mime-types for every extension and odd names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3sync2-mime-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'lookup.mjs');
  writeFileSync(file, mimeLookupModule());
  const built = (await import(pathToFileURL(file).href)) as { lookup: (name: string) => string | false };

  const extensions = Object.keys(mimeTypesTable());
  assert.ok(extensions.length > 1000, `expected mime-db's ~1,200 extensions, got ${extensions.length}`);
  const names = [
    ...extensions.flatMap((ext) => [`f.${ext}`, `dir.x/F.${ext.toUpperCase()}`, ext, `.${ext}`]),
    '', 'noext', 'dir/noext', 'trailing.', '.bashrc', 'a.tar.gz', 'UPPER.JSON', 'x.unknown-ext',
    // Names of Object.prototype: no type, as with mime-types' prototype-less table.
    'f.constructor', 'f.__proto__', 'f.hasownproperty', 'f.tostring',
  ];
  for (const name of names) assert.equal(built.lookup(name), mimeTypes.lookup(name), `lookup(${JSON.stringify(name)})`);
});

test('mime table: the built bundle carries the precomputed table, not mime-types (npm run build first)', () => {
  const chunks = readdirSync('dist').filter((name) => name.endsWith('.js'));
  const lookup = chunks.filter((name) => name.startsWith('mime-lookup-'));
  assert.equal(lookup.length, 1, `one mime-lookup chunk in dist/ (found: ${lookup.join(', ') || 'none'})`);
  assert.match(readFileSync(join('dist', lookup[0]!), 'utf8'), /"json":"application\/json"/);
  // mime-types' own scoring, which builds the table at load, is in no chunk.
  for (const name of chunks) assert.doesNotMatch(readFileSync(join('dist', name), 'utf8'), /mimeScore/, name);
});
