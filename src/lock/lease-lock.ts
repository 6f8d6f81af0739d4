/**
 * The part of the distributed lock that does not depend on how the lock object is written:
 * in-process holders sharing one acquisition, the wait with backoff, renewals, loss, release,
 * the application's hold, status and metrics. Subclasses supply one acquisition attempt, a
 * renewal and a release (`S3LeaseLock` with conditional writes, `UnsafeLock` with put-then-read).
 */
import { ConditionalConflictError, messageOf, NotFoundError, PreconditionFailedError, SyncError, TransientError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Bucket, WriteCondition } from '../remote/types.js';
import { LockClosedError, LockLostError, LockWaitTimeoutError } from './errors.js';
import { encodeLockBody, readLock, type ObservedLock } from './lock-object.js';
import { Backoff, monotonicClock, sleep, StaleWatch, type Clock } from '../timing.js';
import type { DistributedLock, LockBody, LockStatus } from './types.js';

/** The logging the lock needs; pino's `(obj, msg)` methods fit. */
export interface LockLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

const silentLogger: LockLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** The lock metrics (a subset of `Metrics`, so tests can pass a whole `createMetrics()`). */
export type LockMetrics = Pick<
  Metrics,
  'lockAcquisitions' | 'lockLosses' | 'lockWait' | 'lockWaitTimeouts' | 'lockHeld' | 'lockGeneration'
>;

/** What every lock implementation is built from. */
export interface LockDeps {
  readonly bucket: Bucket;
  /** The lock object's key, from `lockKey(prefix)`. */
  readonly key: string;
  /** This process's node id (from `resolveNodeId`). */
  readonly ownerId: string;
  readonly host: string;
  /** --dfs-lock-timeout: a version of the lock object unchanged this long is stale. */
  readonly leaseSeconds: number;
  /** --dfs-lock-wait: how long one acquisition may wait. */
  readonly waitSeconds: number;
  readonly metrics?: LockMetrics;
  readonly logger?: LockLogger;
  readonly clock?: Clock;
  /** Source of jitter in [0, 1). */
  readonly random?: () => number;
}

/** A lease this node holds: the ETag of the version it last wrote, and that version's body. */
export interface HeldLease {
  readonly etag: string;
  readonly body: LockBody;
}

/** The outcome of one acquisition attempt. */
export type Attempt =
  | { readonly kind: 'held'; readonly lease: HeldLease; readonly how: 'fresh' | 'takeover' }
  /** Someone else holds it; `retryNow` when the attempt lost a race and should look again at once. */
  | { readonly kind: 'busy'; readonly holder: LockBody | null; readonly retryNow: boolean };

/** One acquisition shared by the in-process holders until the last leaves or the lease is lost. */
interface Session {
  lease: HeldLease;
  holders: number;
  readonly controller: AbortController;
  /** Monotonic ms at which the request that last proved our hold was sent. */
  provenAt: number;
  timer?: NodeJS.Timeout;
  renewing?: Promise<void>;
  /** Released or lost: no more renewals, and new holders need a new acquisition. */
  ended: boolean;
}

/** A wait for the lock this long (or a takeover) makes its acquisition an INFO line; quicker ones log at DEBUG. */
const NOTABLE_WAIT_MS = 1000;

/** The longest application hold: Node timers cannot wait longer than 2³¹−1 ms (about 24 days). */
const MAX_APP_HOLD_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** How many times in a row an attempt that lost a race is retried without waiting. */
const MAX_IMMEDIATE_RETRIES = 3;

/** Shared lease machinery; see the module comment. */
export abstract class LeaseLock implements DistributedLock {
  readonly ownerId: string;
  protected readonly bucket: Bucket;
  protected readonly key: string;
  protected readonly host: string;
  protected readonly leaseSeconds: number;
  protected readonly logger: LockLogger;
  protected readonly clock: Clock;
  /** Cut short every wait at shutdown. */
  protected readonly closing = new AbortController();
  /** Highest generation seen on the lock object or held here; the next acquisition takes one more. */
  protected lastGeneration = 0;
  /** A lease of ours whose release failed: while its ETag stands, reclaiming it is safe. */
  protected leftover: HeldLease | null = null;

  private readonly leaseMs: number;
  private readonly waitMs: number;
  /** When the acquisition under way gives up: the latest deadline of those waiting on it. */
  private acquireDeadline = 0;
  private readonly metrics: LockMetrics | undefined;
  private readonly random: () => number;
  private readonly watch: StaleWatch;
  private session: Session | null = null;
  private acquiring: Promise<void> | null = null;
  /** Our pending releases, awaited before acquiring again so we never wait out our own lease. */
  private releasing: Promise<void> = Promise.resolve();
  private appHold: { session: Session; untilWallMs: number; timer?: NodeJS.Timeout } | null = null;
  private closed = false;

  constructor(deps: LockDeps) {
    if (!(deps.leaseSeconds > 0)) throw new SyncError(`lock: lease must be positive seconds, got ${deps.leaseSeconds}`);
    if (!(deps.waitSeconds >= 0)) throw new SyncError(`lock: wait must be ≥ 0 seconds, got ${deps.waitSeconds}`);
    this.bucket = deps.bucket;
    this.key = deps.key;
    this.ownerId = deps.ownerId;
    this.host = deps.host;
    this.leaseSeconds = deps.leaseSeconds;
    this.leaseMs = deps.leaseSeconds * 1000;
    this.waitMs = deps.waitSeconds * 1000;
    this.metrics = deps.metrics;
    this.logger = deps.logger ?? silentLogger;
    this.clock = deps.clock ?? monotonicClock;
    this.random = deps.random ?? Math.random;
    this.watch = new StaleWatch(this.clock, this.leaseMs);
  }

  /** One try at taking the lock. Thrown 409s and transient errors are retried with backoff. */
  protected abstract attempt(): Promise<Attempt>;
  /** Renews a held lease; throws PreconditionFailedError or NotFoundError when it is no longer ours. */
  protected abstract renewLease(lease: HeldLease): Promise<HeldLease>;
  /** Releases a held lease; 'not-ours' when someone else had taken it (or it was gone). */
  protected abstract releaseLease(lease: HeldLease): Promise<'released' | 'not-ours'>;

  /** Renewal period: a third of the lease. */
  protected get renewEveryMs(): number {
    return this.leaseMs / 3;
  }

  /**
   * How long after the last proof of holding we stop trusting the lease. Others take over one
   * lease after they first saw our last version; we give up a third of a lease earlier so our
   * in-flight writes have time to stop.
   */
  private get trustMs(): number {
    return (this.leaseMs * 2) / 3;
  }

  async withLock<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const session = await this.join();
    try {
      return await fn(session.controller.signal);
    } finally {
      this.leave(session);
    }
  }

  isHeld(): boolean {
    const s = this.session;
    if (!s || s.ended) return false;
    // A stalled event loop can delay the renewal timer past the lease; never claim a lease we
    // can no longer vouch for.
    if (this.clock.now() >= s.provenAt + this.trustMs) {
      this.lose(s, 'the lease ran out before it could be renewed', true);
      return false;
    }
    return true;
  }

  async status(): Promise<LockStatus> {
    const current = await this.readCurrent();
    const heldByUs = this.isHeld();
    const session = this.session;
    let leaseLeftMs: number | null = null;
    if (heldByUs && session) leaseLeftMs = Math.max(0, session.provenAt + this.leaseMs - this.clock.now());
    else if (current) leaseLeftMs = this.watch.leaseLeftMs(current.etag);
    return {
      heldByUs,
      appHoldUntil: this.appHold ? new Date(this.appHold.untilWallMs).toISOString() : null,
      holder: current?.body ?? null,
      leaseLeftSeconds: leaseLeftMs === null ? null : Math.round(leaseLeftMs / 100) / 10,
    };
  }

  async holdForApp(leaseSeconds: number): Promise<LockStatus> {
    if (!(leaseSeconds > 0 && leaseSeconds <= MAX_APP_HOLD_SECONDS)) {
      throw new SyncError(`hold lock: lease must be 0 < seconds ≤ ${MAX_APP_HOLD_SECONDS}, got ${leaseSeconds}`);
    }
    if (!this.appHold) {
      const session = await this.join();
      // A concurrent holdForApp may have set the hold while we waited; keep one.
      if (this.appHold) this.leave(session);
      else this.appHold = { session, untilWallMs: 0 };
    }
    const hold = this.appHold;
    if (hold) {
      clearTimeout(hold.timer);
      hold.untilWallMs = Date.now() + leaseSeconds * 1000;
      hold.timer = setTimeout(() => {
        this.logger.info({ key: this.key }, 'application hold on the lock lapsed');
        this.dropAppHold();
      }, leaseSeconds * 1000);
      this.logger.info({ key: this.key, until: new Date(hold.untilWallMs).toISOString() }, 'lock held for the application');
    }
    return this.status();
  }

  async releaseForApp(): Promise<LockStatus> {
    if (this.dropAppHold()) await this.releasing;
    return this.status();
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.closing.abort();
      this.dropAppHold();
      await this.acquiring?.catch(() => undefined);
      const session = this.session;
      if (session) {
        session.controller.abort(new LockClosedError(this.key));
        this.end(session);
      }
    }
    await this.releasing;
  }

  /** Reads the lock object, noting its version for staleness and its generation. */
  protected async readCurrent(): Promise<ObservedLock | null> {
    const current = await readLock(this.bucket, this.key);
    if (current) {
      this.watch.observe(current.etag);
      this.noteGeneration(current.body.generation);
    }
    return current;
  }

  /** Writes the lock object with `body` under `condition`; the new version becomes the lease. */
  protected async writeLock(body: LockBody, condition: WriteCondition): Promise<HeldLease> {
    const buffer = encodeLockBody(body);
    const { etag } = await this.bucket.write(this.key, buffer, buffer.length, condition, {
      contentType: 'application/json',
    });
    return { etag, body };
  }

  /** True when the observed version has stood unchanged past the lease, or is our own leftover. */
  protected isTakeable(current: ObservedLock): boolean {
    return this.leftover?.etag === current.etag || this.watch.isStale(current.etag);
  }

  /** A fresh body for an acquisition with `generation`. */
  protected newBody(generation: number): LockBody {
    return {
      owner: this.ownerId,
      host: this.host,
      acquiredAt: new Date().toISOString(),
      leaseSeconds: this.leaseSeconds,
      generation,
    };
  }

  /** The body of a renewal: same acquisition, a new version (so observers see a new ETag). */
  protected renewedBody(body: LockBody): LockBody {
    return { ...body, renewedAt: new Date().toISOString(), renewals: (body.renewals ?? 0) + 1 };
  }

  private noteGeneration(generation: number): void {
    this.lastGeneration = Math.max(this.lastGeneration, generation);
    this.metrics?.lockGeneration.set(generation);
  }

  /** Ends the application's hold, if any; true when there was one. */
  private dropAppHold(): boolean {
    const hold = this.appHold;
    if (!hold) return false;
    this.appHold = null;
    clearTimeout(hold.timer);
    this.leave(hold.session);
    return true;
  }

  /** Joins the current acquisition, or starts one (shared by everyone who asks meanwhile). */
  private async join(): Promise<Session> {
    for (;;) {
      if (this.closed) throw new LockClosedError(this.key);
      const session = this.session;
      if (session && this.isHeld()) {
        session.holders += 1;
        return session;
      }
      // Whoever joins a wait already under way still gets its own --dfs-lock-wait: the shared
      // wait runs until the last joiner's deadline.
      this.acquireDeadline = Math.max(this.acquiring ? this.acquireDeadline : 0, this.clock.now() + this.waitMs);
      this.acquiring ??= this.acquire().finally(() => {
        this.acquiring = null;
      });
      await this.acquiring;
    }
  }

  private leave(session: Session): void {
    session.holders -= 1;
    if (session.holders <= 0 && !session.ended) this.end(session);
  }

  /** Waits for the lock with jittered backoff up to --dfs-lock-wait; sets `this.session`. */
  private async acquire(): Promise<void> {
    await this.releasing;
    const started = this.clock.now();
    const backoff = new Backoff(this.random);
    let holder: LockBody | null = null;
    let lastError: unknown;
    let immediate = 0;
    for (;;) {
      if (this.closed) throw new LockClosedError(this.key);
      const sentAt = this.clock.now();
      let result: Attempt | null = null;
      try {
        result = await this.attempt();
      } catch (err) {
        if (!(err instanceof ConditionalConflictError || err instanceof TransientError)) throw err;
        lastError = err;
        this.logger.debug({ key: this.key, err: err.message }, 'lock attempt raced or failed; backing off');
      }
      if (result?.kind === 'held') return this.begin(result, sentAt, started);
      if (result?.holder && !holder) {
        this.logger.info(
          { key: this.key, holder: result.holder.owner, generation: result.holder.generation },
          'lock is held by another node; waiting',
        );
      }
      if (result) holder = result.holder ?? holder;
      if (result?.retryNow && immediate < MAX_IMMEDIATE_RETRIES) {
        immediate += 1;
        continue;
      }
      immediate = 0;
      const now = this.clock.now();
      if (now >= this.acquireDeadline) {
        const waited = now - started;
        this.metrics?.lockWaitTimeouts.inc();
        this.metrics?.lockWait.observe(waited / 1000);
        throw new LockWaitTimeoutError(this.key, holder, waited, lastError ? { cause: lastError } : undefined);
      }
      await sleep(Math.min(backoff.next(), this.acquireDeadline - now), this.closing.signal);
    }
  }

  private begin(result: Attempt & { kind: 'held' }, sentAt: number, started: number): void {
    const session: Session = {
      lease: result.lease,
      holders: 0,
      controller: new AbortController(),
      provenAt: sentAt,
      ended: false,
    };
    this.leftover = null;
    this.session = session;
    this.noteGeneration(result.lease.body.generation);
    const waitedMs = this.clock.now() - started;
    this.metrics?.lockAcquisitions.inc({ how: result.how });
    this.metrics?.lockWait.observe(waitedMs / 1000);
    this.metrics?.lockHeld.set(1);
    // Every tick with remote writes takes the lock: one taken at once is routine (DEBUG); one that
    // had to wait, or was taken over from a node that stopped renewing it, is worth an INFO line.
    const notable = result.how === 'takeover' || waitedMs >= NOTABLE_WAIT_MS;
    this.logger[notable ? 'info' : 'debug'](
      { key: this.key, generation: result.lease.body.generation, how: result.how, waitedMs: Math.round(waitedMs) },
      'lock acquired',
    );
    if (this.closed) {
      this.end(session);
      throw new LockClosedError(this.key);
    }
    this.scheduleRenewal(session, this.renewEveryMs);
  }

  /** The timer is not unref'd: a held lock is work in progress, and must be renewed while held. */
  private scheduleRenewal(session: Session, delayMs: number): void {
    session.timer = setTimeout(() => {
      session.renewing = this.renew(session).finally(() => {
        session.renewing = undefined;
      });
    }, delayMs);
  }

  private async renew(session: Session): Promise<void> {
    if (session.ended) return;
    const sentAt = this.clock.now();
    if (sentAt >= session.provenAt + this.trustMs) {
      this.lose(session, 'the lease ran out before it could be renewed', true);
      return;
    }
    try {
      session.lease = await this.renewLease(session.lease);
      session.provenAt = sentAt;
      // Keep the cadence from when this renewal was sent, so slow requests do not add up.
      const next = Math.max(0, sentAt + this.renewEveryMs - this.clock.now());
      if (!session.ended) this.scheduleRenewal(session, next);
    } catch (err) {
      if (session.ended) return;
      const message = messageOf(err);
      if (err instanceof PreconditionFailedError || err instanceof NotFoundError) {
        this.lose(session, `renewal refused, another node replaced the lock object (${message})`, false);
        return;
      }
      const retryMs = Math.min(1_000, this.renewEveryMs / 4);
      if (this.clock.now() + retryMs >= session.provenAt + this.trustMs) {
        this.lose(session, `renewal kept failing until the lease ran out: ${message}`, true);
        return;
      }
      this.logger.warn({ key: this.key, err: message }, 'renew lock: failed, retrying');
      this.scheduleRenewal(session, retryMs);
    }
  }

  /**
   * The lease is lost: every holder's signal aborts at once. `mayStillBeOurs` when the loss is
   * ours to declare (renewals failed): the object may still carry our version, so we try to
   * delete it conditionally, sparing others a lease of waiting.
   */
  private lose(session: Session, reason: string, mayStillBeOurs: boolean): void {
    if (session.ended) return;
    session.ended = true;
    clearTimeout(session.timer);
    if (this.session === session) {
      this.session = null;
      this.metrics?.lockHeld.set(0);
    }
    if (this.appHold?.session === session) {
      clearTimeout(this.appHold.timer);
      this.appHold = null;
    }
    this.metrics?.lockLosses.inc();
    this.logger.error(
      { key: this.key, generation: session.lease.body.generation, reason },
      'lock lost: remote writes stop now',
    );
    session.controller.abort(new LockLostError(this.key, reason));
    if (mayStillBeOurs) this.queueRelease(session);
  }

  /** Ends a session normally (last holder gone, or shutdown) and releases the lease. */
  private end(session: Session): void {
    session.ended = true;
    clearTimeout(session.timer);
    if (this.session === session) {
      this.session = null;
      this.metrics?.lockHeld.set(0);
    }
    this.queueRelease(session);
  }

  private queueRelease(session: Session): void {
    this.releasing = this.releasing.then(() => this.release(session));
  }

  private async release(session: Session): Promise<void> {
    // A renewal in flight would change the ETag under our conditional delete.
    await session.renewing;
    const { generation } = session.lease.body;
    try {
      const outcome = await this.releaseLease(session.lease);
      if (outcome === 'released') this.logger.debug({ key: this.key, generation }, 'lock released');
      else this.logger.info({ key: this.key, generation }, 'lock was already taken over when released');
    } catch (err) {
      this.leftover = session.lease;
      const message = messageOf(err);
      this.logger.warn(
        { key: this.key, generation, err: message },
        'release lock: failed; this node reclaims it next time, others take it over after the lease',
      );
    }
  }
}
