/** Sizes of S3 transfers, shared by the client (socket pool) and the bucket (multipart). */

const MiB = 1024 * 1024;

/**
 * Bodies up to this size are one PUT; larger ones go multipart. A 16 MiB file is then one request
 * instead of the aws CLI's four (create, two parts, complete), holds the same memory as the two
 * parts it replaces, and a crash leaves no multipart upload behind (S3 bills unfinished parts
 * until a lifecycle rule aborts them). The AWS SDK for Java's TransferManager uses the same
 * threshold; rclone sends up to 200 MiB in one PUT. ETags stay comparable with other uploaders:
 * `local/hash` hashes a file the way the object's ETag says it was sent.
 */
export const MAX_SINGLE_PUT_BYTES = 16 * MiB;
/** Part size of multipart uploads: the aws CLI's `multipart_chunksize`. */
export const PART_SIZE = 8 * MiB;
/**
 * Part sizes uploaders use, tried when an object's ETag or composite checksum names parts: ours
 * and the aws CLI's, and the AWS SDKs' (lib-storage, Go) and rclone's default.
 */
export const KNOWN_PART_SIZES: readonly number[] = [PART_SIZE, 5 * MiB];
/**
 * Upload bodies the bucket reads into memory (a file for one PUT, a multipart part) held at once,
 * across all its transfers: four 16 MiB files or eight parts in flight keep a link busy.
 */
export const UPLOAD_MEMORY_BYTES = 64 * MiB;
/** Parts of one multipart upload sent in parallel (each buffers one part in memory). */
export const MULTIPART_QUEUE_SIZE = 4;
/** S3's largest object for a single CopyObject. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 * MiB;
/** S3's smallest allowed part (all but the last). */
export const MIN_PART_SIZE = 5 * MiB;
