/** The lock object on the bucket: its key, its JSON body, and a tolerant read of it. */
import type { Bucket } from '../remote/types.js';
import type { LockBody } from './types.js';

/** The lock object's name under the prefix (the original tool's name). */
export const LOCK_OBJECT_NAME = '.s3-sync2.lock';

/** Key of the lock object for a prefix: `<prefix>/.s3-sync2.lock`, or `.s3-sync2.lock` at the root. */
export function lockKey(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${LOCK_OBJECT_NAME}` : LOCK_OBJECT_NAME;
}

/** The lock object as read: the version's ETag and its body. */
export interface ObservedLock {
  readonly etag: string;
  readonly body: LockBody;
}

/** Serialises a body for writing. */
export function encodeLockBody(body: LockBody): Buffer {
  return Buffer.from(`${JSON.stringify(body)}\n`, 'utf8');
}

/**
 * Parses a lock body. A body that is not ours (the original tool wrote a bare node id) still names
 * a holder: its text becomes the owner, with generation 0, so status and errors can show it.
 */
export function parseLockBody(raw: Buffer): LockBody {
  const text = raw.toString('utf8').trim();
  try {
    const value: unknown = JSON.parse(text);
    if (isLockBody(value)) return value;
  } catch {
    // not JSON: a foreign lock, described below
  }
  return { owner: text.slice(0, 200) || '(empty lock object)', host: '', acquiredAt: '', leaseSeconds: 0, generation: 0 };
}

function isLockBody(value: unknown): value is LockBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.owner === 'string' &&
    typeof v.host === 'string' &&
    typeof v.acquiredAt === 'string' &&
    typeof v.leaseSeconds === 'number' &&
    Number.isSafeInteger(v.generation)
  );
}

/** Reads the lock object; null when nobody holds it. */
export async function readLock(bucket: Bucket, key: string): Promise<ObservedLock | null> {
  const found = await bucket.readSmall(key);
  return found ? { etag: found.etag, body: parseLockBody(found.body) } : null;
}
