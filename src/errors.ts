/** Domain errors: AWS and file-system failures are translated into these once, at the boundary. */

/** The message of anything thrown: an Error's own, anything else (a string, a rejection value) as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Base class: every error the sidecar raises on purpose carries a message a person can act on. */
export class SyncError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad configuration: names the option and what is allowed. The CLI exits 2 on it. */
export class ConfigError extends SyncError {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** A conditional write failed (HTTP 412): another writer changed the object first. */
export class PreconditionFailedError extends SyncError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`precondition failed for ${key}: the object was changed by another writer`, options);
  }
}

/** A conditional write raced with another conditional write (HTTP 409 ConditionalRequestConflict). */
export class ConditionalConflictError extends SyncError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`conditional request conflict for ${key}: a concurrent write is in progress`, options);
  }
}

/** The object does not exist (404 / NoSuchKey). */
export class NotFoundError extends SyncError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`not found: ${key}`, options);
  }
}

/** Access denied, bad credentials, missing bucket: retrying will not help, a person must act. */
export class AccessError extends SyncError {}

/** Throttling, 5xx, network: worth retrying with backoff. */
export class TransientError extends SyncError {}

/**
 * A local path cannot hold a file because of what is already there: a parent is a file (keys `a`
 * and `a/b`), the target is a folder, or a parent is a symlink that is not followed or leads out of
 * LocalPath. The executor skips such a path with a warning.
 */
export class PathCollisionError extends SyncError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`cannot write ${path}: ${detail}`);
  }
}

/** A relative path that must never be read or written (escapes LocalPath, `..`, NUL, too long). */
export class UnsafePathError extends SyncError {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`refusing unsafe path ${JSON.stringify(path)}: ${detail}`);
  }
}

/**
 * A local file is no longer what the scan saw (the app changed, created or deleted it since), so
 * a download or delete would lose that change: the path is left for the next round.
 */
export class LocalChangedError extends SyncError {
  constructor(readonly path: string) {
    super(`local file ${path} changed since the scan; left for the next round`);
  }
}
