/** The narrow, domain-worded interface to object storage; `remote/bucket.ts` implements it on S3. */
import type { ChunkSource } from '../streams.js';

/** An object as listed: full key, size, unquoted ETag, LastModified in ms. */
export interface RemoteObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/** User options applied to every object written (`aws s3 sync` parity). */
export interface ObjectWriteOptions {
  readonly acl?: string;
  readonly sse?: string;
  readonly sseKmsKeyId?: string;
  readonly storageClass?: string;
  readonly cacheControl?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly expires?: Date;
}

/**
 * Precondition of a write: `{ ifMatch: etag }` replaces only that version, `{ ifNoneMatch: true }`
 * creates only if absent, `{}` writes unconditionally (only where the store lacks conditional writes).
 */
export interface WriteCondition {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: boolean;
}

/** An object body being read, with the metadata of the version read. */
export interface ObjectRead {
  /**
   * The body: on the direct path, a Buffer when it was small enough to be read whole (up to
   * `WHOLE_BODY_BYTES`), then already checked against its checksum; otherwise poured chunk by
   * chunk, checked as it ends (the SDK path checks its own way).
   */
  readonly body: ChunkSource | Buffer;
  /** The announced length; undefined when the store streamed it without one. */
  readonly size: number | undefined;
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/**
 * A body too large to hold whole (a large file), read part by part at offsets, so that only the
 * parts being sent are in memory.
 */
export interface PartSource {
  /** Fills `into` with the bytes from `position` as far as there are; resolves how many (0 at the end). */
  readAt(into: Buffer, position: number): Promise<number>;
  /** Runs after the last byte was read and before the object is made visible; rejects to abandon it. */
  verify(): Promise<void>;
}

/** What a successful write returns. */
export interface WriteResult {
  readonly etag: string;
}

/**
 * Object storage, in the sync engine's words. Errors are domain errors from `errors.ts`:
 * PreconditionFailedError (412), ConditionalConflictError (409), NotFoundError, AccessError,
 * TransientError (after the client's own retries).
 */
export interface Bucket {
  /** Bucket name, for logs and CloudFront origin matching. */
  readonly name: string;
  /**
   * Every object under `prefix` (paginated), folder markers included; the caller filters. An abort
   * of `signal` stops it before the next page.
   */
  list(prefix: string, signal?: AbortSignal): Promise<readonly RemoteObject[]>;
  /** Metadata of one object, or null when absent. */
  head(key: string): Promise<RemoteObject | null>;
  /** Stream one object; with `ifMatch`, only that version (412 otherwise). */
  read(key: string, condition?: { ifMatch?: string }): Promise<ObjectRead>;
  /** Read a small object whole (the lock); null when absent. */
  readSmall(key: string): Promise<{ body: Buffer; etag: string } | null>;
  /**
   * Write an object from a buffer or a part source of known size; large bodies go multipart.
   * `contentType` in options wins; otherwise the caller passes the guessed type there. An abort
   * of `signal` (a lost lock) while the body waits for memory rejects with its reason: nothing
   * more is sent, and a multipart upload is aborted.
   */
  write(
    key: string,
    body: Buffer | PartSource,
    size: number,
    condition: WriteCondition,
    options?: ObjectWriteOptions,
    signal?: AbortSignal,
  ): Promise<WriteResult>;
  /** Largest object `copy` can copy in one request (S3: 5 GiB); larger ones are moved through the client. */
  readonly maxCopyBytes: number;
  /**
   * Server-side copy (keep-both on the remote side) of the `sourceEtag` version; the destination
   * must not exist. `unconditional` leaves the conditions to the caller (a store that refuses them).
   */
  copy(sourceKey: string, sourceEtag: string, destinationKey: string, options?: { unconditional?: boolean }): Promise<WriteResult>;
  /** Delete; with `ifMatch`, only that version. Deleting an absent key succeeds. */
  delete(key: string, condition?: { ifMatch?: string }): Promise<void>;
  /** Number of S3 requests sent so far (benchmarks and metrics). */
  readonly requestCount: number;
}
