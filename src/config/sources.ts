/**
 * Reading the raw sources — argv and the environment — into occurrences: which option was set, in
 * which direction scope, to which raw string, and how the user spelled it. Values are validated
 * later, by the resolver, only where they win.
 */
import { ConfigError } from '../errors.js';
import type { Direction } from '../sync/types.js';
import { OPTION_LIST, SYNC_OPTS_ENV, type AnyOptionSpec, type OptionKey } from './options.js';
import { shown, ValueError, type Parser } from './parsers.js';

/** Which directions a setting applies to: both (`global`) or one (`--sync-opt-<dir>-*`). */
export type Scope = 'global' | Direction;

/** One setting of one option, as found in argv or the environment. */
export interface Occurrence {
  readonly key: OptionKey;
  readonly scope: Scope;
  readonly raw: string;
  /** How the user set it (`--poll`, `-p`, `POLL_INTERVAL`, `SYNC_OPT_UP: --acl`), to name it in errors. */
  readonly origin: string;
}

/** `--help`/`-h` or `--version` was given: print `helpText()` or the version and exit 0 instead of running. */
export class HelpRequestedError extends Error {
  constructor(readonly kind: 'help' | 'version') {
    super(`${kind} requested`);
    this.name = 'HelpRequestedError';
  }
}

interface Found {
  readonly key: OptionKey;
  readonly spec: AnyOptionSpec;
  /** Spelled as the `--no-…` form of a flag. */
  readonly negated: boolean;
}

const LONG = new Map<string, Found>();
const SHORT = new Map<string, Found>();
for (const [key, spec] of OPTION_LIST) {
  if (spec.arity === 'positional') continue;
  LONG.set(key, { key, spec, negated: false });
  if (spec.negation) LONG.set(spec.negation, { key, spec, negated: true });
  if (spec.short) SHORT.set(spec.short, { key, spec, negated: false });
}

const PER_DIRECTION_NAMES = [...LONG].filter(([, f]) => f.spec.perDirection).map(([name]) => `--${name}`);
const DIRECTION_PREFIX = /^--sync-opt-(up|down)-(.+)$/;

/** How a list of words is read: the command line, or an env var of `aws s3 sync` options. */
interface WordsContext {
  /** Set for words from an env var: every option applies to `scope`, and only `aws s3 sync` options are allowed. */
  readonly env?: { readonly variable: string; readonly scope: Scope };
}

/**
 * Reads the command line. Help and version win over everything else, even bad options, so a
 * confused user can always get the help.
 */
export function readArgv(argv: readonly string[]): Occurrence[] {
  const end = argv.indexOf('--');
  const optionWords = end < 0 ? argv : argv.slice(0, end);
  if (optionWords.some((w) => w === '--help' || w === '-h')) throw new HelpRequestedError('help');
  if (optionWords.includes('--version')) throw new HelpRequestedError('version');
  const { occurrences, positionals } = readWords(optionWords, {});
  if (end >= 0) positionals.push(...argv.slice(end + 1));
  return [...occurrences, ...positionalOccurrences(positionals)];
}

/**
 * Reads the environment: each option's variables (first non-empty one in the table's order), then
 * `SYNC_OPTS`, `SYNC_OPT_UP`, `SYNC_OPT_DOWN` as words of `aws s3 sync` options. Empty variables
 * count as unset, since task definitions often carry them blank.
 */
export function readEnv(env: Readonly<Record<string, string | undefined>>): Occurrence[] {
  const occurrences: Occurrence[] = [];
  for (const [key, spec] of OPTION_LIST) {
    const name = spec.env?.find((n) => isSet(env[n]));
    if (name !== undefined) occurrences.push({ key, scope: 'global', raw: env[name] ?? '', origin: name });
  }
  for (const [scope, name] of Object.entries(SYNC_OPTS_ENV) as [Scope, string][]) {
    const value = env[name];
    if (!isSet(value)) continue;
    const words = splitWords(value, name);
    occurrences.push(...readWords(words, { env: { variable: name, scope } }).occurrences);
  }
  return occurrences;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function readWords(words: readonly string[], ctx: WordsContext): { occurrences: Occurrence[]; positionals: string[] } {
  const occurrences: Occurrence[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!word.startsWith('-') || word === '-') {
      if (ctx.env) throw new ConfigError(ctx.env.variable, `unexpected word "${word}": only aws s3 sync options belong here`);
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    const origin = ctx.env ? `${ctx.env.variable}: ${name}` : name;
    const { found, scope } = lookup(name, origin, ctx);
    const next = words[i + 1];
    const value = rawValue(found, origin, inline, next, ctx);
    if (value.consumedNext) i++;
    occurrences.push({ key: found.key, scope, raw: value.raw, origin });
  }
  return { occurrences, positionals };
}

function lookup(name: string, origin: string, ctx: WordsContext): { found: Found; scope: Scope } {
  const prefixed = ctx.env ? null : DIRECTION_PREFIX.exec(name);
  if (prefixed) {
    const found = LONG.get(prefixed[2] ?? '');
    if (!found?.spec.perDirection) {
      throw new ConfigError(origin, `unknown aws s3 sync option "--${prefixed[2]}"; allowed: ${PER_DIRECTION_NAMES.join(', ')}`);
    }
    return { found, scope: prefixed[1] as Direction };
  }
  const found = name.startsWith('--') ? LONG.get(name.slice(2)) : SHORT.get(name.slice(1));
  if (ctx.env) {
    if (!found?.spec.perDirection) {
      throw new ConfigError(origin, `not an aws s3 sync option; allowed here: ${PER_DIRECTION_NAMES.join(', ')}`);
    }
    return { found, scope: ctx.env.scope };
  }
  if (!found) throw new ConfigError(origin, 'unknown option (run with --help for the list)');
  return { found, scope: 'global' };
}

function rawValue(
  found: Found,
  origin: string,
  inline: string | undefined,
  next: string | undefined,
  ctx: WordsContext,
): { raw: string; consumedNext: boolean } {
  const { spec } = found;
  if (found.negated || spec.arity === 'flag') {
    if (found.negated && inline !== undefined) throw new ConfigError(origin, 'takes no value');
    return { raw: found.negated ? 'false' : (inline ?? 'true'), consumedNext: false };
  }
  if (inline !== undefined) return { raw: inline, consumedNext: false };
  if (spec.arity === 'optional-value') {
    if (next !== undefined && accepts(spec.parser, next)) return { raw: next, consumedNext: true };
    if (next === undefined || next.startsWith('-')) return { raw: spec.implicit ?? '', consumedNext: false };
    // A typo'd value (`--debug verbose`) taken as the LocalPath would sync a new, empty folder
    // with exit 0; only a word shaped like a path or URI is trusted to be a positional.
    if (!ctx.env && looksLikePositional(next)) return { raw: spec.implicit ?? '', consumedNext: false };
    const hint = ctx.env ? '' : `; a <LocalPath> right after a bare ${origin} must contain a "/" (e.g. ./${next})`;
    throw new ConfigError(origin, `must be ${spec.parser.allowed} (got "${shown(next)}")${hint}`);
  }
  // A following option is a forgotten value, not a value that starts with "--".
  if (next === undefined || next.startsWith('--')) throw new ConfigError(origin, `needs a value (${spec.parser.allowed})`);
  return { raw: next, consumedNext: true };
}

function looksLikePositional(word: string): boolean {
  return word.includes('/') || word === '.' || word === '..' || /^s3:\/\//i.test(word);
}

function accepts(parser: Parser<unknown>, raw: string): boolean {
  try {
    parser.parse(raw);
    return true;
  } catch (err) {
    if (err instanceof ValueError) return false;
    throw err;
  }
}

/** Assigns positionals by shape: the one starting with `s3://` is the S3Uri, in either order. */
function positionalOccurrences(words: readonly string[]): Occurrence[] {
  if (words.length > 2) {
    throw new ConfigError(`argument "${words[2]}"`, 'unexpected: give exactly <LocalPath> and <S3Uri>');
  }
  const uris = words.filter((w) => /^s3:\/\//i.test(w));
  const paths = words.filter((w) => !/^s3:\/\//i.test(w));
  if (uris.length > 1) throw new ConfigError('<S3Uri>', `given twice ("${uris.join('" and "')}"); give one S3 URI and one local path`);
  if (paths.length > 1) {
    throw new ConfigError('<S3Uri>', `must be an s3:// URI; got two local paths ("${paths.join('" and "')}")`);
  }
  return [
    ...paths.map((raw): Occurrence => ({ key: 'LocalPath', scope: 'global', raw, origin: '<LocalPath>' })),
    ...uris.map((raw): Occurrence => ({ key: 'S3Uri', scope: 'global', raw, origin: '<S3Uri>' })),
  ];
}

/** Splits an env value into words like a shell would for simple cases: whitespace, '…' and "…" quoting. */
export function splitWords(value: string, variable: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (const ch of value) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current = (current ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current ??= '';
    } else if (/\s/.test(ch)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (quote !== undefined) throw new ConfigError(variable, `unbalanced ${quote} quote`);
  if (current !== undefined) words.push(current);
  return words;
}
