import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { optionsMarkdown } from '../src/config/help.js';
import { OPTION_LIST } from '../src/config/options.js';

const readme = readFileSync('README.md', 'utf8');

test('README option reference is the one generated from the option table (run `npm run docs`)', () => {
  const begin = readme.indexOf('<!-- options:begin');
  const end = readme.indexOf('<!-- options:end -->');
  assert.ok(begin >= 0 && end > begin, 'README has the options markers');
  const block = readme.slice(readme.indexOf('\n', begin) + 1, end).trim();
  assert.equal(block, optionsMarkdown().trim());
  for (const [key, spec] of OPTION_LIST) {
    const name = spec.arity === 'positional' ? `<${key}>` : `--${key}`;
    assert.ok(block.includes(name), `README documents ${name}`);
  }
});

test('README names the two commands: the demo and the tests', () => {
  assert.match(readme, /npm run demo/);
  assert.match(readme, /npm test/);
});
