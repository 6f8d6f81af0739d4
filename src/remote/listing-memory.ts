/**
 * The entries of the last listing's pages, so that a page whose entries come back byte for byte
 * as before is not parsed again. Every poll lists the whole prefix; in an idle tick over 10,000
 * objects, parsing them anew and keeping the new objects alive for the seconds the listing takes
 * (which moves them to V8's old generation, to be collected by a full mark-compact) cost more
 * CPU than anything else the tick did.
 * A page is known by the SHA-256 of its entries' bytes (from its first `<Contents>` to its last
 * `</Contents>`) at its position in the listing; the rest of it (continuation tokens, which a
 * store may make different every time, KeyCount, truncation) is read and checked every time.
 */
import { createHash } from 'node:crypto';
import { CONTENTS_CLOSE, CONTENTS_OPEN, LIST_HEADER_TAGS, pageOf, parseListPage, readListEntries, readListHeader, type ListPage } from './list-xml.js';
import type { RemoteObject } from './types.js';

/**
 * Entries remembered across all prefixes at most: enough for an idle tick over the prefixes this
 * sidecar is made for, without keeping a huge bucket's listing in memory between ticks. An object
 * holds about 340 bytes here (keys of ~30 characters), the page text its key and ETag were cut
 * from included: about 17 MB at the limit.
 */
export const MAX_REMEMBERED_OBJECTS = 50_000;

interface RememberedPage {
  readonly digest: string;
  readonly urlEncoded: boolean;
  readonly objects: readonly RemoteObject[];
}

/** A page as read: its content, and the remembered page it came from (also when just parsed). */
export interface ReadPage {
  readonly page: ListPage;
  readonly remembered: RememberedPage | undefined;
}

/** A whole listing, and the remembered pages it was made of. */
interface RememberedListing {
  readonly pages: readonly RememberedPage[];
  readonly objects: readonly RemoteObject[];
}

export class ListingMemory {
  readonly #pages = new Map<string, (RememberedPage | undefined)[]>();
  readonly #listings = new Map<string, RememberedListing>();
  readonly #maxObjects: number;
  #objects = 0;

  constructor(maxObjects = MAX_REMEMBERED_OBJECTS) {
    this.#maxObjects = maxObjects;
  }

  /** Page `position` (from 0) of a listing of `prefix`, from its body. */
  read(prefix: string, position: number, body: Buffer): ReadPage {
    const start = body.indexOf(CONTENTS_OPEN);
    const end = start === -1 ? -1 : body.lastIndexOf(CONTENTS_CLOSE);
    if (end === -1) return { page: parseListPage(body.toString('utf8')), remembered: undefined };
    const entriesEnd = end + CONTENTS_CLOSE.length;
    const digest = createHash('sha256').update(body.subarray(start, entriesEnd)).digest('base64');
    const pages = this.#pages.get(prefix) ?? [];
    const known = pages[position];
    if (known?.digest === digest) {
      const outside = body.toString('utf8', 0, start) + body.toString('utf8', entriesEnd);
      // An entry after the last closed one (cut off or malformed) fails a full parse: so here.
      const header = outside.includes(CONTENTS_OPEN) ? null : readListHeader(outside);
      if (header?.urlEncoded === known.urlEncoded) return { page: pageOf(header, known.objects), remembered: known };
    }
    const xml = body.toString('utf8');
    const header = readListHeader(xml);
    const page = pageOf(header, readListEntries(xml, header.urlEncoded));
    this.#forget(pages, position);
    // The header of a reused page is read from the text outside its entries: a page with header
    // elements among its entries (no store seen does that) is read whole every time.
    const headerAmongEntries = LIST_HEADER_TAGS.some((tag) => {
      const at = body.indexOf(tag, start);
      return at !== -1 && at < entriesEnd;
    });
    if (headerAmongEntries || this.#objects + page.objects.length > this.#maxObjects) return { page, remembered: undefined };
    const remembered = { digest, urlEncoded: header.urlEncoded, objects: page.objects };
    pages[position] = remembered;
    this.#objects += page.objects.length;
    this.#pages.set(prefix, pages);
    return { page, remembered };
  }

  /**
   * A listing of `prefix` ended with `read` (its pages in order): the pages it no longer has are
   * forgotten. Returns its objects: the very array of the last listing when it was made of the
   * same remembered pages (so a caller can tell an unchanged listing by identity), else `objects`.
   */
  ended(prefix: string, read: readonly ReadPage[], objects: readonly RemoteObject[]): readonly RemoteObject[] {
    const pages = this.#pages.get(prefix);
    if (pages) {
      for (let position = read.length; position < pages.length; position++) this.#forget(pages, position);
      pages.length = Math.min(pages.length, read.length);
    }
    const last = this.#listings.get(prefix);
    const same = last !== undefined && last.pages.length === read.length && read.every((r, i) => r.remembered === last.pages[i]);
    if (same) return last.objects;
    const remembered = read.flatMap((r) => (r.remembered ? [r.remembered] : []));
    if (remembered.length === read.length) this.#listings.set(prefix, { pages: remembered, objects });
    else this.#listings.delete(prefix);
    return objects;
  }

  #forget(pages: (RememberedPage | undefined)[], position: number): void {
    this.#objects -= pages[position]?.objects.length ?? 0;
    pages[position] = undefined;
  }
}
