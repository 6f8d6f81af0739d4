import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import type { FilterRule } from '../src/config.js';
import { compileFilter, globToRegExp, INTERNAL_NAME_PREFIX, isInternalPath } from '../src/filters.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';

const run = promisify(execFile);
const s3 = useS3();

const ex = (pattern: string): FilterRule => ({ type: 'exclude', pattern });
const inc = (pattern: string): FilterRule => ({ type: 'include', pattern });

test('glob patterns follow Python fnmatch', () => {
  const cases: [pattern: string, path: string, matches: boolean][] = [
    ['*.txt', 'a.txt', true],
    ['*.txt', 'docs/deep/a.txt', true], // `*` crosses `/`
    ['*.txt', 'a.txt.bak', false], // anchored at both ends
    ['docs/*', 'docs/a/b.md', true],
    ['docs/*', 'other/docs/a.md', false], // anchored at the root
    ['a?c', 'abc', true],
    ['a?c', 'a/c', true], // `?` matches `/` too
    ['a?c', 'ac', false],
    ['a?c', 'aéc', true], // one character, not one byte
    ['[ab]*', 'b.log', true],
    ['[ab]*', 'c.log', false],
    ['[!ab]*', 'c.log', true],
    ['[!ab]*', 'a.log', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[]]x', ']x', true], // `]` first in a set is a member
    ['[!]]x', 'ax', true],
    ['x[1', 'x[1', true], // an unclosed `[` is literal
    ['[z-a]', 'z', false], // a reversed range matches nothing
    ['[a-]', '-', true],
    ['a.b', 'axb', false], // `.` is literal
    ['(x)+', '(x)+', true],
    ['*.TXT', 'a.txt', false], // case-sensitive, as on POSIX
    ['**', 'any/thing', true],
    ['/a.txt', 'a.txt', false], // aws joins a leading `/` as an absolute path: never matches
    ['with space*', 'with space/x', true],
    ['', 'a.txt', false], // empty: aws joins it to the root as "root/", which no file is
  ];
  for (const [pattern, path, matches] of cases) {
    assert.equal(globToRegExp(pattern).test(path), matches, `${pattern} vs ${path}`);
  }
});

test('rules apply in order, the last matching rule wins, default include', () => {
  const cases: [rules: FilterRule[], path: string, included: boolean][] = [
    [[], 'a.txt', true],
    [[ex('*')], 'a.txt', false],
    [[ex('*'), inc('*.txt')], 'a.txt', true],
    [[ex('*'), inc('*.txt')], 'a.log', false],
    [[inc('*.txt'), ex('*')], 'a.txt', false],
    [[ex('*.tmp'), inc('keep/*.tmp')], 'keep/a.tmp', true],
    [[ex('*.tmp'), inc('keep/*.tmp')], 'x/keep/a.tmp', false],
    [[ex('logs/*')], 'logs/a/b.log', false],
    [[ex('logs/*')], 'logs', true],
    [[inc('*.txt')], 'a.log', true], // include alone never excludes
  ];
  for (const [rules, path, included] of cases) {
    assert.equal(compileFilter(rules)(path), included, `${JSON.stringify(rules)} on ${path}`);
  }
});

test('internal .s3-sync2 names are excluded whatever the rules say', () => {
  assert.equal(INTERNAL_NAME_PREFIX, '.s3-sync2');
  const includeAll = compileFilter([inc('*')]);
  for (const path of ['.s3-sync2.lock', '.s3-sync2-tmp-1', 'a/b/.s3-sync2-part', '.s3-sync2/state.json']) {
    assert.equal(isInternalPath(path), true, path);
    assert.equal(includeAll(path), false, path);
    assert.equal(compileFilter([])(path), false, path);
  }
  for (const path of ['x.s3-sync2', 'a/.s3-sync', 's3-sync2/a', '.s3sync2']) {
    assert.equal(isInternalPath(path), false, path);
    assert.equal(includeAll(path), true, path);
  }
});

test('patterns match exactly what Python fnmatch matches (generated cases)', async () => {
  // Deterministic pseudo-random patterns and paths over the characters that matter to globs.
  let seed = 7;
  const pick = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const word = (max: number, alphabet: string): string =>
    Array.from({ length: 1 + pick(max) }, () => [...alphabet][pick([...alphabet].length)]).join('');
  const patterns = Array.from({ length: 300 }, () => word(7, 'abc/.*?[]!-^\\ é'));
  const paths = Array.from({ length: 50 }, () => word(8, 'abc/.-[]!^\\ é'));
  const script = [
    'import fnmatch, json, sys',
    'd = json.load(sys.stdin)',
    "print(json.dumps([[fnmatch.fnmatchcase(s, p) for s in d['paths']] for p in d['patterns']]))",
  ].join('\n');
  const child = run('python3', ['-c', script]);
  child.child.stdin!.end(JSON.stringify({ patterns, paths }));
  const expected = JSON.parse((await child).stdout) as boolean[][];
  patterns.forEach((pattern, i) => {
    if (pattern.startsWith('/')) return; // aws never matches these; see the table above
    const regex = globToRegExp(pattern);
    assert.deepEqual(paths.map((p) => regex.test(p)), expected[i], `pattern ${JSON.stringify(pattern)}`);
  });
});

/** A small tree with nesting, dotfiles, spaces and glob characters in names. */
const TREE = [
  'a.txt',
  'abc',
  'adc',
  'b.log',
  'c.tmp',
  'notes with spaces.txt',
  '.hidden',
  '.config/settings.json',
  'logs/app.log',
  'logs/old/2023.log',
  'keep/x.tmp',
  'keep/deep/y.tmp',
  'docs/readme.md',
  'docs/a.txt',
  'dir with space/file name.txt',
  'x[1].txt',
];

const RULE_LISTS: FilterRule[][] = [
  [ex('*'), inc('*.txt')],
  [ex('logs/*')],
  [ex('*.tmp'), inc('keep/*.tmp')],
  [ex('a?c')],
  [ex('[ab]*')],
  [ex('[!a-c]*')],
  [ex('*'), inc('docs/*'), ex('*.md')],
  [ex('.*')],
  [ex('*/*')],
  [ex('*with space*')],
  [ex('x[1].txt'), ex('/a.txt')],
  [inc('*.txt')],
  [ex('')],
  [ex('*'), inc('')],
];

test('selection matches `aws s3 sync --dryrun` for the same rules', async () => {
  const root = await tempDir('filters');
  for (const path of TREE) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), path);
  }
  const bucket = await s3().newBucket();
  const env = { ...process.env, ...awsEnv(s3().endpoint) };
  const limit = pLimit(3);
  await Promise.all(
    RULE_LISTS.map((rules) =>
      limit(async () => {
        const args = rules.flatMap((r) => [`--${r.type}`, r.pattern]);
        const { stdout } = await run(
          'aws',
          ['s3', 'sync', root, `s3://${bucket}/prefix`, '--dryrun', '--endpoint-url', s3().endpoint, ...args],
          { env },
        );
        const marker = ` to s3://${bucket}/prefix/`;
        const awsSelected = stdout
          .split('\n')
          .filter((line) => line.startsWith('(dryrun) upload: '))
          .map((line) => line.slice(line.indexOf(marker) + marker.length))
          .sort();
        const ours = TREE.filter(compileFilter(rules)).sort();
        assert.deepEqual(ours, awsSelected, `rules ${args.join(' ')}`);
      }),
    ),
  );
});
