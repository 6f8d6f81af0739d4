/**
 * Reads one ListObjectsV2 result page (S3's XML) into domain objects. The SDK's generic XML
 * deserializer spent about 40% of an idle tick's CPU on listings; this reads only the elements
 * the sync uses. A document it does not recognise is refused, so the caller can fall back.
 */
import type { RemoteObject } from './types.js';

/** One page of a listing. */
export interface ListPage {
  readonly objects: readonly RemoteObject[];
  /** The continuation token of the next page, when the listing is truncated. */
  readonly nextToken?: string;
}

/** The document is not a ListObjectsV2 result this parser can read with confidence. */
export class UnreadableListingError extends Error {
  constructor(reason: string) {
    super(`unreadable ListObjectsV2 result: ${reason}`);
    this.name = 'UnreadableListingError';
  }
}

/** What a page says besides its entries. */
export interface ListHeader {
  /** Keys are URL-encoded (`EncodingType` url). */
  readonly urlEncoded: boolean;
  readonly keyCount?: string;
  readonly nextToken?: string;
}

/** Parses a ListObjectsV2 page; keys are URL-decoded when the result says `EncodingType` url. */
export function parseListPage(xml: string): ListPage {
  const header = readListHeader(xml);
  return pageOf(header, readListEntries(xml, header.urlEncoded));
}

/** The tags readListHeader looks for (kept with it: ListingMemory must find none among entries). */
export const LIST_HEADER_TAGS = ['<ListBucketResult', '</ListBucketResult>', '<IsTruncated>', '<NextContinuationToken>', '<KeyCount>', '<EncodingType>'];

/**
 * Reads and checks a page's elements other than its entries; `xml` may be the page without them
 * (see ListingMemory).
 */
export function readListHeader(xml: string): ListHeader {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new UnreadableListingError('no ListBucketResult element');
  // A page cut off on the way (a store that sends no KeyCount) must not pass for a short one.
  if (!xml.trimEnd().endsWith('</ListBucketResult>')) throw new UnreadableListingError('the document is cut off');
  const truncated = field(xml, 'IsTruncated') === 'true';
  const nextToken = truncated ? field(xml, 'NextContinuationToken') : undefined;
  if (truncated && !nextToken) throw new UnreadableListingError('truncated without NextContinuationToken');
  return { urlEncoded: field(xml, 'EncodingType')?.toLowerCase() === 'url', keyCount: field(xml, 'KeyCount'), nextToken };
}

/** The page of `header` with `objects` as its entries, once they agree with its KeyCount. */
export function pageOf(header: ListHeader, objects: readonly RemoteObject[]): ListPage {
  // Without a delimiter KeyCount counts exactly the Contents entries: a mismatch means a
  // document shape this parser misread.
  if (header.keyCount !== undefined && Number(header.keyCount) !== objects.length) {
    throw new UnreadableListingError(`KeyCount ${header.keyCount} but ${objects.length} entries read`);
  }
  return { objects, nextToken: header.nextToken };
}

/**
 * A page's entries. Every idle tick reads every page of the listing, so entries are read in
 * place (index ranges, no regular expression or copy per entry).
 */
export function readListEntries(xml: string, urlEncoded: boolean): RemoteObject[] {
  const objects: RemoteObject[] = [];
  // Objects listed in the same second share their LastModified text.
  let lastModifiedText = '';
  let lastModifiedMs = NaN;
  for (let open = xml.indexOf(CONTENTS_OPEN); open !== -1; ) {
    const from = open + CONTENTS_OPEN.length;
    const end = xml.indexOf(CONTENTS_CLOSE, from);
    if (end === -1) throw new UnreadableListingError('a Contents element is not closed');
    const key = field(xml, 'Key', from, end);
    const size = Number(field(xml, 'Size', from, end));
    const modified = field(xml, 'LastModified', from, end) ?? '';
    if (modified !== lastModifiedText) [lastModifiedText, lastModifiedMs] = [modified, Date.parse(modified)];
    if (key === undefined || !Number.isFinite(size) || Number.isNaN(lastModifiedMs)) {
      throw new UnreadableListingError('an entry lacks Key, Size or LastModified');
    }
    objects.push({
      key: urlEncoded ? decodeFormEncoded(key) : key,
      size,
      etag: etagOf(xml, from, end),
      lastModifiedMs,
    });
    open = xml.indexOf(CONTENTS_OPEN, end + CONTENTS_CLOSE.length);
  }
  return objects;
}

/** The elements around each entry of a page. */
export const CONTENTS_OPEN = '<Contents>';
export const CONTENTS_CLOSE = '</Contents>';
const QUOTE_ENTITY = '&quot;';

/** The ETag of the entry in `xml[from, end)`, without its quotes (S3 sends them as `&quot;`). */
function etagOf(xml: string, from: number, end: number): string {
  const text = field(xml, 'ETag', from, end, false) ?? '';
  if (text.startsWith(QUOTE_ENTITY) && text.endsWith(QUOTE_ENTITY) && text.length >= 2 * QUOTE_ENTITY.length) {
    const inner = text.slice(QUOTE_ENTITY.length, -QUOTE_ENTITY.length);
    if (!inner.includes('&') && !inner.includes('"')) return inner;
  }
  return decodeEntities(text).replaceAll('"', '');
}

/**
 * The text of the first `<name>` element within `xml[from, end)` (the whole document by default),
 * XML entities decoded unless `decode` is false.
 */
function field(xml: string, name: string, from = 0, end = xml.length, decode = true): string | undefined {
  const start = xml.indexOf(`<${name}>`, from);
  if (start === -1 || start >= end) return undefined;
  const textFrom = start + name.length + 2;
  const textEnd = xml.indexOf(`</${name}>`, textFrom);
  if (textEnd === -1 || textEnd > end) return undefined;
  const text = xml.slice(textFrom, textEnd);
  return decode ? decodeEntities(text) : text;
}

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, entity: string) => {
    if (entity === 'lt') return '<';
    if (entity === 'gt') return '>';
    if (entity === 'amp') return '&';
    if (entity === 'quot') return '"';
    if (entity === 'apos') return "'";
    const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

/** Keys listed with `EncodingType: url` use form encoding (`+` for space), as botocore decodes them. */
export function decodeFormEncoded(key: string): string {
  if (!key.includes('%') && !key.includes('+')) return key;
  return decodeURIComponent(key.replaceAll('+', ' '));
}
