/**
 * `--exclude` / `--include` with `aws s3 sync` semantics: rules apply in order, the last matching
 * rule wins, a path no rule matches is included. Patterns are Python `fnmatch` globs matched
 * against the whole path relative to the sync root, so `*` also crosses `/`.
 */
import type { FilterRule } from './config.js';
import { isInternalPath } from './local/paths.js';

export { INTERNAL_NAME_PREFIX, isInternalPath } from './local/paths.js';

/** Decides whether a relative POSIX path takes part in a sync direction (true = included). */
export type PathFilter = (path: string) => boolean;

/**
 * Compiles rules once into a filter. Internal names are excluded whatever the rules say.
 * A pattern starting with `/` never matches: aws joins it to the root as an absolute path.
 */
export function compileFilter(rules: readonly FilterRule[]): PathFilter {
  const compiled = rules.map((rule) => ({ include: rule.type === 'include', regex: globToRegExp(rule.pattern) }));
  return (path) => {
    if (isInternalPath(path)) return false;
    let included = true;
    for (const rule of compiled) if (rule.regex.test(path)) included = rule.include;
    return included;
  };
}

/**
 * Translates a Python `fnmatch` pattern (as of CPython 3.11) to an anchored RegExp:
 * `*` any run of characters (including `/`), `?` one character, `[seq]` / `[!seq]` a set,
 * a `[` without its `]` is literal. Matching is case-sensitive, as on POSIX.
 */
export function globToRegExp(pattern: string): RegExp {
  if (pattern.startsWith('/')) return /(?!)/;
  let source = '';
  let afterStar = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    i++;
    const star = c === '*';
    if (star) {
      // Consecutive stars are one star (keeps the RegExp linear for `**`).
      if (!afterStar) source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '[') {
      const set = parseSet(pattern, i);
      if (set === null) {
        source += '\\[';
      } else {
        source += set.source;
        i = set.end;
      }
    } else {
      source += escapeChar(c);
    }
    afterStar = star;
  }
  return new RegExp(`^${source}$`, 'su');
}

/** Parses a `[...]` set whose content starts at `start`; null when it has no closing `]`. */
function parseSet(pattern: string, start: number): { source: string; end: number } | null {
  let j = start;
  const negated = pattern[j] === '!';
  if (negated) j++;
  // A `]` right after `[` or `[!` is a member, not the end.
  if (pattern[j] === ']') j++;
  const close = pattern.indexOf(']', j);
  if (close < 0) return null;
  const members = setMembers(pattern.slice(negated ? start + 1 : start, close));
  const end = close + 1;
  if (members === '') return { source: negated ? '.' : '(?!)', end };
  return { source: `[${negated ? '^' : ''}${members}]`, end };
}

/** Members of a set as RegExp class text: ranges `a-z` kept (reversed ones dropped, as Python does). */
function setMembers(body: string): string {
  const chars = [...body];
  let out = '';
  for (let k = 0; k < chars.length; k++) {
    const from = chars[k]!;
    const to = chars[k + 2];
    if (chars[k + 1] === '-' && to !== undefined) {
      if (from <= to) out += `${escapeClassChar(from)}-${escapeClassChar(to)}`;
      k += 2;
    } else {
      out += escapeClassChar(from);
    }
  }
  return out;
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
