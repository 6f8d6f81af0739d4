/**
 * Scripted test doubles of OUR interfaces (SyncController, DistributedLock) and fixtures, for the
 * control-API tests that do not need a real loop. The real-loop tests live in real-loop.test.ts.
 */
import {
  ShuttingDownError,
  DirectionDisabledError,
  type SyncController,
  type SyncStatus,
  type TickSummary,
} from '../../src/sync/controller.js';
import type { Config } from '../../src/config.js';
import type { DistributedLock, LockStatus } from '../../src/lock/types.js';
import type { Direction } from '../../src/sync/types.js';
import { directionDefaults } from '../helpers/direction.js';

/** A finished tick's summary with every count zero unless overridden. */
export function summary(overrides: Partial<TickSummary> = {}): TickSummary {
  return {
    id: 1,
    direction: 'up',
    trigger: 'http',
    startedAt: new Date().toISOString(),
    seconds: 0.01,
    outcome: 'success',
    errors: [],
    uploaded: 0,
    downloaded: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    conflicts: 0,
    skipped: 0,
    bytesUp: 0,
    bytesDown: 0,
    dryrun: 0,
    ...overrides,
  };
}

/** A loop status; starts before the initial sync unless overridden. */
export function syncStatus(overrides: Partial<SyncStatus> = {}): SyncStatus {
  return {
    state: 'initial-sync',
    initialSyncDone: false,
    lastSuccessAt: null,
    consecutiveFailures: 0,
    maxFailures: 3,
    lastError: null,
    localFiles: 0,
    remoteFiles: 0,
    recentTicks: [],
    recentErrors: [],
    ...overrides,
  };
}

/** A SyncController whose status and tick results the test sets. */
export class ScriptedController implements SyncController {
  current: SyncStatus = syncStatus();
  disabled = new Set<Direction>();
  /** Directions requested, in order. */
  readonly requests: Direction[] = [];
  /** How a requested tick ends; by default at once with a success. */
  run: (direction: Direction, n: number) => Promise<TickSummary> = async (direction, n) =>
    summary({ id: n, direction });

  status(): SyncStatus {
    return this.current;
  }
  set(overrides: Partial<SyncStatus>): void {
    this.current = { ...this.current, ...overrides };
  }
  isDirectionEnabled(direction: Direction): boolean {
    return !this.disabled.has(direction);
  }
  async requestSync(direction: Direction): Promise<TickSummary> {
    if (this.disabled.has(direction)) throw new DirectionDisabledError(direction);
    if (this.current.state === 'stopping' || this.current.state === 'stopped') throw new ShuttingDownError();
    this.requests.push(direction);
    return this.run(direction, this.requests.length);
  }
}

/** Stands for src/lock's LockWaitTimeoutError, which the API matches by name. */
export class LockWaitTimeoutError extends Error {
  override name = 'LockWaitTimeoutError';
}

/** A DistributedLock that records app holds and can be told to time out. */
export class ScriptedLock implements DistributedLock {
  readonly ownerId = 'node-a/123';
  held = false;
  appHoldUntil: string | null = null;
  /** When set, holdForApp rejects with LockWaitTimeoutError and the lock shows this holder. */
  heldElsewhere: { owner: string; host: string } | null = null;
  readonly holds: number[] = [];

  async withLock<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return fn(new AbortController().signal);
  }
  isHeld(): boolean {
    return this.held;
  }
  async status(): Promise<LockStatus> {
    const other = this.heldElsewhere;
    return {
      heldByUs: this.held,
      appHoldUntil: this.appHoldUntil,
      holder: other
        ? { ...other, acquiredAt: new Date().toISOString(), leaseSeconds: 30, generation: 7 }
        : this.held
          ? { owner: this.ownerId, host: 'node-a', acquiredAt: new Date().toISOString(), leaseSeconds: 30, generation: 3 }
          : null,
      leaseLeftSeconds: this.held || other ? 25 : null,
    };
  }
  async holdForApp(leaseSeconds: number): Promise<LockStatus> {
    const other = this.heldElsewhere;
    if (other) {
      throw new LockWaitTimeoutError(`acquire lock: gave up after 10 s (--dfs-lock-wait); held by ${other.owner} on ${other.host}`);
    }
    this.holds.push(leaseSeconds);
    this.held = true;
    this.appHoldUntil = new Date(Date.now() + leaseSeconds * 1000).toISOString();
    return this.status();
  }
  async releaseForApp(): Promise<LockStatus> {
    this.held = false;
    this.appHoldUntil = null;
    return this.status();
  }
  async close(): Promise<void> {
    this.held = false;
  }
}

const directionOptions = directionDefaults();

/** A complete Config for the server's /status and token rules. */
export function testConfig(http: Partial<Config['http']> = {}): Config {
  return {
    localPath: '/data',
    bucket: 'bucket',
    prefix: 'app',
    s3Uri: 's3://bucket/app',
    up: { ...directionOptions, expires: new Date('2030-01-01T00:00:00Z') },
    down: directionOptions,
    onlyUp: false,
    onlyDown: false,
    initMode: 'merge',
    pollSeconds: 10,
    maxFailures: 3,
    md5SkipPaths: [],
    conflict: 'newer',
    maxDeletePercent: 50,
    stateDir: '/state',
    shutdownTimeoutSeconds: 25,
    concurrency: 4,
    logLevel: 'INFO',
    dfs: { enabled: false, lockTimeoutSeconds: 60, lockWaitSeconds: 30, uidHostname: false, unsafeLock: false },
    cloudfront: { maxPathsPerFolder: 10 },
    http: { port: 0, host: '127.0.0.1', ...http },
    aws: { verifySsl: true, signRequest: true, endpointUrl: 'https://user:pw@s3.example.com' },
  };
}
