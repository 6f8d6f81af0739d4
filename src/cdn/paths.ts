/**
 * Pure path computation for CloudFront invalidations: which URL paths serve an S3 key (from the
 * distribution's origins or `--cf-path-prefix`), how a big change collapses into a few wildcards,
 * and how paths are encoded the way CloudFront matches them. No I/O here.
 */

/** Keys starting with `keyPrefix` are served at `urlPrefix` + the rest of the key. */
export interface KeyMapping {
  /** '' or a prefix ending in '/'. */
  readonly keyPrefix: string;
  /** A decoded URL path starting and ending with '/'. */
  readonly urlPrefix: string;
}

/** The fields of a CloudFront origin that tell where it reads from. */
export interface OriginLike {
  readonly DomainName?: string;
  readonly OriginPath?: string;
}

/** How a batch of changed URL paths may be collapsed. */
export interface CollapseLimits {
  /** A folder (not the root) whose changes need more paths than this becomes `/folder/*`. */
  readonly maxPathsPerFolder: number;
  /** A batch with more paths than this (after folder collapsing) becomes `/*`. */
  readonly maxTotalPaths: number;
}

/**
 * CloudFront accepts at most 15 wildcard paths in progress per distribution; a batch with more
 * would be refused outright, so it becomes `/*` instead.
 */
export const MAX_WILDCARDS_PER_BATCH = 15;

/** The mapping of the identity origin: key `k` is served at `/k`. */
export const DIRECT_MAPPING: KeyMapping = { keyPrefix: '', urlPrefix: '/' };

// <bucket>.s3.amazonaws.com, <bucket>.s3.<region>.amazonaws.com, <bucket>.s3-<region>...,
// <bucket>.s3-website-<region>..., <bucket>.s3-website.<region>..., dualstack, accelerate, .cn
const AWS_S3_HOST = /^(.+)\.s3(?:[.-][a-z0-9.-]+)?\.amazonaws\.com(?:\.cn)?$/;

/**
 * The key mappings of the origins that read from `bucket`, most specific form first: AWS S3
 * host names (virtual-hosted, website), then path-style origins (`/<bucket>` leading the
 * OriginPath, for custom endpoints), then any host named `<bucket>.…`. [] when none matches.
 */
export function originMappings(origins: readonly OriginLike[], bucket: string): KeyMapping[] {
  const name = bucket.toLowerCase();
  const host = (o: OriginLike) => (o.DomainName ?? '').toLowerCase().replace(/\.$/, '');
  const tiers: Array<(o: OriginLike) => string | undefined> = [
    (o) => (AWS_S3_HOST.exec(host(o))?.[1] === name ? trimSlashes(o.OriginPath) : undefined),
    (o) => {
      const [first, ...rest] = trimSlashes(o.OriginPath).split('/');
      return first === bucket ? rest.join('/') : undefined;
    },
    (o) => (host(o).startsWith(`${name}.`) ? trimSlashes(o.OriginPath) : undefined),
  ];
  for (const tier of tiers) {
    const roots = origins.map(tier).filter((r): r is string => r !== undefined);
    if (roots.length > 0) {
      return unique(roots).map((root) => ({ keyPrefix: root === '' ? '' : `${root}/`, urlPrefix: '/' }));
    }
  }
  return [];
}

/** The mapping `--cf-path-prefix` sets: files under the sync prefix are served under `pathPrefix`. */
export function pathPrefixMapping(syncPrefix: string, pathPrefix: string): KeyMapping {
  const prefix = trimSlashes(syncPrefix);
  const url = trimSlashes(pathPrefix);
  return { keyPrefix: prefix === '' ? '' : `${prefix}/`, urlPrefix: url === '' ? '/' : `/${url}/` };
}

/** The decoded URL paths that serve `key` ([] when no mapping covers it: it is not served). */
export function keyToUrlPaths(key: string, mappings: readonly KeyMapping[]): string[] {
  const out: string[] = [];
  for (const { keyPrefix, urlPrefix } of mappings) {
    if (key.length > keyPrefix.length && key.startsWith(keyPrefix)) {
      out.push(urlPrefix + key.slice(keyPrefix.length));
    }
  }
  return out;
}

/**
 * The invalidation paths (encoded, sorted, deduplicated) for a set of decoded URL paths: a folder
 * whose changes anywhere below it would still need more than `maxPathsPerFolder` paths (after
 * its subfolders collapsed, bottom-up) becomes `/folder/*`; a result above `maxTotalPaths` paths
 * or `MAX_WILDCARDS_PER_BATCH` wildcards becomes `/*`.
 */
export function invalidationPaths(urlPaths: Iterable<string>, limits: CollapseLimits): string[] {
  const root = newFolder();
  for (const path of urlPaths) addPath(root, path);
  const collapsed = collapse(root, [], limits.maxPathsPerFolder);
  const encoded = removeCovered(unique(collapsed.map(encodeEntry)).sort());
  const wildcards = encoded.filter((p) => p.endsWith('*')).length;
  if (encoded.length > limits.maxTotalPaths || wildcards > MAX_WILDCARDS_PER_BATCH) return ['/*'];
  return encoded;
}

// RFC 1738 "safe", "extra" and "reserved" characters other than '/', '?' and '*': CloudFront
// wants every other byte percent-encoded (unsafe characters, non-ASCII, controls) and the rest
// left alone, or the path does not match the cached URL.
const KEEP = /^[A-Za-z0-9\-_.+$!'(),;:@=&]$/;

// Characters a viewer sends raw but CloudFront cannot invalidate exactly: a raw '~' is refused as
// an invalid path and '%7E' is accepted but reported not to match; a raw '*' would be a wildcard.
// A path holding one is invalidated as a prefix wildcard cut just before it.
const UNMATCHABLE = /[~*]/;

/** Percent-encodes one decoded path segment the way CloudFront expects (UTF-8, upper-case hex). */
export function encodeSegment(segment: string): string {
  let out = '';
  for (const ch of segment) {
    if (KEEP.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A collapsed entry: a file path, or a wildcard over everything under `segments`. */
interface Entry {
  readonly segments: readonly string[];
  readonly wildcard: boolean;
}

interface Folder {
  readonly files: Set<string>;
  readonly folders: Map<string, Folder>;
}

function newFolder(): Folder {
  return { files: new Set(), folders: new Map() };
}

function addPath(root: Folder, path: string): void {
  const segments = path.replace(/^\//, '').split('/');
  const file = segments.pop() ?? '';
  let folder = root;
  for (const segment of segments) {
    let child = folder.folders.get(segment);
    if (!child) folder.folders.set(segment, (child = newFolder()));
    folder = child;
  }
  folder.files.add(file);
}

function collapse(folder: Folder, at: readonly string[], maxPerFolder: number): Entry[] {
  const out: Entry[] = [...folder.files].map((file) => ({ segments: [...at, file], wildcard: false }));
  for (const [name, child] of folder.folders) out.push(...collapse(child, [...at, name], maxPerFolder));
  // The root is left to the total bound: `/*` is the big hammer, not a per-folder decision.
  return at.length > 0 && out.length > maxPerFolder ? [{ segments: at, wildcard: true }] : out;
}

function encodeEntry({ segments, wildcard }: Entry): string {
  const cut = segments.findIndex((s) => UNMATCHABLE.test(s));
  if (cut >= 0) {
    const segment = segments[cut]!;
    const head = segments.slice(0, cut).map(encodeSegment);
    return `/${[...head, encodeSegment(segment.slice(0, segment.search(UNMATCHABLE)))].join('/')}*`;
  }
  const path = `/${segments.map(encodeSegment).join('/')}`;
  if (!wildcard) return path;
  return segments.length === 0 ? '/*' : `${path}/*`;
}

/** Drops paths a wildcard in the same list already covers (e.g. `/a/b` under `/a/*`). */
function removeCovered(paths: readonly string[]): string[] {
  const stems = paths.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return paths.filter((p) => !stems.some((stem) => p !== `${stem}*` && p.startsWith(stem)));
}

function trimSlashes(path: string | undefined): string {
  return (path ?? '').replace(/^\/+|\/+$/g, '');
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
