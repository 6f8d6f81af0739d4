/**
 * Value parsers: each turns one raw string from argv or the environment into a typed value, or says
 * what is allowed. They know nothing of option names; the resolver adds those to the error.
 */

/** Thrown by a parser; the message completes "<option>: …" (e.g. "must be an integer …"). */
export class ValueError extends Error {}

/** Turns one raw string into a typed value. */
export interface Parser<T> {
  /** What the value must be, completing "must be …"; shown in errors and in --help. */
  readonly allowed: string;
  /** Placeholder for the value in --help, e.g. `N`. */
  readonly metavar: string;
  /** Throws ValueError when the raw string is not allowed. */
  parse(raw: string): T;
}

/** A parser from a function that returns undefined for anything not allowed. */
function parser<T>(metavar: string, allowed: string, convert: (raw: string) => T | undefined): Parser<T> {
  return {
    metavar,
    allowed,
    parse(raw) {
      const value = convert(raw);
      if (value === undefined) throw new ValueError(`must be ${allowed}`);
      return value;
    },
  };
}

/** Whole numbers in [min, max] (max open when omitted). */
export function integer(min: number, max?: number): Parser<number> {
  const allowed = max === undefined ? `an integer of at least ${min}` : `an integer between ${min} and ${max}`;
  return parser('N', allowed, (raw) => {
    if (!/^\s*[+-]?\d+\s*$/.test(raw)) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max) ? n : undefined;
  });
}

/** One of a fixed set of words; with `ignoreCase` the canonical spelling is returned. */
export function oneOf<const V extends string>(
  values: readonly V[],
  opts: { ignoreCase?: boolean; metavar?: string } = {},
): Parser<V> {
  const fold = (s: string) => (opts.ignoreCase ? s.toLowerCase() : s);
  const allowed = `one of ${values.join(', ')}${opts.ignoreCase ? ' (any case)' : ''}`;
  return parser(opts.metavar ?? values.join('|'), allowed, (raw) => values.find((v) => fold(v) === fold(raw.trim())));
}

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** Booleans as environment variables spell them. */
export const bool: Parser<boolean> = parser('BOOL', 'true or false (also 1/0, yes/no)', (raw) => {
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  return undefined;
});

/** Any non-empty string, kept as given. */
export function text(metavar = 'TEXT'): Parser<string> {
  return parser(metavar, 'a non-empty value', (raw) => (raw.trim() === '' ? undefined : raw));
}

/** An `--exclude` / `--include` pattern, kept as given; an empty one matches nothing, as in aws. */
export const globPattern: Parser<string> = parser('PATTERN', 'a glob pattern (an empty one matches nothing)', (raw) => raw);

/** C0 controls (CR and LF among them) and DEL: no HTTP header can carry them. */
const CONTROL = /[\x00-\x1f\x7f]/;
/** Beyond ASCII: Node sends U+0080..U+00FF as single Latin-1 bytes (stored garbled) and refuses the rest at send time. */
const NON_ASCII = /[^\x00-\x7f]/;

/** The raw value for an error message, control characters escaped so the message stays one line. */
export function shown(raw: string): string {
  const names: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  return raw.replace(/[\x00-\x1f\x7f]/g, (c) => names[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Why `value` cannot be sent as an HTTP header value, or undefined when it can. Checked at start:
 * at upload time the same value would fail every tick (or be stored garbled) until the task is
 * restarted with another one.
 */
function headerProblem(value: string): string | undefined {
  if (CONTROL.test(value)) return 'must not contain line breaks, tabs or other control characters (an HTTP header cannot carry them)';
  const other = NON_ASCII.exec(value);
  if (other) return `must be ASCII: an HTTP header cannot carry "${other[0]}" (encode it first, e.g. percent-encoded as in filename*=UTF-8''%C3%A9.txt)`;
  return undefined;
}

/** The value of an object header (Cache-Control, Content-Type …): non-empty printable ASCII, kept as given. */
export function headerValue(metavar = 'TEXT'): Parser<string> {
  return {
    metavar,
    allowed: 'a non-empty value of printable ASCII characters',
    parse(raw) {
      if (raw.trim() === '') throw new ValueError('must be a non-empty value');
      const problem = headerProblem(raw);
      if (problem) throw new ValueError(problem);
      return raw;
    },
  };
}

/** A single word without spaces (ids, regions, host names). */
export function word(metavar: string): Parser<string> {
  return parser(metavar, 'a non-empty value without spaces', (raw) => (/^\S+$/.test(raw) ? raw : undefined));
}

/** A single word of printable ASCII, for ids sent in a header. */
export function headerWord(metavar: string): Parser<string> {
  return parser(metavar, 'a non-empty value of printable ASCII characters without spaces', (raw) => (/^[\x21-\x7e]+$/.test(raw) ? raw : undefined));
}

/** An absolute http:// or https:// URL. */
export const httpUrl: Parser<string> = parser('URL', 'an http:// or https:// URL', (raw) => {
  if (!URL.canParse(raw)) return undefined;
  const { protocol } = new URL(raw);
  return protocol === 'http:' || protocol === 'https:' ? raw : undefined;
});

/** URL paths for `aws cloudfront create-invalidation --paths`, separated by spaces or commas. */
export const urlPaths: Parser<readonly string[]> = parser(
  'PATHS',
  'URL paths starting with "/", separated by spaces or commas',
  (raw) => {
    const paths = raw.split(/[\s,]+/).filter((p) => p !== '');
    return paths.length > 0 && paths.every((p) => p.startsWith('/')) ? paths : undefined;
  },
);

/** A URL path prefix, normalised to a leading slash and no trailing one; '' for the root. */
export const urlPathPrefix: Parser<string> = parser('PATH', 'a URL path such as /static', (raw) => {
  if (/\s/.test(raw)) return undefined;
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
});

/** Pipe-separated entries (the seed's `--md5-skip-path` syntax); empty entries are dropped. */
export const pipeList: Parser<readonly string[]> = parser('PATH|PATH', 'one or more paths separated by "|"', (raw) => {
  const items = raw.split('|').map((s) => s.trim()).filter((s) => s !== '');
  return items.length > 0 ? items : undefined;
});

const METADATA_ALLOWED = 'key=value pairs separated by commas, or a JSON object of string values';

/** HTTP token characters (RFC 9110): what a header name, `x-amz-meta-<key>`, may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `--metadata` as aws accepts it: `k1=v1,k2=v2` shorthand or a JSON object of strings. */
export const metadata: Parser<Readonly<Record<string, string>>> = {
  metavar: 'k=v,…|JSON',
  allowed: METADATA_ALLOWED,
  parse(raw) {
    // `{}` is an empty map (no metadata), as aws takes it: a direction can drop a global --metadata.
    const entries = raw.trim().startsWith('{') ? jsonEntries(raw) : shorthandEntries(raw);
    if (entries.some(([key]) => key === '')) throw new ValueError(`must be ${METADATA_ALLOWED}`);
    for (const [key, value] of entries) {
      if (!TOKEN.test(key)) {
        throw new ValueError(`key "${shown(key)}" may only contain ASCII letters, digits and !#$%&'*+-.^_\`|~ (it becomes the header name x-amz-meta-<key>)`);
      }
      // S3 keeps metadata as US-ASCII; the aws CLI refuses anything else too.
      const problem = headerProblem(value);
      if (problem) throw new ValueError(`value of "${key}" ${problem}`);
    }
    return Object.fromEntries(entries);
  },
};

function jsonEntries(raw: string): [string, string][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ValueError(`must be ${METADATA_ALLOWED}; the JSON does not parse (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ValueError(`must be ${METADATA_ALLOWED}; the JSON is not an object`);
  }
  const entries = Object.entries(parsed);
  if (entries.some(([, v]) => typeof v !== 'string')) {
    throw new ValueError(`must be ${METADATA_ALLOWED}; every JSON value must be a string`);
  }
  return entries as [string, string][];
}

function shorthandEntries(raw: string): [string, string][] {
  return raw.split(',').map((pair): [string, string] => {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new ValueError(`must be ${METADATA_ALLOWED}; "${pair}" has no "="`);
    return [pair.slice(0, eq).trim(), pair.slice(eq + 1)];
  });
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(\.\d+)?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/i;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const HTTP_DATE =
  /^(?:([a-z]{3}),\s*)?(\d{1,2})\s+([a-z]{3})\s+(\d{4})\s+([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s+(GMT|UTC|Z|[+-](?:[01]\d|2[0-3])[0-5]\d)$/i;
const EPOCH_SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * `--expires` in the forms the aws CLI takes: ISO 8601 (without a zone taken as UTC, so the result
 * never depends on the host), an HTTP date, or seconds since 1970.
 */
export const timestamp: Parser<Date> = parser(
  'TIMESTAMP',
  'an ISO-8601 timestamp such as 2030-01-31T12:00:00Z, an HTTP date such as "Thu, 31 Jan 2030 12:00:00 GMT", or seconds since 1970',
  (raw) => {
    if (CONTROL.test(raw)) return undefined;
    const value = raw.trim();
    const date = EPOCH_SECONDS.test(value) ? new Date(Number(value) * 1000) : (isoDate(value) ?? httpDate(value));
    return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
  },
);

function isoDate(value: string): Date | undefined {
  const m = ISO_8601.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, hh, mm, ss, frac, zone] = m;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) return undefined;
  if (hh === undefined) return day;
  const zoneText = zone === undefined ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2').toUpperCase();
  return new Date(`${y}-${mo}-${d}T${hh}:${mm}:${ss ?? '00'}${frac ?? ''}${zoneText}`);
}

/** `Thu, 31 Jan 2030 12:00:00 GMT` (RFC 9110), also with a numeric zone as RFC 2822 allows. */
function httpDate(value: string): Date | undefined {
  const m = HTTP_DATE.exec(value);
  if (!m) return undefined;
  const [, weekday, d, mon, y, hh, mm, ss, zone] = m;
  const month = MONTHS.indexOf((mon ?? '').toLowerCase());
  if (month < 0) return undefined;
  const day = new Date(Date.UTC(Number(y), month, Number(d)));
  if (day.getUTCMonth() !== month || day.getUTCDate() !== Number(d)) return undefined;
  // A weekday that does not fit the date means one of them is a typo: better refused than guessed.
  if (weekday !== undefined && WEEKDAYS.indexOf(weekday.toLowerCase()) !== day.getUTCDay()) return undefined;
  const offset = /^[+-]/.test(zone ?? '') ? `${zone?.slice(0, 3)}:${zone?.slice(3)}` : 'Z';
  const iso = day.toISOString().slice(0, 10);
  return new Date(`${iso}T${hh}:${mm}:${ss ?? '00'}${offset}`);
}

/** Where an S3 URI points. */
export interface S3Location {
  /** The URI as given (trimmed), for logs. */
  readonly uri: string;
  readonly bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  readonly prefix: string;
}

/** Bucket names, including legacy ones (upper case, underscores) that us-east-1 still serves. */
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** `s3://bucket[/prefix][/]`. */
export const s3Uri: Parser<S3Location> = parser('S3Uri', 'an S3 URI s3://bucket[/prefix] with a valid bucket name (3 to 255 letters, digits, dots, dashes)', (raw) => {
  const uri = raw.trim();
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(uri);
  if (!m || !BUCKET_NAME.test(m[1] ?? '') || (m[2] ?? '').includes('\0')) return undefined;
  return { uri, bucket: m[1] ?? '', prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
});
