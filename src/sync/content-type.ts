/**
 * The Content-Type `aws s3 sync` would guess for a file. The aws CLI sends
 * `mimetypes.guess_type(path)[0]` (Python), which reads the type off the extension left once a
 * compression suffix is set aside: `a.js.gz` is text/javascript, `a.tgz` application/x-tar, and
 * `a.gz` has no type at all. That step is reproduced here; the extension → type table is mime-types'
 * (mime-db), loaded on the first guess that needs it: a start that uploads nothing (a download, an
 * idle tick) does not load it at all.
 */
type Lookup = (name: string) => string | false;

// The tables of CPython's Lib/mimetypes.py (3.11.7, the Python of the aws CLI this was checked
// against: `python3 -c "import mimetypes; print(mimetypes.suffix_map, mimetypes.encodings_map)"`).

/** `mimetypes.suffix_map`: a suffix that stands for two (`.tgz` is `.tar.gz`). Matched lowercased. */
const SUFFIX_MAP: ReadonlyMap<string, string> = new Map([
  ['.svgz', '.svg.gz'],
  ['.tgz', '.tar.gz'],
  ['.taz', '.tar.gz'],
  ['.tz', '.tar.gz'],
  ['.tbz2', '.tar.bz2'],
  ['.txz', '.tar.xz'],
]);

/**
 * The suffixes of `mimetypes.encodings_map` (gzip, compress, bzip2, xz, br). Matched case
 * sensitively, as Python does: `a.js.GZ` is looked up as `.gz`. Only the suffix is used: the aws
 * CLI sends no Content-Encoding for it, and neither does s3-sync2.
 */
const ENCODING_SUFFIXES: ReadonlySet<string> = new Set(['.gz', '.Z', '.bz2', '.xz', '.br']);

/**
 * `posixpath.splitext`: the extension of the last path segment, where a name's leading dots do not
 * start one (`.bashrc`, `..gz` have none). Node's extname differs on such names.
 */
function splitext(path: string): [base: string, ext: string] {
  const sep = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  if (dot > sep) {
    for (let i = sep + 1; i < dot; i++) if (path[i] !== '.') return [path.slice(0, dot), path.slice(dot)];
  }
  return [path, ''];
}

/**
 * The extension `mimetypes.guess_type` looks the type up by, lowercased (`.js` for `a.js.gz`), or
 * '' / '.' when the name has none. The aws CLI passes the whole local path, which never parses as
 * the `data:` URL guess_type also accepts, so only this path step applies.
 */
export function typeExtension(name: string): string {
  let [base, ext] = splitext(name);
  let alias: string | undefined;
  // Every value of SUFFIX_MAP ends in an encoding suffix, which is no key of it: the loop ends.
  while ((alias = SUFFIX_MAP.get(ext.toLowerCase())) !== undefined) [base, ext] = splitext(base + alias);
  // One encoding suffix only: `a.tar.gz.gz` is looked up as `.gz`.
  if (ENCODING_SUFFIXES.has(ext)) [, ext] = splitext(base);
  return ext.toLowerCase();
}

let loading: Promise<Lookup> | undefined;

/**
 * The type for `name` (a file name or path), or undefined when there is no guess; the caller then
 * sends no Content-Type, as the aws CLI does (S3 stores binary/octet-stream).
 */
export async function guessContentType(name: string): Promise<string | undefined> {
  const ext = typeExtension(name);
  // No extension, no type: mime-types would read `json` or `.json` as one.
  if (ext.length < 2) return undefined;
  loading ??= import('./mime-lookup.js').then(
    (mime) => mime.lookup,
    (err: unknown) => {
      // Not cached: the next upload tries again rather than every one failing from now on.
      loading = undefined;
      throw err;
    },
  );
  return (await loading)(ext) || undefined;
}
