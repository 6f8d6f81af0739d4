/** Sizes of S3 transfers, shared by the client (socket pool) and the bucket (multipart). */

const MiB = 1024 * 1024;

/** Bodies of at least this size go multipart (aws CLI default, so multipart ETags are comparable). */
export const MULTIPART_THRESHOLD = 8 * MiB;
/**
 * Part size of multipart uploads (aws CLI default `multipart_chunksize`). A body that fits in one
 * part is sent as a single PUT even above the threshold (as lib-storage and the aws CLI do;
 * `local/hash` agrees).
 */
export const PART_SIZE = 8 * MiB;
/** Parts of one multipart upload sent in parallel (each buffers one part in memory). */
export const MULTIPART_QUEUE_SIZE = 4;
/** S3's largest object for a single CopyObject. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 * MiB;
/** S3's smallest allowed part (all but the last). */
export const MIN_PART_SIZE = 5 * MiB;
