/** The `Bucket` interface on S3: the only module that sends S3 requests. */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BuildMiddleware, HttpRequest } from '@smithy/types';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type PutObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  AccessError,
  ConditionalConflictError,
  NotFoundError,
  PreconditionFailedError,
  SyncError,
  TransientError,
} from '../errors.js';
import type {
  Bucket,
  ObjectRead,
  ObjectWriteOptions,
  PartSource,
  RemoteObject,
  WriteCondition,
  WriteResult,
} from './types.js';
import { DirectHttp, UseSdkInstead, type DirectRequest, type DirectResponse } from './direct-http.js';
import { CHECKSUM_MODE_HEADERS, checkedBody, checkWhole } from './response-checksum.js';
import { translateS3Error } from './s3-errors.js';
import { collect, readFully, streamSource, WHOLE_BODY_BYTES } from '../streams.js';
import { decodeFormEncoded, UnreadableListingError, type ListPage } from './list-xml.js';
import { ListingMemory, type ReadPage } from './listing-memory.js';
import pLimit from 'p-limit';
import { ByteBudget } from './byte-budget.js';
import { crc32Base64, fileBody, fileCrc32, lengthChanged, wholeBody } from './file-body.js';
import { MAX_COPY_OBJECT_BYTES, MAX_SINGLE_PUT_BYTES, MIN_PART_SIZE, MULTIPART_QUEUE_SIZE, PART_SIZE, UPLOAD_MEMORY_BYTES } from './transfer-limits.js';

export { createS3Client, DEFAULT_REGION, MAX_ATTEMPTS } from './client.js';
export { KNOWN_PART_SIZES, MAX_SINGLE_PUT_BYTES, MULTIPART_QUEUE_SIZE, PART_SIZE } from './transfer-limits.js';

/** Multipart tuning of an `S3Bucket`. */
export interface S3BucketOptions {
  /** Largest body sent in one PUT (default `MAX_SINGLE_PUT_BYTES`). */
  readonly maxSinglePutBytes?: number;
  readonly partSize?: number;
  readonly queueSize?: number;
  /** Upload bodies held in memory at once (default `UPLOAD_MEMORY_BYTES`). */
  readonly uploadMemoryBytes?: number;
  /** Largest object copied server-side in one request (default S3's 5 GiB; tests lower it). */
  readonly maxCopyBytes?: number;
  /** Keys asked for per listing page (`--page-size`), 1 to `MAX_LIST_PAGE_SIZE`. */
  readonly listPageSize?: number;
}

/** How long a checksum pass holds the lane (a 16 MiB pass takes about 10 ms from the page cache). */
const LANE_HOLD_MS = 250;

/** S3's largest listing page, and the default one. */
export const MAX_LIST_PAGE_SIZE = 1000;

let counterIds = 0;

/** `Bucket` on one S3 bucket through an injected client; SDK errors become domain errors here. */
export class S3Bucket implements Bucket {
  readonly #client: S3Client;
  readonly #maxSinglePutBytes: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #listPageSize: number;
  /** The last listing's pages, not parsed again while their entries are the same. */
  readonly #listingMemory = new ListingMemory();
  readonly #uploadMemory: ByteBudget;
  /**
   * The checksum passes over files sent in one PUT, one at a time: each is CPU-bound on a warm
   * cache, and run side by side they held every upload's first byte back until all were done
   * (8 × 16 MiB: about 60 ms in which the store had nothing to do; one at a time, the first PUT
   * starts after one file's pass). The bodies themselves still go out in parallel.
   */
  readonly #checksumLane = pLimit(1);
  readonly maxCopyBytes: number;
  #requests = 0;
  #direct: Promise<DirectHttp | null> | undefined;
  readonly #countAttempt = (): void => {
    this.#requests += 1;
  };

  constructor(client: S3Client, readonly name: string, options: S3BucketOptions = {}) {
    this.#client = client;
    this.#maxSinglePutBytes = options.maxSinglePutBytes ?? MAX_SINGLE_PUT_BYTES;
    this.#partSize = options.partSize ?? PART_SIZE;
    this.#queueSize = options.queueSize ?? MULTIPART_QUEUE_SIZE;
    this.#uploadMemory = new ByteBudget(options.uploadMemoryBytes ?? UPLOAD_MEMORY_BYTES);
    this.maxCopyBytes = options.maxCopyBytes ?? MAX_COPY_OBJECT_BYTES;
    this.#listPageSize = options.listPageSize ?? MAX_LIST_PAGE_SIZE;
    if (!Number.isInteger(this.#listPageSize) || this.#listPageSize < 1 || this.#listPageSize > MAX_LIST_PAGE_SIZE) {
      throw new SyncError(`S3Bucket: listPageSize ${this.#listPageSize} is not an integer between 1 and ${MAX_LIST_PAGE_SIZE}`);
    }
    if (this.#partSize < MIN_PART_SIZE) {
      throw new SyncError(`S3Bucket: partSize ${this.#partSize} is below S3's minimum of ${MIN_PART_SIZE} bytes`);
    }
    // The deserialize step runs once per attempt (inside the retry loop), after signing, so
    // this counts every HTTP request actually sent, retries and multipart parts included.
    client.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { Bucket?: unknown }).Bucket === name) this.#requests += 1;
        return next(args);
      },
      { step: 'deserialize', name: `s3Sync2RequestCounter${++counterIds}` },
    );
  }

  /** HTTP requests sent to this bucket through the client since construction. */
  get requestCount(): number {
    return this.#requests;
  }

  async list(prefix: string, signal?: AbortSignal): Promise<readonly RemoteObject[]> {
    const listPrefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    const objects: RemoteObject[] = [];
    const pages: ReadPage[] = [];
    const tokens = new Set<string>();
    let token: string | undefined;
    try {
      do {
        signal?.throwIfAborted();
        const read = await this.#viaDirect(
          (direct) => this.#listPageDirect(direct, listPrefix, token, pages.length),
          async (): Promise<ReadPage> => ({ page: await this.#listPageSdk(listPrefix, token), remembered: undefined }),
        );
        pages.push(read);
        const { page } = read;
        objects.push(...page.objects);
        token = page.nextToken;
        if (token !== undefined && tokens.has(token)) throw new SyncError(`list ${listPrefix || '(bucket root)'}: the listing repeats a continuation token`);
        if (token !== undefined) tokens.add(token);
      } while (token);
    } catch (err) {
      throw this.#error(err, 'list', listPrefix || '(bucket root)');
    }
    return this.#listingMemory.ended(listPrefix, pages, objects);
  }

  async #listPageDirect(direct: DirectHttp, prefix: string, token: string | undefined, position: number): Promise<ReadPage> {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': String(this.#listPageSize), 'encoding-type': 'url' };
    if (prefix) query.prefix = prefix;
    if (token) query['continuation-token'] = token;
    const request: DirectRequest = { method: 'GET', key: '', query, headers: {} };
    const body = await direct.sendAndRead(request, this.#countAttempt, (res) => collect(res.body));
    try {
      return this.#listingMemory.read(prefix, position, body);
    } catch (err) {
      if (err instanceof UnreadableListingError) throw new UseSdkInstead(err.message, true);
      throw err;
    }
  }

  async #listPageSdk(prefix: string, token: string | undefined): Promise<ListPage> {
    const page = await this.#client.send(
      new ListObjectsV2Command({
        Bucket: this.name,
        Prefix: prefix || undefined,
        ContinuationToken: token,
        MaxKeys: this.#listPageSize,
        // URL encoding carries keys XML 1.0 cannot (control characters), as the aws CLI does.
        EncodingType: 'url',
      }),
    );
    const objects: RemoteObject[] = [];
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      objects.push({
        key: page.EncodingType === 'url' ? decodeFormEncoded(o.Key) : o.Key,
        size: o.Size ?? 0,
        etag: unquote(o.ETag),
        lastModifiedMs: o.LastModified?.getTime() ?? 0,
      });
    }
    // A truncated page without a token would end the listing early: the missing objects would
    // look deleted.
    if (page.IsTruncated && !page.NextContinuationToken) throw new SyncError(`list ${prefix || '(bucket root)'}: the listing is truncated but gives no continuation token`);
    return { objects, nextToken: page.IsTruncated ? page.NextContinuationToken : undefined };
  }

  async head(key: string): Promise<RemoteObject | null> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        lastModifiedMs: out.LastModified?.getTime() ?? 0,
      };
    } catch (err) {
      const error = this.#error(err, 'head', key);
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  async read(key: string, condition: { ifMatch?: string } = {}): Promise<ObjectRead> {
    try {
      return await this.#viaDirect(
        async (direct) => {
          const headers: Record<string, string> = { ...CHECKSUM_MODE_HEADERS };
          if (condition.ifMatch) headers['if-match'] = quote(condition.ifMatch);
          // A small body is read inside the attempt: a connection broken while it arrives is retried.
          return direct.sendAndRead({ method: 'GET', key, headers }, this.#countAttempt, async (res) => {
            const size = contentLength(res.headers['content-length']);
            const small = size !== undefined && size <= WHOLE_BODY_BYTES;
            return {
              body: small ? await wholeChecked(res, size, key) : checkedBody(res.body, res.headers, size, key),
              size,
              etag: unquote(res.headers.etag),
              lastModifiedMs: Date.parse(res.headers['last-modified'] ?? '') || 0,
            };
          });
        },
        async () => {
          const out = await this.#client.send(
            new GetObjectCommand({ Bucket: this.name, Key: key, IfMatch: quoteOpt(condition.ifMatch) }),
          );
          if (!(out.Body instanceof Readable)) throw new SyncError(`get ${key}: the response body is not a Node stream`);
          return {
            body: streamSource(out.Body),
            size: out.ContentLength,
            etag: unquote(out.ETag),
            lastModifiedMs: out.LastModified?.getTime() ?? 0,
          };
        },
      );
    } catch (err) {
      throw this.#error(err, 'get', key);
    }
  }

  async readSmall(key: string): Promise<{ body: Buffer; etag: string } | null> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      const bytes = await out.Body!.transformToByteArray();
      return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: unquote(out.ETag) };
    } catch (err) {
      const error = this.#error(err, 'get', key);
      if (error instanceof NotFoundError) return null;
      throw error;
    }
  }

  async write(
    key: string,
    body: Buffer | PartSource,
    size: number,
    condition: WriteCondition,
    options: ObjectWriteOptions = {},
    signal?: AbortSignal,
  ): Promise<WriteResult> {
    try {
      // A body that fits in one part is one PUT whatever the limit says.
      if (size <= this.#maxSinglePutBytes || size <= this.#partSize) {
        // A Buffer is already in memory (a small file, read whole); a file is sent from the file.
        if (!Buffer.isBuffer(body)) return await this.#putFile({ key, source: body, size, condition, options, signal });
        if (body.length !== size) throw lengthChanged(key, body.length, size);
        return await this.#putWhole(key, body, condition, options);
      }
      const source: PartSource = Buffer.isBuffer(body) ? bufferSource(body) : body;
      return await this.#putMultipart({ key, source, size, condition, options, signal });
    } catch (err) {
      const error = this.#error(err, 'put', key);
      // S3 answers If-Match on a missing key with 404: the version we meant to replace is gone.
      if (error instanceof NotFoundError && condition.ifMatch) throw new PreconditionFailedError(key, { cause: err });
      throw error;
    }
  }

  async #putWhole(key: string, body: Buffer, condition: WriteCondition, options: ObjectWriteOptions): Promise<WriteResult> {
    // Integrity: S3 checks the body against this CRC32 (BadDigest otherwise) and keeps it as the
    // object's checksum, as for the aws CLI's PUTs; zlib's CRC32 costs a fraction of an MD5.
    const crc32 = await crc32Base64(body);
    return this.#viaDirect(
      async (direct) => {
        const headers = putHeaders(crc32, condition, options);
        return etagOf(await direct.send({ method: 'PUT', key, headers, body }, this.#countAttempt));
      },
      () => this.#putViaSdk(key, body, crc32, condition, options),
    );
  }

  /**
   * One PUT of a file, sent from the file (file-body.ts): no copy of it in memory, and a file
   * changed while read is never stored. The SDK, when it has to take over, wants the body whole:
   * that copy waits for room in the upload memory.
   */
  async #putFile({ key, source, size, condition, options, signal }: Upload): Promise<WriteResult> {
    const crc32 = await this.#checksumPass(source, size, key, signal);
    // Nothing is sent for a caller that gave up (a lost lock), also while it waited for its pass.
    signal?.throwIfAborted();
    return this.#viaDirect(
      async (direct) => {
        const headers = putHeaders(crc32, condition, options);
        const body = fileBody(source, size, crc32, key);
        return etagOf(await direct.send({ method: 'PUT', key, headers, body }, this.#countAttempt));
      },
      async () => {
        const release = await this.#uploadMemory.take(size, signal);
        try {
          const bytes = await wholeBody(source, size, key);
          return await this.#putViaSdk(key, bytes, await crc32Base64(bytes), condition, options);
        } finally {
          release();
        }
      },
    );
  }

  /**
   * The CRC32 of a file to send in one PUT, taken in its turn in the checksum lane. A pass still
   * running after LANE_HOLD_MS (a cold or stalled disk) lets the next one start: the lane orders
   * CPU work, it must not queue every upload behind one read that does not come back.
   */
  async #checksumPass(source: PartSource, size: number, key: string, signal: AbortSignal | undefined): Promise<string> {
    let pass: Promise<string> | undefined;
    await this.#checksumLane(async () => {
      signal?.throwIfAborted();
      pass = fileCrc32(source, size, key);
      const hold = new AbortController();
      const held = sleep(LANE_HOLD_MS, undefined, { signal: hold.signal }).catch(() => undefined);
      await Promise.race([pass.catch(() => undefined), held]);
      // No timer left behind a pass that was quick (it would keep a one-shot run from exiting).
      hold.abort();
    });
    return pass!;
  }

  async #putViaSdk(key: string, body: Buffer, crc32: string, condition: WriteCondition, options: ObjectWriteOptions): Promise<WriteResult> {
    const input: PutObjectCommandInput = {
      Bucket: this.name,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ChecksumAlgorithm: 'CRC32',
      ChecksumCRC32: crc32,
      IfMatch: quoteOpt(condition.ifMatch),
      IfNoneMatch: condition.ifNoneMatch ? '*' : undefined,
      ...objectHeaders(options),
    };
    const command = new PutObjectCommand(input);
    if (options.contentType === undefined) command.middlewareStack.add(withoutContentType, WITHOUT_CONTENT_TYPE);
    return { etag: unquote((await this.#client.send(command)).ETag) };
  }

  /**
   * Multipart upload: the object's headers on create, parts read into buffers and sent
   * `queueSize` at a time, the precondition on CompleteMultipartUpload (the moment the object
   * appears), `source.verify()` just before it. Any failure aborts the upload.
   */
  async #putMultipart({ key, source, size, condition, options, signal }: Upload): Promise<WriteResult> {
    const created = await this.#client.send(
      // CRC32 per part, as the aws CLI sends it: S3 checks each part against it and keeps a
      // checksum of the object.
      new CreateMultipartUploadCommand({ Bucket: this.name, Key: key, ChecksumAlgorithm: 'CRC32', ...objectHeaders(options) }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new SyncError(`put ${key}: CreateMultipartUpload returned no upload id`);
    try {
      const parts = await this.#uploadParts(key, uploadId, source, size, signal);
      await source.verify();
      const done = await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.name,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfMatch: quoteOpt(condition.ifMatch),
          IfNoneMatch: condition.ifNoneMatch ? '*' : undefined,
        }),
      );
      return { etag: unquote(done.ETag) };
    } catch (err) {
      await this.#client
        .send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  /**
   * Reads and sends every part, at most `queueSize` in flight; the first failure, or an abort of
   * `signal` while a part waits for memory, stops the reading.
   */
  async #uploadParts(key: string, uploadId: string, source: PartSource, size: number, signal: AbortSignal | undefined): Promise<CompletedPart[]> {
    const count = Math.ceil(size / this.#partSize);
    const parts: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      for (let index = 0; index < count && failure === undefined; index++) {
        const position = index * this.#partSize;
        const length = Math.min(this.#partSize, size - position);
        const release = await this.#uploadMemory.take(length, signal);
        if (failure !== undefined) {
          // A part failed while this one waited for memory: the upload is over.
          release();
          break;
        }
        let part: Buffer;
        try {
          // Each part gets its own buffer: a retried request must be able to send it again.
          part = Buffer.allocUnsafe(length);
          const read = await readFully(source, part, position);
          if (read !== part.length) throw lengthChanged(key, position + read, size);
        } catch (err) {
          release();
          throw err;
        }
        const partNumber = index + 1;
        const task: Promise<void> = this.#uploadPart(key, uploadId, partNumber, part, signal).then(
          (sent) => {
            parts.push({ PartNumber: partNumber, ...sent });
          },
          (error: unknown) => {
            failure ??= { error };
          },
        ).finally(() => {
          release();
          inFlight.delete(task);
        });
        inFlight.add(task);
        if (inFlight.size >= this.#queueSize) await Promise.race(inFlight);
      }
    } finally {
      // No part may land after the caller aborts the upload.
      await Promise.all([...inFlight]);
    }
    if (failure !== undefined) throw failure.error;
    return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  }

  /** Sends one part; resolves what CompleteMultipartUpload must name for it. `signal` cuts it off. */
  async #uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, signal: AbortSignal | undefined): Promise<{ ETag: string; ChecksumCRC32: string }> {
    const crc32 = await crc32Base64(body);
    const etag = await this.#viaDirect(
      async (direct) => {
        const query = { partNumber: String(partNumber), uploadId };
        const response = await direct.send({ method: 'PUT', key, query, headers: { 'x-amz-checksum-crc32': crc32 }, body, signal }, this.#countAttempt);
        return etagOf(response).etag;
      },
      async () => {
        const out = await this.#client.send(
          new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ChecksumCRC32: crc32 }),
          { abortSignal: signal },
        );
        return unquote(out.ETag);
      },
    );
    // Without it CompleteMultipartUpload would fail much later, after every other part.
    if (etag === '') throw new SyncError(`put ${key}: part ${partNumber} was accepted without an ETag`);
    return { ETag: quote(etag), ChecksumCRC32: crc32 };
  }

  async copy(
    sourceKey: string,
    sourceEtag: string,
    destinationKey: string,
    options: { unconditional?: boolean } = {},
  ): Promise<WriteResult> {
    const conditional = !options.unconditional;
    try {
      const out = await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.name,
          Key: destinationKey,
          CopySource: `${this.name}/${encodeKeyPath(sourceKey)}`,
          CopySourceIfMatch: conditional ? quote(sourceEtag) : undefined,
          IfNoneMatch: conditional ? '*' : undefined,
        }),
      );
      return { etag: unquote(out.CopyObjectResult?.ETag) };
    } catch (err) {
      // A 412 names the source: either it changed or the destination appeared; both re-plan it.
      throw this.#error(err, `copy to ${destinationKey} from`, sourceKey);
    }
  }

  async delete(key: string, condition: { ifMatch?: string } = {}): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({ Bucket: this.name, Key: key, IfMatch: quoteOpt(condition.ifMatch) }),
      );
    } catch (err) {
      const error = this.#error(err, 'delete', key);
      // Already gone is what the caller wanted (S3 answers If-Match on a missing key with 404).
      if (error instanceof NotFoundError) return;
      throw error;
    }
  }

  /**
   * `direct` on the direct HTTP path (see direct-http.ts), or `viaSdk` where there is none or it
   * declines the request; a redirect to another region sends every later request to the SDK.
   */
  async #viaDirect<T>(direct: (path: DirectHttp) => Promise<T>, viaSdk: () => Promise<T>): Promise<T> {
    // A failure to set it up (credentials or region not resolvable yet) is tried again next time;
    // this request goes to the SDK, which reports the cause.
    const path = await (this.#direct ??= DirectHttp.create(this.#client, this.name).catch(() => {
      this.#direct = undefined;
      return null;
    }));
    if (path !== null) {
      try {
        return await direct(path);
      } catch (err) {
        if (!(err instanceof UseSdkInstead)) throw err;
        if (err.permanent) this.#direct = Promise.resolve(null);
      }
    }
    return viaSdk();
  }

  #error(err: unknown, verb: string, key: string): SyncError {
    return translateS3Error(err, { verb, key, bucket: this.name });
  }
}

/**
 * Whether the store enforces conditional writes: create-if-absent twice (the second must be
 * refused), replace with a wrong ETag (refused), replace with the right one (accepted), then
 * delete. A store that rejects the headers as unsupported counts as not enforcing; access and
 * transient errors propagate. `probeKey` must be unique to this process (e.g. contain the node
 * id): two nodes probing one key would disturb each other.
 */
export async function probeConditionalWrites(bucket: Bucket, probeKey: string): Promise<boolean> {
  const body = Buffer.from(`s3-sync2 conditional write probe ${new Date().toISOString()}\n`);
  const put = (condition: WriteCondition): Promise<WriteResult> => bucket.write(probeKey, body, body.length, condition);
  const refused = async (condition: WriteCondition): Promise<boolean> => {
    try {
      await put(condition);
      return false;
    } catch (err) {
      if (err instanceof PreconditionFailedError) return true;
      throw err;
    }
  };
  try {
    // A leftover of a crashed probe would refuse the first create: clear it once.
    const created = await put({ ifNoneMatch: true }).catch(async (err: unknown) => {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await bucket.delete(probeKey);
      return put({ ifNoneMatch: true });
    });
    if (!(await refused({ ifNoneMatch: true }))) return false;
    const wrongEtag = created.etag === '0'.repeat(32) ? '1'.repeat(32) : '0'.repeat(32);
    if (!(await refused({ ifMatch: wrongEtag }))) return false;
    await put({ ifMatch: created.etag });
    return true;
  } catch (err) {
    if (rejectsConditions(err)) return false;
    throw err;
  } finally {
    // A probe object left behind is harmless: `.s3-sync2*` names are never synced.
    await bucket.delete(probeKey).catch(() => undefined);
  }
}

/**
 * One upload from a source read at offsets: the key, the bytes and their length, the precondition,
 * the object's headers, and the caller's signal (a lost lock) that stops it before it sends.
 */
interface Upload {
  readonly key: string;
  readonly source: PartSource;
  readonly size: number;
  readonly condition: WriteCondition;
  readonly options: ObjectWriteOptions;
  readonly signal: AbortSignal | undefined;
}

/** An error that says the store refused the request itself (e.g. 400/501 on the header). */
function rejectsConditions(err: unknown): boolean {
  return (
    err instanceof SyncError &&
    !(
      err instanceof AccessError ||
      err instanceof TransientError ||
      err instanceof PreconditionFailedError ||
      err instanceof ConditionalConflictError
    )
  );
}

/** A buffer as a part source (tests, and callers holding a large body in memory). */
function bufferSource(body: Buffer): PartSource {
  return {
    readAt: async (into, position) => body.copy(into, 0, position, Math.min(body.length, position + into.length)),
    verify: async () => undefined,
  };
}

/** The text options of an object: the SDK input field and the wire header of each, for both paths. */
const TEXT_OPTIONS: readonly (readonly [option: TextOption, field: keyof PutObjectCommandInput, header: string])[] = [
  ['acl', 'ACL', 'x-amz-acl'],
  ['sse', 'ServerSideEncryption', 'x-amz-server-side-encryption'],
  ['sseKmsKeyId', 'SSEKMSKeyId', 'x-amz-server-side-encryption-aws-kms-key-id'],
  ['storageClass', 'StorageClass', 'x-amz-storage-class'],
  ['cacheControl', 'CacheControl', 'cache-control'],
  ['contentType', 'ContentType', 'content-type'],
  ['contentEncoding', 'ContentEncoding', 'content-encoding'],
  ['contentDisposition', 'ContentDisposition', 'content-disposition'],
  ['contentLanguage', 'ContentLanguage', 'content-language'],
];
type TextOption = Exclude<keyof ObjectWriteOptions, 'metadata' | 'expires'>;

/**
 * Takes out the Content-Type the SDK gives every PutObject body (application/octet-stream): an
 * object without a type is sent without one, as the aws CLI does, by the direct path and by
 * CreateMultipartUpload too, so S3 stores its default (binary/octet-stream) whatever the path
 * and the size. On the build step: after the serializer has set it, before signing.
 */
const withoutContentType: BuildMiddleware<PutObjectCommandInput, PutObjectCommandOutput> = (next) => async (args) => {
  const headers = (args.request as Partial<HttpRequest>).headers;
  if (headers) delete headers['content-type'];
  return next(args);
};
const WITHOUT_CONTENT_TYPE = { step: 'build', name: 's3Sync2WithoutContentType' } as const;

/** The object options as SDK input (PutObject, CreateMultipartUpload). */
function objectHeaders(o: ObjectWriteOptions): Partial<PutObjectCommandInput> {
  const input: Record<string, unknown> = {
    Metadata: o.metadata ? { ...o.metadata } : undefined,
    Expires: o.expires,
  };
  // The enum-typed fields (ACL, SSE, storage class) take the user's text as the aws CLI does.
  for (const [option, field] of TEXT_OPTIONS) input[field] = o[option];
  return input as Partial<PutObjectCommandInput>;
}

/** The wire headers of a single-request PUT: digest, precondition and the user's object options. */
function putHeaders(crc32: string, condition: WriteCondition, o: ObjectWriteOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'x-amz-checksum-crc32': crc32,
    // Names the algorithm as the aws CLI does; some S3 implementations keep the checksum only then.
    'x-amz-sdk-checksum-algorithm': 'CRC32',
  };
  for (const [option, , header] of TEXT_OPTIONS) {
    const value = o[option];
    if (value !== undefined) headers[header] = value;
  }
  if (condition.ifMatch !== undefined) headers['if-match'] = quote(condition.ifMatch);
  if (condition.ifNoneMatch) headers['if-none-match'] = '*';
  if (o.expires) headers.expires = o.expires.toUTCString();
  for (const [name, value] of Object.entries(o.metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
  return headers;
}

/** The new version's ETag from a PUT answer, its (empty) body released for the next request. */
function etagOf(response: DirectResponse): WriteResult {
  response.body.pour(() => undefined).catch(() => undefined);
  return { etag: unquote(response.headers.etag) };
}

/** A small body read whole and checked: its announced length, then its checksum. */
async function wholeChecked(res: DirectResponse, size: number, key: string): Promise<Buffer> {
  const bytes = await collect(res.body, size);
  if (bytes.length !== size) throw new SyncError(`get ${key}: received ${bytes.length} of the ${size} bytes announced`);
  await checkWhole(bytes, res.headers, key);
  return bytes;
}

/** The announced body length, or undefined when the answer has none (a chunked response). */
function contentLength(header: string | undefined): number | undefined {
  const value = header === undefined ? NaN : Number(header);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** ETags travel quoted on the wire; the domain keeps them bare. */
function unquote(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}

function quote(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function quoteOpt(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : quote(etag);
}


/** CopySource is a URL path: encode each segment, keep the slashes. */
function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
