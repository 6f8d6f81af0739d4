/** The distributed lock as the engine and the control API use it. */

/** The JSON body of the lock object `<prefix>/.s3-sync2.lock`. */
export interface LockBody {
  readonly owner: string;
  readonly host: string;
  readonly acquiredAt: string;
  readonly leaseSeconds: number;
  readonly generation: number;
  /** When the holder last renewed (every renewal writes a new version, so its ETag changes). */
  readonly renewedAt?: string;
  /** Renewals of this acquisition so far. */
  readonly renewals?: number;
}

/** What `GET /lock` reports. */
export interface LockStatus {
  /** This node holds the lock now. */
  readonly heldByUs: boolean;
  /** The application holds it through `POST /lock` (until `appHoldUntil`). */
  readonly appHoldUntil: string | null;
  /** The current lock object as last read, or null when nobody holds it. */
  readonly holder: LockBody | null;
  /** Seconds of lease left as seen from this node, null when not held. */
  readonly leaseLeftSeconds: number | null;
}

/**
 * A lease lock shared by every node on the prefix. Holders are counted in-process: the lock object
 * is held while any holder (a tick's remote writes, or the application's hold) needs it.
 */
export interface DistributedLock {
  /** This process's node id (lock owner string). */
  readonly ownerId: string;
  /**
   * Acquire (waiting up to --dfs-lock-wait), run `fn`, release when no other holder remains.
   * `signal` aborts when the lock is lost; `fn` must stop remote writes at once then.
   * Rejects with LockWaitTimeoutError when the wait runs out.
   */
  withLock<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** True while held and not lost (checked before every remote write). */
  isHeld(): boolean;
  status(): Promise<LockStatus>;
  /** Hold for the application for `leaseSeconds`, renewing, until `releaseForApp` or it lapses. */
  holdForApp(leaseSeconds: number): Promise<LockStatus>;
  releaseForApp(): Promise<LockStatus>;
  /** Release everything (shutdown). */
  close(): Promise<void>;
}
