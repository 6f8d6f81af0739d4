/**
 * Reads one ListObjectsV2 result page (S3's XML) into domain objects. The SDK's generic XML
 * deserializer spent about 40% of an idle tick's CPU on listings; this reads only the elements
 * the sync uses. A document it does not recognise is refused, so the caller can fall back.
 */
import type { RemoteObject } from './types.js';

/** One page of a listing. */
export interface ListPage {
  readonly objects: RemoteObject[];
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

const CONTENTS = /<Contents>([\s\S]*?)<\/Contents>/g;

/** Parses a ListObjectsV2 page; keys are URL-decoded when the result says `EncodingType` url. */
export function parseListPage(xml: string): ListPage {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new UnreadableListingError('no ListBucketResult element');
  // A page cut off on the way (a store that sends no KeyCount) must not pass for a short one.
  if (!xml.trimEnd().endsWith('</ListBucketResult>')) throw new UnreadableListingError('the document is cut off');
  const urlEncoded = field(xml, 'EncodingType')?.toLowerCase() === 'url';
  const objects: RemoteObject[] = [];
  for (const match of xml.matchAll(CONTENTS)) {
    const body = match[1]!;
    const key = field(body, 'Key');
    const size = Number(field(body, 'Size'));
    const lastModifiedMs = Date.parse(field(body, 'LastModified') ?? '');
    if (key === undefined || !Number.isFinite(size) || Number.isNaN(lastModifiedMs)) {
      throw new UnreadableListingError('an entry lacks Key, Size or LastModified');
    }
    objects.push({
      key: urlEncoded ? decodeFormEncoded(key) : key,
      size,
      etag: (field(body, 'ETag') ?? '').replaceAll('"', ''),
      lastModifiedMs,
    });
  }
  const keyCount = field(xml, 'KeyCount');
  // Without a delimiter KeyCount counts exactly the Contents entries: a mismatch means a
  // document shape this parser misread.
  if (keyCount !== undefined && Number(keyCount) !== objects.length) {
    throw new UnreadableListingError(`KeyCount ${keyCount} but ${objects.length} entries read`);
  }
  const truncated = field(xml, 'IsTruncated') === 'true';
  const nextToken = truncated ? field(xml, 'NextContinuationToken') : undefined;
  if (truncated && !nextToken) throw new UnreadableListingError('truncated without NextContinuationToken');
  return { objects, nextToken };
}

/** The text of the first `<name>` element, XML entities decoded. */
function field(xml: string, name: string): string | undefined {
  const start = xml.indexOf(`<${name}>`);
  if (start === -1) return undefined;
  const from = start + name.length + 2;
  const end = xml.indexOf(`</${name}>`, from);
  if (end === -1) return undefined;
  return decodeEntities(xml.slice(from, end));
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
  return decodeURIComponent(key.replaceAll('+', ' '));
}
