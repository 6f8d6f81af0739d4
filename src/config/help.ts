/** `--help`: every option with its spellings, env vars, default and allowed values, from the option table. */
import { text, word } from './parsers.js';
import { OPTION_GROUPS, OPTION_LIST, SYNC_OPTS_ENV, type AnyOptionSpec, type OptionGroup } from './options.js';

const WIDTH = 100;
/** "Allowed:" lines that would say nothing the metavar does not. */
const UNINFORMATIVE = new Set([text().allowed, word('').allowed]);
const NAME_COLUMN = 36;

const USAGE = [
  'Usage: s3-sync2 [options] <LocalPath> <S3Uri>',
  '',
  'Keeps a local directory and an S3 prefix in sync in both directions. Settings come from flags,',
  'then environment variables, then defaults. Options take "--opt value" or "--opt=value".',
  '',
];

const GROUP_NOTES: Partial<Record<OptionGroup, readonly string[]>> = {
  sync: [
    'They apply to both directions. For one direction only, prefix one with --sync-opt-up-',
    "(LocalPath to S3) or --sync-opt-down- (S3 to LocalPath): --sync-opt-down-delete,",
    "--sync-opt-up-exclude '*.tmp'. A direction's own setting wins; its filters follow the global ones.",
    `In the environment, ${SYNC_OPTS_ENV.global} (both directions), ${SYNC_OPTS_ENV.up} and ${SYNC_OPTS_ENV.down} hold such options`,
    `as words, e.g. ${SYNC_OPTS_ENV.down}="--delete --exclude '*.tmp'"; command-line options come after them.`,
  ],
};

/** The full --help text. */
export function helpText(): string {
  const lines = [...USAGE];
  for (const [group, title] of Object.entries(OPTION_GROUPS) as [OptionGroup, string][]) {
    lines.push(`${title}:`);
    for (const note of GROUP_NOTES[group] ?? []) lines.push(`  ${note}`);
    for (const [key, spec] of OPTION_LIST) {
      if (spec.group === group) lines.push(...describe(key, spec));
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function describe(key: string, spec: AnyOptionSpec): string[] {
  const names = spellings(key, spec).join(', ');
  const dflt = spec.defaultText ?? (spec.default === undefined || spec.default === false ? undefined : String(spec.default));
  const right = [spec.env && `env ${spec.env.join(' or ')}`, dflt && `default: ${dflt}`].filter(Boolean).join('; ');
  const head = right === '' ? `  ${names}` : `  ${names.padEnd(NAME_COLUMN - 2)} ${right}`;
  const showAllowed = spec.arity !== 'flag' && !UNINFORMATIVE.has(spec.parser.allowed);
  const body = showAllowed ? `${spec.help} Allowed: ${spec.parser.allowed}.` : spec.help;
  return [head, ...wrap(body, '      ')];
}

function spellings(key: string, spec: AnyOptionSpec): string[] {
  if (spec.arity === 'positional') return [`<${key}>`];
  const value =
    spec.arity === 'value' ? ` ${spec.parser.metavar}` : spec.arity === 'optional-value' ? ` [${spec.parser.metavar}]` : '';
  const names = [`--${key}${value}`];
  if (spec.short) names.unshift(`-${spec.short}`);
  if (spec.negation) names.push(`--${spec.negation}`);
  return names;
}

function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const w of text.split(/\s+/)) {
    if (line.length + w.length + 1 > WIDTH && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${w} `;
  }
  lines.push(line.trimEnd());
  return lines;
}

/**
 * The README's option reference, from the same table as --help, so the two cannot drift
 * (test/readme.test.ts compares; `npm run docs` rewrites the README block).
 */
export function optionsMarkdown(): string {
  const out: string[] = [];
  for (const [group, title] of Object.entries(OPTION_GROUPS) as [OptionGroup, string][]) {
    out.push(`#### ${title}`, '');
    for (const note of GROUP_NOTES[group] ?? []) out.push(note);
    if (GROUP_NOTES[group]) out.push('');
    out.push('| Option | Environment | Default | Meaning |', '| --- | --- | --- | --- |');
    for (const [key, spec] of OPTION_LIST) {
      if (spec.group !== group) continue;
      const dflt = spec.defaultText ?? (spec.default === undefined || spec.default === false ? '' : String(spec.default));
      const showAllowed = spec.arity !== 'flag' && !UNINFORMATIVE.has(spec.parser.allowed);
      const meaning = showAllowed ? `${spec.help} Allowed: ${spec.parser.allowed}.` : spec.help;
      const cells = [
        spellings(key, spec).map((s) => `\`${s}\``).join(', '),
        (spec.env ?? []).map((e) => `\`${e}\``).join(', '),
        dflt === '' ? '' : `\`${dflt}\``,
        meaning,
      ];
      out.push(`| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}
